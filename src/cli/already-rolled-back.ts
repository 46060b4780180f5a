/**
 * `resume` and `rollback` of a run already rolled back (on request, after its failure, or cancelled):
 * nothing is left to do. Both commands say so in the same words, print the run's result as it stands
 * (its target is not contacted) and exit with its outcome's code — the run's own answer, the same from
 * either command: 0 rolled back on request, 1 failed (or cancelled) and rolled back.
 */
import { OUTCOMES, isRolledBack, outcomeOf } from '../engine/outcome.js';
import { replay } from '../engine/replay.js';
import type { JournalRecord } from '../engine/run-store.js';

/**
 * The note for a run whose journal says it is already rolled back, or null for any other run (a
 * journal that cannot be read is left to the command, which refuses it as it always did).
 *
 * @example
 * ```ts
 * const records: JournalRecord[] = []; // a run's journal, as the store reads it
 * alreadyRolledBack(records, 'r1'); // null here; for a rolled-back run 'run r1 is already rolled back (rolled back on request): nothing to do, …'
 * ```
 */
export function alreadyRolledBack(records: readonly JournalRecord[], runId: string): string | null {
  let ended;
  try {
    ended = replay(records).ended;
  } catch {
    return null;
  }
  if (!ended || !isRolledBack(ended.status)) return null;
  const outcome = outcomeOf({ status: ended.status, steps: [], reason: ended.reason, awaiting: undefined });
  return `run ${runId} is already rolled back (${OUTCOMES[outcome].label}): nothing to do — the target is not contacted; its result as it stands:`;
}

/**
 * Prints the note where the command's output goes: a line before the summary, or with `--json` a
 * `log` event (level `info`) before the summary object.
 *
 * @example
 * ```ts
 * const records: JournalRecord[] = []; // a run's journal, as the store reads it
 * const note = alreadyRolledBack(records, 'r1');
 * if (note) printAlreadyRolledBack(note, 'r1', false);
 * ```
 */
export function printAlreadyRolledBack(note: string, runId: string, json: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify({ event: 'log', at: new Date().toISOString(), runId, level: 'info', message: note })}\n`);
  else process.stdout.write(`${note}\n`);
}
