/**
 * A run's steps as its live views and pipe lines show them, as pure functions: events in, state and
 * text out, columns padded by the columns a wide character (CJK, most emoji) takes (text-width.ts). No
 * terminal and no clock: the caller gives `now`, so that tests need no TTY. What a step is doing reads
 * in words (reading, applying, waiting: 3 poll(s), 9m12s left), never as a state of its machine. The
 * terminal's frames are in run-frame.ts and fleet-frame.ts, loaded only on a terminal.
 */
import { textWidth } from './text-width.js';
import type { SettledBeforeStep } from '../engine/events.js';
import type { HostStepEvent } from '../fleet/types.js';
import { toned, type Tone } from './colors.js';

/** What a frame is drawn for: the terminal's columns (and rows, when known), and the time now (ms). */
export interface FrameSize {
  width: number;
  height?: number;
  now: number;
}

/**
 * Text padded to `width` columns (wide characters count two), never cut: for columns of a pipe's lines.
 *
 * @example
 * ```ts
 * pad('東京', 6) + '|'; // '東京  |'
 * pad('1.2s', 6, 'right'); // '  1.2s'
 * ```
 */
export function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const fill = ' '.repeat(Math.max(0, width - textWidth(text)));
  return align === 'left' ? text + fill : fill + text;
}

/**
 * A duration for people: tenths of seconds under a minute, then minutes and seconds, then hours.
 *
 * @example
 * ```ts
 * duration(1234); // '1.2s'
 * duration(125_000); // '2m05s'
 * ```
 */
export function duration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A step as a live view shows it: waiting its turn, running (or undoing), or ended with its outcome. */
export interface StepLive {
  id: string;
  state: 'pending' | 'running' | 'undoing' | 'ended';
  /** What it does now (reading, applying, rolling back) or how it ended (changed, ok, failed). */
  word: string;
  tone: Tone;
  /** Its summary once ended; while running, the last thing it said. */
  detail: string;
  startedAt?: number;
  endedAt?: number;
  /** While it waits on the target (a restart): polls so far, when it gives up (ms), what it waits for. */
  wait?: { polls: number; deadline: number; waitingFor: string };
}

/** Words for what a step's machine is doing; any other state is one of its acting phases. */
const ACTIVITY: Record<string, string> = { probing: 'reading', planning: 'planning', capturing: 'backing up', verifying: 'verifying' };
const ENDS: ReadonlySet<string> = new Set(['succeeded', 'skipped', 'planned', 'failed', 'compensated', 'compensation-failed', 'compensating']);

/**
 * How a step ended, as Ansible words it: `changed`, `ok` (nothing to change), `would change` (a
 * plan), `failed`, `rolled back`, `rollback failed`.
 *
 * @example
 * ```ts
 * stepOutcome('succeeded', 6); // { word: 'changed', tone: 'ok' }
 * stepOutcome('skipped', 0); // { word: 'ok', tone: 'ok' }
 * ```
 */
export function stepOutcome(status: string, changes: number): { word: string; tone: Tone } {
  switch (status) {
    case 'succeeded':
      return { word: changes > 0 ? 'changed' : 'ok', tone: 'ok' };
    case 'skipped':
      return { word: 'ok', tone: 'ok' };
    case 'planned':
      return { word: 'would change', tone: 'warn' };
    case 'compensated':
      return { word: 'rolled back', tone: 'warn' };
    case 'compensation-failed':
      return { word: 'rollback failed', tone: 'bad' };
    default:
      return { word: 'failed', tone: 'bad' };
  }
}

/**
 * Steps not started yet, for a view that knows them in advance (a run's `run:start`).
 *
 * @example
 * ```ts
 * const steps = pendingSteps(['preflight', 'schannel']);
 * ```
 */
export function pendingSteps(ids: readonly string[]): StepLive[] {
  return ids.map((id) => ({ id, state: 'pending', word: '', tone: 'none', detail: '' }));
}

const end = (step: StepLive, o: { word: string; tone: Tone }, detail: string, now: number): StepLive =>
  Object.assign(step, { state: 'ended', word: o.word, tone: o.tone, detail, endedAt: now, wait: undefined, startedAt: step.startedAt ?? now });

/**
 * Applies one step event of a run to its live steps (a step not seen before is added). Returns the
 * step when the event ended it (settled, rolled back, or its rollback failed): one line of a pipe.
 *
 * @example
 * ```ts
 * const steps = pendingSteps(['schannel']);
 * applyStepEvent(steps, { name: 'step:transition', event: { runId: 'r1', stepId: 'schannel', index: 0, from: null, to: 'probing' } }, 0);
 * const ended = applyStepEvent(steps, { name: 'step:settled', event: { runId: 'r1', stepId: 'schannel', index: 0, status: 'succeeded', summary: '19 value(s) changed', changes: [], roundTrips: 2 } }, 1200);
 * ended?.word; // 'ok'
 * ```
 */
export function applyStepEvent(steps: StepLive[], ev: HostStepEvent, now: number): StepLive | undefined {
  let step = steps.find((s) => s.id === ev.event.stepId);
  if (!step) {
    step = pendingSteps([ev.event.stepId])[0];
    steps.push(step);
  }
  switch (ev.name) {
    case 'step:transition': {
      // An end comes with its own event (step:settled, step:compensation), which carries its summary.
      if (ENDS.has(ev.event.to) || step.state === 'undoing') return undefined;
      if (step.state !== 'running') Object.assign(step, { startedAt: now, endedAt: undefined, detail: '' });
      Object.assign(step, { state: 'running', word: ACTIVITY[ev.event.to] ?? 'applying', tone: 'warn', wait: undefined });
      return undefined;
    }
    case 'step:wait':
      step.wait = { polls: ev.event.polls, deadline: Date.parse(ev.event.deadline), waitingFor: ev.event.waitingFor };
      return undefined;
    case 'step:settled':
      // A failed step's line says why it failed, not what it had planned.
      return end(step, stepOutcome(ev.event.status, ev.event.changes.length), ev.event.error ? ev.event.error.message.split('\n')[0] : ev.event.summary, now);
    case 'step:compensation':
      if (ev.event.status === 'compensating') {
        Object.assign(step, { state: 'undoing', word: 'rolling back', tone: 'warn', detail: '', startedAt: now, endedAt: undefined, wait: undefined });
        return undefined;
      }
      return end(step, stepOutcome(ev.event.status, 0), ev.event.detail, now);
  }
}

/** What a running step said last (a log line) becomes its detail while it runs. */
export function noteStep(steps: readonly StepLive[], stepId: string, message: string): void {
  const step = steps.find((s) => s.id === stepId);
  if (step && (step.state === 'running' || step.state === 'undoing')) step.detail = message.split('\n')[0];
}

/**
 * Shows the steps a resumed run had settled before this drive as they ended (their outcome, summary
 * and, when known, how long they took), instead of as not started.
 *
 * @example
 * ```ts
 * const steps = pendingSteps(['preflight', 'restart']);
 * settleEarlier(steps, [{ stepId: 'preflight', index: 0, status: 'succeeded', summary: 'all checks passed', changes: 0, tookMs: 800 }], Date.now());
 * steps[0].word; // 'ok'
 * ```
 */
export function settleEarlier(steps: StepLive[], settled: readonly SettledBeforeStep[], now: number): void {
  for (const s of settled) {
    const step = steps.find((x) => x.id === s.stepId);
    if (step) end(Object.assign(step, { startedAt: now - (s.tookMs ?? 0) }), stepOutcome(s.status, s.changes), s.summary, now);
  }
}

/**
 * Ends the steps a run left under way when it stopped (interrupted, awaiting a restart window) with
 * the run's word for it. Returns them.
 *
 * @example
 * ```ts
 * const stopped = endUnsettled(pendingSteps(['restart']), 'awaiting a restart window', Date.now());
 * ```
 */
export function endUnsettled(steps: readonly StepLive[], word: string, now: number): StepLive[] {
  return steps.filter((s) => s.state === 'running' || s.state === 'undoing').map((s) => end(s, { word, tone: 'warn' }, s.detail, now));
}

/** The word of a step now: a wait reads `waiting`. */
export function wordOf(step: StepLive): string {
  return step.wait && step.state === 'running' ? 'waiting' : step.word;
}

/** What a step is doing or did, in one line: a wait shows its polls and the time left before it gives up. */
export function detailOf(step: StepLive, now: number): string {
  if (step.wait && step.state !== 'ended') {
    const { polls, deadline, waitingFor } = step.wait;
    return `${polls} poll(s), ${duration(deadline - now)} left: ${waitingFor}`;
  }
  return step.detail.split('\n')[0];
}

/** How long a step has run (or ran), or nothing before it started. */
export function elapsedOf(step: StepLive, now: number): string {
  return step.startedAt === undefined ? '' : duration((step.endedAt ?? now) - step.startedAt);
}

/**
 * Text as one field of a pipe's line: words joined by `-` (brackets and dashes between words dropped),
 * so that `awk` counts the same fields on every line; an empty text is `-`.
 *
 * @example
 * ```ts
 * pipeField('rollback failed'); // 'rollback-failed'
 * pipeField('interrupted (awaiting resume)'); // 'interrupted-awaiting-resume'
 * pipeField(''); // '-'
 * ```
 */
export function pipeField(text: string): string {
  return text.replace(/[()]/g, ' ').replace(/\s+[—–]\s+/g, ' ').trim().split(/\s+/).filter(Boolean).join('-') || '-';
}

/** The columns an outcome takes in a pipe's line: `rollback-failed`, the longest step outcome, fits. */
export const PIPE_OUTCOME_WIDTH = 15;

/**
 * A pipe's line for a step that ended: host, step, outcome, how long, summary, in columns (a log
 * read with grep or awk; never cut). The first four are one field each (see {@link pipeField}), so
 * that `awk '{print $3}'` is always the outcome and `$4` the time; the summary is the rest of the line.
 *
 * @example
 * ```ts
 * declare const step: StepLive;
 * outcomeLine('web01', step, 1_700); // 'web01         schannel        changed          1.2s  19 value(s) changed'
 * ```
 */
export function outcomeLine(host: string, step: StepLive, now: number, widths: { host: number; step: number } = { host: 12, step: 14 }): string {
  const word = toned(step.tone, pad(pipeField(step.word), PIPE_OUTCOME_WIDTH));
  return `${pad(pipeField(host), widths.host)}  ${pad(pipeField(step.id), widths.step)}  ${word}  ${pad(pipeField(elapsedOf(step, now)), 6, 'right')}  ${detailOf(step, now)}`.trimEnd();
}
