/**
 * A live block on a terminal (log-update redraws it in place), and the one way to write a notice on
 * stderr while it is shown: the block is cleared, the notice written, the block drawn again below it —
 * so that a notice (Ctrl-C's "stopping at a safe point", an operator alert) never lands inside the
 * block and no stale copy of the block is left above it.
 */
import { createLogUpdate } from 'log-update';

/** A stream as a live block needs it: what it writes to, and the terminal's size when it is one. */
export type TerminalStream = { write(text: string): unknown; columns?: number; rows?: number; isTTY?: boolean };

/** What a live block can do. */
export interface LiveBlock {
  /** Draws the block again from its frame (after the state changed, or on a timer). */
  draw(): void;
  /** Writes text that stays above the block (the scrollback), then draws the block below it. */
  persist(text: string): void;
  /** Writes a notice on stderr with the block out of the way, then draws the block again. */
  notice(text: string): void;
  /** Draws the block a last time and leaves it on screen; later output goes below it. */
  done(): void;
}

let active: LiveBlock | undefined;

/**
 * A live block on `stdout`, drawn from `frame` for the terminal's size (columns and rows, read at
 * each draw so that a resized terminal is followed). While it is shown, {@link notice} goes through it.
 *
 * @example
 * ```ts
 * const block = liveBlock((size) => [`${size.width} columns`]);
 * block.draw();
 * notice('SIGINT: stopping at the next safe point\n');
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
      if (active === block) active = undefined;
      (stdout as NodeJS.WriteStream).off?.('resize', onResize);
    },
  };
  const onResize = () => block.draw();
  (stdout as NodeJS.WriteStream).on?.('resize', onResize);
  active = block;
  return block;
}

/**
 * Writes a notice on stderr: through the live block when one is shown (cleared, notice, redrawn), else
 * straight. Every notice written while a run or a fleet is followed goes through here.
 *
 * @example
 * ```ts
 * notice('SIGINT: stopping at the next safe point\n');
 * ```
 */
export function notice(text: string): void {
  if (active) active.notice(text);
  else process.stderr.write(text);
}
