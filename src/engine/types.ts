/**
 * Data types of runs, steps and their results. Everything here survives JSON round trips.
 */
import type { ErrorRecord } from '../errors.js';
import type { RegistryUndo } from '../windows/undo-files.js';

/**
 * Any value that survives a JSON round trip: what step parameters, outputs, plans and journal records
 * hold.
 *
 * @example
 * ```ts
 * const output: Json = { protocols: ['TLS 1.2'], restarted: false, port: 443, note: null };
 * ```
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Where a run stands (its result's `status`): each key names one of the values `RunStatus` also types.
 *
 * @example
 * ```ts
 * declare const result: RunResult;
 * if (result.status === RunStatus.awaitingResume) console.log(`resume ${result.runId} later`);
 * const finished: RunStatus[] = [RunStatus.succeeded, RunStatus.rolledBack, RunStatus.rollbackFailed];
 * ```
 */
export const RunStatus = {
  running: 'running',
  succeeded: 'succeeded',
  planned: 'planned',
  rolledBack: 'rolled-back',
  rollbackFailed: 'rollback-failed',
  awaitingResume: 'awaiting-resume',
  cancelled: 'cancelled',
  /** The target could not be reached before anything was changed: nothing to roll back. */
  unreachable: 'unreachable',
} as const;
export type RunStatus = (typeof RunStatus)[keyof typeof RunStatus];

/**
 * What a run did to the target, in the words every rendering uses; their labels, exit codes and budget
 * rule are in `outcome.ts` (`OUTCOMES`), with `outcomeOf(result)`.
 *
 * @example
 * ```ts
 * declare const result: RunResult;
 * if (result.outcome === Outcome.compliant) console.log('nothing to change');
 * const needsOperator: Outcome[] = [Outcome.rollbackFailed];
 * ```
 */
export const Outcome = {
  /** The run changed the target and it is now as required. */
  changed: 'changed',
  /** The target was already as required: nothing was changed (or, for a plan, nothing would be). */
  compliant: 'compliant',
  /** A plan: changes are pending; nothing was changed. */
  changesPending: 'changes-pending',
  /** A step failed and every change was undone. */
  rolledBack: 'rolled-back',
  /** A change could not be undone: an operator is needed. */
  rollbackFailed: 'rollback-failed',
  /** The target could not be reached before anything was changed. */
  unreachable: 'unreachable',
  /** A fleet's host never started (the failure budget was spent, or the fleet was stopped). */
  skipped: 'skipped',
  /** The run waits for `resume --allow-restart` in a restart window. */
  awaitingRestartWindow: 'awaiting-restart-window',
  /** Stopped at a safe point (a signal, its driver gone, its own host restarting): awaiting a resume. */
  interrupted: 'interrupted',
  /** `runbook rollback` undid a run, as asked. */
  rolledBackOnRequest: 'rolled-back-on-request',
  /** Cancelled: every change was undone. */
  cancelled: 'cancelled',
  /** Still running (its driver holds the lease). */
  running: 'running',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/**
 * Where a step stands (a step result's or `step:settled` event's `status`); `StepStatus` also types
 * the values.
 *
 * @example
 * ```ts
 * declare const result: RunResult;
 * const failed = result.steps.filter((s) => s.status === StepStatus.failed || s.status === StepStatus.compensationFailed);
 * ```
 */
export const StepStatus = {
  pending: 'pending',
  running: 'running',
  succeeded: 'succeeded',
  skipped: 'skipped',
  planned: 'planned',
  failed: 'failed',
  compensated: 'compensated',
  compensationFailed: 'compensation-failed',
} as const;
export type StepStatus = (typeof StepStatus)[keyof typeof StepStatus];

/**
 * Step statuses the forward pass is done with: a resume does not run the step again, and its output is
 * published to later steps.
 */
export const DONE_STEP_STATUSES: ReadonlySet<StepStatus> = new Set<StepStatus>(['succeeded', 'skipped', 'planned']);

/**
 * True when the forward pass is done with a step of this status (see {@link DONE_STEP_STATUSES}).
 *
 * @example
 * ```ts
 * declare const result: RunResult;
 * const next = result.steps.find((s) => !isDoneStatus(s.status));
 * ```
 */
export function isDoneStatus(status: string): boolean {
  return DONE_STEP_STATUSES.has(status as StepStatus);
}

/** Step statuses a step ends in, forward (done or failed) or backward (its undo done or failed). */
export const ENDED_STEP_STATUSES: ReadonlySet<StepStatus> = new Set<StepStatus>([...DONE_STEP_STATUSES, 'failed', 'compensated', 'compensation-failed']);

/**
 * Why a run waits for a resume.
 *
 * @example
 * ```ts
 * declare const result: RunResult;
 * if (result.status === 'awaiting-resume' && result.awaiting === AwaitingReason.restartWindow) {
 *   console.log(`runbook resume ${result.runId} --allow-restart`);
 * }
 * ```
 */
export const AwaitingReason = {
  /** `allowRestart` is false: resume with `--allow-restart` in a restart window. */
  restartWindow: 'restart-window',
  /** Stopped at a safe point by a signal or `run.interrupt()`. */
  interrupted: 'interrupted',
  /** The engine runs on the target, which is restarting; its start-up task resumes the run. */
  targetRestart: 'target-restart',
} as const;
export type AwaitingReason = (typeof AwaitingReason)[keyof typeof AwaitingReason];

/**
 * One difference between the target and the desired state: what a plan shows and a report keeps.
 *
 * @example
 * ```ts
 * const change: Change = {
 *   target: 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server [64-bit]',
 *   field: 'Enabled',
 *   before: null,
 *   after: 1,
 *   type: 'REG_DWORD',
 *   action: 'create',
 * };
 * ```
 */
export interface Change {
  /** What changes, e.g. `HKLM\SYSTEM\...\TLS 1.2\Server [64-bit]`. */
  target: string;
  /** The value name or property. */
  field: string;
  before: Json;
  after: Json;
  /** Value type before → after, e.g. `REG_SZ → REG_DWORD`. */
  type?: string;
  action: 'create' | 'update' | 'delete' | 'retype' | 'restore' | 'run' | 'keep';
  /**
   * In `remaining`: the write was sent but its answer is not in the journal (the run was cut, or its
   * batch failed, first), so it may or may not have been made; undoing it is harmless either way.
   */
  maybe?: boolean;
}

/**
 * What a step's plan phase decided.
 *
 * @example
 * ```ts
 * const plan: StepPlan = { changes: [], summary: 'already compliant' };
 * ```
 */
export interface StepPlan {
  changes: Change[];
  summary: string;
  /** Free data the later phases need. */
  data?: Json;
  /** A capture from an earlier process exists: go on even if nothing is left to change. */
  captured?: boolean;
}

/**
 * The outcome of one step, as kept in results and reports.
 *
 * @example
 * ```ts
 * declare const result: RunResult;
 * const line = (step: StepResult) => `${step.id}: ${step.status}, ${step.changes.length} change(s)`;
 * result.steps.forEach((step) => console.log(line(step)));
 * ```
 */
export interface StepResult {
  id: string;
  kind: string;
  status: StepStatus;
  summary: string;
  changes: Change[];
  output: Json;
  error?: ErrorRecord;
  compensation?: { status: 'compensated' | 'compensation-failed'; detail: string; changes: Change[]; error?: ErrorRecord; left?: RegistryUndo };
  roundTrips: number;
  pollRoundTrips: number;
  retries: number;
  startedAt?: string;
  endedAt?: string;
}

/** Files in the run directory that undo the remaining changes on the target's console. */
export type UndoFiles = { reg: string; powershell: string };

/** What every run result holds, whatever its status. */
interface RunResultCommon {
  runId: string;
  runbook: string;
  target: string;
  /** What the run did to the target, in the words every rendering uses (see `outcome.ts`). */
  outcome: Outcome;
  checkMode: boolean;
  /** Why the run stopped short or ended as it did (e.g. the reason it awaits a resume). */
  reason?: string;
  steps: StepResult[];
  /** Round trips to the target, polls during a restart not counted. */
  roundTrips: number;
  pollRoundTrips: number;
  retries: number;
  rebootRequired: boolean;
  startedAt: string;
  endedAt: string;
  stateDir: string;
  /**
   * The .reg backups the run made, by their names among its files (`backups/<file>`): `filesAt` says
   * where those are kept; `runbook status <run-id> --reports <dir>` writes them out from any store.
   */
  backups: string[];
  /**
   * Where the run's files (reports, undo files, backups) are kept, for people: its folder in the state
   * directory, or the shared store. Set by the drive that wrote them, and by `status`.
   */
  filesAt?: string;
  /**
   * What this drive could not write when it ended (a full disk, a shared store out of reach): its
   * report, undo files or summary. The run's outcome is in its journal; `runbook resume <id>` of the
   * ended run writes them again from it. Absent when everything was written.
   */
  unwritten?: Unwritten[];
}

/**
 * What an ended drive could not keep: a file of the run's directory (`file`), or the run's summary in a
 * shared store that could not be reached (`store`). The run's outcome stands either way: its journal
 * holds it, and `runbook resume <id>` of the ended run writes (or saves) them again.
 *
 * @example
 * ```ts
 * declare const result: RunResult;
 * const lost: Unwritten[] = result.unwritten ?? [];
 * for (const u of lost) console.warn(u.kind === 'file' ? `${u.file}: ${u.errno}` : `${u.store}: ${u.reason}`);
 * ```
 */
export type Unwritten = UnwrittenFile | UnsavedSummary;

/**
 * A file of the run's directory that could not be written when its drive ended.
 *
 * @example
 * ```ts
 * const lost: UnwrittenFile = { kind: 'file', file: '.runbook/runs/r1/report.md', errno: 'ENOSPC', message: 'no space left on device' };
 * ```
 */
export interface UnwrittenFile {
  kind: 'file';
  file: string;
  /** The system's error code: `ENOSPC`, `EDQUOT`, `EFBIG`, `EIO`, `EROFS`, … */
  errno: string;
  /** The error as the system said it (its first line). */
  message: string;
  /**
   * When the write was never tried: the file whose reading failed first (the journal, whose size and
   * time a `summary.json` records), and the call that failed (`stat`). `errno` is that read's.
   */
  unread?: { file: string; syscall: string };
}

/**
 * The run's summary (and the copies of its files), not saved in a shared store whose connection was
 * lost (or that refused the write).
 *
 * @example
 * ```ts
 * const unsaved: UnsavedSummary = { kind: 'store', store: 'postgres://runbook@db/runs', reason: 'ECONNRESET: connection reset', message: 'Connection terminated unexpectedly' };
 * ```
 */
export interface UnsavedSummary {
  kind: 'store';
  /** The store, for people: its URL without its password. */
  store: string;
  /** Why the connection was lost, with its code: `57P01: the server ended the session`, `ECONNRESET: …`. */
  reason: string;
  /** The error as the store's client said it (its first line). */
  message: string;
  /** What to do, when the store answered and refused the write (`reason` then starts with its SQLSTATE) rather than lost the connection. */
  advice?: string;
}

/** Fields a status never has: reading them gives `undefined`, setting them does not compile. */
type Absent<K extends PropertyKey> = { [P in K]?: never };

/** The first error: why the run failed, was cancelled, or could not reach its target. */
type Failed = { error?: ErrorRecord };

/**
 * What the journal says is still changed on the target: the changes of steps that were applied and
 * not compensated (after a failed rollback, exactly what is left to undo by hand).
 */
type Remaining = { remaining?: Change[] };

/**
 * The outcome of a run (or of one drive of it): a union on `status`, each status with exactly its
 * fields — only a run that awaits a resume says why (`awaiting`), only a run that may have left
 * changes behind lists them (`remaining`), a run that succeeded carries no error.
 *
 * @example
 * ```ts
 * declare const run: Run;
 * const result = await run.result;
 * if (result.status === 'awaiting-resume') console.log(`waiting: ${result.awaiting}`);
 * else if (result.status === 'rollback-failed') console.log(result.remaining ?? []);
 * ```
 */
export type RunResult = RunResultCommon &
  (
    | ({ status: 'succeeded'; undoFiles?: UndoFiles } & Absent<'error' | 'awaiting' | 'remaining'>)
    | ({ status: 'planned' } & Absent<'error' | 'awaiting' | 'remaining' | 'undoFiles'>)
    | ({ status: 'rolled-back' | 'cancelled' | 'unreachable' } & Failed & Absent<'awaiting' | 'remaining' | 'undoFiles'>)
    | ({ status: 'rollback-failed' | 'running'; undoFiles?: UndoFiles } & Failed & Remaining & Absent<'awaiting'>)
    | ({
        status: 'awaiting-resume';
        /** Why the run waits: a restart window, an interruption, or its own host restarting. */
        awaiting: AwaitingReason;
        undoFiles?: UndoFiles;
      } & Failed &
        Remaining)
  );

/** A run result before its fields are checked against its status (see {@link fitsStatus}). */
export type RunResultFields = RunResultCommon & { status: RunStatus; error?: ErrorRecord; awaiting?: AwaitingReason; remaining?: Change[]; undoFiles?: UndoFiles };

/** The fields that depend on a result's status, and the statuses that may have each. */
const STATUS_FIELDS: Record<'error' | 'awaiting' | 'remaining' | 'undoFiles', readonly RunStatus[]> = {
  error: ['rolled-back', 'cancelled', 'unreachable', 'rollback-failed', 'running', 'awaiting-resume'],
  awaiting: ['awaiting-resume'],
  remaining: ['rollback-failed', 'running', 'awaiting-resume'],
  undoFiles: ['succeeded', 'rollback-failed', 'running', 'awaiting-resume'],
};

/** True when a result of this status may have the field (e.g. `remaining`: only a run that may have left changes). */
export function statusAllows(status: RunStatus, field: keyof typeof STATUS_FIELDS): boolean {
  return STATUS_FIELDS[field].includes(status);
}

/**
 * True when a result has exactly the fields its status allows ({@link RunResult}); where results are
 * made from a journal, this is checked rather than assumed.
 *
 * @example
 * ```ts
 * declare const fields: RunResultFields;
 * if (!fitsStatus(fields)) throw new Error(`a ${fields.status} result with fields it cannot have`);
 * ```
 */
export function fitsStatus(r: RunResultFields): r is RunResult {
  const allowed = (Object.keys(STATUS_FIELDS) as (keyof typeof STATUS_FIELDS)[]).every((k) => r[k] === undefined || statusAllows(r.status, k));
  return allowed && (r.status !== 'awaiting-resume' || r.awaiting !== undefined);
}

/**
 * What an undo did: `changes` it made; `left`, when it failed part-way, the registry changes it could
 * not undo (the rest of the step's changes are undone).
 *
 * @example
 * ```ts
 * const undone: Compensation = { detail: 'restored 2 value(s)', changes: [] };
 * ```
 */
export type Compensation = { detail: string; changes: Change[]; left?: RegistryUndo };

/**
 * The context of a step machine (`step-kind.ts`); JSON only, so that it persists. `observed` is kept only until the
 * capture (nothing after it reads the probe), and `priors` is the capture journaled apart (a `memo`
 * record), so that the journal holds each piece of data once.
 */
export type StepMachineContext = {
  stepId: string;
  index: number;
  params: Json;
  checkMode: boolean;
  observed: Json;
  plan: StepPlan | null;
  priors: Json;
  /** The phase under way (an index into the kind's phases) while `acting`. */
  phase: number;
  results: Record<string, Json>;
  output: Json;
  summary: string;
  error: ErrorRecord | null;
  compensation: Compensation | null;
};

export type StepMachineInput = {
  stepId: string;
  index: number;
  params: Json;
  checkMode: boolean;
};

/**
 * What verify reports.
 *
 * @example
 * ```ts
 * const verified: Verification = { ok: false, summary: 'TLS 1.0 still accepted', output: null, problems: ['TLS 1.0 handshake succeeded'] };
 * ```
 */
export type Verification = {
  ok: boolean;
  summary: string;
  output: Json;
  problems?: string[];
};
