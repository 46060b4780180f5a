/**
 * The work queue of a PostgreSQL store: which host run a worker drives next.
 *
 * The claiming is pg-boss's (10.x, the last line for Node 20): a job is fetched by one worker only
 * (`SKIP LOCKED`), and a job whose worker died before it took the run's lease expires and is handed out
 * again. Why pg-boss rather than graphile-worker 0.17: pg-boss sets each job's expiry (graphile-worker
 * holds a crashed worker's job for a fixed 4 hours), takes a job id from us (so a run is queued once per
 * lease generation, whoever notices it first), and fetches without a long-lived listener, so a worker
 * that lost its connection simply fetches again.
 *
 * What the queue does not decide: who drives a run. That is the run's lease (fenced, in the store), as
 * for every driver. A run whose lease expired unreleased — its worker died mid-run — or that was
 * released unfinished — its worker stopped at a safe point — is queued again by the first worker that
 * sees it ({@link WorkQueue.requeueOrphans}); the next worker resumes it from its journal.
 *
 * Waves and the failure budget are the fleet's ({@link WorkQueue.advance}): hosts of a wave are queued
 * only once every host of the waves before it ended and the budget holds, never more at once than the
 * fleet's concurrency. Each step of that is one transaction under the fleet's advisory lock.
 */
import { createHash } from 'node:crypto';
import PgBoss from 'pg-boss';
import type pg from 'pg';
import { hostRunId, countsAsFailure } from '../fleet/fleet.js';
import type { FleetRecord, HostStatus } from '../fleet/types.js';
import type { ErrorRecord } from '../errors.js';
import pRetry from 'p-retry';
import { FLEET_CHANNEL, isConnectionError, type PostgresStore } from '../store/postgres.js';

/** The queue of host runs. */
export const HOST_RUN_QUEUE = 'runbook-host-run';

/** What a job names: one host of one fleet. */
export type HostRunJob = { fleetId: string; host: string; runId: string };

/** Statuses a host run ends with (anything else is under way, or stopped to be resumed). */
export const ENDED: ReadonlySet<string> = new Set(['succeeded', 'planned', 'rolled-back', 'rollback-failed', 'cancelled']);

/** A job id from a text: the same text, the same id, so that a run is queued once per reason. */
export function jobIdOf(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Options of {@link WorkQueue.open}. */
export interface WorkQueueOptions {
  /**
   * How long a fetched job may wait for its worker to take the run's lease before it is handed out
   * again (a worker completes the job once it holds the lease). @default 60
   */
  jobExpirySeconds?: number;
  /** How often pg-boss's maintenance expires jobs. @default 30 */
  maintenanceSeconds?: number;
  /**
   * How long a host whose machine another run holds waits before it is tried again, the first time;
   * each further wait doubles, up to `heldRetryMaxMs`. @default 1000
   */
  heldRetryMs?: number;
  /** The longest wait of a host for its machine. @default 60000 */
  heldRetryMaxMs?: number;
}

export class WorkQueue {
  private constructor(
    readonly store: PostgresStore,
    private readonly boss: PgBoss,
    private readonly options: WorkQueueOptions = {},
  ) {}

  /** Opens the queue of a store (pg-boss's own tables, in schema `runbook_queue`, made on first use). */
  static async open(store: PostgresStore, options: WorkQueueOptions = {}): Promise<WorkQueue> {
    const boss = new PgBoss({
      connectionString: store.url,
      schema: 'runbook_queue',
      max: 3,
      application_name: 'runbook-engine queue',
      supervise: true,
      schedule: false,
      maintenanceIntervalSeconds: options.maintenanceSeconds ?? 30,
    });
    // A connection lost while the server restarts: pg-boss reports it here, and its next call reconnects.
    boss.on('error', () => undefined);
    // pg-boss installs its schema on first start: two processes starting at once on a new database
    // would race, so they take turns under an advisory lock. The lock is the transaction's, not the
    // session's: a holder paused while pg-boss starts (SIGSTOP, a frozen VM) leaves its session idle in
    // a transaction, which the server ends after the store's idleInTransactionMs, releasing the lock
    // (a session-level lock on an idle session would stop every other worker starting, for as long as
    // the pause lasts). Whatever fails, nothing is left running.
    await store.withClient(async (client) => {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['runbook-engine queue']);
        await boss.start();
        if (!(await boss.getQueue(HOST_RUN_QUEUE))) {
          await boss.createQueue(HOST_RUN_QUEUE, { name: HOST_RUN_QUEUE, retryLimit: 1000, retryDelay: 1, expireInSeconds: options.jobExpirySeconds ?? 60 });
        }
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
        throw error;
      }
      // The transaction holds nothing but the lock: a COMMIT that fails (the session was ended while
      // pg-boss started slowly, its lock released then) undoes nothing of a start that succeeded.
      await client.query('COMMIT').catch(() => undefined);
    });
    return new WorkQueue(store, boss, options);
  }

  /** Records a fleet for workers and queues its first hosts; returns once they are queued. */
  async enqueueFleet(record: FleetRecord): Promise<void> {
    await this.store.createFleet(record);
    const rows = record.inventory.waves.flatMap((w, wave) => w.hosts.map((h, position) => ({ host: h.name, wave, position, runId: hostRunId(record.fleetId, h.name) })));
    await this.store.query(
      `INSERT INTO rbe_fleet_hosts (fleet_id, host, wave, position, run_id)
       SELECT $1, h, w, p, r FROM unnest($2::text[], $3::int[], $4::int[], $5::text[]) AS t(h, w, p, r)`,
      [record.fleetId, rows.map((r) => r.host), rows.map((r) => r.wave), rows.map((r) => r.position), rows.map((r) => r.runId)],
    );
    await this.advance(record.fleetId);
  }

  /**
   * Moves a fleet on: hosts whose run ended are marked so; then, unless the budget is spent, hosts of
   * the first wave not yet done are queued, up to the fleet's concurrency. Returns whether the fleet
   * is over (nothing queued, and nothing more will be).
   */
  async advance(fleetId: string): Promise<{ over: boolean; failures: number; spent: boolean }> {
    return this.inTransaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`runbook fleet ${fleetId}`]);
      const { rows: fleets } = await client.query<{ record: FleetRecord }>('SELECT record FROM rbe_fleets WHERE fleet_id = $1', [fleetId]);
      if (fleets.length === 0) return { over: true, failures: 0, spent: false };
      const record = fleets[0].record;
      // Queued hosts whose run has ended since.
      await client.query(
        `UPDATE rbe_fleet_hosts h SET state = 'ended', status = r.summary->>'status', waiting = NULL, retry_at = NULL
         FROM rbe_runs r
         WHERE h.fleet_id = $1 AND h.state = 'queued' AND r.run_id = h.run_id AND r.summary IS NOT NULL
           AND r.summary_seq = (SELECT max(seq) FROM rbe_journal j WHERE j.run_id = r.run_id)
           AND (r.summary->>'status' = ANY($2::text[]) OR (r.summary->>'status' = 'awaiting-resume' AND r.summary->>'awaiting' IS DISTINCT FROM 'interrupted'))
           AND NOT EXISTS (SELECT 1 FROM rbe_leases l WHERE l.run_id = r.run_id AND NOT l.released AND l.expires_at > now())`,
        [fleetId, [...ENDED]],
      );
      const { rows: hosts } = await client.query<{ host: string; wave: number; position: number; run_id: string; state: string; status: string | null }>(
        'SELECT host, wave, position, run_id, state, status FROM rbe_fleet_hosts WHERE fleet_id = $1 ORDER BY wave, position',
        [fleetId],
      );
      const failures = hosts.filter((h) => h.state === 'ended' && countsAsFailure(h.status as HostStatus)).length;
      // A plan changes nothing: it never spends the budget.
      const spent = !record.checkMode && failures > record.maxFailures;
      let queued = hosts.filter((h) => h.state === 'queued').length;
      if (!spent) {
        const current = hosts.find((h) => h.state !== 'ended')?.wave;
        const earlierOpen = (wave: number) => hosts.some((h) => h.wave < wave && h.state !== 'ended');
        for (const h of hosts) {
          if (queued >= record.concurrency) break;
          if (h.state !== 'pending' || h.wave !== current || earlierOpen(h.wave)) continue;
          await client.query(`UPDATE rbe_fleet_hosts SET state = 'queued' WHERE fleet_id = $1 AND host = $2`, [fleetId, h.host]);
          await this.send({ fleetId, host: h.host, runId: h.run_id }, jobIdOf(`${h.run_id}#queued`), client);
          h.state = 'queued';
          queued += 1;
        }
      }
      const pending = hosts.some((h) => h.state === 'pending');
      return { over: queued === 0 && (spent || !pending), failures, spent };
    });
  }

  /**
   * Moves on every fleet with hosts not yet ended: a worker that could not move its fleet on when its
   * run ended (the store was restarting, or it died just then) leaves that to the next poll of any worker.
   */
  async advanceOpenFleets(): Promise<{ fleetId: string; over: boolean; failures: number; spent: boolean }[]> {
    const { rows } = await this.store.query<{ fleet_id: string }>(`SELECT DISTINCT fleet_id FROM rbe_fleet_hosts WHERE state = 'queued'`);
    const out = [];
    for (const row of rows) out.push({ fleetId: row.fleet_id, ...(await this.advance(row.fleet_id)) });
    return out;
  }

  /**
   * A host whose machine another run holds (its lease): it waits, with what for, and is queued again
   * (by {@link WorkQueue.requeueOrphans}) only once its delay passed — the first `heldRetryMs`, each
   * further one twice the last, up to `heldRetryMaxMs` — instead of on every loop of every worker.
   * Returns when it is tried again (the database's clock).
   */
  async waitForMachine(fleetId: string, host: string, waiting: string): Promise<string | null> {
    const first = this.options.heldRetryMs ?? 1000;
    const max = this.options.heldRetryMaxMs ?? 60_000;
    const { rows } = await this.store.query<{ retry_at: Date }>(
      `WITH up AS (UPDATE rbe_fleet_hosts SET waiting = $3, retry_at = now() + least($4 * power(2, tries), $5) * interval '1 millisecond', tries = tries + 1
         WHERE fleet_id = $1 AND host = $2 AND state = 'queued' RETURNING fleet_id, retry_at)
       SELECT retry_at, pg_notify('${FLEET_CHANNEL}', fleet_id) FROM up`,
      [fleetId, host, waiting, first, max],
    );
    return rows[0]?.retry_at.toISOString() ?? null;
  }

  /** The host's run has started: it waits for its machine no more. */
  async machineTaken(fleetId: string, host: string): Promise<void> {
    await this.store.query(`UPDATE rbe_fleet_hosts SET waiting = NULL, retry_at = NULL, tries = 0 WHERE fleet_id = $1 AND host = $2 AND waiting IS NOT NULL`, [fleetId, host]);
  }

  /** Marks a host ended without a run (its target could not be reached). */
  async endHost(fleetId: string, host: string, status: HostStatus, error?: ErrorRecord): Promise<void> {
    // The console hears of it (FLEET_CHANNEL), once the update commits.
    await this.store.query(
      `WITH up AS (UPDATE rbe_fleet_hosts SET state = 'ended', status = $3, error = $4 WHERE fleet_id = $1 AND host = $2 RETURNING fleet_id)
       SELECT pg_notify('${FLEET_CHANNEL}', fleet_id) FROM up`,
      [fleetId, host, status, error ? JSON.stringify(error) : null],
    );
  }

  /**
   * Queues again every queued host whose run lost its driver: a lease expired without release (its
   * worker died), or released with the run unfinished (its worker stopped at a safe point). Each is
   * queued once per lease generation, whichever worker sees it first.
   */
  async requeueOrphans(): Promise<number> {
    const { rows } = await this.store.query<{ fleet_id: string; host: string; run_id: string; generation: number }>(
      `SELECT h.fleet_id, h.host, h.run_id, l.generation FROM rbe_fleet_hosts h
       JOIN rbe_leases l ON l.run_id = h.run_id
       LEFT JOIN rbe_runs r ON r.run_id = h.run_id
       WHERE h.state = 'queued' AND (h.retry_at IS NULL OR h.retry_at <= now()) AND (
         (NOT l.released AND l.expires_at < now())
         OR (l.released AND (r.summary IS NULL OR r.summary->>'status' = 'running' OR (r.summary->>'status' = 'awaiting-resume' AND r.summary->>'awaiting' = 'interrupted')))
       )`,
    );
    let sent = 0;
    for (const row of rows) {
      if (await this.send({ fleetId: row.fleet_id, host: row.host, runId: row.run_id }, jobIdOf(`${row.run_id}#${row.generation}`))) sent += 1;
    }
    return sent;
  }

  /** Up to `n` jobs for this worker. */
  async fetch(n: number): Promise<{ id: string; data: HostRunJob }[]> {
    if (n <= 0) return [];
    return (await this.boss.fetch<HostRunJob>(HOST_RUN_QUEUE, { batchSize: n })) ?? [];
  }

  /** The job is done with (whatever became of its run: the run's own journal says). */
  async complete(id: string): Promise<void> {
    await this.whileReachable(() => this.boss.complete(HOST_RUN_QUEUE, id));
  }

  /** The job could not be carried out (the store was away before the run was taken): hand it out again. */
  async retry(id: string): Promise<void> {
    await this.whileReachable(() => this.boss.fail(HOST_RUN_QUEUE, id));
  }

  /** Retries a call of pg-boss's while the server cannot be reached (up to a minute); gives up quietly after. */
  private async whileReachable(fn: () => Promise<unknown>): Promise<void> {
    const started = Date.now();
    await pRetry(fn, { retries: 1000, minTimeout: 100, maxTimeout: 2000, shouldRetry: ({ error }) => isConnectionError(error) && Date.now() - started < 60_000 }).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.boss.stop({ graceful: false, wait: true });
  }

  private async send(data: HostRunJob, id: string, client?: pg.PoolClient): Promise<boolean> {
    const db = client ? { executeSql: (text: string, values: unknown[]) => client.query(text, values) } : undefined;
    // The same id twice is one job: a host is queued once per reason, however many workers notice it.
    return (await this.boss.send(HOST_RUN_QUEUE, data, { id, ...(db ? { db } : {}) })) !== null;
  }

  private async inTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.store.withClient(async (client) => {
      await client.query('BEGIN');
      try {
        const out = await fn(client);
        await client.query('COMMIT');
        return out;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }
}
