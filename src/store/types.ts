/**
 * The store contract: where runs, their journals and leases, fleets and (for a shared store) the work
 * queue live. Two backends keep it: the files of a state directory (the default, embedded, nothing to
 * set up) and PostgreSQL (many workers on many machines share it). The engine writes through this
 * contract only; it never knows which backend it has.
 */
import type { JournalRecord, JournalSync, JournalWriter } from './file-journal.js';
import type { Lease, LeaseOptions } from './file-lease.js';
import type { RunSummary } from './run-index.js';
import type { ErrorRecord } from '../errors.js';
import type { FleetRecord } from '../fleet/types.js';

/** A run's journal opened for appending by the holder of its lease. */
export interface RunJournal extends JournalWriter {
  /** Waits for pending appends, then lets go of the journal. */
  close(): Promise<void>;
}

/** The files a run leaves for people: backups, reports, undo files (names relative to its folder). */
export type RunFiles = Record<string, string>;

/**
 * Runs, journals, leases and fleets, on files or on PostgreSQL.
 *
 * @example
 * ```ts
 * const store = fileStore('.runbook');
 * const lease = await store.lease('r1');
 * const journal = await store.openJournal('r1', lease);
 * await journal.append({ type: 'run.ended', status: 'succeeded' });
 * await journal.close();
 * await lease.release();
 * console.log((await store.readJournal('r1')).length);
 * ```
 */
/** A fleet's host whose target could not be reached (see {@link RunStore.recordUnreachableHost}). */
export type UnreachableHost = {
  host: string;
  /** The wave (index) and place in it, and the run id the host would have had. */
  wave: number;
  position: number;
  runId: string;
  error: ErrorRecord;
  at: string;
};

export interface RunStore {
  readonly kind: 'file' | 'postgres';
  /** Where it is, for people: the state directory, or the URL without its password. */
  readonly location: string;
  /**
   * A folder on this machine for a run's files while it is driven (backups, reports, undo files). The
   * file store keeps them there; a shared store also keeps a copy of each when the drive ends (see
   * {@link RunStore.saveRun}).
   */
  runDir(runId: string): string;
  /** A folder on this machine for a fleet's reports. */
  fleetDir(fleetId: string): string;
  /** Takes the run's lease (one driver at a time, fenced): `LEASE_HELD` when another driver holds it. */
  lease(runId: string, options?: LeaseOptions): Promise<Lease>;
  /**
   * Opens the run's journal for the holder of `lease`: every append is refused (`FENCED`) once another
   * driver has taken the lease over, and nothing of it is stored. `sync: 'on-close'` (a plan's journal)
   * lets the file store flush it to disk once, when it closes; a shared store commits every batch.
   */
  openJournal(runId: string, lease: Lease, options?: { sync?: JournalSync }): Promise<RunJournal>;
  /** Every durable record of a run, verified; `JOURNAL_MISSING` when there is no such run. */
  readJournal(runId: string): Promise<JournalRecord[]>;
  /** Records how a drive ended: the run's summary (for listings), and the files in its {@link RunStore.runDir}. */
  saveRun(runId: string, summary: RunSummary): Promise<void>;
  /** The files a run left, by name (reports, undo files, backups). */
  runFiles(runId: string): Promise<RunFiles>;
  /** Every run, oldest first; a run that cannot be read is listed as `damaged`. */
  listRuns(): Promise<RunSummary[]>;
  /** Records a fleet before its first host starts; refuses an id already used. */
  createFleet(record: FleetRecord): Promise<void>;
  /** A fleet's record; `JOURNAL_MISSING` when there is none. */
  readFleet(fleetId: string): Promise<FleetRecord>;
  /** True when the id names a fleet of this store. */
  isFleet(id: string): Promise<boolean>;
  /**
   * Records that a fleet's host could not be reached, so it has no run: `status <fleet-id>` and the
   * fleet's reports say so instead of "not started". A later run of the host (a resume) wins.
   */
  recordUnreachableHost(fleetId: string, host: UnreachableHost): Promise<void>;
  /** The hosts of a fleet recorded as unreachable, by name (the last record of each). */
  unreachableHosts(fleetId: string): Promise<Record<string, UnreachableHost>>;
  /** Lets go of connections (the file store holds none). */
  close(): Promise<void>;
}

/**
 * A store in PostgreSQL as {@link postgresStore} opens it: the store contract, shared by the workers of
 * any number of machines. Its connections are its own: no type of node-postgres is part of it, so that
 * an application compiles without `pg` or `@types/pg` (optional peer dependencies, needed only to open
 * one).
 *
 * @example
 * ```ts
 * const store: PostgresStore = await postgresStore(process.env.RUNBOOK_STORE!, { stateDir: '.runbook' });
 * console.log(store.kind, store.location); // postgres postgres://runbook@db.example.org/runbook
 * await store.close();
 * ```
 */
export interface PostgresStore extends RunStore {
  readonly kind: 'postgres';
}
