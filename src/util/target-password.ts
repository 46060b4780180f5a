/**
 * A target that carries a password in its user-info (`winrm://admin:pw@host`, `ssh://u:pw@h`) is
 * refused wherever a target is read: the CLI's `--target`, an inventory's hosts, the executors'
 * parsers. A target is printed, journaled and written into every report as it was given, and a
 * command line is readable by every user of the machine, so the password is never taken from it;
 * the refusal shows the target with the password as `***`.
 */
import { userInfoSpans, withoutPassword } from './without-password.js';

/**
 * Whether a target's user-info holds a `:` (a password, even an empty one): whatever stands between
 * the scheme and the last `@`, when a `:` comes before that `@` (a port comes after it).
 *
 * @example
 * ```ts
 * targetHasPassword('winrm://admin:pw@orch01:5985'); // true
 * targetHasPassword('winrm://admin@contoso.com@orch01:5985'); // false (a UPN, then the port)
 * ```
 */
export function targetHasPassword(target: string): boolean {
  return target.includes('://') && userInfoSpans(target).length > 0;
}

/**
 * Where the password of a target's transport is taken from instead, for the refusal's advice.
 *
 * @example
 * ```ts
 * passwordAdvice('ssh://u:pw@h'); // 'use a key: RUNBOOK_SSH_KEY (its passphrase in RUNBOOK_SSH_PASSPHRASE) or ssh-agent, …'
 * ```
 */
export function passwordAdvice(target: string): string {
  if (target.startsWith('winrm')) return 'name the user in the target (winrm://user@host) or in RUNBOOK_WINRM_USER, and put the password in RUNBOOK_WINRM_PASSWORD';
  if (!/^(pwsh\+)?ssh:/.test(target)) return 'credentials come from the environment, never from the target';
  return 'use a key: RUNBOOK_SSH_KEY (its passphrase in RUNBOOK_SSH_PASSPHRASE) or ssh-agent, or put the password in RUNBOOK_SSH_PASSWORD';
}

/**
 * The words of the refusal of a target carrying a password, the target masked; null when it carries none.
 *
 * @example
 * ```ts
 * targetPasswordProblem('winrm://admin:pw@orch01'); // 'target "winrm://admin:***@orch01" carries a password …'
 * ```
 */
export function targetPasswordProblem(target: string): { message: string; hint: string } | null {
  if (!targetHasPassword(target)) return null;
  return {
    message: `target "${withoutPassword(target)}" carries a password: it is refused, nothing was contacted (a target is written to the journal and reports, and a command line is readable by every user of this machine)`,
    hint: passwordAdvice(target),
  };
}

/**
 * Throws the refusal of a target carrying a password (an executor's parser: the CLI and inventories
 * refuse it before, with their own error classes).
 *
 * @example
 * ```ts
 * refuseTargetWithPassword('winrm://admin@orch01'); // nothing: no password
 * ```
 */
export function refuseTargetWithPassword(target: string): void {
  const problem = targetPasswordProblem(target);
  if (problem) throw new Error(`${problem.message}; ${problem.hint}`);
}
