/**
 * The few error classes of runbook-engine. Each has a fixed `name`, a string `code`, the underlying
 * error as `cause`, and a message that says what failed, where, and what to do next.
 */
import { dirname } from 'node:path';
import { diskProblem } from './util/disk-problem.js';

/** Fields shared by every runbook-engine error. */
export interface ErrorDetails {
  /** Where it happened: a file, a step, a journal line, a host. */
  where?: string;
  /** What the operator should do next. */
  hint?: string;
  cause?: unknown;
}

function compose(message: string, details: ErrorDetails): string {
  const where = details.where ? ` (${details.where})` : '';
  const hint = details.hint ? `\n  → ${details.hint}` : '';
  return `${message}${where}${hint}`;
}

/**
 * A runbook document or parameter is invalid. Nothing was changed on any target.
 *
 * @example
 * ```ts
 * try { await loadRunbookFile('bad.yaml', kinds); }
 * catch (e) { if (e instanceof ValidationError) console.error(e.issues); }
 * ```
 */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  readonly code = 'VALIDATION';
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[], details: ErrorDetails = {}) {
    super(compose(issues.length === 0 ? message : `${message}\n${issues.map((i) => `  - ${i}`).join('\n')}`, details), { cause: details.cause });
    this.issues = issues;
  }
}

/**
 * The base of the failures of a run's durable record — its journal, its lease, its state, the store
 * that keeps them. Catch it to catch them all; each family below has its own class and codes.
 *
 * @example
 * ```ts
 * declare const runner: Runner;
 * declare const id: string;
 * try { await runner.status(id); }
 * catch (e) { if (e instanceof StateError) console.error(`${e.name} ${e.code}: ${e.message}`); else throw e; }
 * ```
 */
export abstract class StateError<C extends StateErrorCode = StateErrorCode> extends Error {
  abstract override readonly name: 'JournalError' | 'LeaseError' | 'RunStateError' | 'StoreUnavailableError' | 'StoreRefusedError' | 'RunStoppedError';
  readonly code: C;
  constructor(code: C, message: string, details: ErrorDetails = {}) {
    super(compose(message, details), { cause: details.cause });
    this.code = code;
  }
}

/**
 * The codes of every {@link StateError} family.
 *
 * @example
 * ```ts
 * declare const error: StateError;
 * const code: StateErrorCode = error.code;
 * if (code === 'STORE_UNAVAILABLE') console.error('the store of runs is out of reach');
 * ```
 */
export type StateErrorCode = JournalErrorCode | LeaseErrorCode | RunStateErrorCode | 'STORE_UNAVAILABLE' | StoreRefusedCode | 'STORE_STOPPED';

/**
 * Codes of {@link JournalError}.
 *
 * @example
 * ```ts
 * declare const error: JournalError;
 * const code: JournalErrorCode = error.code; // 'JOURNAL_CORRUPT' | 'JOURNAL_MISSING' | 'JOURNAL_VERSION'
 * ```
 */
export type JournalErrorCode = 'JOURNAL_CORRUPT' | 'JOURNAL_MISSING' | 'JOURNAL_VERSION';

/**
 * The journal of a run cannot be trusted or read: a record in the middle is corrupt or out of
 * sequence, the run has no journal, or it was written in another format.
 *
 * @example
 * ```ts
 * declare const runner: Runner;
 * declare const id: string;
 * try { await runner.status(id); }
 * catch (e) { if (e instanceof JournalError && e.code === 'JOURNAL_MISSING') console.error(`no run ${id}`); }
 * ```
 */
export class JournalError extends StateError<JournalErrorCode> {
  override readonly name = 'JournalError';
}

/**
 * True when `error` says a run's journal is there but damaged (corrupt, cut, emptied) — not missing:
 * such a run is never driven again until its journal is fixed.
 *
 * @example
 * ```ts
 * declare const journalOf: (runId: string) => Promise<unknown>;
 * try { await journalOf('20260101-000000-orchestrator-tls12-a1b2c3'); } catch (error) { if (journalDamaged(error)) console.error(error.message); }
 * ```
 */
export function journalDamaged(error: unknown): error is JournalError {
  return error instanceof JournalError && error.code !== 'JOURNAL_MISSING';
}

/**
 * Codes of {@link LeaseError}: another driver holds the run, or this one lost it (fenced off).
 *
 * @example
 * ```ts
 * declare const error: LeaseError;
 * const code: LeaseErrorCode = error.code;
 * console.error(code === 'FENCED' ? 'another driver took the run over' : 'another driver holds the run');
 * ```
 */
export type LeaseErrorCode = 'LEASE_HELD' | 'FENCED';

/**
 * The run's lease: another driver holds it (`LEASE_HELD`), or this process lost it and changes
 * nothing more (`FENCED`).
 *
 * @example
 * ```ts
 * declare const runner: Runner;
 * declare const id: string;
 * declare const executor: Executor;
 * try { await (await runner.resume(id, { executor })).result; }
 * catch (e) { if (e instanceof LeaseError && e.code === 'LEASE_HELD') console.error('another driver has it'); }
 * ```
 */
export class LeaseError extends StateError<LeaseErrorCode> {
  override readonly name = 'LeaseError';
  /**
   * For a machine another run holds (`LEASE_HELD` from a machine's lease): the machine, that run, and
   * what it does there (`is being driven by run <id>`; `holds unfinished run <id> …`), for a caller
   * that waits for it.
   */
  readonly heldBy: { machine: string; runId: string; what: string } | undefined;
  constructor(code: LeaseErrorCode, message: string, details: ErrorDetails = {}, facts: { heldBy?: { machine: string; runId: string; what: string } } = {}) {
    super(code, message, details);
    this.heldBy = facts.heldBy;
  }
}

/**
 * Codes of {@link RunStateError}.
 *
 * @example
 * ```ts
 * declare const error: RunStateError;
 * const code: RunStateErrorCode = error.code;
 * if (code === 'FINGERPRINT_MISMATCH') console.error('the runbook changed since the run started; resume with --force to go on');
 * ```
 */
export type RunStateErrorCode = 'NOT_RESUMABLE' | 'FINGERPRINT_MISMATCH' | 'RUNBOOK_CHANGED' | 'TARGET_MISMATCH';

/**
 * What was asked does not fit the run's state: it exists already, it cannot be resumed or rolled back,
 * or its runbook changed since it started.
 *
 * @example
 * ```ts
 * declare const runner: Runner;
 * declare const id: string;
 * declare const executor: Executor;
 * try { await runner.rollback(id, { executor }); }
 * catch (e) { if (e instanceof RunStateError) console.error(e.message); }
 * ```
 */
export class RunStateError extends StateError<RunStateErrorCode> {
  override readonly name = 'RunStateError';
}

/**
 * The store of runs cannot be used. `transient` is true when it may answer later (it could not be
 * reached) and false when it never will as it is (a package it needs is not installed).
 *
 * @example
 * ```ts
 * declare function openStore(): Promise<void>;
 * try { await openStore(); }
 * catch (e) { if (e instanceof StoreUnavailableError && e.transient) setTimeout(() => void openStore(), 5000); }
 * ```
 */
export class StoreUnavailableError extends StateError<'STORE_UNAVAILABLE'> {
  override readonly name = 'StoreUnavailableError';
  readonly transient: boolean;
  /** Why the connection was lost, its code first (`57P01: the server ended the session`), when it was one. */
  readonly reason: string | undefined;
  /** What to do about the store, on its own (its hint adds what comes after). */
  readonly advice: string | undefined;
  constructor(message: string, facts: { transient: boolean; reason?: string; advice?: string }, details: ErrorDetails = {}) {
    super('STORE_UNAVAILABLE', message, details);
    this.transient = facts.transient;
    this.reason = facts.reason;
    this.advice = facts.advice;
  }
}

/**
 * Codes of {@link StoreRefusedError}: the server refused the store's login (`STORE_AUTH`: a wrong
 * password, an unknown user, pg_hba.conf), its database does not exist (`STORE_NO_DATABASE`), the store's
 * user may not do it (`STORE_PERMISSION`), the database
 * takes no writes (`STORE_READ_ONLY`: a hot standby, `default_transaction_read_only`), its tables are
 * not runbook-engine's or not all there (`STORE_SCHEMA`), its server ran out of disk, memory or a limit
 * (`STORE_FULL`), or another refusal of the server (`STORE_REFUSED`).
 *
 * @example
 * ```ts
 * declare const refused: StoreRefusedError;
 * const code: StoreRefusedCode = refused.code;
 * if (code === 'STORE_READ_ONLY') console.error('point --store at the primary');
 * ```
 */
export type StoreRefusedCode = 'STORE_AUTH' | 'STORE_NO_DATABASE' | 'STORE_PERMISSION' | 'STORE_READ_ONLY' | 'STORE_SCHEMA' | 'STORE_FULL' | 'STORE_REFUSED';

/**
 * The store answered, and refused a statement: the message says what (the server's words and its
 * SQLSTATE), where (the store, its password masked) and what to do. Asking again as it is gets the same
 * answer: the operator changes something first (a grant, the primary instead of a standby, space).
 *
 * @example
 * ```ts
 * declare function openStore(): Promise<void>;
 * try { await openStore(); }
 * catch (e) { if (e instanceof StoreRefusedError && e.code === 'STORE_PERMISSION') console.error(e.advice); }
 * ```
 */
export class StoreRefusedError extends StateError<StoreRefusedCode> {
  override readonly name = 'StoreRefusedError';
  /**
   * The server's SQLSTATE: `42501`, `25006`, `42P07`, `53100`, … — empty when the client gave up the
   * login before the server answered (`STORE_AUTH`: the server asked for a password, and none was given).
   */
  readonly sqlstate: string;
  /** What to do about the store, on its own (its hint adds what comes after). */
  readonly advice: string;
  constructor(code: StoreRefusedCode, message: string, facts: { sqlstate: string; advice: string }, details: ErrorDetails = {}) {
    super(code, message, details);
    this.sqlstate = facts.sqlstate;
    this.advice = facts.advice;
  }
}

/**
 * What a {@link RunStoppedError} knows of the run it stopped.
 *
 * @example
 * ```ts
 * declare const stopped: RunStoppedFacts;
 * console.error(`${stopped.runId}: ${stopped.targetChanged ? 'the target was changed' : 'nothing was changed'}; continue with: ${stopped.resumeCommand}`);
 * ```
 */
export interface RunStoppedFacts {
  runId: string;
  /** The store, for people (its password masked). */
  store: string;
  /** The command that continues the run, as the operator types it (`runbook resume <id> --store …`). */
  resumeCommand: string;
  /** True when a durable record shows that a step began to change the target. */
  targetChanged: boolean;
}

/**
 * A run whose start is recorded stopped because its store failed — it could not be reached (after its
 * retries) or refused a statement (a grant revoked, its disk full, read-only): nothing after the last
 * durable record was done on the target, and the run awaits its resume. The `cause` is the store's
 * error; the hint says what to do, then `runbook resume <id>` continues exactly where it stopped.
 *
 * @example
 * ```ts
 * declare const run: { result: Promise<unknown> };
 * try { await run.result; }
 * catch (e) { if (e instanceof RunStoppedError) console.error(`when the store is back: ${e.resumeCommand}`); }
 * ```
 */
export class RunStoppedError extends StateError<'STORE_STOPPED'> {
  override readonly name = 'RunStoppedError';
  readonly runId: string;
  readonly store: string;
  readonly resumeCommand: string;
  readonly targetChanged: boolean;
  /** Always true: the run's start is durable, `runbook resume <id>` continues it. */
  readonly resumable = true;
  constructor(message: string, facts: RunStoppedFacts, details: ErrorDetails = {}) {
    super('STORE_STOPPED', message, details);
    this.runId = facts.runId;
    this.store = facts.store;
    this.resumeCommand = facts.resumeCommand;
    this.targetChanged = facts.targetChanged;
  }
}

/**
 * A bug of runbook-engine (or of a step kind's code), not of its input: something that cannot happen
 * did. Nothing the operator typed can cause it; report it with the message.
 *
 * @example
 * ```ts
 * declare const state: string;
 * if (state !== 'probing' && state !== 'planning') throw new InternalError(`a step cannot be in state ${state} here`);
 * ```
 */
export class InternalError extends Error {
  override readonly name = 'InternalError';
  readonly code = 'INTERNAL';
  constructor(message: string, details: ErrorDetails = {}) {
    super(compose(message, details), { cause: details.cause });
  }
}

/**
 * What a {@link DurabilityError} knows of the run it stopped.
 *
 * @example
 * ```ts
 * const facts: DurabilityFacts = { file: '.runbook/runs/r1/journal.jsonl', errno: 'ENOSPC', runId: 'r1', resumable: true };
 * const error = new DurabilityError('the journal could not be written', facts);
 * ```
 */
export interface DurabilityFacts {
  /** The file that could not be written durably. */
  file: string;
  /** The system's error code (`ENOSPC`, `EIO`, `EROFS`, `EDQUOT`, …), or `SHORT_WRITE`. */
  errno: string;
  /** The run, once known. */
  runId?: string;
  /** True when the run is recorded (its first record is durable): `runbook resume <id>` continues it. */
  resumable?: boolean;
  /** True when a durable record shows that a step began to change the target. */
  targetChanged?: boolean;
}

/**
 * A write to the state directory (journal, lease, backup, report) was not fully durable: the run
 * stopped before the change that write guards. Nothing after the last durable record was done on the
 * target; freeing the space (or making the folder writable) and `runbook resume <id>` continues.
 *
 * @example
 * ```ts
 * try { await run.result; }
 * catch (e) { if (e instanceof DurabilityError && e.resumable) console.error(`free space, then resume ${e.runId}`); }
 * ```
 */
export class DurabilityError extends Error {
  override readonly name = 'DurabilityError';
  readonly code = 'NOT_DURABLE';
  readonly file: string;
  readonly errno: string;
  readonly runId: string | undefined;
  readonly resumable: boolean;
  readonly targetChanged: boolean;
  constructor(message: string, facts: DurabilityFacts, details: ErrorDetails = {}) {
    super(compose(message, { where: facts.file, ...details }), { cause: details.cause });
    this.file = facts.file;
    this.errno = facts.errno;
    this.runId = facts.runId;
    this.resumable = facts.resumable ?? false;
    this.targetChanged = facts.targetChanged ?? false;
  }
}

/** Error codes of a file system that cannot take a write (full, failing, read-only, over quota, or refused). */
export const DISK_ERRORS: ReadonlySet<string> = new Set(['ENOSPC', 'EIO', 'EROFS', 'EDQUOT', 'EPERM', 'EACCES', 'EFBIG', 'SHORT_WRITE']);

/** The system error code of a failed file operation, when it is one of {@link DISK_ERRORS}. */
export function diskErrorOf(error: unknown): string | null {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && DISK_ERRORS.has(code) ? code : null;
}

export { diskProblem };

/**
 * What to do about a disk error in `dir`, up to "then …" (the caller says what comes next).
 *
 * @example
 * ```ts
 * diskAdvice('ENOSPC', '/var/runbook'); // 'free space in /var/runbook'
 * ```
 */
export function diskAdvice(errno: string, dir: string): string {
  switch (errno) {
    case 'ENOSPC':
      return `free space in ${dir}`;
    case 'EDQUOT':
      return `free space in ${dir} (or raise the quota)`;
    case 'EFBIG':
      return `check the file size limit of ${dir} (its file system, \`ulimit -f\`)`;
    case 'EROFS':
    case 'EACCES':
    case 'EPERM':
      return `make ${dir} writable again`;
    default:
      return `free space in ${dir} (or make it writable again, or check its disk)`;
  }
}

/** Codes only a write gives. */
const WRITE_ONLY_ERRORS: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS', 'SHORT_WRITE']);
/** System calls that write. */
const WRITE_CALLS: ReadonlySet<string> = new Set(['write', 'fsync', 'fdatasync', 'rename', 'mkdir', 'ftruncate', 'copyfile']);

/**
 * A file that could not be written as the operator reads it: the file, the code and what it means,
 * and what to do (`then` says what comes after, e.g. "run the command again"). Null for an error
 * that is not a failed write of a file named by its `path` with one of {@link DISK_ERRORS}.
 *
 * @example
 * ```ts
 * fileWriteFailure(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path: '/x/h.json' }), 'run the command again');
 * // { message: '/x/h.json could not be written (ENOSPC: the disk is full)', hint: 'free space in /x, then run the command again' }
 * ```
 */
export function fileWriteFailure(error: unknown, then: string): { message: string; hint: string; errno: string; file: string } | null {
  const errno = diskErrorOf(error);
  const file = (error as NodeJS.ErrnoException | null)?.path;
  if (!errno || typeof file !== 'string') return null;
  // EACCES, EPERM and EIO refuse a read as well: told as a refused write only when it was one — a
  // writing call, or any call of a write (the `open` of its temporary file: util/write-atomic.ts marks it).
  const writing = (error as { writing?: unknown }).writing === true;
  if (!WRITE_ONLY_ERRORS.has(errno) && !WRITE_CALLS.has(String((error as NodeJS.ErrnoException).syscall)) && !writing) return null;
  return { message: `${file} could not be written (${errno}: ${diskProblem(errno)})`, hint: `${diskAdvice(errno, dirname(file))}, then ${then}`, errno, file };
}

/**
 * Error classes an executor reports; `transient` ones are retried by the engine.
 *
 * @example
 * ```ts
 * throw new ExecutorError(ExecutorErrorKind.timeout, 'no answer within 30 s', { where: 'ssh:admin@host' });
 * ```
 */
export const ExecutorErrorKind = {
  unreachable: 'unreachable',
  refused: 'refused',
  reset: 'reset',
  timeout: 'timeout',
  protocol: 'protocol',
  permanent: 'permanent',
} as const;
export type ExecutorErrorKind = (typeof ExecutorErrorKind)[keyof typeof ExecutorErrorKind];

const TRANSIENT_KINDS: ReadonlySet<ExecutorErrorKind> = new Set(['unreachable', 'refused', 'reset', 'timeout', 'protocol']);

/**
 * A call to a target failed. `transient` is true for unreachable, refused, reset, timeout and
 * malformed answers; the engine retries those under the step's retry policy.
 *
 * @example
 * ```ts
 * throw new ExecutorError('unreachable', 'host did not answer', { where: 'sim:host.json' });
 * ```
 */
export class ExecutorError extends Error {
  override readonly name = 'ExecutorError';
  readonly code = 'EXECUTOR';
  readonly kind: ExecutorErrorKind;
  constructor(kind: ExecutorErrorKind, message: string, details: ErrorDetails = {}) {
    super(compose(message, details), { cause: details.cause });
    this.kind = kind;
  }
  get transient(): boolean {
    return TRANSIENT_KINDS.has(this.kind);
  }
}

/**
 * Why a step failed, as its {@link StepError} or its journal record says.
 *
 * @example
 * ```ts
 * declare const error: StepError;
 * const code: StepErrorCode = error.code;
 * if (code === 'VERIFY_FAILED') console.error('the values were written but do not read back');
 * ```
 */
export type StepErrorCode =
  | 'BACKUP_MISSING'
  | 'CHECK_MODE_WRITE'
  | 'COMPENSATION_BUDGET'
  | 'COMPENSATION_FAILED'
  | 'FAILED'
  | 'HOTFIX_MISSING'
  | 'IP_VERIFY_FAILED'
  | 'PARAMETER_REFUSED'
  | 'PREFLIGHT_FAILED'
  | 'PROTOCOL'
  | 'READ_ONLY'
  | 'RESTART_TIMEOUT'
  | 'SECRET_IN_BACKUP'
  | 'SECRET_IN_FILE'
  | 'SECRET_IN_MEMO'
  | 'SECRET_IN_OUTPUT'
  | 'SECRET_IN_PLAN'
  | 'SECRET_MISSING'
  | 'SHUTDOWN_PENDING'
  | 'TARGET_GONE'
  | 'UNDO_FAILED'
  | 'VERIFY_FAILED';

/**
 * A step could not do what it must; the saga compensates the steps already done.
 *
 * @example
 * ```ts
 * throw new StepError('HOTFIX_MISSING', 'KB4054530 is not installed', { where: 'hotfix' });
 * ```
 */
export class StepError extends Error {
  override readonly name = 'StepError';
  readonly code: StepErrorCode;
  constructor(code: StepErrorCode, message: string, details: ErrorDetails = {}) {
    super(compose(message, details), { cause: details.cause });
    this.code = code;
  }
}

/** True when an error is worth another attempt. */
export function isTransient(error: unknown): boolean {
  return error instanceof ExecutorError && error.transient;
}

/**
 * The JSON form of an error as stored in the journal and reports.
 *
 * @example
 * ```ts
 * declare const result: RunResult;
 * const why: ErrorRecord | undefined = result.steps.find((s) => s.error)?.error;
 * if (why) console.error(`${why.name} ${why.code}${why.transient ? ' (transient)' : ''}: ${why.message}`);
 * ```
 */
export interface ErrorRecord {
  name: string;
  code: string;
  message: string;
  transient?: boolean;
}

/** Turns any thrown value into its journal form. */
export function toErrorRecord(error: unknown): ErrorRecord {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      code: typeof code === 'string' ? code : 'ERROR',
      message: error.message,
      ...(error instanceof ExecutorError ? { transient: error.transient } : {}),
    };
  }
  return { name: 'Error', code: 'ERROR', message: String(error) };
}
