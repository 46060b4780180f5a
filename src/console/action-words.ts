/**
 * What the page's confirmation of an action says it will do — the server's view of the same action
 * (`actions.ts`), in words, so that a person confirms what will happen: a relaunch of a plan plans,
 * one of a run changes hosts and may restart them; a resume of a run awaiting its restart window
 * restarts its host now. DOM-free: the page's bundle imports it, and tests read it directly.
 */

/**
 * The confirmation of "Relaunch failed hosts": `runbook plan` for a plan's fleet (nothing changes),
 * `runbook run` for a run's (hosts change and may restart).
 *
 * @example
 * ```ts
 * relaunchDetail(true); // 'A new plan (check mode: runbook plan) of the hosts that failed … nothing is changed and nothing restarts.'
 * ```
 */
export function relaunchDetail(checkMode: boolean): string {
  const which = 'the hosts that failed and were rolled back, were unreachable or were cancelled, in their waves, with the same parameters and budget';
  return checkMode
    ? `A new plan (check mode: runbook plan) of ${which}: nothing is changed and nothing restarts.`
    : `A new fleet runs the runbook again (runbook run) on ${which}: their settings are changed and they may restart.`;
}

/** The confirmation of "Resume" for a run that waits for a resume (not for its restart window). */
export const RESUME_DETAIL = 'The run continues from its journal.';

/**
 * The confirmation of "Resume and restart now", offered instead of "Resume" to a run awaiting its
 * restart window: `runbook resume --allow-restart` (a resume without it would wait again).
 */
export const RESTART_NOW_DETAIL =
  'The run continues from its journal and restarts the host now (runbook resume --allow-restart): do this only in the host\'s restart window. Its services are unavailable until it is back.';

/** The confirmation of "Roll back" for a run that ran (or waits): every step undone in reverse. */
export const ROLLBACK_DETAIL = 'Every step is undone in reverse; values changed since the run are left alone.';

/**
 * The confirmation of "Roll back" for a run whose rollback failed: `runbook rollback` tries again the
 * undos that failed (those done are not redone), as the CLI and `runbook status` say.
 */
export const ROLLBACK_RETRY_DETAIL =
  'The undos that failed are tried again (runbook rollback); those done are not redone, and values changed since the run are left alone. Do this once the cause is fixed (the host answers).';
