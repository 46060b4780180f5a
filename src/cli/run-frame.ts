/**
 * A run's live block on a terminal, as a pure function: its steps in, lines out, each fitted to the
 * width. Loaded only on a terminal.
 */
import { textWidth } from './text-width.js';
import { dim, toned } from './colors.js';
import { cell, fitLine } from './fit.js';
import { detailOf, elapsedOf, pad, wordOf, type FrameSize, type StepLive } from './frame.js';

const ICONS: Record<string, string> = { failed: '✘', 'rollback failed': '!', 'rolled back': '↩', 'would change': '~' };
const iconOf = (s: StepLive) => (s.state === 'pending' ? '·' : s.state === 'running' ? '…' : s.state === 'undoing' ? '↺' : (ICONS[s.word] ?? '✔'));

/**
 * A run's live block: one line per step — icon, id, what it does or how it ended, how long, its
 * summary — none wider than `size.width`. When the rows do not fit `size.height`, the first ended
 * steps fold into one line.
 *
 * @example
 * ```ts
 * declare const steps: Parameters<typeof runFrame>[0]; // frame.ts: pendingSteps([…]), then applyStepEvent(…) per event
 * const lines = runFrame(steps, { width: 40, height: 24, now: Date.now() });
 * ```
 */
export function runFrame(steps: readonly StepLive[], size: FrameSize): string[] {
  let rows = [...steps];
  let folded = 0;
  const room = size.height ? Math.max(1, size.height - 2) : Infinity;
  while (rows.length > room && rows[0].state === 'ended') {
    rows.shift();
    folded += 1;
  }
  if (rows.length > room) rows = rows.slice(0, room);
  const idWidth = Math.min(28, Math.max(6, Math.floor(size.width / 4)), Math.max(4, ...steps.map((s) => textWidth(s.id))));
  const wordWidth = Math.max(12, ...rows.map((s) => textWidth(wordOf(s))));
  const lines = rows.map((s) =>
    fitLine(`  ${toned(s.tone, iconOf(s))} ${cell(s.id, idWidth)}  ${toned(s.tone, pad(wordOf(s), wordWidth))} ${dim(pad(elapsedOf(s, size.now), 6, 'right'))}  ${detailOf(s, size.now)}`.trimEnd(), size.width),
  );
  return folded > 0 ? [fitLine(`  ${dim(`✔ ${folded} earlier step(s) ended`)}`, size.width), ...lines] : lines;
}

