/**
 * Errors explained to the operator: the exit code of each failure family (the README's table) and one
 * message that says what to do, never a stack trace for an expected error. Only the CLI turns errors
 * into exit codes; the library never exits.
 */
import { DurabilityError, ExecutorError, RunStoppedError, StateError, StepError, ValidationError, fileWriteFailure } from '../errors.js';
import type { RunResult } from '../engine/types.js';
import { UsageError } from './args.js';
import { ExitCode } from './exit-codes.js';
import { red } from './render.js';

/** The generic checklist, for a cause that carries no advice of its own. */
const REACH_CHECKLIST = 'Check that the host is up, its address and port, the firewall, and the credentials (RUNBOOK_SSH_KEY, RUNBOOK_WINRM_USER, …); then run again.';

/**
 * What to do for an executor's error: its own advice (`→ …`) when it has one, else the checklist.
 *
 * @example
 * ```ts
 * reachAdvice('host key not trusted\n  → add it to known_hosts'); // { cause: 'host key not trusted', advice: 'add it to known_hosts' }
 * ```
 */
export function reachAdvice(message: string): { cause: string; advice: string } {
  const lines = message.split('\n');
  const own = lines.filter((l) => l.trim().startsWith('→')).map((l) => l.trim().slice(1).trim());
  const cause = lines.filter((l) => !l.trim().startsWith('→')).join('\n');
  return { cause, advice: own.length > 0 ? own.join('; ') : REACH_CHECKLIST };
}

/**
 * The operator's message for a run that could not reach its target: the target, the cause, and what
 * to do; nothing was changed.
 *
 * @example
 * ```ts
 * declare const result: RunResult;
 * if (result.status === 'unreachable') process.stderr.write(unreachableMessage(result));
 * ```
 */
export function unreachableMessage(result: RunResult): string {
  const { cause, advice } = reachAdvice(result.error?.message ?? 'no answer');
  return `${red('error:')} cannot reach the target ${result.target}: ${cause}\n  → nothing was changed. ${advice}\n`;
}

/**
 * An error as the user sees it: the exit code, one message, and its kind (`usage` for a command line
 * that is wrong: the caller adds where its usage is).
 *
 * @example
 * ```ts
 * explain(new ValidationError('mode: "tls13" is not one of …', [])); // { code: 2, message: 'mode: …', kind: 'validation' }
 * ```
 */
export function explain(error: unknown): { code: number; message: string; kind: string } {
  if (error instanceof UsageError) return { code: ExitCode.usage, message: error.message, kind: 'usage' };
  if (error instanceof ValidationError) return { code: ExitCode.usage, message: error.message, kind: 'validation' };
  // The state directory would not take a write: a run that exists awaits its resume (75); one that
  // never got its first record changed nothing (2, as a state directory refused before the run is).
  if (error instanceof DurabilityError) return { code: error.resumable ? ExitCode.awaitingResume : ExitCode.usage, message: error.message, kind: error.code };
  // A run stopped by its store (lost, or refusing a write) once its start was durable: it awaits its resume.
  if (error instanceof RunStoppedError) return { code: ExitCode.awaitingResume, message: `${error.message}\n  continue with: ${error.resumeCommand}`, kind: error.code };
  // A store that cannot be reached is 69 (nothing of a run was changed); one that refused (a grant, read-only, a
  // schema not ours, its server's disk full) is the operator's to fix, as any input: 2.
  if (error instanceof StateError) {
    const code = error.code === 'FENCED' ? ExitCode.awaitingResume : error.code === 'STORE_UNAVAILABLE' ? ExitCode.unavailable : ExitCode.usage;
    return { code, message: error.message, kind: error.code };
  }
  // A transport that could not reach its target or be set up (no credentials, no PowerShell, a host key
  // not trusted) is 69 whether it would pass or not, as a run that meets it before any change ends
  // `unreachable`: inspect, sim capture and list exit as plan and run do. (A simulated host's file that
  // cannot be used is the operator's input: `connect` refuses it as a ValidationError, exit 2.)
  if (error instanceof ExecutorError) {
    const { cause, advice } = reachAdvice(error.message);
    return {
      code: ExitCode.unavailable,
      message: `cannot reach the target: ${cause}\n  → nothing was changed. ${advice}`,
      kind: 'executor',
    };
  }
  if (error instanceof StepError) return { code: ExitCode.failed, message: error.message, kind: error.code };
  // A file the disk refused (full, read-only, failing): which file, what it means, what to do.
  const refused = fileWriteFailure(error, 'run the command again');
  if (refused) return { code: ExitCode.usage, message: `${refused.message}\n  → ${refused.hint}`, kind: refused.errno };
  const code = (error as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && ['ENOENT', 'EACCES', 'ENOTDIR', 'EISDIR', 'EEXIST', 'EROFS', 'EPERM', 'ENOSPC', 'EDQUOT', 'EIO'].includes(code)) {
    return { code: ExitCode.usage, message: (error as Error).message, kind: code };
  }
  // An answer of a database that no store turned into its own error (a bug of ours): what it said, never a stack.
  const sqlstate = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof (error as { severity?: unknown }).severity === 'string' ? code : null;
  if (sqlstate) return { code: ExitCode.usage, message: `the PostgreSQL store refused a statement: ${(error as Error).message.split('\n')[0]} (SQLSTATE ${sqlstate})\n  → see the database server's log; nothing more was changed`, kind: 'STORE_REFUSED' };
  return { code: ExitCode.failed, message: `unexpected error: ${(error as Error)?.stack ?? String(error)}`, kind: 'unexpected' };
}
