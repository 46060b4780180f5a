/**
 * What a fleet's main thread and its worker threads say to each other (`threads.ts`, `thread-worker.ts`):
 * plain data, structured-cloned across threads.
 */
import type { HostDeps, HostRunEnd } from './host-lane.js';
import type { InventoryHost } from './inventory.js';
import type { JournalRecord } from '../engine/run-store.js';
import type { FleetRecord, HostStepEvent } from './types.js';
import type { Json } from '../engine/types.js';

/** Marks a worker thread started by a fleet (its `workerData`). */
export const FLEET_THREAD = 'runbook-engine:fleet-thread';

/**
 * What a worker module hands `serveFleetThread`: its runner and connections, built from the fleet's
 * `threads.data`.
 *
 * @example
 * ```ts
 * const setup: FleetThreadSetup = async (data) => {
 *   const { stateDir } = data as { stateDir: string };
 *   return { runner: new Runner({ kinds: bundledStepKinds(), stateDir }), connect: (t) => createSimulatedExecutor(t.slice('sim:'.length)) };
 * };
 * serveFleetThread(setup);
 * ```
 */
export type FleetThreadSetup = (data: unknown) => Promise<HostDeps>;

/** Messages from the main thread to a worker. */
export type ToWorker =
  /**
   * `overrides`: run-wide overrides for every host run of this drive (`resume <fleet-id> --allow-restart`);
   * `ended`: shared memory the worker sets to 1 once it has ended its process groups (`end-groups`).
   */
  | { type: 'init'; data: unknown; record: FleetRecord; overrides?: Record<string, Json>; ended: Int32Array }
  | { type: 'run'; id: number; host: InventoryHost; records: readonly JournalRecord[] | undefined; steps: boolean }
  | { type: 'interrupt' }
  /** End every process group this worker started, now, then set `ended` (the main thread waits for it). */
  | { type: 'end-groups' }
  | { type: 'close' };

/** Messages from a worker to the main thread. */
export type FromWorker =
  | { type: 'started'; id: number }
  /** A step event of a host's run, when the main thread asked for them (`steps`: its fleet's live view listens). */
  | { type: 'step'; id: number; step: HostStepEvent }
  | { type: 'ended'; id: number; end: HostRunEnd }
  /**
   * A process group the worker's executors started (`live`) or that ended: the main thread records it,
   * so that its second Ctrl-C ends it too (src/executors/process-groups.ts) — a worker's own exit hook
   * does not run when the main thread exits.
   */
  | { type: 'group'; pid: number; live: boolean }
  | { type: 'failed'; message: string };
