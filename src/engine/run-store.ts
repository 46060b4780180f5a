/**
 * The store port: what the engine needs of the place its runs live — a run's lease, its journal, its
 * folder on this machine, its summary — as the executor contract (`executors/types.ts`) is what it needs
 * of a target. The engine defines it; the backends in `src/store/` (the files of a state directory,
 * PostgreSQL) implement it; the caller gives the runner one. The engine never knows which it has.
 */
import type { Entry } from './records.js';
import type { RunResult } from './types.js';

/**
 * A record as stored: the payload plus its sequence number, time and checksum.
 *
 * @example
 * ```ts
 * const { records } = await readJournal('.runbook/runs/r1/journal.jsonl');
 * const started: JournalRecord | undefined = records.find((r) => r.type === 'run.started');
 * console.log(started?.seq, started?.at);
 * ```
 */
export type JournalRecord<T extends { type: string } = { type: string; [k: string]: unknown }> = T & {
  seq: number;
  at: string;
  sum: string;
};

/**
 * What the engine needs of a journal to write a run: typed appends, and the records stored so far.
 *
 * @example
 * ```ts
 * declare const journal: JournalWriter;
 * console.log(`${journal.records.length} record(s) so far`);
 * await journal.durable?.();
 * ```
 */
export interface JournalWriter {
  append<T extends Entry>(payload: T): Promise<JournalRecord<T>>;
  readonly records: readonly JournalRecord[];
  /** Refuses every later append with `error` (something the journal guards could not be kept). */
  fail?(error: unknown): void;
  /**
   * Resolves once every record appended so far is durable (flushed to disk) — the write-ahead barrier
   * the engine passes before each change to the target and at the end of a drive. Absent, or a store
   * whose every append is durable when it resolves: nothing more to wait for.
   */
  durable?(): Promise<void>;
  /**
   * Resolves once every record appended so far is stored, so in {@link records} — written, not
   * necessarily flushed: what a reader of the records must wait for when it did not wait for each
   * append. Absent: every append is stored when it resolves and the caller waited for it.
   */
  stored?(): Promise<void>;
  /**
   * Lets go of the records last listed, when the journal can read them again (they are read when next
   * asked, even once it is closed); a journal that keeps its records keeps them.
   */
  forget?(): void;
}

/** A writer that passes every record through `transform` (the run's secret mask) before it is written. */
export function transformedWriter(journal: JournalWriter, transform: <T>(value: T) => T): JournalWriter {
  return {
    append: (payload) => journal.append(transform(payload)),
    fail: (error) => journal.fail?.(error),
    durable: async () => journal.durable?.(),
    stored: async () => journal.stored?.(),
    forget: () => journal.forget?.(),
    get records() {
      return journal.records;
    },
  };
}

/**
 * When a journal's records reach the disk:
 * - `each-batch`: durable before an append resolves;
 * - `before-writes`: written at once (a crash of the process loses none), made durable when the engine
 *   asks ({@link JournalWriter.durable}: before each change to the target, at the end of a drive) and when
 *   the journal closes — write-ahead, with one flush for all the records between two changes. A power
 *   loss can take only records that no change depended on: the run resumes from an earlier point, as a
 *   crash there would leave it. What a run that changes its target opens;
 * - `on-close`: a plan's, which changes nothing: a store may flush it once, when it closes.
 *
 * @example
 * ```ts
 * const sync: JournalSync = 'before-writes';
 * const lease = await fileStore('.runbook').lease('r1');
 * const journal = await fileStore('.runbook').openJournal('r1', lease, { sync });
 * ```
 */
export type JournalSync = 'each-batch' | 'before-writes' | 'on-close';

/**
 * A run's journal opened for appending by the holder of its lease.
 *
 * @example
 * ```ts
 * const store = fileStore('.runbook');
 * const journal: RunJournal = await store.openJournal('r1', await store.lease('r1'));
 * await journal.close();
 * ```
 */
export interface RunJournal extends JournalWriter {
  /** Waits for pending appends, then lets go of the journal. */
  close(): Promise<void>;
}

/**
 * A held lease: one driver per run, with a fencing token.
 *
 * @example
 * ```ts
 * const lease: Lease = await fileStore('.runbook').lease('r1', { ttlMs: 30_000 });
 * await lease.check();
 * await lease.release();
 * ```
 */
export interface Lease {
  readonly generation: number;
  /** Throws `FENCED` when another driver has taken the run over since this lease was taken. */
  check(): Promise<void>;
  /** Stops renewing and marks the lease released (a fenced lease is left alone). */
  release(): Promise<void>;
}

/**
 * How a lease is held.
 *
 * @example
 * ```ts
 * const options: LeaseOptions = { ttlMs: 120_000, renew: true };
 * const lease = await fileStore('.runbook').lease('r1', options);
 * ```
 */
export interface LeaseOptions {
  /** How long the lease holds without renewal. @default 60000 */
  ttlMs?: number;
  /** Renew in the background every `ttlMs / 3`. Tests turn it off to pause a holder past its expiry. @default true */
  renew?: boolean;
  /** Clock. @default Date.now */
  now?: () => number;
  /** Test hook: runs between reading the current lease and claiming the next generation. */
  beforeClaim?: () => Promise<void>;
  /** Schedules the renewals; returns what stops them (tests renew by hand). @default an unref'd setInterval */
  schedule?: (renew: () => Promise<void>, everyMs: number) => () => void;
}

/**
 * The run that held a machine's lease last, as {@link TargetLeaseOptions.admit} is told of it: its id,
 * and whether it left the machine unfinished — `true` when it let it go stopped mid-drive (interrupted,
 * or stopped by its store), `false` when it let it go ended (or awaiting only a restart window, every
 * change made), `undefined` when its lease lapsed (its holder died, or could not record its release):
 * its journal says.
 *
 * @example
 * ```ts
 * const last: TargetPredecessor = { runId: '20260101-000000-orchestrator-tls12-a1b2c3', unfinished: true };
 * if (last.unfinished) console.log(`resume or roll back ${last.runId} first`);
 * ```
 */
export interface TargetPredecessor {
  runId: string;
  unfinished: boolean | undefined;
}

/**
 * How a machine's lease is taken ({@link RunStore.leaseTarget}).
 *
 * @example
 * ```ts
 * const options: TargetLeaseOptions = { takeOver: true, admit: async (last) => console.log(last.runId, last.unfinished) };
 * ```
 */
export interface TargetLeaseOptions extends LeaseOptions {
  /**
   * The same run's resume or rollback: a lease its run still holds (a driver of it that died, or that
   * lost the run's own lease) is taken over at once, fencing that driver. A start never takes over.
   */
  takeOver?: boolean;
  /**
   * Called before the claim when another run held the machine last and let it go (or its lease lapsed):
   * throws to refuse the claim, which then leaves that run's lease as it is.
   */
  admit?: (last: TargetPredecessor) => Promise<void>;
}

/**
 * A held lease on a machine: one run drives it at a time, with a fencing token. Released with whether
 * its run left it unfinished, so that a later run of another id is told when the machine holds one.
 *
 * @example
 * ```ts
 * const lease: TargetLease = await fileStore('.runbook').leaseTarget('sim:/x/h.json', 'r1');
 * await lease.release({ unfinished: false });
 * ```
 */
export interface TargetLease extends Lease {
  release(state?: { unfinished: boolean }): Promise<void>;
}

/**
 * A run as a store lists it (`status`), kept when a drive ends.
 *
 * @example
 * ```ts
 * declare const summary: RunSummary;
 * console.log(`${summary.runId} ${summary.status}${summary.awaiting ? ` (${summary.awaiting})` : ''} at ${summary.currentStep ?? '-'}`);
 * ```
 */
export interface RunSummary {
  runId: string;
  runbook: string;
  target: string;
  status: RunResult['status'] | 'damaged';
  /** What the run did (absent in summaries kept before outcomes were). */
  outcome?: RunResult['outcome'];
  currentStep: string | null;
  startedAt: string;
  endedAt: string;
  /** Why an `awaiting-resume` run waits. */
  awaiting?: RunResult['awaiting'];
  /** Why a `damaged` run cannot be read. */
  error?: string;
}

/**
 * Options of {@link RunStore.openJournal}.
 *
 * @example
 * ```ts
 * const store = fileStore('.runbook');
 * const { records } = await readJournal('.runbook/runs/r1/journal.jsonl');
 * const options: OpenJournalOptions = { sync: 'each-batch', records };
 * const journal = await store.openJournal('r1', await store.lease('r1'), options);
 * ```
 */
export interface OpenJournalOptions {
  /** When records reach the disk. @default 'each-batch' */
  sync?: JournalSync;
  /**
   * The records this caller read of the run (by {@link RunStore.readJournal}) before it took the lease:
   * a store that can tell they are still the whole journal takes them instead of reading it again.
   */
  records?: readonly JournalRecord[];
}

/**
 * Where the engine's runs live: leases, journals, summaries, and a folder on this machine for each
 * run's files. `fileStore(dir)` and `postgresStore(url, …)` implement it (with the fleets' part too).
 *
 * @example
 * ```ts
 * const store: RunStore = fileStore('.runbook');
 * const lease = await store.lease('r1');
 * const journal = await store.openJournal('r1', lease);
 * await journal.append({ type: 'run.ended', status: 'succeeded' });
 * await journal.close();
 * await lease.release();
 * console.log((await store.readJournal('r1')).length);
 * ```
 */
export interface RunStore {
  /** Where it is, for people: the state directory, or the URL without its password. */
  readonly location: string;
  /**
   * This machine's folder that holds the runs' folders ({@link RunStore.runDir}): where space is to be
   * freed when a run's file cannot be written.
   */
  readonly localDir: string;
  /**
   * A folder on this machine for a run's files while it is driven (reports, undo files). A shared store
   * also keeps a copy of each when the drive ends (see {@link RunStore.saveRun}); a backup is kept by
   * {@link RunStore.saveFile} when it is made.
   */
  runDir(runId: string): string;
  /**
   * Keeps one of the run's files for the holder of `lease` — a backup, before the change it guards —
   * durably, and where any later driver of the run finds it: in the run's folder (a file store: written
   * whole and flushed), or in the store itself (a shared store: its table of the run's files), not on
   * this machine's disk alone. `name` is the file's name among the run's files (`backups/<file>`). Refused
   * (`FENCED`) once another driver has taken the run over: a driver that lost the run stores nothing more.
   */
  saveFile(runId: string, lease: Lease, name: string, content: Buffer): Promise<void>;
  /**
   * Where the run's files (reports, undo files, backups) are kept, for people: the run's folder in the
   * state directory, or the shared store and the command that writes them out.
   */
  filesAt(runId: string): string;
  /** Takes the run's lease (one driver at a time, fenced): `LEASE_HELD` when another driver holds it. */
  lease(runId: string, options?: LeaseOptions): Promise<Lease>;
  /**
   * Takes the lease of the machine `machine` names (`machineKeyOf` of `engine/target-machine.ts`: a simulated host's file, a host
   * name) for run `runId` — one run drives a machine at a time, fenced as a run's lease is. `LEASE_HELD`
   * (naming the run that holds it, its holder and until when) when another run's driver holds it live.
   */
  leaseTarget(machine: string, runId: string, options?: TargetLeaseOptions): Promise<TargetLease>;
  /**
   * Opens the run's journal for the holder of `lease`: every append is refused (`FENCED`) once another
   * driver has taken the lease over, and nothing of it is stored.
   */
  openJournal(runId: string, lease: Lease, options?: OpenJournalOptions): Promise<RunJournal>;
  /** Every durable record of a run, verified; `JOURNAL_MISSING` when there is no such run. */
  readJournal(runId: string): Promise<JournalRecord[]>;
  /**
   * Records how a drive ended: the run's summary (for listings), and the files in its
   * {@link RunStore.runDir} — added to those the store keeps (a file kept by {@link RunStore.saveFile},
   * or by an earlier driver on another machine, stays when this machine's folder does not hold it).
   */
  saveRun(runId: string, summary: RunSummary): Promise<void>;
  /** Every run, oldest first; a run that cannot be read is listed as `damaged`. */
  listRuns(): Promise<RunSummary[]>;
  /**
   * Forgets a run whose first record never became durable (it does not exist), so that it is neither
   * listed as damaged nor offered to a resume. A store that lists only journaled runs need not have it.
   */
  discardRun?(runId: string): Promise<void>;
}
