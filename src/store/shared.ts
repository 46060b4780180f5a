/**
 * The shared store and its workers for library users, loaded on first use: an application that keeps
 * its runs in files never loads node-postgres or pg-boss.
 */
import type { PostgresStore, PostgresStoreOptions } from './postgres.js';
import type { Worker, WorkerOptions } from '../worker/worker.js';
import type { FleetRecord } from '../fleet/types.js';

/**
 * Opens the PostgreSQL store at `url`, applying the schema migrations it lacks.
 *
 * @example
 * ```ts
 * const store = await postgresStore('postgres://runbook@db.example.org/runbook', { stateDir: '.runbook' });
 * const runner = new Runner({ kinds: bundledStepKinds(), store });
 * ```
 */
export async function postgresStore(url: string, options: PostgresStoreOptions): Promise<PostgresStore> {
  return (await import('./postgres.js')).postgresStore(url, options);
}

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
  return (await import('../worker/worker.js')).startWorker(options);
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
  const { WorkQueue } = await import('../worker/queue.js');
  const queue = await WorkQueue.open(store);
  try {
    await queue.enqueueFleet(record);
  } finally {
    await queue.close();
  }
}
