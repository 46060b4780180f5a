/**
 * What a run prints while it goes, from its typed events: on a terminal a live block of its steps
 * (redrawn in place, every line fitted to the width); in a pipe one line per step outcome; with
 * `--json` one JSON object per event. Warnings and retries go to stderr, through the live block.
 */
import { basename } from 'node:path';
import { textWidth } from './text-width.js';
import type { RunEmitter, RunEvents } from '../engine/events.js';
import { OUTCOMES, outcomeLabel } from '../engine/outcome.js';
import type { HostStepEvent } from '../fleet/types.js';
import { bold, dim, yellow } from './colors.js';
import { applyStepEvent, endUnsettled, noteStep, outcomeLine, pendingSteps, settleEarlier, type StepLive } from './frame.js';
import type { LiveBlock, TerminalStream } from './notice.js';

export type OutputMode = 'tty' | 'plain' | 'json';

/** What stops a renderer; `ready` settles once a terminal's live block can be drawn (its libraries loaded). */
export type Renderer = (() => void) & { ready: Promise<void> };

/**
 * A target as a pipe's lines name it: the host of a URL, the file name of a simulated host.
 *
 * @example
 * ```ts
 * hostLabel('winrm+https://admin@web01.corp:5986'); // 'web01.corp'
 * hostLabel('sim:/tmp/hosts/host-1.json'); // 'host-1'
 * ```
 */
export function hostLabel(target: string): string {
  if (target.startsWith('sim:')) return basename(target.slice(4)).replace(/\.json$/, '');
  try {
    const host = new URL(target).hostname;
    if (host) return host.replace(/^\[|\]$/g, '');
  } catch {
    // not a URL: `local`
  }
  return target;
}

const JSON_EVENTS = ['run:start', 'run:end', 'step:transition', 'step:settled', 'step:retry', 'step:compensation', 'log'] as const;

/**
 * Attaches a renderer to a run's events. Returns a function that stops it. On a terminal the live
 * block's libraries (log-update, cli-truncate) are loaded now, apart: a pipe or `--json` never loads them.
 *
 * @example
 * ```ts
 * declare const events: RunEmitter;
 * const stop = attachRenderer(events, process.stdout.isTTY ? 'tty' : 'plain');
 * stop();
 * ```
 */
export function attachRenderer(events: RunEmitter, mode: OutputMode, o: { stdout?: TerminalStream; stderr?: TerminalStream; now?: () => number; tickMs?: number } = {}): Renderer {
  const stdout = o.stdout ?? process.stdout;
  const stderr = o.stderr ?? process.stderr;
  const now = o.now ?? Date.now;
  const offs: (() => void)[] = [];
  const on = <E extends keyof RunEvents>(name: E, listener: (...args: RunEvents[E]) => void) => {
    events.on(name, listener as never);
    offs.push(() => events.off(name, listener as never));
  };
  if (mode === 'json') {
    for (const name of JSON_EVENTS) {
      on(name, ((payload: object) => {
        if (name === 'run:end') return; // the CLI prints the final summary object itself
        // Each event stamped with the time it was seen, as a log line is.
        stdout.write(`${JSON.stringify({ event: name, at: new Date().toISOString(), ...payload })}\n`);
      }) as never);
    }
    return Object.assign(() => offs.forEach((off) => off()), { ready: Promise.resolve() });
  }

  let steps: StepLive[] = [];
  let host = '';
  let widths = { host: 12, step: 14 };
  let block: LiveBlock | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ui: { liveBlock: typeof import('./live.js').liveBlock; runFrame: typeof import('./run-frame.js').runFrame } | undefined;
  let started = false;
  /** The live block, once its libraries are loaded and while the run goes. */
  const open = () => {
    if (!ui || !started || block) return;
    const { runFrame } = ui;
    block = ui.liveBlock((size) => runFrame(steps, { ...size, now: now() }), { stdout, stderr });
    block.draw();
    // The running step's elapsed time and a restart's time left move on between events.
    timer = setInterval(() => block?.draw(), o.tickMs ?? 500).unref();
  };
  const ready =
    mode === 'tty'
      ? Promise.all([import('./live.js'), import('./run-frame.js')]).then(([live, frame]) => {
          ui = { liveBlock: live.liveBlock, runFrame: frame.runFrame };
          open();
        })
      : Promise.resolve();
  const finish = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    block?.done();
    block = undefined;
  };
  /** A notice on stderr, out of the live block's way. */
  const warn = (text: string) => (block ? block.notice(text) : stderr.write(`${text}\n`));
  const ended = (step: StepLive | undefined) => {
    if (step && mode === 'plain') stdout.write(`${outcomeLine(host, step, now(), widths)}\n`);
    block?.draw();
  };
  const step = (ev: HostStepEvent) => ended(applyStepEvent(steps, ev, now()));

  on('run:start', (e) => {
    finish();
    steps = pendingSteps(e.steps);
    // A resumed run's steps that settled before: shown as they ended, not as not started (a pipe printed
    // their lines when they ended, and does not print them again).
    settleEarlier(steps, e.settled ?? [], now());
    host = hostLabel(e.target);
    widths = { host: textWidth(host), step: Math.max(4, ...e.steps.map((s) => textWidth(s))) };
    const verb = e.mode === 'rollback' ? 'Rolling back' : e.resumed ? 'Resuming' : e.checkMode ? 'Planning' : 'Running';
    stdout.write(`${bold(verb)} ${e.runbook} → ${e.target}  ${dim(`(run ${e.runId})`)}\n`);
    started = mode === 'tty';
    open();
  });
  on('step:transition', (event) => step({ name: 'step:transition', event }));
  on('step:settled', (event) => step({ name: 'step:settled', event }));
  /**
   * The undos of a step that failed for good, by step and cause: one line per step and cause when its
   * rollback ends, not one per value (a target gone fails each of its 35 undos). The journal keeps each
   * attempt; the report, what is left.
   */
  const undoFailures = new Map<string, Map<string, number>>();
  const tellUndoFailures = (stepId: string) => {
    const causes = undoFailures.get(stepId);
    undoFailures.delete(stepId);
    for (const [cause, n] of causes ?? []) warn(yellow(`${host} ${stepId}: ${n === 1 ? 'an undo attempt' : `${n} undo attempts`} failed (${cause}); each is in the journal`));
  };
  on('step:compensation', (event) => {
    tellUndoFailures(event.stepId);
    step({ name: 'step:compensation', event });
  });
  on('step:wait', (event) => step({ name: 'step:wait', event }));
  on('step:retry', (e) => {
    const cause = e.error.message.split('\n')[0];
    if (e.phase === 'compensate' && !e.willRetry) {
      const causes = undoFailures.get(e.stepId) ?? new Map<string, number>();
      undoFailures.set(e.stepId, causes.set(cause, (causes.get(cause) ?? 0) + 1));
      return;
    }
    warn(yellow(`${host} ${e.stepId}: attempt ${e.attempt} of ${e.phase} failed (${cause})${e.willRetry ? ', retrying' : ''}`));
  });
  on('log', (e) => {
    if (e.level === 'info') {
      if (e.stepId) noteStep(steps, e.stepId, e.message);
      block?.draw();
      return;
    }
    warn(`${e.level === 'error' ? 'error' : 'warning'}: ${host}${e.stepId ? ` ${e.stepId}` : ''}: ${e.message}`);
  });
  on('run:end', (result) => {
    for (const stepId of [...undoFailures.keys()]) tellUndoFailures(stepId);
    // Steps a stop left under way (a safe point, a restart window) end with the run's words for it.
    // A pipe's line gives the outcome's key (one field: `interrupted`, `awaiting-restart-window`; a
    // plan that could not be completed `plan-failed`, not a rollback of changes it never made).
    const label = outcomeLabel(result);
    const word = mode !== 'plain' ? label : label === OUTCOMES[result.outcome].label ? result.outcome : result.outcome === 'cancelled' ? 'plan-cancelled' : 'plan-failed';
    for (const s of endUnsettled(steps, word, now())) if (mode === 'plain') stdout.write(`${outcomeLine(host, s, now(), widths)}\n`);
    started = false;
    finish();
  });
  const stop = () => {
    started = false;
    finish();
    offs.forEach((off) => off());
  };
  return Object.assign(stop, { ready });
}
