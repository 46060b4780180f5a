/**
 * A worker: claims host runs from a PostgreSQL store's queue and drives them, a few at a time, until it
 * is stopped. Any number of workers on any number of machines share one store; each run has one driver
 * at a time (its fenced lease), and a run whose worker died is resumed by another from its journal.
 */
import { EventEmitter } from 'eventemitter3';
import { JournalError, LeaseError, toErrorRecord, type ErrorRecord, type StoreRefusedCode, type StoreRefusedError } from '../errors.js';
import type { Executor } from '../executors/types.js';
import type { Run, Runner } from '../engine/runner.js';
import { replay, resultOf } from '../engine/replay.js';
import type { JournalRecord } from '../engine/run-store.js';
import { outcomeOf, type Outcome } from '../engine/outcome.js';
import type { RunResult } from '../engine/types.js';
import { loginRefused, withConnections } from '../store/postgres.js';
import type { PostgresStore } from '../store/types.js';
import { hostRun } from '../fleet/fleet.js';
import { ENDED, WorkQueue, type HostRunJob, type WorkQueueOptions } from './queue.js';

/**
 * What a worker tells as it goes, each naming its fleet and host.
 *
 * @example
 * ```ts
 * declare const worker: Worker;
 * const onEnd = (...[e]: WorkerEvents['host:end']) => console.log(`${e.fleetId}/${e.host}: ${e.outcome ?? e.status}`);
 * worker.events.on('host:end', onEnd);
 * ```
 */
export type WorkerEvents = {
  'host:start': [{ fleetId: string; host: string; runId: string; resumed: boolean }];
  /**
   * A host's run ended here: its status and its graduated outcome (changed, already compliant, failed
   * and rolled back, …); no outcome when the run was fenced (another driver took it over and goes on).
   */
  'host:end': [{ fleetId: string; host: string; runId: string; status: string; outcome?: Outcome; error?: ErrorRecord }];
  /**
   * A run another driver holds: left to it. Or its machine, which another run holds: `waiting` says
   * what for (`target … is being driven by run <id>`), and the host is tried again after `retryAt`.
   */
  'host:held': [{ fleetId: string; host: string; runId: string; waiting?: string; retryAt?: string }];
  'fleet:over': [{ fleetId: string; failures: number; spent: boolean }];
  /** The store could not be reached this round; the worker goes on trying. */
  'store:error': [{ message: string }];
  /**
   * The store refused the worker's login (`STORE_AUTH`: its password was rotated, its user dropped,
   * pg_hba.conf changed). Told once: the worker stops as on {@link Worker.stop} — its runs go to their
   * next safe point, for another worker — and {@link Worker.failure} holds the error. It does not try
   * again: its credentials are fixed for its life, and only its restart with the new ones reads them.
   */
  'store:refused': [{ code: StoreRefusedCode; message: string; active: number }];
};

/**
 * What a worker is given: the PostgreSQL store whose queue it serves, a runner on that store, how to
 * reach a target, and how many host runs it drives at once.
 *
 * @example
 * ```ts
 * const store = await postgresStore(process.env.RUNBOOK_STORE!, { stateDir: '.runbook' });
 * const options: WorkerOptions = { store, runner: new Runner({ kinds: bundledStepKinds(), store }), connect: (t) => createSimulatedExecutor(t.slice(4)), concurrency: 2 };
 * const worker = await startWorker(options);
 * ```
 */
export interface WorkerOptions {
  store: PostgresStore;
  /** A runner on the same store (its lease settings are the runs' leases). */
  runner: Runner;
  /** Connects to a host's target; the worker imports no transport. */
  connect: (target: string) => Promise<Executor>;
  /** Host runs driven at once. @default 4 */
  concurrency?: number;
  /** How often the queue is polled and lost runs looked for. @default 1000 */
  pollMs?: number;
  queue?: WorkQueueOptions;
}

/**
 * A worker serving a store's queue: its events, how many host runs it drives now, and how to stop it
 * (its runs end at a safe point, for another worker to resume).
 *
 * @example
 * ```ts
 * declare const options: WorkerOptions;
 * const worker: Worker = await startWorker(options);
 * worker.events.on('store:error', (e) => console.warn(e.message));
 * process.once('SIGTERM', () => void worker.stop());
 * await worker.stopped;
 * ```
 */
export interface Worker {
  readonly events: EventEmitter<WorkerEvents>;
  /** Host runs this worker drives now. */
  readonly active: number;
  /**
   * Stops claiming, brings every run it drives to its next safe point (each ends awaiting a resume,
   * which another worker picks up), and lets go of the queue. Resolves when all have stopped.
   */
  stop(): Promise<void>;
  /** Settles when the worker has stopped. */
  readonly stopped: Promise<void>;
  /**
   * Why the worker stopped by itself: the store refused its login (`STORE_AUTH`, see `store:refused`);
   * undefined while it runs, and when it was stopped.
   */
  readonly failure: StoreRefusedError | undefined;
}

/** Starts a worker on a store (the library's `startWorker` loads this on first use). */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const queue = await WorkQueue.open(withConnections(options.store), options.queue);
  const events = new EventEmitter<WorkerEvents>();
  const concurrency = options.concurrency ?? 4;
  const pollMs = options.pollMs ?? 1000;
  const runs = new Map<string, Run>();
  const jobs = new Set<Promise<void>>();
  let stopping = false;
  let wake: (() => void) | null = null;

  let failure: StoreRefusedError | undefined;
  /**
   * A store call that failed: the worker goes on, the next poll tries again — unless the store refused
   * its login, which no try of this process's can change: then it stops, saying so once.
   */
  const storeError = (error: unknown) => {
    const refused = loginRefused(error, queue.store.user, queue.store.location);
    if (!refused) {
      events.emit('store:error', { message: (error as Error).message.split('\n')[0] });
      return;
    }
    if (failure || stopping) return;
    failure = refused;
    events.emit('store:refused', { code: refused.code, message: refused.message.split('\n')[0], active: runs.size });
    void stop();
  };

  async function handle(job: { id: string; data: HostRunJob }): Promise<void> {
    const { fleetId, host, runId } = job.data;
    // Whether the job is done with: false only when the store failed before the run could be taken,
    // so that the job is handed out again (a run that was taken is the lease's business from then on).
    let done = true;
    // The job is completed as soon as the run holds its lease, not when the run ends: from then on a
    // worker that dies is found by its lease's expiry, so the job's own expiry covers only the moments
    // between fetching it and taking the lease, and a run longer than that is not handed out twice.
    let completing: Promise<void> | undefined;
    const complete = () => (completing ??= queue.complete(job.id));
    try {
      const record = await options.store.readFleet(fleetId);
      const entry = record.inventory.hosts.find((h) => h.name === host);
      if (!entry) return;
      // The run's records, read once: what it says now, and what a resume goes on from.
      let records: JournalRecord[] | undefined;
      try {
        records = await options.store.readJournal(runId);
      } catch (error) {
        if (!(error instanceof JournalError && error.code === 'JOURNAL_MISSING')) throw error;
      }
      const known: RunResult | undefined = records && resultOf(replay(records), options.store.location);
      if (known && ENDED.has(known.status)) return;
      let executor: Executor;
      try {
        executor = await options.connect(entry.target);
      } catch (error) {
        await queue.endHost(fleetId, host, 'unreachable', toErrorRecord(error));
        events.emit('host:end', { fleetId, host, runId, status: 'unreachable', outcome: 'unreachable', error: toErrorRecord(error) });
        return;
      }
      try {
        const run = await hostRun(options.runner, record, entry, executor, records);
        runs.set(runId, run);
        run.events.once('run:start', () => {
          void complete().catch(storeError);
          void queue.machineTaken(fleetId, host).catch(storeError);
        });
        events.emit('host:start', { fleetId, host, runId, resumed: Boolean(known) });
        if (stopping) run.interrupt();
        try {
          const result = await run.result;
          events.emit('host:end', { fleetId, host, runId, status: result.status, outcome: outcomeOf(result), ...(result.error ? { error: result.error } : {}) });
        } catch (error) {
          if (error instanceof LeaseError && error.code === 'LEASE_HELD' && error.heldBy) {
            // Its machine is another run's: the host waits (a growing delay), not handed out on every loop.
            const waiting = `target ${error.heldBy.machine} ${error.heldBy.what}`;
            const retryAt = await queue.waitForMachine(fleetId, host, waiting);
            events.emit('host:held', { fleetId, host, runId, waiting, ...(retryAt ? { retryAt } : {}) });
          } else if (error instanceof LeaseError && error.code === 'LEASE_HELD') events.emit('host:held', { fleetId, host, runId });
          else if (error instanceof LeaseError && error.code === 'FENCED') events.emit('host:end', { fleetId, host, runId, status: 'fenced', error: toErrorRecord(error) });
          else throw error;
        } finally {
          runs.delete(runId);
        }
      } finally {
        await executor.close().catch(() => undefined);
      }
    } catch (error) {
      done = false;
      storeError(error);
    } finally {
      if (done) await complete().catch(storeError);
      else if (!completing) await queue.retry(job.id);
      if (!stopping) {
        const state = await queue.advance(fleetId).catch(() => null);
        if (state?.over) events.emit('fleet:over', { fleetId, failures: state.failures, spent: state.spent });
      }
    }
  }

  const loop = (async () => {
    while (!stopping) {
      try {
        await queue.requeueOrphans();
        for (const f of await queue.advanceOpenFleets()) if (f.over) events.emit('fleet:over', f);
        // A stop can come while the store answers: from then on nothing is claimed. The runs it
        // interrupted are queued again as orphans by the calls above (their leases released), and a
        // worker that went on to fetch would drive them again, only to interrupt them once more.
        if (stopping) break;
        const free = concurrency - jobs.size;
        const fetched = await queue.fetch(free);
        if (stopping) {
          // Fetched while the stop came: handed back at once (together: each waits out a store that is
          // away), for another worker, or this one started again.
          await Promise.all(fetched.map((job) => queue.retry(job.id)));
          break;
        }
        for (const job of fetched) {
          const p = handle(job).finally(() => {
            jobs.delete(p);
            wake?.();
          });
          jobs.add(p);
        }
      } catch (error) {
        storeError(error);
      }
      if (stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          wake = null;
          resolve();
        };
      });
    }
  })();

  let stopped!: Promise<void>;
  const stop = () => {
    if (!stopping) {
      stopping = true;
      wake?.();
      for (const run of runs.values()) run.interrupt();
      stopped = (async () => {
        await loop;
        await Promise.allSettled([...jobs]);
        await queue.close().catch(() => undefined);
      })();
    }
    return stopped;
  };
  const worker: Worker = {
    events,
    get active() {
      return runs.size;
    },
    stop,
    get failure() {
      return failure;
    },
    get stopped() {
      return stopping ? stopped : loop.then(() => stopped);
    },
  };
  return worker;
}
