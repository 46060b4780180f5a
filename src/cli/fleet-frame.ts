/**
 * A fleet's live view on a terminal, as pure functions: the wave's counts in one line, then each host
 * running now with its current step, how long that step has run, and what it does (a restart: its
 * polls and the time left). Every line fits the width; hosts beyond the terminal's rows fold into one
 * line.
 */
import stringWidth from 'string-width';
import type { HostStepEvent } from '../fleet/types.js';
import { bold, dim, green, red } from './colors.js';
import { applyStepEvent, cell, detailOf, elapsedOf, fitLine, wordOf, type FrameSize, type StepLive } from './frame.js';

/** A wave's hosts by where they stand. */
export type WaveCounts = { done: number; failed: number; waiting: number; running: number; pending: number };

/** A fleet as its live view shows it. */
export interface FleetLive {
  wave: string;
  counts: WaveCounts;
  /** Hosts running now, in the order they started: when, and their steps as seen so far. */
  running: Map<string, { since: number; steps: StepLive[] }>;
}

/**
 * A fleet's live state before its first wave.
 *
 * @example
 * ```ts
 * const view = fleetLive();
 * waveStarted(view, 'canary', 1);
 * ```
 */
export function fleetLive(): FleetLive {
  return { wave: '', counts: { done: 0, failed: 0, waiting: 0, running: 0, pending: 0 }, running: new Map() };
}

/** A wave starts: its hosts all pending. */
export function waveStarted(view: FleetLive, wave: string, hosts: number): void {
  view.wave = wave;
  view.counts = { done: 0, failed: 0, waiting: 0, running: 0, pending: hosts };
  view.running.clear();
}

/** A host's run started. */
export function hostStarted(view: FleetLive, host: string, now: number): void {
  view.counts.pending -= 1;
  view.counts.running += 1;
  view.running.set(host, { since: now, steps: [] });
}

/** A step event of a running host. */
export function hostStep(view: FleetLive, e: { host: string } & HostStepEvent, now: number): StepLive | undefined {
  const host = view.running.get(e.host);
  return host ? applyStepEvent(host.steps, e, now) : undefined;
}

/** A host ended, counted as done, failed or waiting (a skipped host never ran). */
export function hostEnded(view: FleetLive, host: string, key: keyof Omit<WaveCounts, 'running' | 'pending'>): void {
  if (view.running.delete(host)) view.counts.running = Math.max(0, view.counts.running - 1);
  else view.counts.pending -= 1;
  view.counts[key] += 1;
}

/**
 * A wave's progress in one line: how many hosts are done, failed, wait, run and are still to start.
 *
 * @example
 * ```ts
 * progressLine('rest', { done: 997, failed: 3, waiting: 0, running: 0, pending: 0 });
 * // 'wave rest: 997 done, 3 failed, 0 waiting, 0 running, 0 pending'
 * ```
 */
export function progressLine(wave: string, c: WaveCounts): string {
  return `wave ${bold(wave)}: ${green(`${c.done} done`)}, ${red(`${c.failed} failed`)}, ${c.waiting} waiting, ${c.running} running, ${c.pending} pending`;
}

/**
 * The fleet's live block: the wave's counts, then one line per running host — its name, its current
 * step, how long that step has run, what it does — none wider than `size.width`, no more lines than
 * `size.height` allows.
 *
 * @example
 * ```ts
 * const view = fleetLive();
 * waveStarted(view, 'rest', 40);
 * hostStarted(view, '東京-db01', Date.now());
 * const lines = fleetFrame(view, { width: 40, height: 24, now: Date.now() });
 * ```
 */
export function fleetFrame(view: FleetLive, size: FrameSize): string[] {
  // The counts matter more than the wave's name: a long name is cut first.
  const full = progressLine(view.wave, view.counts);
  const lines = [fitLine(stringWidth(full) < size.width ? full : progressLine(cell(view.wave, 10).trimEnd(), view.counts), size.width)];
  const hosts = [...view.running.entries()];
  const room = size.height ? Math.max(1, size.height - 3) : Infinity;
  const shown = hosts.length > room ? hosts.slice(0, room - 1) : hosts;
  const current = (steps: StepLive[]) => [...steps].reverse().find((s) => s.state === 'running' || s.state === 'undoing') ?? steps.at(-1);
  const rows = shown.map(([host, h]) => ({ host, since: h.since, step: current(h.steps) }));
  // Names are cut before what the host does is: at most a quarter of the width, a fifth for the step.
  const hostWidth = Math.min(24, Math.max(8, Math.floor(size.width / 4)), Math.max(4, ...rows.map((r) => stringWidth(r.host))));
  const stepWidth = Math.min(20, Math.max(6, Math.floor(size.width / 5)), Math.max(4, ...rows.map((r) => stringWidth(r.step?.id ?? ''))));
  for (const r of rows) {
    const step = r.step;
    const elapsed = step ? elapsedOf(step, size.now) : elapsedOf({ startedAt: r.since } as StepLive, size.now);
    const doing = step ? `${wordOf(step)}${detailOf(step, size.now) ? `: ${detailOf(step, size.now)}` : ''}` : 'starting';
    lines.push(fitLine(`  ${cell(r.host, hostWidth)}  ${cell(step?.id ?? '-', stepWidth)}  ${dim(cell(elapsed, 6, 'right'))}  ${doing}`, size.width));
  }
  if (shown.length < hosts.length) lines.push(fitLine(`  ${dim(`… and ${hosts.length - shown.length} more running`)}`, size.width));
  return lines;
}
