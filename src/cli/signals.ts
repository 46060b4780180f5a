/**
 * SIGINT and SIGTERM for the commands that drive runs: the first asks for a stop at the next safe
 * point, a second aborts at once.
 */
import { endAllGroups } from '../executors/process-groups.js';
import { notice } from './notice.js';
import { onOutputClosed } from './output-closed.js';

/** The signals this process's commands heard (SIGINT, SIGTERM). */
let heard = 0;

/**
 * Whether a signal stopped (or began to stop) a command of this process: then, once the command is
 * over, the process exits at once (src/cli/main.ts), with the command's exit code — a Ctrl-C pressed
 * again while Node tears itself down would otherwise end it by the signal (exit 130), not with the code
 * the command reported.
 *
 * @example
 * ```ts
 * if (signalled()) process.exit();
 * ```
 */
export function signalled(): boolean {
  return heard > 0;
}

/**
 * The first SIGINT or SIGTERM asks for a stop at the next safe point (`interrupt`); a second one aborts
 * at once (exit 130 or 143 — or the exit code already reported, see `reported`), ending the processes the
 * executors started first. Each says so on stderr. Stdout or stderr losing its reader (`| head -5`: EPIPE)
 * asks for the same stop as a first signal, with the `closed` notice (on stderr, if that one still has its
 * reader); it is no signal: a SIGINT after it is still a first one. Returns what takes the handlers off again.
 *
 * @example
 * ```ts
 * const detach = stopOnSignals({ first: (s) => `${s}: stopping`, again: (s) => `${s} again: aborting`, closed: (s) => `${s} closed: stopping`, interrupt: () => undefined });
 * detach();
 * ```
 */
export function stopOnSignals(o: {
  first: (signal: NodeJS.Signals) => string;
  again: (signal: NodeJS.Signals) => string;
  closed?: (stream: 'stdout' | 'stderr') => string;
  interrupt: () => void;
  /**
   * The exit code already reported (a fleet's, once its reports are written), if any: a second signal
   * then exits with it, not 130/143 — what the reports say and the exit code agree.
   */
  reported?: () => number | undefined;
}): () => void {
  let signals = 0;
  const offClosed = onOutputClosed((stream) => {
    notice(`\n${o.closed?.(stream) ?? `${stream} was closed (its reader ended): stopping at the next safe point`}\n`);
    o.interrupt();
  });
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    heard += 1;
    if (signals === 1) {
      notice(`\n${o.first(signal)}\n`);
      o.interrupt();
      return;
    }
    const reported = o.reported?.();
    if (reported === undefined) notice(`${o.again(signal)}\n`);
    // The processes the executors started (PowerShell and what it started) end with this one: there is
    // no time left to close the executors.
    endAllGroups();
    process.exit(reported ?? (signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    offClosed();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Reported already (a fleet's reports are written): from here to the process's end (the stores and
    // executors closing, main.ts's own handlers not yet on), a signal exits with that code, never by
    // the signal's default action.
    const code = o.reported?.();
    if (code !== undefined) for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(code));
  };
}
