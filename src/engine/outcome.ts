/**
 * One graduated outcome per run (per host of a fleet), defined once: every rendering — the terminal,
 * `--json`, report.json/md, JUnit, `status` — and every exit code derive from it. A run's `status` says
 * where its saga stands; its outcome says what it did to the target, in the words an operator needs.
 */
import { Outcome, type Change, type RunResult } from './types.js';

export { Outcome } from './types.js';

/**
 * How each outcome reads, its exit code (the README's table), and whether it spends a failure budget.
 *
 * @example
 * ```ts
 * declare const result: RunResult;
 * const { label, exitCode } = OUTCOMES[result.outcome];
 * console.log(label);
 * process.exitCode = exitCode;
 * ```
 */
export const OUTCOMES: Readonly<Record<Outcome, { label: string; exitCode: 0 | 1 | 3 | 69 | 75; failure: boolean; tone: 'ok' | 'warn' | 'bad' }>> = {
  changed: { label: 'changed', exitCode: 0, failure: false, tone: 'ok' },
  compliant: { label: 'already compliant', exitCode: 0, failure: false, tone: 'ok' },
  'changes-pending': { label: 'changes pending', exitCode: 0, failure: false, tone: 'warn' },
  'rolled-back': { label: 'failed and rolled back', exitCode: 1, failure: true, tone: 'bad' },
  'rollback-failed': { label: 'ROLLBACK FAILED — an operator is needed', exitCode: 3, failure: true, tone: 'bad' },
  unreachable: { label: 'unreachable — nothing was changed', exitCode: 69, failure: true, tone: 'bad' },
  skipped: { label: 'skipped (not started)', exitCode: 0, failure: false, tone: 'warn' },
  'awaiting-restart-window': { label: 'awaiting a restart window', exitCode: 75, failure: false, tone: 'warn' },
  interrupted: { label: 'interrupted (awaiting resume)', exitCode: 75, failure: false, tone: 'warn' },
  'rolled-back-on-request': { label: 'rolled back on request', exitCode: 0, failure: false, tone: 'ok' },
  cancelled: { label: 'cancelled and rolled back', exitCode: 1, failure: true, tone: 'bad' },
  running: { label: 'running', exitCode: 75, failure: false, tone: 'warn' },
};

/**
 * The words a run's result ends with: its outcome's label — except for a plan (check mode) that could
 * not be completed, which changed nothing and so never "rolled back": `plan failed (nothing changed)`
 * (`plan cancelled (nothing changed)` when it was cancelled). Its outcome, and `--json`'s `status` and
 * `outcome`, stay the keys they are, as the exit code does.
 *
 * @example
 * ```ts
 * outcomeLabel({ outcome: 'rolled-back', status: 'rolled-back', checkMode: true }); // 'plan failed (nothing changed)'
 * outcomeLabel({ outcome: 'rolled-back', status: 'rolled-back', checkMode: false }); // 'failed and rolled back'
 * ```
 */
export function outcomeLabel(r: Pick<RunResult, 'outcome' | 'status' | 'checkMode'>): string {
  if (r.checkMode && (r.outcome === 'rolled-back' || r.outcome === 'rollback-failed' || r.outcome === 'cancelled')) {
    return r.outcome === 'cancelled' ? 'plan cancelled (nothing changed)' : 'plan failed (nothing changed)';
  }
  return OUTCOMES[r.outcome].label;
}

/**
 * How a run reads whose journal says `running` but whose driver is gone (its lease expired, was
 * released, or its process died: `src/store/driver-gone.ts` tells): interrupted, awaiting
 * `runbook resume` — the words of `runbook status` (and its `--status` value) and of the console.
 */
export const LEASE_EXPIRED = 'interrupted (lease expired)';

/** The reason a run records when `runbook rollback` undid it. */
export const ROLLED_BACK_ON_REQUEST = 'rolled back on request';

/**
 * The error a run rolled back on request had met before (it failed, its rollback failed, then `runbook
 * rollback` finished it), as history: its code and first line — what followed it told what to do then
 * (`runbook rollback …` retries), done since. Undefined for any other run: its error is its current one.
 */
export function earlierError(r: Pick<RunResult, 'outcome' | 'error'>): { code: string; message: string } | undefined {
  if (r.outcome !== 'rolled-back-on-request' || !r.error) return undefined;
  return { code: r.error.code, message: r.error.message.split('\n')[0].trim() };
}

/**
 * Values and keys a run changed (or, for a plan, would change; after a failed rollback, those still
 * changed on the target, as its report lists them): restarts and other actions not counted.
 */
export function changedValues(r: Pick<RunResult, 'steps'> & Partial<Pick<RunResult, 'status' | 'remaining'>>): number {
  if (r.status === 'rollback-failed') return (r.remaining ?? []).filter((c) => c.action !== 'run').length;
  return countChanges(r, (c) => c.action !== 'run');
}

/** The changes of a run's succeeded (or planned) steps that `keep` counts. */
function countChanges(r: Pick<RunResult, 'steps'>, keep: (c: Change) => boolean): number {
  return r.steps.reduce((n, s) => n + (s.status === 'succeeded' || s.status === 'planned' ? s.changes.filter(keep).length : 0), 0);
}

/**
 * Values and actions a run made (or, for a plan, would make): every change its succeeded (planned)
 * steps list — a restart owed by an earlier run and its marker removed included. A run that made any
 * of them is not "already compliant", and a plan with any is "changes pending".
 *
 * @example
 * ```ts
 * changesMade(await run.result); // 2 for a run that restarted and deleted an earlier run's marker
 * ```
 */
export function changesMade(r: Pick<RunResult, 'steps'>): number {
  return countChanges(r, () => true);
}

/**
 * A run's outcome.
 *
 * @example
 * ```ts
 * const o = outcomeOf(await run.result);
 * console.log(OUTCOMES[o].label); // "already compliant"
 * process.exitCode = OUTCOMES[o].exitCode;
 * ```
 */
export function outcomeOf(r: Pick<RunResult, 'status' | 'steps' | 'reason' | 'awaiting'>): Outcome {
  switch (r.status) {
    case 'succeeded':
      return changesMade(r) > 0 ? Outcome.changed : Outcome.compliant;
    case 'planned':
      return changesMade(r) > 0 ? Outcome.changesPending : Outcome.compliant;
    case 'rolled-back':
      return r.reason === ROLLED_BACK_ON_REQUEST ? Outcome.rolledBackOnRequest : Outcome.rolledBack;
    case 'rollback-failed':
      return Outcome.rollbackFailed;
    case 'unreachable':
      return Outcome.unreachable;
    case 'cancelled':
      return Outcome.cancelled;
    case 'awaiting-resume':
      return r.awaiting === 'restart-window' ? Outcome.awaitingRestartWindow : Outcome.interrupted;
    case 'running':
      return Outcome.running;
  }
}

/**
 * True for the statuses of a run whose changes its saga undid: after its failure, its cancellation, or
 * an operator's rollback. `resume` and `rollback` of such a run have nothing left to do.
 *
 * @example
 * ```ts
 * isRolledBack('cancelled'); // true
 * isRolledBack('rollback-failed'); // false: an operator is needed
 * ```
 */
export function isRolledBack(status: RunResult['status'] | undefined): boolean {
  return status === 'rolled-back' || status === 'cancelled';
}

/** Exit codes from the most to the least urgent: an operator needed, a failure, unreachable, waiting. */
const URGENCY = [3, 1, 69, 75, 0] as const;

/**
 * The exit code of several outcomes (a fleet's hosts): the most urgent one's — 3 when any rollback
 * failed, then 1, 69, 75, else 0.
 *
 * @example
 * ```ts
 * exitCodeOf(['changed', 'rollback-failed', 'rolled-back']); // 3
 * ```
 */
export function exitCodeOf(outcomes: Iterable<Outcome>): 0 | 1 | 3 | 69 | 75 {
  const codes = new Set([...outcomes].map((o) => OUTCOMES[o].exitCode));
  return URGENCY.find((c) => codes.has(c)) ?? 0;
}

/**
 * The error code of a run its preflight refused for a parameter the host's facts make impossible
 * (`tls13=enabled` on a Windows without TLS 1.3): the operator's input, nothing written — exit 2.
 */
export const PARAMETER_REFUSED = 'PARAMETER_REFUSED';

/**
 * True when every host of a fleet that was started was refused for a parameter (the rest never
 * started): nothing was changed anywhere, and the fleet exits 2 as a single such run does.
 */
export function fleetRefusedAsInput(hosts: readonly { status: string; error?: { code: string } }[]): boolean {
  const started = hosts.filter((h) => h.status !== 'skipped');
  return started.length > 0 && started.every((h) => h.status === 'rolled-back' && h.error?.code === PARAMETER_REFUSED);
}

/** Counts of each outcome, every outcome present (0 when none). */
export function countOutcomes(outcomes: Iterable<Outcome>): Record<Outcome, number> {
  const counts = Object.fromEntries(Object.values(Outcome).map((o) => [o, 0])) as Record<Outcome, number>;
  for (const o of outcomes) counts[o] += 1;
  return counts;
}

/**
 * An outcome's words where it is one cell of a table or one count (`status`, a fleet's counts): its
 * label up to a dash — the same words as every line that reports it, never its key (`--json` keeps
 * the key).
 *
 * @example
 * ```ts
 * shortLabel('rolled-back'); // 'failed and rolled back'
 * shortLabel('rollback-failed'); // 'ROLLBACK FAILED'
 * ```
 */
export function shortLabel(o: Outcome): string {
  return OUTCOMES[o].label.replace(/ — .*/, '');
}

/** Counts for people: only the outcomes present, e.g. "3 changed, 1 failed and rolled back". */
export function describeCounts(counts: Record<Outcome, number>): string {
  const parts = Object.values(Outcome)
    .filter((o) => counts[o] > 0)
    .map((o) => `${counts[o]} ${shortLabel(o)}`);
  return parts.length > 0 ? parts.join(', ') : 'no host';
}
