/**
 * The one way to write a notice on stderr while a live block may be shown (Ctrl-C's "stopping at a
 * safe point", an operator alert): through the block, which clears itself, lets the notice be written
 * and draws itself again below it — else straight to stderr. Free of any terminal library, so that
 * every command may import it; the block itself (live.ts, log-update) is loaded only on a terminal.
 */

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

/** The block now shown (live.ts sets it when it draws one, and clears it when done). */
export function showing(block: LiveBlock | undefined, done?: LiveBlock): void {
  if (block) active = block;
  else if (active === done) active = undefined;
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
