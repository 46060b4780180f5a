/**
 * The records of a run's journal: one type per record, a union on `type`. The driver writes only
 * these (`JournalWriter.append` takes an `Entry`), and replay reads them with an exhaustive switch, so
 * that what is written and what is read cannot drift apart. Everything here survives JSON round trips.
 */
import type { ErrorRecord } from '../errors.js';
import type { RunbookDefinition } from './runbook.js';
import type { AwaitingReason, Change, Json, RunStatus, StepStatus } from './types.js';

/**
 * The journal format this version writes and reads. 2: lease generations, `awaiting`, `targetSpec`,
 * masked data, `force` on operator sagas. Journals without a format are format 1 (before them).
 */
export const JOURNAL_FORMAT = 2;

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

export type SegmentStarted = { type: 'segment.started'; position: string; resume: boolean; pid: number; mode: 'drive' | 'rollback' };
export type StepStarted = { type: 'step.started'; index: number; stepId: string; params: Json };
export type StepSnapshot = { type: 'step.snapshot'; index: number; stepId: string; state: string; snapshot: unknown };
export type Memo = { type: 'memo'; index: number; stepId: string; name: string; value: Json };
export type StepAttempt = { type: 'step.attempt'; index: number; stepId: string; phase: string; attempt: number; willRetry: boolean; error: ErrorRecord };
export type StepSettled = {
  type: 'step.settled';
  index: number;
  stepId: string;
  status: StepStatus;
  summary: string;
  changes: Change[];
  output: Json;
  error?: ErrorRecord;
} & StepCounters;
export type FileSaved = { type: 'file.saved'; path: string };
export type SagaStarted = { type: 'saga.started'; failedIndex: number; reason: 'failure' | 'cancel' | 'operator'; force?: boolean; error?: ErrorRecord };
export type StepCompensated = {
  type: 'step.compensated';
  index: number;
  stepId: string;
  status: 'compensated' | 'compensation-failed';
  detail: string;
  changes: Change[];
  error?: ErrorRecord;
} & StepCounters;
export type RunSuspended = { type: 'run.suspended'; reason: string; awaiting: AwaitingReason };
export type RunEnded = { type: 'run.ended'; status: RunStatus; error?: ErrorRecord; reason?: string };

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
