/**
 * The PostgreSQL store: runs, journals, leases and fleets in one database that many workers share, on
 * as many machines. Tables are created by versioned migrations on first use (under an advisory lock,
 * so that workers starting together apply each one once).
 *
 * - A journal record is a row `(run_id, seq, line)`, the line exactly as the file store writes it
 *   (checksummed). An append is one `INSERT … SELECT … WHERE` the writer's lease generation is still
 *   the run's: a fenced writer inserts nothing, in the same statement that would have stored it.
 * - A lease is a row per run: `generation`, `holder`, `expires_at` in the database's clock (workers on
 *   several machines never compare their own clocks). Taking it over bumps the generation, only when
 *   the lease is released or expired.
 * - Connection failures (the server restarting) are retried with backoff; an append whose answer was
 *   lost is recognised when retried (same seq, same line) instead of stored twice.
 * - A journal batch notifies {@link JOURNAL_CHANNEL} (payload: the run id) and each change of a fleet's
 *   records {@link FLEET_CHANNEL} (payload: the fleet id), by `pg_notify` in the very statement that
 *   writes them: no round trip more, and PostgreSQL delivers a notification only when its transaction
 *   commits, so a listener (the console) never hears of a record that is not durable. A run notifies
 *   from its batches at most once per {@link NOTIFY_EVERY_MS}; the batches in between are announced by
 *   one `pg_notify` at the interval's end (notifying commits are serialised by PostgreSQL).
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import pRetry, { AbortError } from 'p-retry';
import pg from 'pg';
import { JournalError, LeaseError, RunStateError, StoreRefusedError, StoreUnavailableError, ValidationError, type ErrorRecord, type StoreRefusedCode } from '../errors.js';
import { maskPasswordParameters, withoutPassword } from '../util/without-password.js';
import { GroupCommitJournal, decodeLine } from './file-journal.js';
import type { JournalRecord, Lease, LeaseOptions, OpenJournalOptions, RunJournal, TargetLease, TargetLeaseOptions } from '../engine/run-store.js';
import { processAlive } from '../util/process-alive.js';
import { targetHeldError } from './file-lease.js';
import { checkRunFileName, runDirOf } from './file-runs.js';
import { damagedSummary, summaryOf, type RunSummary } from '../engine/run-index.js';
import { replay, resultOf } from '../engine/replay.js';
import { fleetDirOf } from './fleet-dir.js';
import { checkFleetRecord, filesUnder } from './file-store.js';
import type { FleetRecord, HeldHost, HostStatus, UnreachableHost } from '../fleet/types.js';
import { countsAsFailure } from '../fleet/fleet.js';
import type { PostgresStore as PublicPostgresStore, RunFiles, Store } from './types.js';

/**
 * The channel each committed journal batch is notified on; the payload is the run id (never a record:
 * it stays far under PostgreSQL's 8000-byte limit and carries nothing secret).
 *
 * @example
 * ```ts
 * declare const client: { query(sql: string): Promise<unknown>; on(event: 'notification', f: (n: { channel: string; payload?: string }) => void): void }; // a pg.Client
 * await client.query(`LISTEN ${JOURNAL_CHANNEL}`);
 * client.on('notification', (n) => n.channel === JOURNAL_CHANNEL && console.log('run', n.payload, 'has new records'));
 * ```
 */
export const JOURNAL_CHANNEL = 'rbe_journal';

/**
 * The channel a fleet's records are notified on when they change (created; a host ended without a run);
 * the payload is the fleet id. Its hosts' runs notify {@link JOURNAL_CHANNEL}.
 *
 * @example
 * ```ts
 * declare const client: { query(sql: string): Promise<unknown> }; // a pg.Client
 * await client.query(`LISTEN ${FLEET_CHANNEL}`);
 * ```
 */
export const FLEET_CHANNEL = 'rbe_fleets';

/** The schema, one migration per version; never edit a released one, add the next. */
export const MIGRATIONS: readonly string[] = [
  // 1: runs, journals, leases, fleets, the files runs leave.
  `CREATE TABLE rbe_runs (
     run_id text PRIMARY KEY,
     created_at timestamptz NOT NULL DEFAULT now(),
     summary jsonb,
     summary_seq integer
   );
   CREATE TABLE rbe_journal (
     run_id text NOT NULL REFERENCES rbe_runs (run_id),
     seq integer NOT NULL CHECK (seq > 0),
     line text NOT NULL,
     PRIMARY KEY (run_id, seq)
   );
   CREATE TABLE rbe_leases (
     run_id text PRIMARY KEY REFERENCES rbe_runs (run_id),
     generation integer NOT NULL,
     holder text NOT NULL,
     expires_at timestamptz NOT NULL,
     released boolean NOT NULL DEFAULT false
   );
   CREATE TABLE rbe_fleets (
     fleet_id text PRIMARY KEY,
     record jsonb NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now()
   );
   CREATE TABLE rbe_files (
     run_id text NOT NULL REFERENCES rbe_runs (run_id),
     name text NOT NULL,
     content text NOT NULL,
     PRIMARY KEY (run_id, name)
   );`,
  // 2: fleets queued for workers: each host's place (pending → queued → ended).
  `CREATE TABLE rbe_fleet_hosts (
     fleet_id text NOT NULL REFERENCES rbe_fleets (fleet_id),
     host text NOT NULL,
     wave integer NOT NULL,
     position integer NOT NULL,
     run_id text NOT NULL,
     state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'queued', 'ended')),
     status text,
     error jsonb,
     PRIMARY KEY (fleet_id, host)
   );
   CREATE INDEX rbe_fleet_hosts_queued ON rbe_fleet_hosts (state) WHERE state = 'queued';`,
  // 3: a run's files as bytes: undo.reg is UTF-16LE (zero bytes, which a text column refuses).
  `ALTER TABLE rbe_files ALTER COLUMN content TYPE bytea USING convert_to(content, 'UTF8');`,
  // 4: the lease of a fleet driven by one controller (`run --inventory`, `resume <fleet-id>`), as a run's.
  `CREATE TABLE rbe_fleet_leases (
     fleet_id text PRIMARY KEY,
     generation integer NOT NULL,
     holder text NOT NULL,
     expires_at timestamptz NOT NULL,
     released boolean NOT NULL DEFAULT false
   );`,
  // 5: the lease of a machine a run drives (its key: a simulated host's file, a host name): one run at a time.
  `CREATE TABLE rbe_target_leases (
     machine text PRIMARY KEY,
     run_id text NOT NULL,
     generation integer NOT NULL,
     holder text NOT NULL,
     expires_at timestamptz NOT NULL,
     released boolean NOT NULL DEFAULT false,
     unfinished boolean NOT NULL DEFAULT false
   );`,
  // 6: a queued host waiting for its machine, which another run holds: what it waits for, and when it is tried again.
  `ALTER TABLE rbe_fleet_hosts ADD COLUMN waiting text, ADD COLUMN retry_at timestamptz, ADD COLUMN tries integer NOT NULL DEFAULT 0;`,
];

/**
 * The store's connections, for the work queue: `store` must be one that {@link postgresStore} opened
 * (an application's own object that only looks like one is refused, with what to pass instead).
 */
export function withConnections(store: Store): PostgresStore {
  if (store instanceof PostgresStore) return store;
  throw new TypeError(`a PostgreSQL store opened by postgresStore() is needed here, not a ${store.kind} store (${store.location})`);
}

/** The socket errors and SQLSTATEs that mean a lost connection (besides class 08), each in words. */
/** The files each drive of a run writes afresh at its end, or removes when it leaves nothing to undo. */
const UNDO_FILES = ['undo.reg', 'undo.ps1'] as const;

const CONNECTION_LOSS: Record<string, string> = {
  ECONNREFUSED: 'the server refused the connection',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was closed',
  ETIMEDOUT: 'the connection timed out',
  ENOTCONN: 'the connection was closed',
  EHOSTUNREACH: 'the server\'s host cannot be reached',
  ENETUNREACH: 'the server\'s network cannot be reached',
  ENETDOWN: 'the network is down',
  EHOSTDOWN: 'the server\'s host is down',
  EAI_AGAIN: 'the server\'s name could not be resolved now',
  '57P01': 'the server ended the session',
  '57P02': 'the server ended the session (it crashed)',
  '57P03': 'the server does not take connections now',
  '53300': 'the server has too many connections',
};

/** SQLSTATE classes and socket errors that mean "the server is not there right now": retried. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? '';
  if (Object.hasOwn(CONNECTION_LOSS, code)) return true;
  if (code.startsWith('08')) return true;
  const message = (error as Error)?.message ?? '';
  return /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect|Query read timeout|not queryable/i.test(message);
}

/**
 * Why a connection error lost the store, for people: its code first (a socket's, or the server's
 * SQLSTATE), then what it means. Never the URL: it says nothing of where the store is, or with what.
 *
 * @example
 * ```ts
 * connectionLoss(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })); // '57P01: the server ended the session'
 * ```
 */
export function connectionLoss(error: unknown): string {
  const code = (error as { code?: string })?.code ?? '';
  if (Object.hasOwn(CONNECTION_LOSS, code)) return `${code}: ${CONNECTION_LOSS[code]}`;
  if (code.startsWith('08')) return `${code}: the connection failed`;
  const message = (error as Error)?.message ?? '';
  if (/timeout/i.test(message)) return 'timeout: the server did not answer in time';
  return `${code || 'no code'}: the connection was lost`;
}

/** The server's SQLSTATE of an error it answered with (five digits or capitals), else null. */
export function sqlstateOf(error: unknown): string | null {
  if (error instanceof StoreRefusedError) return error.sqlstate;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !isConnectionError(error) ? code : null;
}

/** What the store was doing when it was refused: creating its tables, or a command's statement. */
type Doing = 'migrate' | 'query';

/**
 * A statement the server refused, as the operator reads it: what (the server's words and SQLSTATE),
 * and what to do; `user` is the store's user. Null for an error that is not the server's answer (a
 * lost connection, a bug of ours).
 *
 * @example
 * ```ts
 * storeRefusal(Object.assign(new Error('permission denied for schema public'), { code: '42501' }), 'migrate', 'rbe', 'postgres://rbe@db/runs');
 * // StoreRefusedError STORE_PERMISSION: "… rbe may not create runbook-engine's tables …"
 * ```
 */
export function storeRefusal(error: unknown, doing: Doing, user: string, location: string): StoreRefusedError | null {
  const unanswered = noPasswordGiven(error, user, location);
  if (unanswered) return unanswered;
  const sqlstate = sqlstateOf(error);
  if (!sqlstate || error instanceof StoreRefusedError) return error instanceof StoreRefusedError ? error : null;
  const said = `${firstLine((error as Error).message)} (SQLSTATE ${sqlstate})`;
  const refuse = (code: StoreRefusedCode, what: string, advice: string) =>
    new StoreRefusedError(code, `${what}: ${said}`, { sqlstate, advice }, { where: location, hint: `${advice}; nothing more was changed`, cause: error });
  if (sqlstate === '42501') {
    return doing === 'migrate'
      ? refuse('STORE_PERMISSION', `the PostgreSQL store's tables are not all created yet, and its user ${user} may not create them`, `run a first command (\`runbook status --store …\`) as the database's owner, who creates them, then GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${user} — or GRANT CREATE ON SCHEMA public TO ${user}`)
      : refuse('STORE_PERMISSION', `the PostgreSQL store refused its user ${user}`, `ask the database's owner to GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${user} (a user that only reads — status, serve — needs SELECT)`);
  }
  if (sqlstate === '25006') {
    return doing === 'migrate'
      ? refuse('STORE_READ_ONLY', "the PostgreSQL store is read-only (a hot standby, or default_transaction_read_only is on) and runbook-engine's tables are not all created yet", 'point --store at the primary (read-write) server for a first command, which creates them; reading commands (status, serve) work on a standby once they are there')
      : refuse('STORE_READ_ONLY', 'the PostgreSQL store is read-only (a hot standby, or default_transaction_read_only is on) and this command writes to it', 'point --store at the primary (read-write) server; reading commands (status, serve) work on a standby');
  }
  // Class 28 and 3D000 come at login: the server answered, and nothing but the store's configuration
  // (the URL's user, database, $PGPASSWORD, the server's pg_hba.conf) makes the next try any different.
  if (sqlstate === '28P01') {
    return refuse('STORE_AUTH', `the PostgreSQL server refused the login of the store's user ${user} (wrong password, or no such user)`, `check the user in the store URL and its password ($PGPASSWORD, or the URL in $RUNBOOK_STORE), then run the command again`);
  }
  if (sqlstate.startsWith('28')) {
    return refuse('STORE_AUTH', `the PostgreSQL server does not let the store's user ${user} log in from here`, `ask the database's administrator to allow this user, database and host (pg_hba.conf), or check the user in the store URL; then run the command again`);
  }
  if (sqlstate === '3D000') {
    return refuse('STORE_NO_DATABASE', "the store's database does not exist on its PostgreSQL server", `point --store (or $RUNBOOK_STORE) at the database that holds your runs (the URL's path names it), or have it created (CREATE DATABASE … OWNER ${user}): runbook-engine creates its tables, not its database`);
  }
  if (sqlstate === '42P07') {
    return refuse('STORE_SCHEMA', "the database holds a table of runbook-engine's name that runbook-engine did not create (its rbe_schema does not list it)", 'give runbook-engine a database of its own (point --store at it), or rename that table');
  }
  if (sqlstate === '42P01' || sqlstate === '42703') {
    return refuse('STORE_SCHEMA', "the PostgreSQL store's tables are not all there, or not as runbook-engine made them (a table or column is missing)", 'point --store at the database that holds your runs, or at a new one; a table of it was dropped or changed by hand');
  }
  if (sqlstate === '53100') return refuse('STORE_FULL', "the PostgreSQL server's disk is full", 'free space on the database server (its data directory and pg_wal)');
  if (sqlstate === '53200') return refuse('STORE_FULL', 'the PostgreSQL server is out of memory', 'free memory on the database server (or lower its work_mem)');
  if (sqlstate.startsWith('53')) return refuse('STORE_FULL', 'the PostgreSQL server ran out of a resource', "raise the server's limit its log names, or free what holds it");
  return refuse('STORE_REFUSED', 'the PostgreSQL store refused a statement', `see the database server's log for SQLSTATE ${sqlstate}`);
}

/**
 * The store's login refused, found in an error or its causes (a run stopped by its store carries the
 * store's error as its cause): the server's class 28 (a password rotated, the user dropped, pg_hba.conf)
 * or no password to give it, as a `STORE_AUTH` {@link StoreRefusedError}; null for anything else.
 * Asking again as it is gets the same answer: the process's credentials are fixed for its life.
 *
 * @example
 * ```ts
 * loginRefused(Object.assign(new Error('password authentication failed for user "rbe"'), { code: '28P01' }), 'rbe', 'postgres://rbe@db/runs')?.code; // 'STORE_AUTH'
 * ```
 */
export function loginRefused(error: unknown, user: string, location: string): StoreRefusedError | null {
  let e: unknown = error;
  for (let depth = 0; e && depth < 5; depth++, e = (e as { cause?: unknown }).cause) {
    if (e instanceof StoreRefusedError) {
      if (e.code === 'STORE_AUTH') return e;
      continue;
    }
    if (sqlstateOf(e)?.startsWith('28') || noPasswordGiven(e, user, location)) return storeRefusal(e, 'query', user, location);
  }
  return null;
}

/**
 * The server asked for a password and the client had none to give (no `$PGPASSWORD`, none in the URL or
 * in ~/.pgpass): node-postgres refuses the server's SCRAM challenge itself, with an error of its own that
 * has no SQLSTATE (`SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string`). It is a login
 * refused — the operator's to fix, asking again as it is gets the same answer — never a server away.
 */
function noPasswordGiven(error: unknown, user: string, location: string): StoreRefusedError | null {
  const message = (error as Error | null)?.message ?? '';
  if (!/^SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a (non-empty )?string/.test(message)) return null;
  const advice = `set $PGPASSWORD to the password of ${user} (or put it in ~/.pgpass, or in the URL in $RUNBOOK_STORE, percent-encoded), then run the command again`;
  return new StoreRefusedError('STORE_AUTH', `the PostgreSQL server asks the store's user ${user} for a password, and none was given ($PGPASSWORD is not set, and neither the URL nor ~/.pgpass holds one)`, { sqlstate: '', advice }, { where: location, hint: `${advice}; nothing was changed`, cause: error });
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}

/** `FENCED`: this worker no longer drives the run, and changes nothing more. */
function lostRun(location: string, runId: string, message: string): LeaseError {
  return new LeaseError('FENCED', message, { where: `${location} run ${runId}`, hint: 'nothing more was changed by this worker; follow the run with `runbook status`' });
}

/**
 * The URL for people: its password replaced by `***`, in the user-info and in each `password` query
 * parameter (textually when the URL does not parse).
 *
 * @example
 * ```ts
 * maskedUrl('postgres://rbe:pw@db/runs'); // 'postgres://rbe:***@db/runs'
 * maskedUrl('postgres://rbe@db/runs?password=pw'); // 'postgres://rbe@db/runs?password=***'
 * ```
 */
export function maskedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return maskPasswordParameters(u.toString());
  } catch {
    return withoutPassword(url);
  }
}

/**
 * Refuses a store URL that is not a `postgres://` URL before anything connects: node-postgres would
 * throw a `TypeError` ("Invalid URL") at the first query, or the store would retry it as a server
 * that cannot be reached. The error names the field and the URL, its password masked.
 */
function checkStoreUrl(url: string): void {
  let problem: string | undefined;
  try {
    const { protocol } = new URL(url);
    if (protocol !== 'postgres:' && protocol !== 'postgresql:') problem = `a ${protocol} URL, not postgres:`;
  } catch {
    problem = 'not a URL';
  }
  if (!problem) return;
  throw new ValidationError('the PostgreSQL store URL cannot be used', [`the store URL (--store or $RUNBOOK_STORE) "${withoutPassword(url)}": ${problem}; expected postgres://user@host:port/database`], {
    hint: 'give it as postgres://user@host:port/database with the password in $PGPASSWORD (in the URL, percent-encode a password\'s @ : / ? # %, in a ?password= parameter also & and +); nothing was changed',
  });
}

/**
 * Options of {@link postgresStore}.
 *
 * @example
 * ```ts
 * const options: PostgresStoreOptions = { stateDir: '.runbook', poolSize: 4, reconnectForMs: 30_000 };
 * const store = await postgresStore('postgres://runbook@db.example.org/runbook', options);
 * ```
 */
export interface PostgresStoreOptions {
  /** This machine's folder for the files of the runs it drives (reports, backups). */
  stateDir: string;
  /** How long a connection failure is retried before the operation fails. @default 60000 */
  reconnectForMs?: number;
  /**
   * How long letting go of a lease (and announcing a run's last journal batch) waits for a store that
   * cannot be reached: a lease not released expires by itself, so a command that stopped need not wait
   * out {@link PostgresStoreOptions.reconnectForMs} for it. @default 5000
   */
  releaseForMs?: number;
  /** The clock the retries of a lost connection are timed by (the tests' hook). @default Date.now */
  now?: () => number;
  /** Connections kept open. @default 10 */
  poolSize?: number;
  /**
   * How long a connection may sit idle inside a transaction before the server ends its session (and
   * its locks with it). A process paused mid-transaction (SIGSTOP, a VM frozen) would otherwise hold
   * the fleet's lock, and every other worker's statement would wait on it until the pause ends. Must
   * stay below the 30 s a statement is waited for. @default 10000
   */
  idleInTransactionMs?: number;
}

/**
 * The PostgreSQL store at `url` (`postgres://user@host:port/db`; the password from the URL or
 * `$PGPASSWORD`). Applies the migrations it lacks before it answers.
 *
 * @example
 * ```ts
 * const store = await postgresStore('postgres://runbook@db.example.org/runbook', { stateDir: '.runbook' });
 * const runner = new Runner({ kinds: bundledStepKinds(), store });
 * ```
 */
export async function postgresStore(url: string, options: PostgresStoreOptions): Promise<PostgresStore> {
  const store = new PostgresStore(url, options);
  await store.migrate();
  return store;
}

/**
 * The PostgreSQL store with its connections (node-postgres's pool), for the store's own modules and the
 * work queue; applications see it as the {@link PublicPostgresStore} of `store/types.ts`, which names
 * no type of `pg`.
 */
export class PostgresStore implements PublicPostgresStore {
  readonly kind = 'postgres' as const;
  readonly location: string;
  readonly pool: pg.Pool;
  private readonly stateDir: string;
  private readonly reconnectForMs: number;
  /** How long a release waits for a store that cannot be reached. */
  readonly releaseForMs: number;
  private readonly now: () => number;

  constructor(readonly url: string, options: PostgresStoreOptions) {
    checkStoreUrl(url);
    this.location = maskedUrl(url);
    this.stateDir = resolve(options.stateDir);
    this.reconnectForMs = options.reconnectForMs ?? 60_000;
    this.releaseForMs = options.releaseForMs ?? 5000;
    this.now = options.now ?? Date.now;
    // A query without an answer for 30 s is given up and retried like a lost connection (a server that
    // vanished without closing the socket would otherwise hold it forever).
    // A session idle inside a transaction (its process paused between two statements) is ended by
    // the server, so that its locks do not stop every other worker (PostgreSQL's
    // idle_in_transaction_session_timeout, set per connection).
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      application_name: 'runbook-engine',
      connectionTimeoutMillis: 5000,
      query_timeout: 30_000,
      idle_in_transaction_session_timeout: options.idleInTransactionMs ?? 10_000,
    });
    // An idle connection dropped by a restarting server is not an error of anyone's: the pool makes a new one.
    this.pool.on('error', () => undefined);
  }

  /**
   * Runs a statement, retrying while the server cannot be reached (it restarts, the network blips) for
   * `retryForMs` (the store's reconnectForMs unless given).
   */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = [], o: { retryForMs?: number } = {}): Promise<pg.QueryResult<R>> {
    const started = this.now();
    const retryForMs = o.retryForMs ?? this.reconnectForMs;
    return pRetry(
      async () => {
        try {
          const answer = await this.pool.query<R>(text, values);
          this.lost = false;
          return answer;
        } catch (error) {
          if (!isConnectionError(error)) throw new AbortError(error as Error);
          throw error;
        }
      },
      {
        retries: 1000,
        minTimeout: 100,
        maxTimeout: 2000,
        shouldRetry: () => this.now() - started < retryForMs,
      },
    ).catch((error: unknown) => {
      if (isConnectionError(error)) this.lost = true;
      throw isConnectionError(error) ? this.unavailable(error) : (storeRefusal(error, 'query', this.user, this.location) ?? error);
    });
  }

  /**
   * True while the last statement that ended found the store out of reach (after its retries): a lease
   * let go of then is tried once, not for {@link PostgresStoreOptions.releaseForMs} again.
   */
  private lost = false;

  /** How long a release waits for the store: once when it was just found out of reach, else releaseForMs. */
  get releaseWaitMs(): number {
    return this.lost ? 0 : this.releaseForMs;
  }

  /** The store's user, for the advice of a refusal: the URL's, else libpq's default ($PGUSER, this account). */
  get user(): string {
    let name = '';
    try {
      const u = new URL(this.url);
      name = decodeURIComponent(u.username || u.searchParams.get('user') || '');
    } catch {
      // checkStoreUrl refused it already
    }
    return name || process.env.PGUSER || process.env.USER || 'the store\'s user';
  }

  /** The error of a store that cannot be reached, naming it (without its password). */
  private unavailable(cause: unknown): StoreUnavailableError {
    const advice =
      (cause as { code?: string } | null)?.code === '53300'
        ? "the server has too many connections: wait for others to end, or raise its max_connections"
        : "check that the server is up and reachable from here, and the URL's host and port are right";
    return new StoreUnavailableError(`the PostgreSQL store cannot be reached: ${(cause as Error).message}`, { transient: true, reason: connectionLoss(cause), advice }, {
      where: this.location,
      hint: `${advice}; nothing more was changed`,
      cause,
    });
  }

  /**
   * A connection of the pool for a few statements in a row (a transaction, a session lock). While it is
   * held, its connection errors are this caller's (they reject its next statement) rather than an
   * uncaught 'error' event; a connection that failed is discarded, not returned to the pool.
   */
  async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (cause) {
      // A login the server refused (a wrong password, no such database) is the operator's to fix, not a server away.
      throw isConnectionError(cause) ? this.unavailable(cause) : (storeRefusal(cause, 'query', this.user, this.location) ?? this.unavailable(cause));
    }
    let broken: Error | undefined;
    const onError = (error: Error) => (broken = error);
    client.on('error', onError);
    try {
      return await fn(client);
    } catch (error) {
      if (isConnectionError(error)) broken ??= error as Error;
      throw storeRefusal(error, 'query', this.user, this.location) ?? error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * Applies the migrations this database lacks, one transaction each, under an advisory lock. It reads
   * first (`to_regclass`, then the highest version applied): a database that has them all is only read
   * — a user that may only read, a hot standby, a read-only transaction use it as it is. A statement the
   * server refuses (may not create tables, read-only, a table of our name not ours) is a
   * {@link StoreRefusedError} that says so.
   */
  async migrate(): Promise<number> {
    return this.withClient(async (client) => {
      try {
        const version = async (): Promise<number> => {
          const { rows: exists } = await client.query<{ t: string | null }>("SELECT to_regclass('rbe_schema')::text AS t");
          if (!exists[0].t) return 0;
          const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM rbe_schema');
          return rows[0].v ?? 0;
        };
        const refuseNewer = (have: number) => {
          if (have <= MIGRATIONS.length) return;
          throw new JournalError('JOURNAL_VERSION', `the store's schema is version ${have}; this runbook-engine knows versions up to ${MIGRATIONS.length}`, {
            where: this.location,
            hint: 'use the runbook-engine version that created it (or a newer one)',
          });
        };
        const seen = await version();
        refuseNewer(seen);
        if (seen === MIGRATIONS.length) return MIGRATIONS.length;
        await client.query('SELECT pg_advisory_lock(hashtext($1))', ['runbook-engine schema']);
        try {
          // Created when it is not there only: a user that may not create tables (no CREATE on the
          // schema) but may write them gets as far as the migration it lacks, which names what it needs.
          if (seen === 0) await client.query('CREATE TABLE IF NOT EXISTS rbe_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
          // Another process may have applied some while this one waited for the lock.
          const have = await version();
          refuseNewer(have);
          for (let v = have + 1; v <= MIGRATIONS.length; v++) {
            await client.query('BEGIN');
            try {
              await client.query(MIGRATIONS[v - 1]);
              await client.query('INSERT INTO rbe_schema (version) VALUES ($1)', [v]);
              await client.query('COMMIT');
            } catch (error) {
              await client.query('ROLLBACK').catch(() => undefined);
              throw (await this.notOwner(client, v, error)) ?? error;
            }
          }
          return MIGRATIONS.length;
        } finally {
          await client.query('SELECT pg_advisory_unlock(hashtext($1))', ['runbook-engine schema']).catch(() => undefined);
        }
      } catch (error) {
        throw storeRefusal(error, 'migrate', this.user, this.location) ?? error;
      }
    });
  }

  /**
   * A migration that alters a table (`ALTER TABLE` is its owner's privilege, which no GRANT gives)
   * refused to a user that may read and write the table but does not own it: which migration, which
   * table, whose it is, and what to do — apply it once as that owner. Null for any other refusal.
   */
  private async notOwner(client: pg.PoolClient, version: number, error: unknown): Promise<StoreRefusedError | null> {
    const table = /^\s*ALTER TABLE (\w+)/i.exec(MIGRATIONS[version - 1])?.[1];
    if (!table || sqlstateOf(error) !== '42501') return null;
    const { rows } = await client
      .query<{ owner: string }>('SELECT tableowner AS owner FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1', [table])
      .catch(() => ({ rows: [] as { owner: string }[] }));
    const owner = rows[0]?.owner;
    const user = this.user;
    const advice = `run one command of this runbook-engine (\`runbook status --store …\`) once as ${owner ?? `the owner of ${table}`}, which applies migration ${version} (and any after it); ${user} then goes on as it is — or have ${user} own the tables (ALTER TABLE ${table} OWNER TO ${user}, and the other rbe_ tables)`;
    return new StoreRefusedError(
      'STORE_PERMISSION',
      `migration ${version} of the PostgreSQL store's schema alters table ${table}, which only its owner${owner ? ` (${owner})` : ''} may do, and the store's user ${user} does not own it (SELECT, INSERT, UPDATE and DELETE are not enough): ${firstLine((error as Error).message)} (SQLSTATE 42501)`,
      { sqlstate: '42501', advice },
      { where: this.location, hint: `${advice}; nothing was changed (the migration was rolled back)`, cause: error },
    );
  }

  /** This machine's folder for the runs' files while they are driven. */
  get localDir(): string {
    return this.stateDir;
  }

  runDir(runId: string): string {
    return runDirOf(this.stateDir, runId);
  }

  fleetDir(fleetId: string): string {
    return fleetDirOf(this.stateDir, fleetId);
  }

  async lease(runId: string, options: LeaseOptions = {}): Promise<Lease> {
    runDirOf(this.stateDir, runId); // refuses what is not a run id
    await this.query('INSERT INTO rbe_runs (run_id) VALUES ($1) ON CONFLICT DO NOTHING', [runId]);
    return this.leaseRow({ table: 'rbe_leases', key: 'run_id', id: runId, what: 'the run', where: `run ${runId}`, hint: 'follow the run with `runbook status`' }, options);
  }

  /**
   * A fleet's lease: a row of `rbe_fleet_leases`, taken, renewed, fenced and released as a run's. A
   * fleet queued for workers (`run --no-wait`) is theirs while they have hosts to drive: refused then.
   */
  async leaseFleet(fleetId: string, options: LeaseOptions = {}): Promise<Lease> {
    fleetDirOf(this.stateDir, fleetId); // refuses what is not a fleet id
    await this.refuseWhileWorkersDrive(fleetId);
    return this.leaseRow({ table: 'rbe_fleet_leases', key: 'fleet_id', id: fleetId, what: `fleet ${fleetId}`, where: `fleet ${fleetId}`, hint: 'follow it with `runbook status`' }, options);
  }

  /**
   * Refuses (`LEASE_HELD`) the lease of a fleet queued for workers while they drive it — a host queued,
   * or one waiting for its wave while the budget holds — as `WorkQueue.advance` decides it: the workers
   * take no fleet lease (each run holds its own), so a `resume <fleet-id>` would drive the same waves
   * beside them, around their budget, and a `rollback <fleet-id>` would undo hosts they go on queuing.
   * A fleet is queued when it is made and never becomes a controller's; once its workers are done
   * (every host ended, or the budget spent with no host queued) nothing more is queued, and the lease is
   * anyone's: a rollback, or a resume of a run awaiting its restart window.
   */
  private async refuseWhileWorkersDrive(fleetId: string): Promise<void> {
    const { rows } = await this.query<{ host: string; state: string; status: string | null }>('SELECT host, state, status FROM rbe_fleet_hosts WHERE fleet_id = $1 ORDER BY wave, position', [fleetId]);
    if (rows.every((h) => h.state === 'ended')) return; // not queued (a controller's unreachable hosts are ended), or done
    const record = await this.readFleet(fleetId);
    const failures = rows.filter((h) => h.state === 'ended' && countsAsFailure((h.status ?? 'skipped') as HostStatus)).length;
    const spent = !record.checkMode && failures > record.maxFailures;
    const queued = rows.filter((h) => h.state === 'queued').map((h) => h.host);
    const waiting = spent ? [] : rows.filter((h) => h.state === 'pending').map((h) => h.host);
    if (queued.length + waiting.length === 0) return;
    const list = (hosts: string[]) => `${hosts.slice(0, 5).join(', ')}${hosts.length > 5 ? `, … (${hosts.length})` : ''}`;
    const open = [queued.length > 0 ? `under way: ${list(queued)}` : '', waiting.length > 0 ? `waiting for their wave: ${list(waiting)}` : ''].filter(Boolean).join('; ');
    throw new LeaseError('LEASE_HELD', `fleet ${fleetId} is queued: its workers drive it (${open})`, {
      where: `${this.location} fleet ${fleetId}`,
      hint: `follow its progress with \`runbook status ${fleetId}\` (\`runbook worker\` drives it: start one if none runs); resume or roll back the fleet once its workers are done with it — nothing was contacted`,
    });
  }

  /**
   * A machine's lease: a row of `rbe_target_leases` holding the run's id, taken, renewed, fenced and
   * released as a run's; a release says whether the run ended, for the next run of another id.
   */
  async leaseTarget(machine: string, runId: string, options: TargetLeaseOptions = {}): Promise<TargetLease> {
    const ttlMs = options.ttlMs ?? 60_000;
    const holder = `${hostname()}:${process.pid}:${Math.random().toString(16).slice(2, 10)}`;
    const where = `${this.location} target ${machine}`;
    type Row = { run_id: string; generation: number; holder: string; expires_at: Date; released: boolean; unfinished: boolean; live: boolean };
    const { rows: was } = await this.query<Row>('SELECT run_id, generation, holder, expires_at, released, unfinished, (NOT released AND expires_at >= now()) AS live FROM rbe_target_leases WHERE machine = $1', [machine]);
    const last = was[0];
    let stealable: number | null = null;
    if (last) {
      const same = last.run_id === runId;
      const [host, pid] = last.holder.split(':');
      // Like the file store: a holder on this machine whose process is gone holds nothing.
      const dead = host === hostname() && !processAlive(Number(pid));
      if (last.live && !dead && !(same && options.takeOver)) {
        throw targetHeldError(machine, last.run_id, `pid ${pid} on ${host}`, last.expires_at.toISOString(), where);
      }
      if (!same) await options.admit?.({ runId: last.run_id, unfinished: last.released ? last.unfinished : undefined });
      stealable = last.generation;
    }
    await options.beforeClaim?.();
    // Taken when released or expired, or from the generation read above (a dead holder, the same run's).
    const { rows } = await this.query<{ generation: number }>(
      `INSERT INTO rbe_target_leases (machine, run_id, generation, holder, expires_at) VALUES ($1, $2, 1, $3, now() + $4 * interval '1 millisecond')
       ON CONFLICT (machine) DO UPDATE SET run_id = EXCLUDED.run_id, generation = rbe_target_leases.generation + 1, holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, released = false, unfinished = false
       WHERE rbe_target_leases.released OR rbe_target_leases.expires_at < now() OR rbe_target_leases.generation = $5
       RETURNING generation`,
      [machine, runId, holder, ttlMs, stealable],
    );
    if (rows.length === 0) {
      const { rows: now } = await this.query<Row>('SELECT run_id, holder, expires_at FROM rbe_target_leases WHERE machine = $1', [machine]);
      const [host, pid] = (now[0]?.holder ?? '?:?').split(':');
      throw targetHeldError(machine, now[0]?.run_id ?? '?', `pid ${pid} on ${host}`, now[0]?.expires_at?.toISOString() ?? '?', where);
    }
    const generation = rows[0].generation;
    const fencedError = () =>
      new LeaseError('FENCED', `this worker lost the lease of target ${machine} (generation ${generation}): another run took it over`, {
        where,
        hint: 'nothing more was changed by this worker; follow the run with `runbook status`',
      });
    return this.heldRow({ table: 'rbe_target_leases', key: 'machine', id: machine, generation, ttlMs, renew: options.renew !== false, fencedError });
  }

  /** A lease row (a run's or a fleet's): exclusive, with a generation that fences an earlier holder. */
  private async leaseRow(
    of: { table: 'rbe_leases' | 'rbe_fleet_leases'; key: 'run_id' | 'fleet_id'; id: string; what: string; where: string; hint: string },
    options: LeaseOptions,
  ): Promise<Lease> {
    const { table, key, id } = of;
    const ttlMs = options.ttlMs ?? 60_000;
    const holder = `${hostname()}:${process.pid}:${Math.random().toString(16).slice(2, 10)}`;
    await options.beforeClaim?.();
    // Taken when released or expired — or, when `stealable` names it, from a holder that died on this machine.
    const claim = (stealable: number | null) =>
      this.query<{ generation: number }>(
        `INSERT INTO ${table} (${key}, generation, holder, expires_at) VALUES ($1, 1, $2, now() + $3 * interval '1 millisecond')
         ON CONFLICT (${key}) DO UPDATE SET generation = ${table}.generation + 1, holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, released = false
         WHERE ${table}.released OR ${table}.expires_at < now() OR ${table}.generation = $4
         RETURNING generation`,
        [id, holder, ttlMs, stealable],
      );
    let { rows } = await claim(null);
    if (rows.length === 0) {
      const { rows: held } = await this.query<{ generation: number; holder: string; expires_at: Date }>(`SELECT generation, holder, expires_at FROM ${table} WHERE ${key} = $1`, [id]);
      const h = held[0];
      const [host, pid] = (h?.holder ?? '').split(':');
      // Like the file store: a holder on this machine whose process is gone holds nothing.
      if (h && host === hostname() && !processAlive(Number(pid))) ({ rows } = await claim(h.generation));
      if (rows.length === 0) {
        throw new LeaseError('LEASE_HELD', `${of.what} is being driven by ${h?.holder ?? 'another worker'} (lease generation ${h?.generation ?? '?'}, until ${h?.expires_at?.toISOString() ?? '?'})`, {
          where: `${this.location} ${of.where}`,
          hint: 'wait for that worker to finish; if it died, its lease is taken over once it expires (at once on its own machine)',
        });
      }
    }
    const generation = rows[0].generation;
    const fencedError = () =>
      new LeaseError('FENCED', `this worker lost the lease of ${of.what === 'the run' ? `run ${id}` : of.what} (generation ${generation}): another driver took it over`, {
        where: `${this.location} ${of.where}`,
        hint: `nothing more was changed by this worker; ${of.hint}`,
      });
    return this.heldRow({ table, key, id, generation, ttlMs, renew: options.renew !== false, fencedError });
  }

  /**
   * A lease row this worker holds at `generation`: checked against the row before each change (another
   * generation fences it), renewed a third of its time before it lapses, and let go of — a machine's
   * with whether its run stopped mid-drive.
   */
  private heldRow(o: { table: 'rbe_leases' | 'rbe_fleet_leases' | 'rbe_target_leases'; key: 'run_id' | 'fleet_id' | 'machine'; id: string; generation: number; ttlMs: number; renew: boolean; fencedError: () => LeaseError }): TargetLease {
    const { table, key, id, generation, ttlMs, fencedError } = o;
    let fenced = false;
    const check = async () => {
      if (fenced) throw fencedError();
      const { rows: now } = await this.query<{ generation: number }>(`SELECT generation FROM ${table} WHERE ${key} = $1`, [id]);
      if (now[0]?.generation !== generation) {
        fenced = true;
        throw fencedError();
      }
    };
    // When the lease lapses at the latest, by this machine's clock (told when it cannot be released).
    let renewedAt = Date.now();
    const renew = async () => {
      const before = Date.now();
      const r = await this.query(`UPDATE ${table} SET expires_at = now() + $3 * interval '1 millisecond' WHERE ${key} = $1 AND generation = $2 AND NOT released`, [id, generation, ttlMs]);
      if (r.rowCount === 0) fenced = true;
      else renewedAt = before;
    };
    const timer = o.renew ? setInterval(() => void renew().catch(() => undefined), Math.max(200, ttlMs / 3)) : null;
    timer?.unref();
    return {
      generation,
      check,
      release: async (state?: { unfinished: boolean }) => {
        if (timer) clearInterval(timer);
        if (fenced) return;
        const unfinished = table === 'rbe_target_leases' ? ', unfinished = $3' : '';
        // A store that cannot be reached is waited for a few seconds only (releaseForMs), not a whole
        // reconnect period: a lease not released expires by itself, and then another driver takes it.
        await this.query(`UPDATE ${table} SET released = true, expires_at = now()${unfinished} WHERE ${key} = $1 AND generation = $2`, unfinished ? [id, generation, state?.unfinished ?? false] : [id, generation], { retryForMs: this.releaseWaitMs }).catch((error: unknown) => {
          if (!(error instanceof StoreUnavailableError)) return;
          const until = new Date(renewedAt + ttlMs);
          const what = table === 'rbe_leases' ? `run ${id}` : table === 'rbe_fleet_leases' ? `fleet ${id}` : `target ${id}`;
          throw new StoreUnavailableError(
            `the lease of ${what} could not be released (the store cannot be reached: ${error.reason ?? 'the connection was lost'}); ${until.getTime() <= Date.now() ? 'it has expired already' : `it expires by itself by ${until.toISOString()}`}`,
            { transient: true, reason: error.reason, advice: error.advice },
            { where: this.location, hint: 'nothing is left to do for it: once it has expired, `runbook resume` takes the run over (at once on this machine)', cause: error },
          );
        });
      },
    };
  }

  async openJournal(runId: string, lease: Lease, options: OpenJournalOptions = {}): Promise<RunJournal> {
    // Records handed over (a resume read them before it took the lease) are still the whole journal when
    // none came after the last of them: rows are only ever appended, under the lease.
    const known = options.records;
    const last = known ? (await this.query<{ last: number | null }>('SELECT max(seq) AS last FROM rbe_journal WHERE run_id = $1', [runId])).rows[0]?.last ?? 0 : -1;
    const records = known && last === known.length ? [...known] : await this.readJournal(runId, { missingIsEmpty: true });
    return new PostgresJournal(this, runId, lease.generation, records);
  }

  async readJournal(runId: string, options: { missingIsEmpty?: boolean } = {}): Promise<JournalRecord[]> {
    const { rows } = await this.query<{ seq: number; line: string }>('SELECT seq, line FROM rbe_journal WHERE run_id = $1 ORDER BY seq', [runId]);
    if (rows.length === 0 && !options.missingIsEmpty) {
      throw new JournalError('JOURNAL_MISSING', `no run ${runId} in the store`, { where: this.location, hint: 'check the run id with `runbook status --store …`' });
    }
    return rows.map((row, i) => {
      const record = decodeLine(row.line);
      if (!record || record.seq !== i + 1 || row.seq !== i + 1) {
        throw new JournalError('JOURNAL_CORRUPT', record ? `journal record out of sequence: expected ${i + 1}, found ${record.seq}` : 'corrupt journal record (its checksum does not match)', {
          where: `${this.location} run ${runId} record ${row.seq}`,
          hint: 'the run cannot be resumed safely; inspect the row, or roll the target back from its undo files',
        });
      }
      return record;
    });
  }

  /**
   * A backup in the run's files table when it is made, in one statement that stores nothing unless
   * `lease` still holds the run (as a journal batch): the worker that takes the run over finds it there
   * whatever became of this machine's disk. Retried on a lost connection like every statement: an upsert
   * of the same bytes.
   */
  async saveFile(runId: string, lease: Lease, name: string, content: Buffer): Promise<void> {
    const r = await this.query(
      `INSERT INTO rbe_files (run_id, name, content)
       SELECT $1, $3, $4 WHERE EXISTS (SELECT 1 FROM rbe_leases WHERE run_id = $1 AND generation = $2 AND NOT released)
       ON CONFLICT (run_id, name) DO UPDATE SET content = EXCLUDED.content`,
      [runId, lease.generation, checkRunFileName(name), content],
    );
    if (r.rowCount === 0) throw lostRun(this.location, runId, `this worker lost the lease of run ${runId} (generation ${lease.generation}): the file ${name} was not kept`);
  }

  filesAt(runId: string): string {
    return `the store ${this.location} (\`runbook status ${runId} --reports <dir>\` writes them out)`;
  }

  async saveRun(runId: string, summary: RunSummary): Promise<void> {
    // The files of the run, as this machine wrote them: kept where every worker finds them, beside those
    // kept when they were made (backups) and those an earlier worker left — none is deleted but the undo
    // files: this drive wrote them (or, leaving nothing to undo, removed them), so those of an earlier
    // drive go, as in the file store (writeUndoContents).
    const files = await filesUnder(this.runDir(runId));
    await this.query('UPDATE rbe_runs SET summary = $2, summary_seq = (SELECT max(seq) FROM rbe_journal WHERE run_id = $1) WHERE run_id = $1', [runId, JSON.stringify(summary)]);
    const names = Object.keys(files);
    const undoGone = UNDO_FILES.filter((name) => !(name in files));
    if (undoGone.length > 0) await this.query('DELETE FROM rbe_files WHERE run_id = $1 AND name = ANY($2::text[])', [runId, undoGone]);
    if (names.length > 0) {
      await this.query(
        `INSERT INTO rbe_files (run_id, name, content) SELECT $1, n, c FROM unnest($2::text[], $3::bytea[]) AS t(n, c)
         ON CONFLICT (run_id, name) DO UPDATE SET content = EXCLUDED.content`,
        [runId, names, names.map((n) => files[n])],
      );
    }
  }

  async runFiles(runId: string): Promise<RunFiles> {
    const { rows } = await this.query<{ name: string; content: Buffer }>('SELECT name, content FROM rbe_files WHERE run_id = $1 ORDER BY name', [runId]);
    return Object.fromEntries(rows.map((r) => [r.name, r.content]));
  }

  async listRuns(): Promise<RunSummary[]> {
    const { rows } = await this.query<{ run_id: string; summary: RunSummary | null; summary_seq: number | null; last: number | null }>(
      'SELECT r.run_id, r.summary, r.summary_seq, (SELECT max(seq) FROM rbe_journal j WHERE j.run_id = r.run_id) AS last FROM rbe_runs r ORDER BY r.run_id',
    );
    const out: RunSummary[] = [];
    for (const row of rows) {
      if (row.last === null) continue; // leased, nothing journaled yet
      if (row.summary && row.summary_seq === row.last) {
        out.push(row.summary);
        continue;
      }
      try {
        out.push(summaryOf(row.run_id, resultOf(replay(await this.readJournal(row.run_id)), this.location)));
      } catch (error) {
        out.push(damagedSummary(row.run_id, error));
      }
    }
    return out;
  }

  /** Runs whose lease is released or expired (by the database's clock), or held by a process of this machine that is gone. */
  async undrivenRuns(runIds: readonly string[]): Promise<Set<string>> {
    if (runIds.length === 0) return new Set();
    const { rows } = await this.query<{ run_id: string; holder: string; live: boolean }>(
      'SELECT run_id, holder, (NOT released AND expires_at >= now()) AS live FROM rbe_leases WHERE run_id = ANY($1::text[])',
      [[...runIds]],
    );
    const live = new Set(
      rows
        .filter((r) => {
          const [host, pid] = r.holder.split(':');
          return r.live && !(host === hostname() && Number(pid) !== process.pid && !processAlive(Number(pid)));
        })
        .map((r) => r.run_id),
    );
    return new Set(runIds.filter((id) => !live.has(id)));
  }

  /**
   * Whether a controller drives the fleet (`run --inventory`, `resume <fleet-id>`): its lease in
   * `rbe_fleet_leases` is held, unreleased and unexpired by the database's clock, and not by a process of
   * this machine that is gone. Null when it never had one — a fleet queued for workers, which hold
   * their runs' leases, not the fleet's.
   */
  async fleetLeaseLive(fleetId: string): Promise<boolean | null> {
    const { rows } = await this.query<{ holder: string; live: boolean }>('SELECT holder, (NOT released AND expires_at >= now()) AS live FROM rbe_fleet_leases WHERE fleet_id = $1', [fleetId]);
    if (rows.length === 0) return null;
    const [host, pid] = rows[0].holder.split(':');
    return rows[0].live && !(host === hostname() && Number(pid) !== process.pid && !processAlive(Number(pid)));
  }

  async createFleet(record: FleetRecord): Promise<void> {
    fleetDirOf(this.stateDir, record.fleetId); // refuses what is not a fleet id
    const r = await this.query(
      `WITH ins AS (INSERT INTO rbe_fleets (fleet_id, record) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING fleet_id)
       SELECT pg_notify('${FLEET_CHANNEL}', fleet_id) FROM ins`,
      [record.fleetId, JSON.stringify(record)],
    );
    if (r.rowCount === 0) throw new RunStateError('NOT_RESUMABLE', `fleet ${record.fleetId} already exists`, { where: this.location, hint: 'use `runbook resume <fleet-id>`' });
  }

  async readFleet(fleetId: string): Promise<FleetRecord> {
    const { rows } = await this.query<{ record: FleetRecord }>('SELECT record FROM rbe_fleets WHERE fleet_id = $1', [fleetId]);
    if (rows.length === 0) throw new JournalError('JOURNAL_MISSING', `no fleet ${fleetId} in the store`, { where: this.location, hint: '`runbook status --store …` lists its runs' });
    return checkFleetRecord(rows[0].record, fleetId, this.location);
  }

  async isFleet(id: string): Promise<boolean> {
    const { rows } = await this.query('SELECT 1 FROM rbe_fleets WHERE fleet_id = $1', [id]);
    return rows.length > 0;
  }

  /** In the fleet's host table (where workers keep each host's place): ended, unreachable, with the error. */
  async recordUnreachableHost(fleetId: string, host: UnreachableHost): Promise<void> {
    await this.query(
      `WITH up AS (INSERT INTO rbe_fleet_hosts (fleet_id, host, wave, position, run_id, state, status, error)
         VALUES ($1, $2, $3, $4, $5, 'ended', 'unreachable', $6)
         ON CONFLICT (fleet_id, host) DO UPDATE SET state = 'ended', status = 'unreachable', error = EXCLUDED.error
         RETURNING fleet_id)
       SELECT pg_notify('${FLEET_CHANNEL}', fleet_id) FROM up`,
      [fleetId, host.host, host.wave, host.position, host.runId, JSON.stringify({ ...host.error, at: host.at })],
    );
  }

  /** The queued hosts of a fleet that wait for their machine (another run holds it): what for, and when they are tried again. */
  async waitingHosts(fleetId: string): Promise<Record<string, { waiting: string; retryAt: string }>> {
    const { rows } = await this.query<{ host: string; waiting: string; retry_at: Date }>(`SELECT host, waiting, retry_at FROM rbe_fleet_hosts WHERE fleet_id = $1 AND state = 'queued' AND waiting IS NOT NULL`, [fleetId]);
    return Object.fromEntries(rows.map((r) => [r.host, { waiting: r.waiting, retryAt: r.retry_at.toISOString() }]));
  }

  async unreachableHosts(fleetId: string): Promise<Record<string, UnreachableHost>> {
    return this.hostsWithStatus(fleetId, 'unreachable', { name: 'ExecutorError', code: 'unreachable', message: 'the target could not be reached' });
  }

  /** The hosts of a fleet's host table with this status, each with its error (else `fallback`). */
  private async hostsWithStatus(fleetId: string, status: 'unreachable' | 'held', fallback: ErrorRecord): Promise<Record<string, UnreachableHost>> {
    const { rows } = await this.query<{ host: string; wave: number; position: number; run_id: string; error: (ErrorRecord & { at?: string }) | null }>(
      `SELECT host, wave, position, run_id, error FROM rbe_fleet_hosts WHERE fleet_id = $1 AND status = $2`,
      [fleetId, status],
    );
    return Object.fromEntries(
      rows.map((r) => {
        const { at, ...error } = r.error ?? (fallback as ErrorRecord & { at?: string });
        return [r.host, { host: r.host, wave: r.wave, position: r.position, runId: r.run_id, error: error as ErrorRecord, at: at ?? '' }];
      }),
    );
  }

  /**
   * In the fleet's host table too, as `held` with the error: its place (`state`) is left as it is —
   * the host has not ended, it waits for the fleet's resume. A later record of the host wins.
   */
  async recordHeldHost(fleetId: string, host: HeldHost): Promise<void> {
    await this.query(
      `WITH up AS (INSERT INTO rbe_fleet_hosts (fleet_id, host, wave, position, run_id, status, error)
         VALUES ($1, $2, $3, $4, $5, 'held', $6)
         ON CONFLICT (fleet_id, host) DO UPDATE SET status = 'held', error = EXCLUDED.error
         RETURNING fleet_id)
       SELECT pg_notify('${FLEET_CHANNEL}', fleet_id) FROM up`,
      [fleetId, host.host, host.wave, host.position, host.runId, JSON.stringify({ ...host.error, at: host.at })],
    );
  }

  async heldHosts(fleetId: string): Promise<Record<string, HeldHost>> {
    return this.hostsWithStatus(fleetId, 'held', { name: 'LeaseError', code: 'LEASE_HELD', message: 'another run drives this target' });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The statement of a journal batch, notifying {@link JOURNAL_CHANNEL} or not. */
function appendSql(notify: boolean): string {
  return `WITH ins AS (
    INSERT INTO rbe_journal (run_id, seq, line)
    SELECT $1, s, l FROM unnest($3::int[], $4::text[]) AS t(s, l)
    WHERE EXISTS (SELECT 1 FROM rbe_leases WHERE run_id = $1 AND generation = $2 AND NOT released)
    RETURNING run_id)
  SELECT ${notify ? `pg_notify('${JOURNAL_CHANNEL}', run_id)` : 'run_id'} FROM (SELECT DISTINCT run_id FROM ins) AS batch`;
}

/**
 * A journal batch, in one statement: `$1` run id, `$2` lease generation, `$3` seqs, `$4` lines. It
 * inserts nothing unless generation `$2` still holds the run's lease, and then notifies
 * {@link JOURNAL_CHANNEL} once (the row it returns; none when nothing was inserted) — delivered when the
 * statement's transaction commits, never for a batch rolled back.
 */
export const APPEND_SQL = appendSql(true);
/** {@link APPEND_SQL} without the notification (a batch shortly after one that notified). */
const APPEND_QUIET_SQL = appendSql(false);

/**
 * A run notifies at most once per this interval from its batches' statements; a batch within it is
 * announced by one `pg_notify` statement at the interval's end (after its commit). The reason:
 * PostgreSQL serialises the commits of transactions that notify (a database-wide lock held through
 * the commit), which cost 20 runs appending at once two thirds of their rate when every batch notified.
 */
export const NOTIFY_EVERY_MS = 250;

/**
 * A run's journal in PostgreSQL: each batch is one statement, which stores nothing unless the writer
 * still holds the run's lease.
 */
class PostgresJournal extends GroupCommitJournal {
  constructor(
    private readonly db: PostgresStore,
    private readonly runId: string,
    private readonly generation: number,
    written: JournalRecord[],
  ) {
    super(written.length, written);
  }

  private notifiedAt = 0;
  private trailing: { timer: NodeJS.Timeout; fire: () => Promise<void> } | null = null;

  /** The batches not yet announced are announced now: the run's last records reach the console. */
  protected async release(): Promise<void> {
    const t = this.trailing;
    if (!t) return;
    clearTimeout(t.timer);
    await t.fire();
  }

  protected async writeBatch(batch: readonly { data: Buffer; seq: number }[]): Promise<void> {
    const notify = Date.now() - this.notifiedAt >= NOTIFY_EVERY_MS;
    // A row holds its line as text, without the newline.
    await this.insert(batch.map((b) => ({ line: b.data.toString('utf8', 0, b.data.length - 1), seq: b.seq })), notify);
    if (notify) this.notifiedAt = Date.now();
    else if (!this.trailing) {
      // Committed, not yet announced: one notification at the interval's end covers every such batch.
      const fire = async () => {
        this.trailing = null;
        this.notifiedAt = Date.now();
        await this.db.query('SELECT pg_notify($1, $2)', [JOURNAL_CHANNEL, this.runId], { retryForMs: this.db.releaseWaitMs }).catch(() => undefined);
      };
      const timer = setTimeout(() => void fire(), Math.max(0, this.notifiedAt + NOTIFY_EVERY_MS - Date.now()));
      timer.unref();
      this.trailing = { timer, fire };
    }
  }

  private async insert(batch: { line: string; seq: number }[], notify: boolean): Promise<void> {
    const seqs = batch.map((b) => b.seq);
    const lines = batch.map((b) => b.line);
    let inserted: number;
    try {
      const r = await this.db.query(notify ? APPEND_SQL : APPEND_QUIET_SQL, [this.runId, this.generation, seqs, lines]);
      inserted = r.rowCount ?? 0;
    } catch (error) {
      // The answer to an earlier try was lost after it was stored: the same lines are there already.
      if (sqlstateOf(error) !== '23505') throw error;
      const { rows } = await this.db.query<{ seq: number; line: string }>('SELECT seq, line FROM rbe_journal WHERE run_id = $1 AND seq = ANY($2::int[]) ORDER BY seq', [this.runId, seqs]);
      if (rows.length === batch.length && rows.every((row, i) => row.line === lines[i])) return;
      throw lostRun(this.db.location, this.runId, `another driver wrote record ${seqs[0]} of run ${this.runId}: this worker no longer writes it`);
    }
    if (inserted === 0) {
      throw lostRun(this.db.location, this.runId, `this worker lost the lease of run ${this.runId} (generation ${this.generation}): its journal takes no more records from it`);
    }
  }

}
