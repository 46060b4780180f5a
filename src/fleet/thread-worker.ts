/**
 * A worker thread of a fleet (`threads.ts`): builds its runner and `connect` from the application's
 * module, then drives each host the main thread hands it, as the main thread's own lane does, and tells
 * when each run started and how it ended. It keeps nothing of the fleet but the record it was given.
 */
import { parentPort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { localLane, type HostLane } from './host-lane.js';
import type { FleetThreadSetup, FromWorker, ToWorker } from './threads.js';

const port = parentPort;
if (!port) throw new Error('thread-worker.ts runs in a worker thread of a fleet');

let lane: Promise<HostLane> | undefined;
const post = (m: FromWorker) => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  if (m.type === 'init') {
    const url = isAbsolute(m.module) ? pathToFileURL(m.module).href : m.module;
    lane = import(url).then(async (mod: { fleetThread?: FleetThreadSetup }) => {
      if (typeof mod.fleetThread !== 'function') throw new Error(`${m.module} exports no fleetThread(data) function`);
      return localLane(await mod.fleetThread(m.data), m.record);
    });
    lane.catch((e: unknown) => post({ type: 'failed', message: (e as Error)?.message ?? String(e) }));
  } else if (m.type === 'run') {
    void lane
      ?.then((l) => l.run(m.host, m.resume, () => post({ type: 'started', id: m.id })))
      .then((end) => post({ type: 'ended', id: m.id, end }))
      // A worker whose module did not load said so once ('failed'): the main thread ends its hosts.
      .catch(() => undefined);
  } else if (m.type === 'interrupt') {
    void lane?.then((l) => l.interrupt());
  } else {
    port.close();
  }
});
