/**
 * A fleet's host runs spread over worker threads of the controller, so that a large fleet uses every
 * core: the main thread keeps the fleet (its record, its budget, its events, its reports) and drives its
 * own share of hosts; each worker drives the hosts the main thread hands it, with its own runner — one
 * journal writer per run, in the worker that drives it, under the run's lease as ever (a run is handed
 * to one lane only, once). Each worker thread runs a module of the application's (functions do not
 * cross threads), {@link FleetThreads.module}, which builds its runner and `connect` and serves the
 * fleet with `serveFleetThread` — in the application's own copy of the engine.
 */
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ValidationError } from '../errors.js';
import { endGroupsElsewhere, trackGroup, untrackGroup } from '../executors/process-groups.js';
import type { Json } from '../engine/types.js';
import { FLEET_THREAD, type FromWorker, type ToWorker } from './thread-protocol.js';
import type { HostLane, HostRunEnd } from './host-lane.js';
import type { FleetRecord, HostStepEvent } from './types.js';

/**
 * Worker threads for a fleet's hosts.
 *
 * @example
 * ```ts
 * // fleet-thread.ts, run by each worker thread:
 * export async function fleetThread(data: unknown): Promise<HostDeps> {
 *   const { stateDir } = data as { stateDir: string };
 *   return { runner: new Runner({ kinds: bundledStepKinds(), stateDir }), connect: (t) => createSimulatedExecutor(t.slice(4)) };
 * }
 * serveFleetThread(fleetThread);
 * // the controller:
 * declare const options: FleetOptions; // runner, kinds, runbook, inventory, connect
 * startFleet({ ...options, threads: { count: 2, module: new URL('./fleet-thread.js', import.meta.url), data: { stateDir: options.runner.stateDir } } });
 * ```
 */
export interface FleetThreads {
  /**
   * Threads that drive hosts, the main thread among them (1: every host in the main thread, as without
   * this option). @default os.availableParallelism()
   */
  count?: number;
  /** The module (a file URL or an absolute path) each worker thread runs: it calls `serveFleetThread(setup)`. */
  module: string | URL;
  /** What its setup function receives (structured-cloneable: plain data). */
  data?: unknown;
}

export type { FleetThreadSetup } from './thread-protocol.js';

/** The threads a fleet uses: the option's count (or every core), never more than its hosts. */
export function threadCountOf(threads: FleetThreads | undefined, hosts: number): number {
  if (!threads) return 1;
  const count = threads.count ?? availableParallelism();
  if (!Number.isInteger(count) || count < 1) {
    throw new ValidationError('invalid fleet threads', [`threads.count: a whole number of at least 1, got ${count}`], { hint: 'nothing was stored or contacted' });
  }
  return Math.max(1, Math.min(count, hosts));
}

/** A worker thread running the application's module (a `.ts` one through tsx, as the tests and benches do). */
function startWorker(module: string | URL): Worker {
  const entry = module instanceof URL ? module : pathToFileURL(module);
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData: FLEET_THREAD });
  // A worker does not inherit tsx's loader hooks on Node 20: it registers them before loading the module.
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((t) => t.register()).then(() => import(${JSON.stringify(entry.href)}))`, { eval: true, workerData: FLEET_THREAD });
}

/**
 * A lane whose hosts a worker thread drives. A worker that stops (its module would not load, an error
 * outside any run) leaves each of its hosts awaiting a resume, as a controller that stopped does: its
 * journal says how far the run got, and its lease holds until it expires, so no other thread drives it
 * meanwhile; `runbook resume <fleet-id>` goes on.
 */
export function workerLane(threads: FleetThreads, record: FleetRecord, overrides?: Record<string, Json>): HostLane {
  const worker = startWorker(threads.module);
  // The process groups the worker's executors started and have not let go of: recorded in this
  // thread's registry too, which the CLI's second Ctrl-C ends before it exits.
  const groups = new Set<number>();
  const waiting = new Map<number, { onStart: () => void; onStep?: (step: HostStepEvent) => void; done: (end: HostRunEnd) => void }>();
  let next = 0;
  let dead: string | undefined;
  const fail = (message: string) => {
    dead ??= message;
    for (const [id, w] of waiting) {
      waiting.delete(id);
      w.done({ ok: false, error: { name: 'Error', code: 'WORKER_FAILED', message: `the worker thread driving this host stopped: ${message}` }, resumable: true });
    }
  };
  // And ended with them through the worker itself, which the main thread waits for (a second at most):
  // a group the worker started a moment ago may not have been reported yet.
  const ended = new Int32Array(new SharedArrayBuffer(4));
  const noLongerElsewhere = endGroupsElsewhere(() => {
    if (dead) return;
    Atomics.store(ended, 0, 0);
    worker.postMessage({ type: 'end-groups' } satisfies ToWorker);
    Atomics.wait(ended, 0, 0, 1000);
  });
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'failed') return fail(m.message);
    if (m.type === 'group') {
      if (m.live) {
        groups.add(m.pid);
        trackGroup(m.pid);
      } else {
        groups.delete(m.pid);
        untrackGroup(m.pid);
      }
      return;
    }
    const w = waiting.get(m.id);
    if (!w) return;
    if (m.type === 'started') w.onStart();
    else if (m.type === 'step') w.onStep?.(m.step);
    else {
      waiting.delete(m.id);
      w.done(m.end);
    }
  });
  worker.on('error', (e) => fail(e.message));
  worker.on('exit', (code) => {
    // A worker thread ends its own groups as it exits (their exit hook): none is this thread's to end.
    noLongerElsewhere();
    for (const pid of groups) untrackGroup(pid);
    groups.clear();
    fail(`exited with code ${code}`);
  });
  worker.postMessage({ type: 'init', data: threads.data, record, overrides, ended } satisfies ToWorker);
  return {
    get inFlight() {
      return waiting.size;
    },
    get alive() {
      return dead === undefined;
    },
    run(host, records, onStart, onStep) {
      if (dead) return Promise.resolve({ ok: false, error: { name: 'Error', code: 'WORKER_FAILED', message: `the worker thread stopped: ${dead}` }, resumable: true });
      const id = next++;
      return new Promise<HostRunEnd>((done) => {
        waiting.set(id, { onStart, onStep, done });
        // Step events cross threads only when someone listens to them (a live view): each is a message.
        worker.postMessage({ type: 'run', id, host, records, steps: onStep !== undefined } satisfies ToWorker);
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
    run(host, records, onStart, onStep) {
      const lane = lanes.reduce((best, l) => (l.alive && l.inFlight < best.inFlight ? l : best));
      return lane.run(host, records, onStart, onStep);
    },
    interrupt() {
      for (const l of lanes) l.interrupt();
    },
    async close() {
      await Promise.all(lanes.map((l) => l.close()));
    },
  };
}
