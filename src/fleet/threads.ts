/**
 * A fleet's host runs spread over worker threads of the controller, so that a large fleet uses every
 * core: the main thread keeps the fleet (its record, its budget, its events, its reports) and drives its
 * own share of hosts; each worker drives the hosts the main thread hands it, with its own runner — one
 * journal writer per run, in the worker that drives it, under the run's lease as ever (a run is handed
 * to one lane only, once). A worker builds its runner and its `connect` from a module of the
 * application's (functions do not cross threads): {@link FleetThreads.module}.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { InventoryHost } from './inventory.js';
import type { HostDeps, HostLane, HostRunEnd } from './host-lane.js';
import type { FleetRecord } from './types.js';

/**
 * Worker threads for a fleet's hosts.
 *
 * @example
 * ```ts
 * // fleet-thread.ts, loaded by each worker:
 * export async function fleetThread(data: { stateDir: string }): Promise<HostDeps> {
 *   const kinds = bundledStepKinds();
 *   return { runner: new Runner({ kinds, stateDir: data.stateDir }), connect: (t) => createSimulatedExecutor(t.slice(4)) };
 * }
 * // the controller:
 * startFleet({ ...options, threads: { count: 2, module: new URL('./fleet-thread.js', import.meta.url), data: { stateDir } } });
 * ```
 */
export interface FleetThreads {
  /**
   * Threads that drive hosts, the main thread among them (1: every host in the main thread, as without
   * this option). @default os.availableParallelism()
   */
  count?: number;
  /** A module (path or URL) exporting `fleetThread(data): Promise<HostDeps>`, loaded by each worker. */
  module: string | URL;
  /** What `fleetThread` receives (structured-cloneable: plain data). */
  data?: unknown;
}

/** What a worker module exports. */
export type FleetThreadSetup = (data: unknown) => Promise<HostDeps>;

/** Messages from the main thread to a worker. */
export type ToWorker =
  | { type: 'init'; module: string; data: unknown; record: FleetRecord }
  | { type: 'run'; id: number; host: InventoryHost; resume: boolean }
  | { type: 'interrupt' }
  | { type: 'close' };

/** Messages from a worker to the main thread. */
export type FromWorker = { type: 'started'; id: number } | { type: 'ended'; id: number; end: HostRunEnd } | { type: 'failed'; message: string };

/** The threads a fleet uses: the option's count (or every core), never more than its hosts. */
export function threadCountOf(threads: FleetThreads | undefined, hosts: number): number {
  if (!threads) return 1;
  const count = threads.count ?? availableParallelism();
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`threads is a whole number of at least 1, got ${count}`);
  return Math.max(1, Math.min(count, hosts));
}

/** The worker's entry: `thread-worker.js` beside this file (`.ts` when run from the sources, through tsx). */
function startWorker(): Worker {
  const ts = import.meta.url.endsWith('.ts');
  const entry = new URL(`./thread-worker.${ts ? 'ts' : 'js'}`, import.meta.url);
  if (!ts) return new Worker(entry);
  // A worker does not inherit tsx's loader hooks on Node 20: it registers them before loading the entry.
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((t) => t.register()).then(() => import(${JSON.stringify(entry.href)}))`, { eval: true });
}

/**
 * A lane whose hosts a worker thread drives. A worker that stops (its module would not load, an error
 * outside any run) leaves each of its hosts awaiting a resume, as a controller that stopped does: its
 * journal says how far the run got, and its lease holds until it expires, so no other thread drives it
 * meanwhile; `runbook resume <fleet-id>` goes on.
 */
export function workerLane(threads: FleetThreads, record: FleetRecord): HostLane {
  const worker = startWorker();
  const waiting = new Map<number, { onStart: () => void; done: (end: HostRunEnd) => void }>();
  let next = 0;
  let dead: string | undefined;
  const fail = (message: string) => {
    dead ??= message;
    for (const [id, w] of waiting) {
      waiting.delete(id);
      w.done({ ok: false, error: { name: 'Error', code: 'WORKER_FAILED', message: `the worker thread driving this host stopped: ${message}` }, resumable: true });
    }
  };
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'failed') return fail(m.message);
    const w = waiting.get(m.id);
    if (!w) return;
    if (m.type === 'started') w.onStart();
    else {
      waiting.delete(m.id);
      w.done(m.end);
    }
  });
  worker.on('error', (e) => fail(e.message));
  worker.on('exit', (code) => fail(`exited with code ${code}`));
  const module = threads.module instanceof URL ? threads.module.href : threads.module;
  worker.postMessage({ type: 'init', module, data: threads.data, record } satisfies ToWorker);
  return {
    get inFlight() {
      return waiting.size;
    },
    get alive() {
      return dead === undefined;
    },
    run(host, resume, onStart) {
      if (dead) return Promise.resolve({ ok: false, error: { name: 'Error', code: 'WORKER_FAILED', message: `the worker thread stopped: ${dead}` }, resumable: true });
      const id = next++;
      return new Promise<HostRunEnd>((done) => {
        waiting.set(id, { onStart, done });
        worker.postMessage({ type: 'run', id, host, resume } satisfies ToWorker);
      });
    },
    interrupt() {
      if (!dead) worker.postMessage({ type: 'interrupt' } satisfies ToWorker);
    },
    async close() {
      if (dead) return;
      const exited = new Promise((r) => worker.once('exit', r));
      worker.postMessage({ type: 'close' } satisfies ToWorker);
      await exited;
    },
  };
}

/**
 * Lanes as one: each host goes to the living lane with the fewest hosts in flight (the main thread's
 * first on a tie), so each thread carries its share. The first lane (the main thread's) never stops.
 */
export function laneGroup(lanes: HostLane[]): HostLane {
  return {
    get inFlight() {
      return lanes.reduce((n, l) => n + l.inFlight, 0);
    },
    alive: true,
    run(host, resume, onStart) {
      const lane = lanes.reduce((best, l) => (l.alive && l.inFlight < best.inFlight ? l : best));
      return lane.run(host, resume, onStart);
    },
    interrupt() {
      for (const l of lanes) l.interrupt();
    },
    async close() {
      await Promise.all(lanes.map((l) => l.close()));
    },
  };
}
