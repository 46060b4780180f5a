/**
 * Exit codes of the `runbook` command.
 */
import { OUTCOMES, type Outcome } from '../engine/outcome.js';

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

/**
 * The error code of a run its preflight refused for a parameter the host's facts make impossible
 * (`tls13=enabled` on a Windows without TLS 1.3): the operator's input, nothing written — exit 2.
 */
export const PARAMETER_REFUSED = 'PARAMETER_REFUSED';

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

/**
 * True when every host of a fleet that was started was refused for a parameter (the rest never
 * started): nothing was changed anywhere, and the fleet exits 2 as a single such run does.
 */
export function fleetRefusedAsInput(hosts: readonly { status: string; error?: { code: string } }[]): boolean {
  const started = hosts.filter((h) => h.status !== 'skipped');
  return started.length > 0 && started.every((h) => h.status === 'rolled-back' && h.error?.code === PARAMETER_REFUSED);
}
