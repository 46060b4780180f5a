/**
 * A live block on a terminal (log-update redraws it in place). A notice on stderr while it is shown
 * (notice.ts) clears it, is written, and the block is drawn again below it — so that a notice (Ctrl-C's
 * "stopping at a safe point", an operator alert) never lands inside the block and no stale copy of the
 * block is left above it. Loaded only on a terminal.
 */
import { createLogUpdate } from 'log-update';
import { showing, type LiveBlock, type TerminalStream } from './notice.js';

export type { LiveBlock, TerminalStream } from './notice.js';

/**
 * A live block on `stdout`, drawn from `frame` for the terminal's size (columns and rows, read at
 * each draw so that a resized terminal is followed). While it is shown, `notice()` goes through it.
 *
 * @example
 * ```ts
 * const block = liveBlock((size) => [`${size.width} columns`]);
 * block.draw();
 * block.notice('SIGINT: stopping at the next safe point\n');
 * block.done();
 * ```
 */
export function liveBlock(frame: (size: { width: number; height: number }) => string[], o: { stdout?: TerminalStream; stderr?: TerminalStream } = {}): LiveBlock {
  const stdout = o.stdout ?? process.stdout;
  const stderr = o.stderr ?? process.stderr;
  const update = createLogUpdate(stdout as NodeJS.WriteStream, { defaultWidth: 80, defaultHeight: 24 });
  const lines = () => frame({ width: stdout.columns || 80, height: stdout.rows || 24 }).join('\n');
  let finished = false;
  const block: LiveBlock = {
    draw() {
      if (!finished) update(lines());
    },
    persist(text) {
      if (finished) {
        stdout.write(text.endsWith('\n') ? text : `${text}\n`);
        return;
      }
      update.persist(text.replace(/\n$/, ''));
      update(lines());
    },
    notice(text) {
      if (finished) {
        stderr.write(text);
        return;
      }
      update.clear();
      // The cleared block leaves the cursor at the start of a line: a leading newline (after a ^C
      // echoed by the terminal) is not needed there.
      const line = text.replace(/^\n+/, '');
      stderr.write(line.endsWith('\n') ? line : `${line}\n`);
      update(lines());
    },
    done() {
      if (finished) return;
      update(lines());
      update.done();
      finished = true;
      showing(undefined, block);
      (stdout as NodeJS.WriteStream).off?.('resize', onResize);
    },
  };
  const onResize = () => block.draw();
  (stdout as NodeJS.WriteStream).on?.('resize', onResize);
  showing(block);
  return block;
}
