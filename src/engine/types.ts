/**
 * Data types of runs, steps and their results. Everything here survives JSON round trips.
 */
import type { ErrorRecord } from '../errors.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

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
 * const next = result.steps.find((s) => !isDoneStatus(s.status));
 * ```
 */
export function isDoneStatus(status: string): boolean {
  return DONE_STEP_STATUSES.has(status as StepStatus);
}

/** Why a run waits for a resume. */
export const AwaitingReason = {
  /** `allowRestart` is false: resume with `--allow-restart` in a restart window. */
  restartWindow: 'restart-window',
  /** Stopped at a safe point by a signal or `run.interrupt()`. */
  interrupted: 'interrupted',
  /** The engine runs on the target, which is restarting; its start-up task resumes the run. */
  targetRestart: 'target-restart',
} as const;
export type AwaitingReason = (typeof AwaitingReason)[keyof typeof AwaitingReason];

/** One difference between the target and the desired state: what a plan shows and a report keeps. */
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
}

/** What a step's plan phase decided. */
export interface StepPlan {
  changes: Change[];
  summary: string;
  /** Free data the later phases need. */
  data?: Json;
  /** A capture from an earlier process exists: go on even if nothing is left to change. */
  captured?: boolean;
}

/** The outcome of one step, as kept in results and reports. */
export interface StepResult {
  id: string;
  kind: string;
  status: StepStatus;
  summary: string;
  changes: Change[];
  output: Json;
  error?: ErrorRecord;
  compensation?: { status: 'compensated' | 'compensation-failed'; detail: string; changes: Change[]; error?: ErrorRecord };
  roundTrips: number;
  pollRoundTrips: number;
  retries: number;
  startedAt?: string;
  endedAt?: string;
}

/** The outcome of a run (or of one drive of it). */
export interface RunResult {
  runId: string;
  runbook: string;
  target: string;
  status: RunStatus;
  /** What the run did to the target, in the words every rendering uses (see `outcome.ts`). */
  outcome: Outcome;
  checkMode: boolean;
  /** Why the run stopped short: the first error, or the reason it awaits a resume. */
  error?: ErrorRecord;
  reason?: string;
  steps: StepResult[];
  /** Round trips to the target, polls during a restart not counted. */
  roundTrips: number;
  pollRoundTrips: number;
  retries: number;
  rebootRequired: boolean;
  /** Why an `awaiting-resume` run waits: a restart window, an interruption, or its own host restarting. */
  awaiting?: AwaitingReason;
  /**
   * What the journal says is still changed on the target: the changes of steps that were applied and
   * not compensated (after a failed rollback, exactly what is left to undo by hand).
   */
  remaining?: Change[];
  /** Files in the run directory that undo the remaining changes on the target's console. */
  undoFiles?: { reg: string; powershell: string };
  startedAt: string;
  endedAt: string;
  stateDir: string;
  backups: string[];
}

/** What an undo reports. */
export type Compensation = { detail: string; changes: Change[] };

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

/** What verify reports. */
export type Verification = {
  ok: boolean;
  summary: string;
  output: Json;
  problems?: string[];
};
