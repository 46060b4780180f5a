/**
 * A fleet's live view on a terminal, as a pure function: the wave's counts in one line, then each host
 * running now with its current step, how long that step has run, and what it does (a restart: its
 * polls and the time left). Every line fits the width; hosts beyond the terminal's rows fold into one
 * line. Loaded only on a terminal.
 */
import { textWidth } from './text-width.js';
import { dim } from './colors.js';
import { cell, fitLine } from './fit.js';
import { detailOf, elapsedOf, wordOf, type FrameSize, type StepLive } from './frame.js';
import { progressLine, type FleetLive } from './fleet-view.js';

/**
 * The fleet's live block: the wave's counts, then one line per running host — its name, its current
 * step, how long that step has run, what it does — none wider than `size.width`, no more lines than
 * `size.height` allows.
 *
 * @example
 * ```ts
 * declare const view: Parameters<typeof fleetFrame>[0]; // fleet-view.ts: fleetLive(), waveStarted(…), hostStarted(…)
 * const lines = fleetFrame(view, { width: 40, height: 24, now: Date.now() });
 * ```
 */
export function fleetFrame(view: FleetLive, size: FrameSize): string[] {
  // The counts matter more than the wave's name: a long name is cut first.
  const full = progressLine(view.wave, view.counts);
  const lines = [fitLine(textWidth(full) < size.width ? full : progressLine(cell(view.wave, 10).trimEnd(), view.counts), size.width)];
  const hosts = [...view.running.entries()];
  const room = size.height ? Math.max(1, size.height - 3) : Infinity;
  const shown = hosts.length > room ? hosts.slice(0, room - 1) : hosts;
  const current = (steps: StepLive[]) => [...steps].reverse().find((s) => s.state === 'running' || s.state === 'undoing') ?? steps.at(-1);
  const rows = shown.map(([host, h]) => ({ host, since: h.since, step: current(h.steps) }));
  // Names are cut before what the host does is: at most a quarter of the width, a fifth for the step.
  const hostWidth = Math.min(24, Math.max(8, Math.floor(size.width / 4)), Math.max(4, ...rows.map((r) => textWidth(r.host))));
  const stepWidth = Math.min(20, Math.max(6, Math.floor(size.width / 5)), Math.max(4, ...rows.map((r) => textWidth(r.step?.id ?? ''))));
  for (const r of rows) {
    const step = r.step;
    const elapsed = step ? elapsedOf(step, size.now) : elapsedOf({ startedAt: r.since } as StepLive, size.now);
    const doing = step ? `${wordOf(step)}${detailOf(step, size.now) ? `: ${detailOf(step, size.now)}` : ''}` : 'starting';
    lines.push(fitLine(`  ${cell(r.host, hostWidth)}  ${cell(step?.id ?? '-', stepWidth)}  ${dim(cell(elapsed, 6, 'right'))}  ${doing}`, size.width));
  }
  if (shown.length < hosts.length) lines.push(fitLine(`  ${dim(`… and ${hosts.length - shown.length} more running`)}`, size.width));
  return lines;
}
