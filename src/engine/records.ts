/**
 * The records of a run's journal: one type per record, a union on `type`. The driver writes only
 * these (`JournalWriter.append` takes an `Entry`), and replay reads them with an exhaustive switch, so
 * that what is written and what is read cannot drift apart. Everything here survives JSON round trips.
 */
import type { ErrorRecord } from '../errors.js';
import type { RunbookDefinition } from './runbook.js';
import type { RegistryUndo } from '../windows/undo-files.js';
import type { AwaitingReason, Change, Json, RunStatus, StepMachineContext, StepStatus } from './types.js';

/**
 * The journal format this version writes and reads. 3: a step snapshot holds the machine's state, the
 * context fields that changed since the step's last snapshot (never the priors: they are the capture
 * memo) and the ids of the actors under way; the read-only states before a step's first phase are not
 * journaled. 2: lease generations, `awaiting`, `targetSpec`, masked data, `force` on operator sagas.
 * Journals without a format are format 1.
 */
export const JOURNAL_FORMAT = 3;

export interface RunStartedRecord {
  type: 'run.started';
  /** The journal format ({@link JOURNAL_FORMAT}); absent in format 1. */
  format?: number;
  runId: string;
  runbook: RunbookDefinition;
  source: string;
  fingerprint: string;
  params: Record<string, Json>;
  secrets: string[];
  target: string;
  executor: string;
  /** The target as the user gave it (e.g. `winrm://admin@host:5986`), to reconnect on resume. */
  targetSpec?: string;
  checkMode: boolean;
  stateDir: string;
}

/** Counters a step's record carries: calls to the target, polls while it restarted, retries. */
export type StepCounters = { roundTrips: number; pollRoundTrips: number; retries: number };

export type SegmentStarted = {
  type: 'segment.started';
  position: string;
  resume: boolean;
  pid: number;
  mode: 'drive' | 'rollback';
  /** The target this drive reached, when it is not the run's recorded `target` (a resume or rollback with `--target`). */
  target?: string;
};
export type StepStarted = { type: 'step.started'; index: number; stepId: string; params: Json };
export type StepSnapshot = {
  type: 'step.snapshot';
  index: number;
  stepId: string;
  /** The state as people see it: a phase's own name while the machine is `acting`. */
  state: string;
  /** The machine's state. */
  value: string;
  /** `done` in a final state; absent while active. */
  status?: string;
  /** The context fields that changed since the step's previous snapshot record (all of them in its first). */
  context: Partial<StepMachineContext>;
  /** The actors under way (invoke id and `src`); each gets the context as its input when restored. */
  children?: { id: string; src: string }[];
  /** The mask changed its context: it held a secret's value (a plan that writes one), which the journal does not keep. */
  masked?: true;
};
export type Memo = { type: 'memo'; index: number; stepId: string; name: string; value: Json };
export type StepAttempt = { type: 'step.attempt'; index: number; stepId: string; phase: string; attempt: number; willRetry: boolean; error: ErrorRecord };
export type StepSettled = {
  type: 'step.settled';
  index: number;
  stepId: string;
  status: StepStatus;
  summary: string;
  /** Absent when they are the plan's changes in the step's last snapshot (see {@link settledFromSnapshot}). */
  changes?: Change[];
  /** Absent when it is what the step's last snapshot publishes (see {@link settledFromSnapshot}). */
  output?: Json;
  error?: ErrorRecord;
} & StepCounters;
/** A step's machine as its journal keeps it: replay builds it from the step's snapshot records. */
export type JournaledStep = {
  value: string;
  status?: string;
  context: StepMachineContext;
  children: { id: string; src: string }[];
  /** A snapshot record of the step had its context masked: the context holds `***` where a secret's value was. */
  masked?: boolean;
};

/**
 * What a settled step's record would repeat of its last snapshot: the plan's changes, and what the step
 * publishes (the plan's data when it stopped at its plan, else its output). The record leaves them out
 * when they are the same, and replay takes them from the snapshot.
 */
export function settledFromSnapshot(status: StepStatus, snapshot: JournaledStep | undefined): { changes: Change[]; output: Json } | null {
  if (!snapshot) return null;
  const plan = snapshot.context.plan;
  const output = status === 'planned' || status === 'skipped' ? ((plan?.data ?? null) as Json) : snapshot.context.output;
  return { changes: plan?.changes ?? [], output };
}

/**
 * A backup kept with the run's files: `name` among them (`backups/<file>`), wherever the store keeps
 * them. A journal written before names were kept has `path`, the file on the machine that made it.
 */
export type FileSaved = { type: 'file.saved'; name: string } | { type: 'file.saved'; path: string };
export type SagaStarted = { type: 'saga.started'; failedIndex: number; reason: 'failure' | 'cancel' | 'operator'; force?: boolean; error?: ErrorRecord };
export type StepCompensated = {
  type: 'step.compensated';
  index: number;
  stepId: string;
  status: 'compensated' | 'compensation-failed';
  detail: string;
  changes: Change[];
  error?: ErrorRecord;
  /** A failed undo: the registry changes it could not undo. */
  left?: RegistryUndo;
} & StepCounters;
/** `remaining`: what the run changed and has not undone, as the step kinds tell it from the journal (absent: nothing). */
export type RunSuspended = { type: 'run.suspended'; reason: string; awaiting: AwaitingReason; remaining?: Change[] };
export type RunEnded = { type: 'run.ended'; status: RunStatus; error?: ErrorRecord; reason?: string; remaining?: Change[] };

/** Every record a run's journal holds. */
export type Entry =
  | RunStartedRecord
  | SegmentStarted
  | StepStarted
  | StepSnapshot
  | Memo
  | StepAttempt
  | StepSettled
  | FileSaved
  | SagaStarted
  | StepCompensated
  | RunSuspended
  | RunEnded;
