/**
 * The typed events of a run. The CLI and the tests consume only these.
 */
import { EventEmitter } from 'eventemitter3';
import type { ErrorRecord } from '../errors.js';
import type { Change, RunResult, StepStatus } from './types.js';

/**
 * A step that settled in an earlier drive of the run (before a resume), as `run:start` tells it: its
 * status, its summary, how many changes it made, and how long it took when the journal says.
 */
export interface SettledBeforeStep { stepId: string; index: number; status: StepStatus; summary: string; changes: number; tookMs?: number }
export interface RunStartEvent {
  runId: string;
  runbook: string;
  target: string;
  checkMode: boolean;
  resumed: boolean;
  steps: string[];
  mode: 'drive' | 'rollback';
  /** The steps that settled in the run's earlier drives, in order (a resumed run's); absent or empty for a new run. */
  settled?: SettledBeforeStep[];
}
export interface StepTransitionEvent { runId: string; stepId: string; index: number; from: string | null; to: string }
export interface StepSettledEvent {
  runId: string;
  stepId: string;
  index: number;
  status: StepStatus;
  summary: string;
  changes: Change[];
  roundTrips: number;
  /** Why the step failed (a failed step's only). */
  error?: ErrorRecord;
}
export interface StepRetryEvent { runId: string; stepId: string; phase: string; attempt: number; willRetry: boolean; error: ErrorRecord }
export interface CompensationEvent { runId: string; stepId: string; index: number; status: 'compensating' | 'compensated' | 'compensation-failed'; detail: string }
/**
 * A step waiting on the target (a restart's wait for the host to come back), after each poll: the
 * polls made so far, when the wait gives up (ISO time), and what it still waits for.
 */
export interface StepWaitEvent { runId: string; stepId: string; index: number; polls: number; deadline: string; waitingFor: string }
export interface LogEvent { runId: string; stepId?: string; level: 'info' | 'warn' | 'error'; message: string }

/** Event name → listener arguments. */
export interface RunEvents {
  'run:start': [RunStartEvent];
  'run:end': [RunResult];
  'step:transition': [StepTransitionEvent];
  'step:settled': [StepSettledEvent];
  'step:retry': [StepRetryEvent];
  'step:compensation': [CompensationEvent];
  'step:wait': [StepWaitEvent];
  log: [LogEvent];
}

/**
 * The emitter each run carries as `run.events`.
 *
 * @example
 * ```ts
 * run.events.on('step:settled', (e) => console.log(e.stepId, e.status, e.summary));
 * ```
 */
export class RunEmitter extends EventEmitter<RunEvents> {
  /** Applied to every payload before listeners see it (the run's secret mask). */
  mask: <T>(value: T) => T = (value) => value;

  override emit<E extends keyof RunEvents>(event: E, ...args: RunEvents[E]): boolean {
    const emit = super.emit.bind(this) as (name: E, ...payload: unknown[]) => boolean;
    return emit(event, ...args.map((a) => this.mask(a)));
  }
}
