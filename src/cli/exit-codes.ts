/**
 * Exit codes of the `runbook` command.
 */
import { OUTCOMES, PARAMETER_REFUSED, type Outcome } from '../engine/outcome.js';

export const ExitCode = {
  /** The run succeeded (or the plan was made). */
  ok: 0,
  /** A step failed and the run was rolled back (or cancelled). */
  failed: 1,
  /** Usage, validation or input error: nothing was changed. */
  usage: 2,
  /** The rollback failed: an operator is needed. */
  rollbackFailed: 3,
  /** The target could not be reached before anything was changed (BSD EX_UNAVAILABLE). */
  unavailable: 69,
  /** Interrupted or awaiting a resume (BSD EX_TEMPFAIL). */
  awaitingResume: 75,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A run (or every started host of a fleet) refused for a parameter: exit 2 (src/engine/outcome.ts). */
export { PARAMETER_REFUSED, fleetRefusedAsInput } from '../engine/outcome.js';

/**
 * A run's exit code: its outcome's (`OUTCOMES` in src/engine/outcome.ts is the one table), except a run
 * refused for a parameter (exit 2, as any input error).
 *
 * @example
 * ```ts
 * exitCodeFor('rolled-back', { code: 'PARAMETER_REFUSED' }); // 2
 * ```
 */
export function exitCodeFor(outcome: Outcome, error?: { code: string } | null): ExitCode {
  if (error?.code === PARAMETER_REFUSED) return ExitCode.usage;
  return OUTCOMES[outcome].exitCode;
}

/**
 * `plan --detailed-exitcode`, as Terraform's: 0 nothing to do, 2 changes pending, 1 an error (any
 * other outcome, or a usage or input error).
 */
export function detailedExitCode(code: number, pending: boolean): number {
  if (code !== ExitCode.ok) return ExitCode.failed;
  return pending ? 2 : ExitCode.ok;
}
