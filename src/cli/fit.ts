/**
 * Lines and columns cut to a terminal's width (cli-truncate), a wide character counted as the two
 * columns it takes and a colour code as none (text-width.ts). Loaded only on a terminal.
 */
import cliTruncate from 'cli-truncate';
import { textWidth } from './text-width.js';
import { pad } from './frame.js';

/**
 * A line cut to fit `width` columns, an ellipsis where it was cut. It keeps one column free: a line
 * that fills the last column makes some terminals (the Windows console) wrap at once, and a redraw
 * would then count one line too few and leave a stale copy behind.
 *
 * @example
 * ```ts
 * fitLine('東京-web01  schannel  applying', 12); // '東京-web01 …' (11 columns)
 * ```
 */
export function fitLine(line: string, width: number): string {
  return cut(line, Math.max(1, width - 1));
}

/** Text cut to at most `columns` with an ellipsis (cli-truncate may keep a wide character that straddles the edge: cut again). */
function cut(text: string, columns: number): string {
  let out = text;
  for (let room = columns; textWidth(out) > columns && room > 0; room -= 1) out = cliTruncate(text, room);
  return out;
}

/**
 * Text cut (with an ellipsis) and padded to exactly `width` columns: a column of a live view.
 *
 * @example
 * ```ts
 * cell('orchestrator-web-01', 10); // 'orchestra…'
 * ```
 */
export function cell(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  return pad(cut(text, width), width, align);
}

