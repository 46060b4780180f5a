/**
 * What every real executor does the same way: how long a call may take, and how a call ends when its
 * time is up or its caller cancels it. (The transports differ in how they stop a call; what the caller
 * sees does not.)
 */
import type { execa as Execa } from 'execa';
import { ExecutorError } from '../errors.js';
import type { RunOptions } from './types.js';
import { ownGroup, trackGroup, untrackGroup } from './process-groups.js';
import { childEnv } from '../util/secret-env.js';

/** How long one call to the agent may take, unless the call or the executor says otherwise. */
export const DEFAULT_CALL_TIMEOUT_MS = 120_000;

/** The timeout of one call: the call's own, else the executor's, else {@link DEFAULT_CALL_TIMEOUT_MS}. */
export function callTimeout(run: RunOptions, executorDefault?: number): number {
  return run.timeoutMs ?? executorDefault ?? DEFAULT_CALL_TIMEOUT_MS;
}

/** The error a call ends with when its time is up. */
export function timeoutError(where: string, ms: number, cause?: unknown): ExecutorError {
  return new ExecutorError('timeout', `the agent did not answer within ${ms} ms`, { where, cause });
}

/** The error a call ends with when its caller cancelled it. */
export function cancelledError(where: string, cause?: unknown): ExecutorError {
  return new ExecutorError('permanent', 'the call was cancelled', { where, cause });
}

/**
 * One call, bounded by its timeout and its signal. `start` begins it and settles it with `resolve` or
 * `reject`; it may register how to stop the call (`onStop`), which runs when the time is up or the
 * signal aborts, before the call rejects with {@link timeoutError} or {@link cancelledError}. Whatever
 * settles first wins; later outcomes are ignored.
 */
export function boundedCall<T>(
  where: string,
  run: RunOptions,
  executorDefault: number | undefined,
  start: (resolve: (value: T) => void, reject: (error: unknown) => void, onStop: (stop: () => void) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const ms = callTimeout(run, executorDefault);
    let stop: () => void = () => undefined;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const timer = setTimeout(() => finish(() => (stop(), reject(timeoutError(where, ms)))), ms);
    const onAbort = () => finish(() => (stop(), reject(cancelledError(where))));
    if (run.signal?.aborted) return onAbort();
    run.signal?.addEventListener('abort', onAbort, { once: true });
    start(
      (value) => finish(() => resolve(value)),
      (error) => finish(() => reject(error)),
      (fn) => {
        stop = fn;
      },
    );
  });
}

/**
 * Starts a long-lived PowerShell running a script file (`args`: the file, then its arguments), its
 * standard streams piped and not buffered, never rejecting: what the local agent session and the
 * remoting host share. `execa` is passed in so that callers load it only when they start one. It leads
 * a process group of its own, recorded until it exits: end it with `endGroup(child.pid)`, which ends
 * the PowerShell runtime and whatever it started too (a launcher's child, ssh). Its environment is
 * this process's with `env` over it, less the secret variables (see `childEnv`) but those in `keepSecretEnv`.
 */
export function startPowerShellScript(execa: typeof Execa, shell: string, args: string[], env?: Record<string, string>, keepSecretEnv: readonly string[] = []) {
  const child = execa(shell, ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', ...args], {
    // Not the secret variables: what PowerShell starts (reg.exe, shutdown.exe, schtasks) inherits its
    // environment; the agent gets its values as JSON on stdin.
    env: childEnv(env, keepSecretEnv),
    extendEnv: false,
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    reject: false,
    buffer: false,
    // A group of its own (POSIX): ended with everything it started (endGroup), and a Ctrl-C at the
    // terminal is this process's to handle, not the agent's.
    detached: ownGroup(),
  });
  trackGroup(child.pid);
  void child.then(() => untrackGroup(child.pid));
  return child;
}
