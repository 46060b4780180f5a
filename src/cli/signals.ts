/**
 * SIGINT and SIGTERM for the commands that drive runs: the first asks for a stop at the next safe
 * point, a second aborts at once.
 */
import { endAllGroups } from '../executors/process-groups.js';
import { notice } from './notice.js';

/**
 * The first SIGINT or SIGTERM asks for a stop at the next safe point (`interrupt`); a second one aborts
 * at once (exit 130 or 143), ending the processes the executors started first. Each says so on stderr. Returns what takes the handlers off again.
 *
 * @example
 * ```ts
 * const detach = stopOnSignals({ first: (s) => `${s}: stopping`, again: (s) => `${s} again: aborting`, interrupt: () => undefined });
 * detach();
 * ```
 */
export function stopOnSignals(o: { first: (signal: NodeJS.Signals) => string; again: (signal: NodeJS.Signals) => string; interrupt: () => void }): () => void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      notice(`\n${o.first(signal)}\n`);
      o.interrupt();
      return;
    }
    notice(`${o.again(signal)}\n`);
    // The processes the executors started (PowerShell and what it started) end with this one: there is
    // no time left to close the executors.
    endAllGroups();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
