/**
 * The `local` executor: runs the agent in this machine's PowerShell (`powershell.exe` on Windows,
 * `pwsh` elsewhere), one process for all calls (a session), each batch one line on standard input.
 */
import type { Socket } from 'node:net';
import type { ExecaError } from 'execa';
import { ExecutorError } from '../errors.js';
import { agentBackendFor, agentScriptFile, type AgentBackend } from './agent/protocol.js';
import { AgentSession, sessionExecutor } from './agent/session.js';
import { startPowerShellScript } from './common.js';
import { endGroup } from './process-groups.js';
import type { Executor } from './types.js';

export const name = 'local' satisfies Executor['name'];

/**
 * Options of {@link createLocalExecutor}.
 *
 * @example
 * ```ts
 * const options: LocalExecutorOptions = { shell: 'pwsh', timeoutMs: 60_000 };
 * const executor = createLocalExecutor(options);
 * ```
 */
export interface LocalExecutorOptions {
  /** The PowerShell to run. @default `$RUNBOOK_PWSH`, else `powershell.exe` on Windows, `pwsh` elsewhere */
  shell?: string;
  /** Extra environment for the agent (e.g. `RUNBOOK_AGENT_HOST_FILE`). */
  env?: Record<string, string>;
  /** `file`: the tests' simulated-host backend. @default `file` when RUNBOOK_AGENT_HOST_FILE is set, else `windows` */
  agentBackend?: AgentBackend;
  /** How long one call may take. @default DEFAULT_CALL_TIMEOUT_MS (120000) */
  timeoutMs?: number;
}

/** The PowerShell this platform runs by default. */
export function defaultShell(): string {
  return process.env.RUNBOOK_PWSH ?? (process.platform === 'win32' ? 'powershell.exe' : 'pwsh');
}

/**
 * An executor for the machine the engine runs on. A restart ends this process, so it is `onTarget`.
 * One PowerShell answers every call of the executor (an {@link AgentSession}) until `close()`; it does
 * not keep this process alive on its own.
 *
 * @example
 * ```ts
 * const executor = createLocalExecutor();
 * const [os] = await executor.run([{ op: 'os.info' }]);
 * await executor.close();
 * ```
 */
export function createLocalExecutor(options: LocalExecutorOptions = {}): Executor {
  const shell = options.shell ?? defaultShell();
  const where = `local ${shell}`;
  const session = new AgentSession(
    where,
    async (output) => {
      // execa is loaded with the first session, so that importing the library does not load it.
      const { execa } = await import('execa');
      const child = startPowerShellScript(execa, shell, [agentScriptFile(agentBackendFor(options.agentBackend, options.env))], options.env);
      child.stdout.setEncoding('utf8').on('data', output.stdout);
      child.stderr.setEncoding('utf8').on('data', output.stderr);
      // A write to an agent that just exited fails; its exit is what the session reports.
      child.stdin.on('error', () => undefined);
      void child.then((result) => output.closed((result as { code?: string }).code === 'ENOENT' ? result : undefined));
      // An idle session does not hold the event loop: a call in flight has its own timer that does.
      child.unref();
      // The pipes are sockets (net.Socket), which Readable and Writable do not declare.
      for (const pipe of [child.stdin, child.stdout, child.stderr] as unknown as Socket[]) pipe.unref();
      return {
        write: (text) => void child.stdin.write(text),
        end: () => child.stdin.end(),
        // The whole group: the shell may be a launcher whose child, the runtime, runs the agent.
        kill: () => endGroup(child.pid),
      };
    },
    (error) => classify(error, shell),
  );
  return sessionExecutor(session, { name, target: 'local', onTarget: true, timeoutMs: options.timeoutMs }, {
    close: () => session.close(),
  });
}

/** Why the agent's PowerShell could not run. */
function classify(error: unknown, shell: string): Error {
  if (error instanceof ExecutorError) return error;
  const e = error as ExecaError & { code?: string };
  if (e.code === 'ENOENT') {
    return new ExecutorError('permanent', `PowerShell (${shell}) is not installed or not on PATH`, {
      hint: 'install PowerShell 7 (pwsh) or set RUNBOOK_PWSH to its path',
      cause: error,
    });
  }
  return new ExecutorError('protocol', `the agent process failed: ${e.shortMessage ?? e.message}`, { where: `local ${shell}`, cause: error });
}
