/**
 * The `winrm` executor (`winrm://[user@]host[:port]`, `winrm+https://[user@]host[:port]`): WS-Management
 * and the Windows Remote Shell spoken from TypeScript, with no PowerShell on the controller. One shell
 * kept for the run (made again when the target restarted); in it one Windows PowerShell runs the agent
 * through the same fixed bootstrap as over SSH: the agent program is the first line of its standard
 * input, each batch a later line — data never reaches a command line. NTLM seals every message over
 * HTTP; over HTTPS the server's certificate is checked (a CA file or a pinned SHA-256 fingerprint) and
 * NTLM is bound to it. Credentials come from the environment only, and never reach the journal,
 * events, logs, reports, errors or argv.
 */
import { StringDecoder } from 'node:string_decoder';
import { isIP } from 'node:net';
import { ExecutorError } from '../errors.js';
import { agentBackendFor, bootstrapArgs, bootstrapProgramLine, type AgentBackend } from './agent/protocol.js';
import { AgentSession, sessionExecutor, type AgentOutput, type AgentProcess } from './agent/session.js';
import type { Executor, TlsEndpoint } from './types.js';
import { RemoteShell, ShellGone } from './winrm/shell.js';
import type { NtlmMechanism, WinrmCredentials, WinrmTransport } from './winrm/transport.js';
import { DEFAULT_MAX_ENVELOPE_KB } from './winrm/wsman.js';
import { winrmDefaultPort } from '../windows/default-ports.js';
import { refuseTargetWithPassword } from '../util/target-password.js';
import { withoutPassword } from '../util/without-password.js';
import { targetHost, targetPort } from './target-parts.js';

export const name = 'winrm' satisfies Executor['name'];

/**
 * The command the agent runs as in the remote shell: Windows PowerShell 5.1 with the fixed bootstrap
 * (`-EncodedCommand`), which reads the agent program from the first line of standard input. A WinRM
 * listener (the simulated host's included) starts exactly this; nothing else reaches a command line.
 *
 * @example
 * ```ts
 * const { command, arguments: args } = WINRM_AGENT_COMMAND;
 * console.log(command, args.length); // powershell.exe, and its fixed bootstrap arguments
 * ```
 */
export const WINRM_AGENT_COMMAND: { readonly command: string; readonly arguments: readonly string[] } = {
  command: 'powershell.exe',
  arguments: bootstrapArgs(),
};

/**
 * A parsed `winrm://` or `winrm+https://` target.
 *
 * @example
 * ```ts
 * const target: WinrmTarget = parseWinrmTarget('winrm+https://admin@orch01');
 * console.log(target.scheme, target.port); // https 5986
 * ```
 */
export interface WinrmTarget {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** The user named in the target, else empty (then `RUNBOOK_WINRM_USER`). */
  user: string;
}

/**
 * Parses `winrm://[user@]host[:port]` and `winrm+https://[user@]host[:port]`; a port left out is WinRM's
 * default (`winrm.default-ports`: 5985 over HTTP, 5986 over HTTPS). The last `@` separates the host, so
 * that a UPN user (`winrm://admin@contoso.com@orch01`) parses; a `DOMAIN\user` is written
 * `DOMAIN%5Cuser`. A target carrying a password (`admin:pw@`) is refused, its password masked in the
 * error: the password comes from `RUNBOOK_WINRM_PASSWORD` only.
 *
 * @example
 * ```ts
 * parseWinrmTarget('winrm+https://admin@orch01'); // { scheme: 'https', host: 'orch01', port: 5986, user: 'admin' }
 * parseWinrmTarget('winrm://admin@contoso.com@orch01'); // { scheme: 'http', host: 'orch01', port: 5985, user: 'admin@contoso.com' }
 * ```
 */
export function parseWinrmTarget(target: string): WinrmTarget {
  refuseTargetWithPassword(target);
  const m = /^winrm(\+https)?:\/\/(?:([^/]+)@)?(\[[^\]]+\]|[^:/@]+)(?::(\d+))?\/?$/.exec(target);
  if (!m) throw new Error(`"${withoutPassword(target)}" is not winrm://[user@]host[:port] or winrm+https://[user@]host[:port]`);
  // No port: WinRM's default for the scheme (`winrm.default-ports`).
  const port = targetPort(m[4], winrmDefaultPort(m[1] ? 'https' : 'http'), target);
  return { scheme: m[1] ? 'https' : 'http', host: targetHost(m[3].replace(/^\[|\]$/g, ''), target), port, user: m[2] ? decodeURIComponent(m[2]) : '' };
}

/**
 * Options of {@link createWinrmExecutor}. Secrets are read from the environment, not given here.
 *
 * @example
 * ```ts
 * const options: WinrmExecutorOptions = { ...parseWinrmTarget('winrm+https://orch01'), auth: 'ntlm', caFile: 'contoso-ca.pem', connectTimeoutMs: 5000 };
 * const executor = createWinrmExecutor(options);
 * ```
 */
export interface WinrmExecutorOptions extends WinrmTarget {
  /** `ntlm` or `basic` (HTTPS; over HTTP only where the server allows unencrypted messages). @default `$RUNBOOK_WINRM_AUTH` or `ntlm` */
  auth?: 'ntlm' | 'basic';
  /** PEM file of the CA that issued the listener's certificate. @default `$RUNBOOK_WINRM_CA_FILE` (else the system's CAs) */
  caFile?: string;
  /** The listener certificate's SHA-256 fingerprint, pinned. @default `$RUNBOOK_WINRM_FINGERPRINT` */
  fingerprint?: string;
  /** The server's MaxEnvelopeSizekb, when it is not the default. @default `$RUNBOOK_WINRM_MAX_ENVELOPE_KB` or 500 (the service's default, MS-WSMV 2.2.4.10) */
  maxEnvelopeKb?: number;
  /** How long the server may hold a Receive with no output, in seconds. @default 20 */
  operationTimeoutS?: number;
  /** `file`: the tests' simulated-host backend on the remote side. @default `windows` (or RUNBOOK_AGENT_BACKEND=file) */
  agentBackend?: AgentBackend;
  /** How long one call may take. @default DEFAULT_CALL_TIMEOUT_MS (120000) */
  timeoutMs?: number;
  /** How long the TCP connection (and TLS handshake) may take; then `unreachable`. @default 10000 */
  connectTimeoutMs?: number;
  /**
   * How long the listener may take to answer the first request (NTLM's negotiation, or with Basic the
   * shell's creation), until it has answered once; then `unreachable`: a listener that accepts TCP and
   * never answers fails in seconds, not at the call's limit. @default 10000
   */
  firstAnswerTimeoutMs?: number;
  /**
   * How long any later request may wait for its answer: the server answers each within its
   * OperationTimeout, so a request unanswered well after is on a connection gone without a word (a
   * host switched off, packets dropped, a hung service); it fails as `timeout`, and `close()` never
   * waits longer than this for each of its requests. @default operationTimeoutS × 1000 + 10000
   */
  answerTimeoutMs?: number;
  /** The environment credentials are read from. @default process.env */
  env?: Record<string, string | undefined>;
  /** NTLM (MS-NLMP) itself. @default the project's implementation (`src/executors/winrm/ntlm.ts`) */
  ntlm?: NtlmMechanism;
}

/**
 * The credentials, from the environment only. A user `DOMAIN\\user` carries its domain; a UPN
 * (`user@contoso.com`) is sent whole as the user name with no domain, RUNBOOK_WINRM_DOMAIN then
 * unused (the UPN names its domain itself). Otherwise the domain is RUNBOOK_WINRM_DOMAIN's.
 */
function credentials(options: WinrmExecutorOptions, env: Record<string, string | undefined>, where: string): WinrmCredentials {
  let user = options.user || env.RUNBOOK_WINRM_USER || '';
  let domain = env.RUNBOOK_WINRM_DOMAIN || undefined;
  const slash = user.indexOf('\\');
  if (slash > 0) {
    domain = user.slice(0, slash);
    user = user.slice(slash + 1);
  } else if (user.includes('@')) {
    domain = undefined;
  }
  const password = env.RUNBOOK_WINRM_PASSWORD;
  if (!user || password === undefined) {
    throw new ExecutorError('permanent', `no WinRM credentials: ${!user ? 'RUNBOOK_WINRM_USER' : 'RUNBOOK_WINRM_PASSWORD'} is not set`, {
      where,
      hint: 'set RUNBOOK_WINRM_USER (or name the user in the target), RUNBOOK_WINRM_PASSWORD and, for a domain account, RUNBOOK_WINRM_DOMAIN (or give the user as DOMAIN\\user or user@domain)',
    });
  }
  return { user, password, ...(domain ? { domain } : {}) };
}

/** The project's NTLM (MS-NLMP, `src/executors/winrm/ntlm.ts`), loaded with the first connection. */
async function defaultNtlm(credentials: WinrmCredentials): Promise<NtlmMechanism> {
  const [{ NtlmInitiator }, { encryptBody, decryptBody }] = await Promise.all([import('./winrm/ntlm.js'), import('./winrm/http-encryption.js')]);
  return {
    start: (channelBindings) => new NtlmInitiator(credentials, channelBindings ? { channelBindings } : {}),
    encryptBody,
    decryptBody,
  };
}

/**
 * The agent as a remote command: input queued and sent in order, output received while an answer is
 * owed. `launch` starts the agent (the command, then its program line) and gives the command's id.
 */
async function remoteAgent(shell: RemoteShell, launch: () => Promise<string>, output: AgentOutput): Promise<AgentProcess> {
  let commandId = await launch();
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  const queue: { data: Buffer; end: boolean; again?: boolean }[] = [];
  let owed = 0;
  let draining = false;
  let running = false;
  let over = false;
  let partial = '';

  const finish = (error?: unknown, exitCode?: number | null) => {
    if (over) return;
    over = true;
    output.closed(error, exitCode);
  };
  const take = (stdout: Buffer, stderr: Buffer) => {
    if (stderr.length) output.stderr(decoders.stderr.write(stderr));
    if (!stdout.length) return;
    const text = decoders.stdout.write(stdout);
    // Each answer ends with its whole `RBE-END <marker>` line: count them, to know when to stop asking.
    const lines = `${partial}${text}`.split('\n');
    partial = lines.pop()!;
    owed = Math.max(0, owed - lines.filter((line) => line.startsWith('RBE-END ')).length);
    output.stdout(text);
  };
  const pump = async () => {
    if (running) return;
    running = true;
    try {
      while (!over && (queue.length > 0 || owed > 0 || draining)) {
        const next = queue.shift();
        if (next) {
          try {
            await shell.send(commandId, next.data, next.end);
          } catch (error) {
            // The shell is gone (its idle timeout passed between calls, the service or the target
            // restarted) and the server took none of this request: the agent, which went with the
            // shell, is started in a new one and the whole request sent to it, once. Nothing of the
            // batch has run (the agent runs a request only once its line is whole).
            if (!(error instanceof ShellGone) || next.end || next.again) throw error;
            commandId = await launch();
            queue.unshift({ ...next, again: true });
          }
          continue;
        }
        const got = await shell.receive(commandId);
        take(got.stdout, got.stderr);
        if (got.done) finish(undefined, got.exitCode);
      }
    } catch (error) {
      finish(error);
    } finally {
      running = false;
    }
  };
  return {
    write(text) {
      queue.push({ data: Buffer.from(text, 'utf8'), end: false });
      owed += 1;
      void pump();
    },
    end() {
      queue.push({ data: Buffer.alloc(0), end: true });
      draining = true;
      void pump();
    },
    kill() {
      over = true;
      // A Receive may be waiting on the connection: drop it, then stop the command on a new one.
      shell.interrupt();
      void shell.terminate(commandId);
    },
  };
}

/**
 * An executor for a Windows host's WinRM listener, from any controller.
 *
 * @example
 * ```ts
 * // RUNBOOK_WINRM_USER=admin RUNBOOK_WINRM_PASSWORD=… in the environment
 * const executor = createWinrmExecutor(parseWinrmTarget('winrm://orch01'));
 * const [os] = await executor.run([{ op: 'os.info' }]);
 * await executor.close();
 * ```
 */
export function createWinrmExecutor(options: WinrmExecutorOptions): Executor {
  const env = options.env ?? process.env;
  const hostPart = options.host.includes(':') ? `[${options.host}]` : options.host;
  const target = `winrm${options.scheme === 'https' ? '+https' : ''}://${options.user ? `${options.user}@` : ''}${hostPart}:${options.port}`;
  const maxEnvelopeKb = options.maxEnvelopeKb ?? (Number(env.RUNBOOK_WINRM_MAX_ENVELOPE_KB) || DEFAULT_MAX_ENVELOPE_KB);
  const auth = options.auth ?? (env.RUNBOOK_WINRM_AUTH === 'basic' ? 'basic' : 'ntlm');
  const operationTimeoutS = options.operationTimeoutS ?? 20;
  let ready: Promise<{ transport: WinrmTransport; shell: RemoteShell }> | null = null;

  const connect = () => {
    ready ??= (async () => {
      const creds = credentials(options, env, target);
      if (auth === 'basic' && options.scheme === 'http' && env.RUNBOOK_WINRM_ALLOW_UNENCRYPTED !== '1') {
        throw new ExecutorError('permanent', 'Basic authentication over HTTP would send the password and every message unencrypted', {
          where: target,
          hint: 'use NTLM (unset RUNBOOK_WINRM_AUTH), or winrm+https://; RUNBOOK_WINRM_ALLOW_UNENCRYPTED=1 allows it where the server does',
        });
      }
      // node:http(s) and tls are loaded with the first connection, so that importing the library does not load them.
      const { WinrmTransport } = await import('./winrm/transport.js');
      const transport = new WinrmTransport({
        scheme: options.scheme,
        host: options.host,
        port: options.port,
        auth,
        credentials: creds,
        ...(auth === 'ntlm' ? { ntlm: options.ntlm ?? (await defaultNtlm(creds)) } : {}),
        caFile: options.caFile ?? env.RUNBOOK_WINRM_CA_FILE,
        fingerprint: options.fingerprint ?? env.RUNBOOK_WINRM_FINGERPRINT,
        ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
        ...(options.firstAnswerTimeoutMs !== undefined ? { firstAnswerTimeoutMs: options.firstAnswerTimeoutMs } : {}),
        // The server answers within the OperationTimeout each envelope carries; 10 s more, as pywinrm
        // keeps its read timeout above its operation timeout.
        answerTimeoutMs: options.answerTimeoutMs ?? operationTimeoutS * 1000 + 10_000,
        where: target,
      });
      const ctx = { to: transport.url, maxEnvelopeBytes: maxEnvelopeKb * 1024, operationTimeoutS };
      return { transport, shell: new RemoteShell(transport, ctx, target) };
    })().catch((error) => {
      ready = null;
      throw error;
    });
    return ready;
  };

  const session = new AgentSession(target, async (output) => {
    const { shell } = await connect();
    return remoteAgent(shell, async () => {
      const commandId = await shell.start(WINRM_AGENT_COMMAND.command, WINRM_AGENT_COMMAND.arguments);
      try {
        await shell.send(commandId, Buffer.from(bootstrapProgramLine(agentBackendFor(options.agentBackend)), 'utf8'));
      } catch (error) {
        // A PowerShell that never got its program would wait for it in the shell until the shell is
        // deleted, counting toward the shell's MaxProcessesPerShell and MaxMemoryPerShellMB: stopped.
        await shell.terminate(commandId);
        throw error;
      }
      return commandId;
    }, output);
  }, (error) => (error instanceof ExecutorError ? error : new ExecutorError('reset', String(error), { where: target })));

  return sessionExecutor(session, { name, target: target, onTarget: false, timeoutMs: options.timeoutMs }, {
    /** Over HTTPS, the TLS protocol of the connection to the listener: the runbook must not disable it. */
    async transportTls(): Promise<string | null> {
      if (options.scheme !== 'https' || !ready) return null;
      const opened = await ready.catch(() => null);
      return opened?.transport.tlsProtocol ?? null;
    },
    async tlsEndpoints(): Promise<TlsEndpoint[]> {
      if (options.scheme !== 'https') return [];
      return [{ name: 'winrm-https', host: options.host, port: options.port, ...(isIP(options.host) === 0 ? { servername: options.host } : {}) }];
    },
    async close() {
      await session.close();
      const opened = ready;
      ready = null;
      if (!opened) return;
      const { transport, shell } = await opened.catch(() => ({ transport: null, shell: null }));
      await shell?.delete();
      transport?.close();
    },
  });
}
