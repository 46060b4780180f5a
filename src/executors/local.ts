/**
 * The `local` executor: runs the agent in this machine's PowerShell (`powershell.exe` on Windows,
 * `pwsh` elsewhere), one process per call, the batch on standard input.
 */
import type { ExecaError } from 'execa';
import { ExecutorError } from '../errors.js';
import { agentBackendFor, agentRequest, agentScriptFile, parseAgentAnswer, type AgentBackend } from './agent-protocol.js';
import { callTimeout, cancelledError, timeoutError } from './common.js';
import type { Executor, HostOp, HostOpResult, RunOptions } from './types.js';

export const name = 'local' satisfies Executor['name'];

/** Options of {@link createLocalExecutor}. */
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
 *
 * @example
 * ```ts
 * const executor = createLocalExecutor();
 * const [os] = await executor.run([{ op: 'os.info' }]);
 * ```
 */
export function createLocalExecutor(options: LocalExecutorOptions = {}): Executor {
  const shell = options.shell ?? defaultShell();
  let roundTrips = 0;
  return {
    name,
    target: 'local',
    onTarget: true,
    get roundTrips() {
      return roundTrips;
    },
    async run(batch: readonly HostOp[], runOptions: RunOptions = {}): Promise<HostOpResult[]> {
      roundTrips += 1;
      const { marker, json } = agentRequest(batch);
      const timeout = callTimeout(runOptions, options.timeoutMs);
      try {
        // execa is loaded on the first call, so that importing the library does not load it.
        const { execa } = await import('execa');
        const result = await execa(shell, ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', agentScriptFile(agentBackendFor(options.agentBackend, options.env))], {
          input: json,
          env: options.env,
          timeout,
          cancelSignal: runOptions.signal,
          reject: false,
          stripFinalNewline: false,
        });
        if (result.failed && !result.stdout.includes(`RBE-BEGIN ${marker}`)) throw result;
        return parseAgentAnswer(result.stdout, marker, `local ${shell}`);
      } catch (error) {
        throw classify(error, shell, timeout);
      }
    },
    async close() {},
  };
}

function classify(error: unknown, shell: string, timeoutMs: number): Error {
  if (error instanceof ExecutorError) return error;
  const e = error as ExecaError & { code?: string };
  if (e.code === 'ENOENT') {
    return new ExecutorError('permanent', `PowerShell (${shell}) is not installed or not on PATH`, {
      hint: 'install PowerShell 7 (pwsh) or set RUNBOOK_PWSH to its path',
      cause: error,
    });
  }
  if (e.timedOut) return timeoutError(`local ${shell}`, timeoutMs, error);
  if (e.isCanceled) return cancelledError(`local ${shell}`, error);
  return new ExecutorError('protocol', `the agent process failed: ${e.shortMessage ?? e.message}`, { where: `local ${shell}`, cause: error });
}
