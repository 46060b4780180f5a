/**
 * What the console adds to a host's outcome, view-only: the outcomes, their words and their tones are
 * the engine's ({@link OUTCOMES} in `src/engine/outcome.ts`, the one table the CLI and the reports read),
 * so a host reads the same in the matrix, in `runbook status` and in report.md. Here only: three states a
 * page needs that are not outcomes of a run (a host not yet started, one an interrupted fleet did not
 * start, a journal that cannot be read), and what a person should do next.
 */
import { LEASE_EXPIRED, OUTCOMES, outcomeLabel } from '../engine/outcome.js';
import type { Outcome } from '../engine/types.js';

/** A host's outcome as a page shows it: the engine's, or a state a page needs. */
export type ViewOutcome = Outcome | ViewOnly;

type ViewOnly = 'pending' | 'not-started' | 'damaged';

/** The states a page needs that are not a run's outcome. */
export const VIEW_ONLY: Readonly<Record<ViewOnly, { label: string; tone: 'ok' | 'warn' | 'bad' }>> = {
  /** A fleet's host with no run yet while the fleet goes on (`skipped` once it is over). */
  pending: { label: 'not yet started', tone: 'warn' },
  /** A host of a fleet a signal stopped (its report says `interrupted`) before the host started: the fleet's resume starts it. */
  'not-started': { label: 'not started (awaiting resume)', tone: 'warn' },
  /** A journal that cannot be read: no outcome can be told. */
  damaged: { label: 'journal damaged', tone: 'bad' },
};

const entry = (o: ViewOutcome) => (o in VIEW_ONLY ? VIEW_ONLY[o as ViewOnly] : OUTCOMES[o as Outcome]);

/**
 * The words of an outcome: the engine's label (the CLI's and the reports' words).
 *
 * @example
 * ```ts
 * labelOf('rolled-back-on-request'); // "rolled back on request"
 * ```
 */
export function labelOf(o: ViewOutcome): string {
  return entry(o).label;
}

/** The colour class of an outcome (`o-ok`, `o-warn`, `o-bad`): the engine's tone, shown next to the words, never alone. */
export function toneOf(o: ViewOutcome): 'ok' | 'warn' | 'bad' {
  return entry(o).tone;
}

/** The tone of an outcome given by its words (a count's key); `warn` for words no outcome has. */
export function toneOfLabel(label: string): 'ok' | 'warn' | 'bad' {
  const all = [...Object.values(OUTCOMES), ...Object.values(VIEW_ONLY)];
  // A plan's words for a failure (`outcomeLabel`): the tone of the outcome it words.
  const plan = (['rolled-back', 'cancelled'] as const).map((o) => ({ label: outcomeLabel({ outcome: o, status: o, checkMode: true }), tone: OUTCOMES[o].tone }));
  return [...all, ...plan].find((x) => x.label === label)?.tone ?? 'warn';
}

/** A run's words as every page shows them: its result's (`outcomeLabel`), or {@link LEASE_EXPIRED} when its driver is gone. */
export function runLabel(r: Parameters<typeof outcomeLabel>[0], leaseExpired = false): string {
  return leaseExpired ? LEASE_EXPIRED : outcomeLabel(r);
}

/** The outcomes a relaunch takes again: failed hosts, not those left half-undone (a person looks at those). */
export const RELAUNCHED: readonly Outcome[] = ['rolled-back', 'unreachable', 'cancelled'];

/**
 * What a person should do about an outcome (null: nothing). `id` is the run's or the fleet's; `awaiting`
 * the run's (a run interrupted by its host's restart resumes by itself); `run` says whether it was a
 * plan (check mode: nothing was changed, nothing rolled back) and whether its driver is gone (its lease);
 * `where` the store's option of each command (`--state-dir …` or `--store …` without its password:
 * `storeOption`), so that a command pasted elsewhere than the console's folder acts on the same store.
 */
export function adviceFor(o: ViewOutcome, id: string, awaiting?: string, run: { checkMode?: boolean; leaseExpired?: boolean } = {}, where = ''): string | null {
  const at = where ? ` ${where}` : '';
  if (run.leaseExpired) return `No driver holds it any more (its lease expired or was released: its process died, or lost its store, before the journal could record the stop): \`runbook resume ${id}${at}\` continues from the journal.`;
  if (run.checkMode && (o === 'rolled-back' || o === 'rollback-failed' || o === 'cancelled')) {
    return `A plan changes nothing: nothing was changed on the host, and nothing needed rolling back. Fix the cause named in the error, then plan again (\`runbook plan\` with the same target).`;
  }
  switch (o) {
    case 'rolled-back':
      return `Nothing is left changed on the host. Fix the cause named in the error, then relaunch the failed hosts (or \`runbook run\` this host again).`;
    case 'rollback-failed':
      return `Some changes are still on the host: the remaining changes are listed. Once the cause is fixed (the host answers), Roll back — \`runbook rollback ${id}${at}\` — retries the undos that failed; or apply undo.reg or undo.ps1 on the host's console.`;
    case 'unreachable':
      return 'Nothing was changed. Check that the host is up, its address and port, the firewall and the credentials; then relaunch the failed hosts.';
    case 'awaiting-restart-window':
      return `The changes are made and wait for a restart. In a restart window: \`runbook resume ${id} --allow-restart${at}\`; or undo them: \`runbook rollback ${id}${at}\`.`;
    case 'interrupted':
      if (awaiting === 'target-restart') return 'The host is restarting; its start-up task resumes the run.';
      return `Stopped at a safe point: \`runbook resume ${id}${at}\` continues from the journal.`;
    case 'damaged':
      return 'The journal cannot be read: the run cannot be resumed safely. Inspect the file, restore it from a backup, or roll the host back from the .reg backups.';
    default:
      return null;
  }
}
