/**
 * The typed events of a run. The CLI and the tests consume only these.
 */
import { EventEmitter } from 'eventemitter3';
import type { ErrorRecord } from '../errors.js';
import type { Change, RunResult, StepStatus } from './types.js';

/**
 * A step that settled in an earlier drive of the run (before a resume), as `run:start` tells it: its
 * status, its summary, how many changes it made, and how long it took when the journal says.
 *
 * @example
 * ```ts
 * run.events.on('run:start', (e) => {
 *   const settled: SettledBeforeStep[] = e.settled ?? [];
 *   for (const s of settled) console.log(`${s.stepId}: ${s.status} in an earlier drive`);
 * });
 * ```
 */
export interface SettledBeforeStep { stepId: string; index: number; status: StepStatus; summary: string; changes: number; tookMs?: number }
/**
 * What `run:start` tells when a drive begins: the run, its target, its steps, and (on a resume) the
 * steps already settled.
 *
 * @example
 * ```ts
 * run.events.on('run:start', (e: RunStartEvent) => {
 *   console.log(`${e.resumed ? 'resuming' : 'starting'} ${e.runbook} on ${e.target}: ${e.steps.length} steps`);
 * });
 * ```
 */
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
/**
 * What `step:transition` tells each time a step's machine moves from one state to the next (`from` is
 * null at its start).
 *
 * @example
 * ```ts
 * run.events.on('step:transition', (e: StepTransitionEvent) => console.log(`${e.stepId}: ${e.from ?? 'start'} → ${e.to}`));
 * ```
 */
export interface StepTransitionEvent { runId: string; stepId: string; index: number; from: string | null; to: string }
/**
 * What `step:settled` tells when a step ends: its status and summary, the changes it made, its round
 * trips and, if it failed, why.
 *
 * @example
 * ```ts
 * run.events.on('step:settled', (e: StepSettledEvent) => {
 *   if (e.error) console.error(`${e.stepId} failed: ${e.error.message}`);
 *   else console.log(`${e.stepId}: ${e.summary} (${e.changes.length} change(s), ${e.roundTrips} round trip(s))`);
 * });
 * ```
 */
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
/**
 * What `step:retry` tells after a phase's attempt failed: which attempt, whether another follows, and
 * the error.
 *
 * @example
 * ```ts
 * run.events.on('step:retry', (e: StepRetryEvent) => {
 *   console.warn(`${e.stepId}/${e.phase} attempt ${e.attempt}: ${e.error.message}${e.willRetry ? ', retrying' : ''}`);
 * });
 * ```
 */
export interface StepRetryEvent { runId: string; stepId: string; phase: string; attempt: number; willRetry: boolean; error: ErrorRecord }
/**
 * What `step:compensation` tells while the saga undoes a step: compensating, then compensated or
 * compensation-failed.
 *
 * @example
 * ```ts
 * run.events.on('step:compensation', (e: CompensationEvent) => {
 *   if (e.status === 'compensation-failed') console.error(`could not undo ${e.stepId}: ${e.detail}`);
 * });
 * ```
 */
export interface CompensationEvent { runId: string; stepId: string; index: number; status: 'compensating' | 'compensated' | 'compensation-failed'; detail: string }
/**
 * A step waiting on the target (a restart's wait for the host to come back), after each poll: the
 * polls made so far, when the wait gives up (ISO time), and what it still waits for.
 *
 * @example
 * ```ts
 * run.events.on('step:wait', (e: StepWaitEvent) => console.log(`${e.stepId}: poll ${e.polls}, waiting for ${e.waitingFor} until ${e.deadline}`));
 * ```
 */
export interface StepWaitEvent { runId: string; stepId: string; index: number; polls: number; deadline: string; waitingFor: string }
/**
 * A line a step or the engine logs during a run (`log` events), with its level and, when a step logged
 * it, the step.
 *
 * @example
 * ```ts
 * run.events.on('log', (e: LogEvent) => {
 *   if (e.level !== 'info') console.warn(`[${e.stepId ?? 'run'}] ${e.message}`);
 * });
 * ```
 */
export interface LogEvent { runId: string; stepId?: string; level: 'info' | 'warn' | 'error'; message: string }

/**
 * Event name → listener arguments.
 *
 * @example
 * ```ts
 * const onEnd = (...[result]: RunEvents['run:end']) => console.log(result.outcome);
 * run.events.on('run:end', onEnd);
 * ```
 */
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
