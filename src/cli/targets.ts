/**
 * Turns a `--target` into an executor. Each transport is imported only when a target needs it, so
 * that commands which reach no target (status, list) and simulated hosts load no SSH or process
 * library.
 */
import { resolve } from 'node:path';
import { ValidationError } from '../errors.js';
import type { Executor } from '../executors/types.js';

export const TARGET_FORMS = [
  'sim:<file>                a simulated Windows host stored in a JSON file (runbook sim create)',
  'local                     this machine, through the local PowerShell',
  'ssh://user@host[:port]    a Windows host running OpenSSH server',
  'winrm://host[:port]       a Windows host through PowerShell remoting (WSMan)',
  'pwsh+ssh://user@host[:port]  PowerShell remoting over SSH',
];

/** Connects to a target given on the command line (or recorded in a run's journal). */
export async function connect(target: string, options: { onTarget?: boolean } = {}): Promise<Executor> {
  if (target.startsWith('sim:')) {
    const { createSimulatedExecutor } = await import('../executors/simulated.js');
    return createSimulatedExecutor(resolve(target.slice(4)), options.onTarget ? { onTarget: true } : {});
  }
  if (target === 'local') return (await import('../executors/local.js')).createLocalExecutor();
  if (target.startsWith('ssh://')) {
    const { createSshExecutor, parseSshTarget } = await import('../executors/ssh.js');
    let parsed;
    try {
      parsed = parseSshTarget(target);
    } catch (error) {
      throw new ValidationError(`target "${target}" is not understood`, [(error as Error).message, ...TARGET_FORMS.map((f) => `accepted: ${f}`)]);
    }
    // Credentials and host-key trust come from the environment (RUNBOOK_SSH_KEY, RUNBOOK_SSH_KNOWN_HOSTS, …).
    return createSshExecutor({ ...parsed, shell: process.env.RUNBOOK_SSH_SHELL });
  }
  if (target.startsWith('winrm://') || target.startsWith('pwsh+ssh://')) {
    const { createRemotingExecutor, parseRemotingTarget } = await import('../executors/powershell-remoting.js');
    try {
      return createRemotingExecutor(parseRemotingTarget(target));
    } catch (error) {
      throw new ValidationError(`target "${target}" is not understood`, [(error as Error).message, ...TARGET_FORMS.map((f) => `accepted: ${f}`)]);
    }
  }
  throw new ValidationError(`target "${target}" is not understood`, TARGET_FORMS.map((f) => `accepted: ${f}`));
}
