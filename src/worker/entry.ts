/**
 * The workers of a shared store for library users, loaded on first use (as `store/shared.ts` loads the
 * store): an application that keeps its runs in files never loads pg-boss, and need not install it.
 */
import type { FleetRecord } from '../fleet/types.js';
import { loadShared } from '../store/shared.js';
import type { PostgresStore } from '../store/types.js';
import type { Worker, WorkerOptions } from './worker.js';

/**
 * Starts a worker that drives the host runs queued in a PostgreSQL store.
 *
 * @example
 * ```ts
 * const store = await postgresStore(process.env.RUNBOOK_STORE!, { stateDir: '.runbook' });
 * const runner = new Runner({ kinds: bundledStepKinds(), store, lease: { ttlMs: 30_000 } });
 * const worker = await startWorker({ store, runner, connect: (t) => createSimulatedExecutor(t.slice(4)) });
 * worker.events.on('host:end', (e) => console.log(e.host, e.status));
 * process.once('SIGTERM', () => void worker.stop());
 * await worker.stopped;
 * ```
 */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  return (await loadShared(() => import('./worker.js'))).startWorker(options);
}

/**
 * Queues a fleet's hosts for workers (waves in order, within its budget) and returns at once.
 *
 * @example
 * ```ts
 * const kinds = bundledStepKinds();
 * const store = await postgresStore(process.env.RUNBOOK_STORE!, { stateDir: '.runbook' });
 * const record = fleetRecordOf({ kinds, runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory('inventory.yaml') });
 * await enqueueFleet(store, record);
 * ```
 */
export async function enqueueFleet(store: PostgresStore, record: FleetRecord): Promise<void> {
  const { WorkQueue } = await loadShared(() => import('./queue.js'));
  const { withConnections } = await import('../store/postgres.js');
  const queue = await WorkQueue.open(withConnections(store));
  try {
    await queue.enqueueFleet(record);
  } finally {
    await queue.close();
  }
}
