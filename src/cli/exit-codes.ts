/**
 * Exit codes of the `runbook` command.
 */
import type { RunStatus } from '../engine/types.js';

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

export function exitCodeFor(status: RunStatus): ExitCode {
  switch (status) {
    case 'succeeded':
    case 'planned':
      return ExitCode.ok;
    case 'rolled-back':
    case 'cancelled':
      return ExitCode.failed;
    case 'rollback-failed':
      return ExitCode.rollbackFailed;
    case 'unreachable':
      return ExitCode.unavailable;
    case 'awaiting-resume':
    case 'running':
      return ExitCode.awaitingResume;
  }
}
