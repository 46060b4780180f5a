/**
 * The `powershell-remoting` executor: one long-lived local PowerShell process (`agent/remoting-host.ps1`)
 * holds one PSSession per target — WSMan (`winrm://host[:port]`, `-ComputerName`) or the SSH transport
 * (`pwsh+ssh://user@host[:port]`, `-HostName`) — and runs the agent in it for every call. The session is
 * made again when the target has restarted.
 */
import type { ResultPromise } from 'execa';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ExecutorError, type ExecutorErrorKind } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import { agentBackendFor, agentRequest, agentScriptFile, parseAgentAnswer, type AgentBackend } from './agent/protocol.js';
import { boundedCall, startPowerShellScript } from './common.js';
import { endGroup } from './process-groups.js';
import { sshClientFailure } from './ssh-client-output.js';
import { PSSESSION_IDLE_TIMEOUT_MIN_MS } from '../windows/facts/powershell.js';
import { parseHostKeyPin } from './ssh-fingerprint.js';
import { pinHostKey, type PinnedHostKey } from './ssh-host-key.js';
import { keyMaterialError } from './ssh-key.js';
import { checkKeyFile } from './ssh-key-file.js';
import { SSH_REMOTING_MIN_MAJOR } from '../windows/facts/powershell.js';
import { SSH_DEFAULT_PORT, winrmDefaultPort } from '../windows/default-ports.js';
import type { Executor, HostOp, HostOpResult, RunOptions, TlsEndpoint } from './types.js';
import { refuseTargetWithPassword } from '../util/target-password.js';
import { withoutPassword } from '../util/without-password.js';
import { targetHost, targetPort } from './target-parts.js';

export const name = 'powershell-remoting' satisfies Executor['name'];

export interface RemotingTarget {
  transport: 'wsman' | 'ssh';
  host: string;
  /** 0 = the transport's default. */
  port: number;
  user: string;
}

/**
 * Parses `winrm://host[:port]` and `pwsh+ssh://user@host[:port]`.
 *
 * @example
 * ```ts
 * parseRemotingTarget('winrm://orch01'); // { transport: 'wsman', host: 'orch01', port: 0, user: '' }
 * parseRemotingTarget('pwsh+ssh://admin@orch01'); // { transport: 'ssh', host: 'orch01', port: 22, user: 'admin' }
 * ```
 */
export function parseRemotingTarget(target: string): RemotingTarget {
  refuseTargetWithPassword(target);
  const wsman = /^winrm:\/\/(?:([^@/]+)@)?([^:/]+)(?::(\d+))?\/?$/.exec(target);
  if (wsman) return { transport: 'wsman', host: targetHost(wsman[2], target), port: targetPort(wsman[3], 0, target), user: wsman[1] ?? '' };
  const ssh = /^pwsh\+ssh:\/\/([^@/]+)@([^:/]+)(?::(\d+))?\/?$/.exec(target);
  if (ssh) return { transport: 'ssh', host: targetHost(ssh[2], target), port: targetPort(ssh[3], SSH_DEFAULT_PORT, target), user: ssh[1] };
  throw new Error(`"${withoutPassword(target)}" is not winrm://host[:port] or pwsh+ssh://user@host[:port]`);
}

/**
 * The target's text as the executor names it (and a run records it): its host and, when it names one,
 * its port — a run made on `winrm://orch01:5986` is resumed on the same listener, and compared with it.
 *
 * @example
 * ```ts
 * remotingTargetText(parseRemotingTarget('winrm://orch01:5986')); // 'winrm://orch01:5986'
 * remotingTargetText(parseRemotingTarget('winrm://admin@orch01')); // 'winrm://orch01' (WinRM's default port)
 * ```
 */
export function remotingTargetText(target: RemotingTarget): string {
  if (target.transport === 'ssh') return `pwsh+ssh://${target.user}@${target.host}:${target.port}`;
  return `winrm://${target.host}${target.port ? `:${target.port}` : ''}`;
}

/**
 * The WinRM HTTPS endpoint of a target, when its session goes over HTTPS: its port is WinRM's default
 * over HTTPS (`winrm.default-ports`), or `RUNBOOK_WINRM_HTTPS=1` says so (then a target without a port
 * is that default). A handshake with it proves what the listener accepts.
 *
 * @example
 * ```ts
 * winrmHttpsEndpoint(parseRemotingTarget('winrm://orch01:5986'), {}); // [{ name: 'winrm-https', host: 'orch01', port: 5986, servername: 'orch01' }]
 * winrmHttpsEndpoint(parseRemotingTarget('winrm://orch01'), {}); // []: WinRM over HTTP
 * ```
 */
export function winrmHttpsEndpoint(target: RemotingTarget, env: Record<string, string | undefined>): TlsEndpoint[] {
  const https = winrmDefaultPort('https');
  if (target.transport !== 'wsman' || !(target.port === https || env.RUNBOOK_WINRM_HTTPS === '1')) return [];
  return [{ name: 'winrm-https', host: target.host, port: target.port || https, ...(isIP(target.host) === 0 ? { servername: target.host } : {}) }];
}

/** True for Windows PowerShell (`powershell`, `powershell.exe`, by any path): version 5.1 at most. */
export function isWindowsPowerShell(shell: string): boolean {
  return /(^|[\\/])powershell(\.exe)?$/i.test(shell.trim());
}

/**
 * The local PowerShell that holds a target's sessions. Over SSH it is PowerShell 7 (`pwsh`) on every
 * platform: `New-PSSession -HostName` exists from PowerShell 6 (`powershell.ssh-remoting-min-version`),
 * and Windows' own `powershell.exe` (5.1) — the default PowerShell of a Windows controller, and a
 * possible `$RUNBOOK_PWSH` — has none. Over WSMan any PowerShell does.
 *
 * @example
 * ```ts
 * remotingShell('ssh', undefined, { RUNBOOK_PWSH: 'powershell.exe' }, 'win32'); // 'pwsh'
 * remotingShell('wsman', undefined, {}, 'win32'); // 'powershell.exe'
 * ```
 */
export function remotingShell(
  transport: RemotingTarget['transport'],
  option: string | undefined,
  env: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (option) return option;
  const configured = env.RUNBOOK_PWSH;
  if (transport === 'ssh') return configured && !isWindowsPowerShell(configured) ? configured : 'pwsh';
  return configured ?? (platform === 'win32' ? 'powershell.exe' : 'pwsh');
}

/**
 * Options of {@link createRemotingExecutor}.
 *
 * @example
 * ```ts
 * const options: RemotingExecutorOptions = { shell: 'pwsh', timeoutMs: 180_000 };
 * const executor = createRemotingExecutor(parseRemotingTarget('pwsh+ssh://admin@orch01'), options);
 * ```
 */
export interface RemotingExecutorOptions {
  /**
   * The local PowerShell that holds the sessions. @default see {@link remotingShell}: `pwsh` for
   * `pwsh+ssh://` (a `$RUNBOOK_PWSH` naming Windows PowerShell is passed over), else `$RUNBOOK_PWSH`,
   * `powershell.exe` on Windows, `pwsh` elsewhere
   */
  shell?: string;
  /**
   * Environment of the local PowerShell, over this process's (credentials: RUNBOOK_SSH_KEY — the path
   * of a key file, never the key —, RUNBOOK_WINRM_USER/PASSWORD…).
   */
  env?: Record<string, string>;
  /** `file`: the tests' simulated-host backend on the remote side. @default `windows` (or RUNBOOK_AGENT_BACKEND=file) */
  agentBackend?: AgentBackend;
  /** How long one call may take. @default DEFAULT_CALL_TIMEOUT_MS (120000) */
  timeoutMs?: number;
}

interface Pending {
  resolve: (output: string) => void;
  reject: (error: Error) => void;
}

/** What is settled before the first session over SSH is made (see `prepare` below). */
interface Prepared {
  keyEncrypted: boolean;
  pinned: PinnedHostKey | null;
}

/**
 * The idle timeout a WSMan PSSession is made with: three times the least PowerShell takes
 * (PSSESSION_IDLE_TIMEOUT_MIN_MS). A host stopped because a call was given up on cannot remove its
 * sessions, and each would otherwise stay on the server up to its configuration's idle timeout (2 hours
 * by default), counting toward MaxShellsPerUser; a living host's heartbeat keeps its sessions open.
 */
const SESSION_IDLE_TIMEOUT_MS = 3 * PSSESSION_IDLE_TIMEOUT_MIN_MS.value;

/**
 * An executor through PowerShell remoting, reusing one session per target.
 *
 * @example
 * ```ts
 * const executor = createRemotingExecutor(parseRemotingTarget('winrm://orch01'));
 * const [os] = await executor.run([{ op: 'os.info' }]);
 * await executor.close();
 * ```
 */
export function createRemotingExecutor(target: RemotingTarget, options: RemotingExecutorOptions = {}): Executor {
  const shell = remotingShell(target.transport, options.shell);
  const where = remotingTargetText(target);
  // PowerShell's New-PSSession -KeyFilePath quotes the path in its errors: the key itself there is
  // refused before the local PowerShell starts, at every call (decided once). Its environment is this
  // process's, with options.env over it (execa's extendEnv).
  const envOf = (name: string): string | undefined => options.env?.[name] ?? process.env[name];
  const keyPath = target.transport === 'ssh' ? envOf('RUNBOOK_SSH_KEY') || undefined : undefined;
  const keyRefused = keyPath ? keyMaterialError(keyPath, 'RUNBOOK_SSH_KEY', where) : null;
  const fingerprint = target.transport === 'ssh' ? envOf('RUNBOOK_SSH_FINGERPRINT') || undefined : undefined;
  // A pin in no form ssh-keygen prints is refused now (ValidationError), before any PowerShell starts.
  if (fingerprint) parseHostKeyPin(fingerprint, 'RUNBOOK_SSH_FINGERPRINT', where);
  let prepared: Promise<Prepared> | null = null;
  let current: Prepared | null = null;
  let child: ResultPromise | null = null;
  let nextId = 1;
  const pending = new Map<number, Pending>();
  let roundTrips = 0;

  const failAll = (error: Error) => {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };

  // execa is loaded on the first call, so that importing the library does not load it.
  let execa: typeof import('execa').execa | undefined;
  const host = (run: typeof import('execa').execa) => {
    if (child) return child;
    const script = join(packageRoot(), 'src', 'executors', 'agent', 'remoting-host.ps1');
    // Of the secret variables, only the WinRM password it signs in with (a session over ssh uses a key).
    const proc = startPowerShellScript(run, shell, [script, agentScriptFile(agentBackendFor(options.agentBackend))], options.env, target.transport === 'ssh' ? [] : ['RUNBOOK_WINRM_PASSWORD']);
    child = proc;
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (!line.startsWith('RBE-HOST ')) return;
      let answer: { id: number; ok: boolean; output?: string; kind?: string; message?: string; ssh?: string[] };
      try {
        answer = JSON.parse(line.slice(9));
      } catch {
        return;
      }
      const p = pending.get(answer.id);
      if (!p) return;
      pending.delete(answer.id);
      if (answer.ok) p.resolve(answer.output ?? '');
      else {
        const kind = (['unreachable', 'reset', 'protocol', 'timeout', 'refused'].includes(answer.kind ?? '') ? answer.kind : 'permanent') as ExecutorErrorKind;
        // ssh's own words tell refused credentials and an untrusted host key from an unreachable host.
        const told = sshClientFailure(answer.ssh ?? [], where, { keyPath, keyEncrypted: current?.keyEncrypted, pinned: Boolean(current?.pinned) });
        p.reject(told ?? new ExecutorError(kind, answer.message ?? 'remoting failed', { where }));
      }
    });
    void proc.then((r) => {
      // A host ended on purpose (endHost) has had its calls failed already; a new one may be running.
      if (ended.has(proc)) return;
      if (child === proc) child = null;
      const code = (r as { code?: string }).code;
      failAll(
        code === 'ENOENT'
          ? new ExecutorError('permanent', `PowerShell (${shell}) is not installed or not on PATH`, { where, hint: 'install PowerShell 7 or set RUNBOOK_PWSH' })
          : new ExecutorError('reset', 'the local PowerShell holding the sessions exited', { where }),
      );
    });
    return proc;
  };

  /**
   * Ends the host now, with everything it started (the PowerShell runtime under a launcher, ssh): a
   * call given up on may still be running in it, and the single-threaded host would hold every later
   * call behind it. The calls still waiting on it fail as `reset`; the next call starts another host.
   */
  const ended = new WeakSet<ResultPromise>();
  const endHost = (proc: ResultPromise) => {
    ended.add(proc);
    if (child === proc) child = null;
    endGroup(proc.pid);
    failAll(new ExecutorError('reset', 'the local PowerShell holding the sessions was stopped: a call was given up on', { where }));
  };

  /**
   * Over SSH, what can be settled before ssh is started, once (a failure is tried again by the next
   * call): the key file — missing, unreadable, or encrypted with no ssh-agent to hold it — is refused
   * at once, as refused credentials, not left to ssh (whose failure reads as an unreachable host);
   * a pinned fingerprint is checked against the host's key, which is filed for ssh (ssh-host-key.ts).
   */
  const prepare = async (signal?: AbortSignal): Promise<Prepared> => {
    let keyEncrypted = false;
    if (keyPath) {
      const agent = Boolean(envOf('SSH_AUTH_SOCK')) || process.platform === 'win32';
      const check = checkKeyFile(keyPath, 'RUNBOOK_SSH_KEY', where, agent);
      if (check.error) throw check.error;
      keyEncrypted = check.encrypted === true;
    }
    const pinned = fingerprint ? await pinHostKey(target.host, target.port, fingerprint, 'RUNBOOK_SSH_FINGERPRINT', where, { signal }) : null;
    return { keyEncrypted, pinned };
  };

  return {
    name,
    target: where,
    onTarget: false,
    get roundTrips() {
      return roundTrips;
    },
    /** WinRM's HTTPS listener, when the session uses it (WinRM's default HTTPS port, or RUNBOOK_WINRM_HTTPS=1): a handshake proves what it accepts. */
    async tlsEndpoints() {
      return winrmHttpsEndpoint(target, options.env ?? process.env);
    },
    async run(batch: readonly HostOp[], runOptions: RunOptions = {}): Promise<HostOpResult[]> {
      roundTrips += 1;
      runOptions.signal?.throwIfAborted();
      if (keyRefused) throw keyRefused;
      if (target.transport === 'ssh' && isWindowsPowerShell(shell)) {
        throw new ExecutorError('permanent', `pwsh+ssh:// needs PowerShell ${SSH_REMOTING_MIN_MAJOR.value} or later on this machine: ${shell} is Windows PowerShell 5.1, which has no SSH remoting (New-PSSession -HostName)`, {
          where,
          hint: 'install PowerShell 7 (pwsh) and leave the shell to its default (or set RUNBOOK_PWSH to pwsh); or use ssh:// or winrm:// instead',
        });
      }
      if (target.transport === 'ssh') {
        prepared ??= prepare(runOptions.signal).catch((error: unknown) => {
          prepared = null;
          throw error;
        });
        current = await prepared;
      }
      const pin = current?.pinned ? { knownHosts: current.pinned.knownHosts, alias: current.pinned.alias } : undefined;
      execa ??= (await import('execa')).execa;
      const proc = host(execa);
      const { marker, json } = agentRequest(batch);
      const id = nextId++;
      const output = await boundedCall<string>(where, runOptions, options.timeoutMs, (resolve, reject, onStop) => {
        pending.set(id, { resolve, reject });
        // A call given up on (time, cancellation) may still be running in the host: the host is ended
        // with it, and the next call starts another.
        onStop(() => {
          pending.delete(id);
          endHost(proc);
        });
        proc.stdin!.write(`${JSON.stringify({ id, target, request: json, ...(pin ? { pin } : {}), ...(target.transport === 'wsman' ? { idleTimeoutMs: SESSION_IDLE_TIMEOUT_MS } : {}) })}\n`);
      });
      return parseAgentAnswer(output, marker, where);
    },
    async close() {
      const settled = prepared;
      prepared = null;
      current = null;
      if (child) {
        const proc = child;
        child = null;
        proc.stdin?.end();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([proc, new Promise((r) => (timer = setTimeout(r, 5000)))]);
        clearTimeout(timer);
        // Whatever of it is left (the runtime under a launcher, ssh) ends with it.
        endGroup(proc.pid);
      }
      // The pinned key's file, once no ssh can read it any more.
      await (await settled?.catch(() => null))?.pinned?.remove();
    },
  };
}
