/**
 * The worker side of a fleet spread over threads (`threads.ts`). The application's module — the one a
 * fleet's `threads.module` names, which each worker thread runs — builds its runner and `connect`, and
 * hands that function to {@link serveFleetThread}: in a fleet's worker thread it then drives each host
 * the main thread hands it, as the main thread's own lane does, and tells when each run started and how
 * it ended. Imported anywhere else (the main thread), it does nothing.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { endAllGroups, watchGroups } from '../executors/process-groups.js';
import { localLane, type HostLane } from './host-lane.js';
import { FLEET_THREAD, type FleetThreadSetup, type FromWorker, type ToWorker } from './thread-protocol.js';

/**
 * Serves a fleet's hosts in this worker thread, with the runner and connections `setup` builds from
 * the fleet's `threads.data`. Call it at the top level of the module that `threads.module` names.
 *
 * @example
 * ```ts
 * // fleet-thread.ts
 * export async function fleetThread(data: unknown): Promise<HostDeps> {
 *   const { stateDir } = data as { stateDir: string };
 *   return { runner: new Runner({ kinds: bundledStepKinds(), stateDir }), connect: (t) => createSimulatedExecutor(t.slice(4)) };
 * }
 * serveFleetThread(fleetThread);
 * ```
 */
export function serveFleetThread(setup: FleetThreadSetup): void {
  const port = parentPort;
  if (isMainThread || !port || workerData !== FLEET_THREAD) return;
  let lane: Promise<HostLane> | undefined;
  let ended: Int32Array | undefined;
  const post = (m: FromWorker) => port.postMessage(m);
  // Each process group this thread's executors start or let go of, told to the main thread: its second
  // Ctrl-C ends them before it exits (this thread's own exit hook does not run then).
  watchGroups((pid, live) => post({ type: 'group', pid, live }));
  port.on('message', (m: ToWorker) => {
    if (m.type === 'init') {
      ended = m.ended;
      lane = setup(m.data).then((deps) => localLane(deps, m.record, m.overrides));
      lane.catch((e: unknown) => post({ type: 'failed', message: (e as Error)?.message ?? String(e) }));
    } else if (m.type === 'run') {
      void lane
        ?.then((l) => l.run(m.host, m.records, () => post({ type: 'started', id: m.id }), m.steps ? (step) => post({ type: 'step', id: m.id, step }) : undefined))
        .then((end) => post({ type: 'ended', id: m.id, end }))
        // A worker whose setup failed said so once ('failed'): the main thread ends its hosts.
        .catch(() => undefined);
    } else if (m.type === 'end-groups') {
      // The main thread aborts (a second Ctrl-C) and waits for this: every group this thread started ends now.
      endAllGroups();
      if (ended) {
        Atomics.store(ended, 0, 1);
        Atomics.notify(ended, 0);
      }
    } else if (m.type === 'interrupt') {
      void lane?.then((l) => l.interrupt());
    } else {
      port.close();
    }
  });
}
