/**
 * The `ssh` executor (`ssh://user@host[:port]`): straight to an OpenSSH server on Windows with the
 * ssh2 library. One connection per target, reused for every call, and on it one agent session: the
 * agent started through a fixed bootstrap (`powershell -NoProfile -NonInteractive -EncodedCommand …`)
 * with the agent program as the first line of standard input, then one batch per line. Host keys are
 * verified against known_hosts or a pinned fingerprint, never accepted blindly. Credentials come from the environment, a key file or
 * ssh-agent — never from argv, and never into the journal, events, logs or reports.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Client, ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { ExecutorError, type ExecutorErrorKind } from '../errors.js';
import { agentBackendFor, announcedPid, bootstrapArgs, bootstrapProgramLine, stopProcessCommand, type AgentBackend } from './agent/protocol.js';
import { AgentSession, sessionExecutor } from './agent/session.js';
import { parseHostKeyPin, pinMatches } from './ssh-fingerprint.js';
import { keyMaterialError } from './ssh-key.js';
import type { Executor } from './types.js';
import { refuseTargetWithPassword } from '../util/target-password.js';
import { withoutPassword } from '../util/without-password.js';
import { targetHost, targetPort } from './target-parts.js';

export const name = 'ssh' satisfies Executor['name'];

/** How long each step of stopping an agent given up on may take: its id, the stop command, its end. */
const STOP_WAIT_MS = 15_000;

/**
 * Options of {@link createSshExecutor}. Secrets are read from the environment, not given here.
 *
 * @example
 * ```ts
 * const options: SshExecutorOptions = { ...parseSshTarget('ssh://admin@orch01.contoso.com'), privateKeyPath: '/home/ops/.ssh/id_ed25519', connectTimeoutMs: 8000 };
 * const executor = createSshExecutor(options);
 * ```
 */
export interface SshExecutorOptions {
  /** `file`: the tests' simulated-host backend on the remote side. @default `windows` (or RUNBOOK_AGENT_BACKEND=file) */
  agentBackend?: AgentBackend;
  host: string;
  /** @default 22 */
  port?: number;
  username: string;
  /** The path of the private key file (not the key itself: that is refused, unshown). @default `$RUNBOOK_SSH_KEY` */
  privateKeyPath?: string;
  /** known_hosts file to verify the host key. @default `$RUNBOOK_SSH_KNOWN_HOSTS` or ~/.ssh/known_hosts */
  knownHostsPath?: string;
  /** Pinned host key fingerprint as ssh-keygen -l prints it (`SHA256:…`, or `MD5:aa:bb:…`), checked instead of known_hosts; another form is refused (ValidationError) when the executor is made. @default `$RUNBOOK_SSH_FINGERPRINT` */
  fingerprint?: string;
  /** The PowerShell on the target. @default 'powershell' */
  shell?: string;
  /** How long one call may take. @default DEFAULT_CALL_TIMEOUT_MS (120000) */
  timeoutMs?: number;
  /** Time for the TCP connection and the SSH handshake. @default 4000 */
  connectTimeoutMs?: number;
}

/**
 * Parses `ssh://user@host[:port]`.
 *
 * @example
 * ```ts
 * parseSshTarget('ssh://admin@orch01:2222'); // { username: 'admin', host: 'orch01', port: 2222 }
 * parseSshTarget('ssh://admin@[fe80::1]'); // { username: 'admin', host: 'fe80::1', port: 22 }
 * ```
 */
export function parseSshTarget(target: string): { username: string; host: string; port: number } {
  const m = /^ssh:\/\/([^@/:]+)@(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(target);
  refuseTargetWithPassword(target);
  if (!m) throw new Error(`"${withoutPassword(target)}" is not ssh://user@host[:port]`);
  return { username: decodeURIComponent(m[1]), host: targetHost(m[2].replace(/^\[|\]$/g, ''), target), port: targetPort(m[3], 22, target) };
}

/** The SHA256 fingerprint of a host key blob, as OpenSSH prints it. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/*
 * known_hosts as OpenSSH reads it. sshd(8), SSH_KNOWN_HOSTS FILE FORMAT (OpenSSH 9.2):
 *   "Each line in these files contains the following fields: marker (optional), hostnames, keytype,
 *   base64-encoded key, comment."
 *   "The marker is optional, but if it is present then it must be one of “@cert-authority”, to indicate
 *   that the line contains a certification authority (CA) key, or “@revoked”, to indicate that the key
 *   contained on the line is revoked and must not ever be accepted."
 *   "Hostnames is a comma-separated list of patterns (‘*’ and ‘?’ act as wildcards); each pattern in
 *   turn is matched against the host name."
 *   "A pattern may also be preceded by ‘!’ to indicate negation: if the host name matches a negated
 *   pattern, it is not accepted (by that line) even if it matched another pattern on the line."
 *   "A hostname or address may optionally be enclosed within ‘[’ and ‘]’ brackets then followed by ‘:’
 *   and a non-standard port number."
 *   "Hashed hostnames start with a ‘|’ character. Only one hashed hostname may appear on a single line
 *   and none of the above negation or wildcard operators may be applied."
 *   "Revoked keys are specified by including the “@revoked” marker at the beginning of the key line, and
 *   are never accepted for authentication or as certification authorities"
 * ssh(1) looks a host up by its name in lower case (OpenSSH's match_hostname compares patterns in lower
 * case too), as `[host]:port` off port 22. A line with another marker is skipped, as OpenSSH skips it.
 */

/** Whether one `*`/`?` pattern matches the whole name (case-insensitive). */
function wildcardMatches(pattern: string, name: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'is').test(name);
}

/** Whether a line's hostnames field matches the host's name: hashed, or patterns with wildcards and negation. */
function knownHostMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) {
    const [, magic, salt, hash] = field.split('|');
    if (magic !== '1' || !salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (wildcardMatches(pattern.slice(1), name)) return false;
    } else if (pattern !== '' && wildcardMatches(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** A known_hosts line for a host: its number (from 1), its marker if any, its key type and key. */
interface KnownHostLine {
  line: number;
  marker: 'revoked' | 'cert-authority' | null;
  type: string;
  blob: string;
}

/** The known_hosts lines whose hostnames match this host (marked ones too). */
function knownHostLines(text: string, host: string, port: number): KnownHostLine[] {
  const name = (port === 22 ? host : `[${host}]:${port}`).toLowerCase();
  const found: KnownHostLine[] = [];
  text.split('\n').forEach((raw, i) => {
    let parts = raw.trim().split(/\s+/);
    if (parts[0] === '' || parts[0].startsWith('#')) return;
    let marker: KnownHostLine['marker'] = null;
    if (parts[0].startsWith('@')) {
      if (parts[0] === '@revoked') marker = 'revoked';
      else if (parts[0] === '@cert-authority') marker = 'cert-authority';
      else return;
      parts = parts.slice(1);
    }
    if (parts.length < 3) return;
    if (knownHostMatches(parts[0], name)) found.push({ line: i + 1, marker, type: parts[1], blob: parts[2] });
  });
  return found;
}

/** Whether a known_hosts file lists this key for this host (and does not mark it revoked). */
export function knownHostsAccept(text: string, host: string, port: number, key: Buffer): boolean {
  return knownHostsVerdict(text, host, port, key).status === 'trusted';
}

/**
 * What a known_hosts file says of the key a host offered, as OpenSSH tells it apart: `revoked` (a
 * `@revoked` line for the host holds this key: never accepted, whatever else the file says), `trusted`
 * (listed for the host), `changed` (the host is listed with another key of the same type — OpenSSH's
 * "REMOTE HOST IDENTIFICATION HAS CHANGED"; `line` is that line), `cert-authority` (the host is trusted
 * only through a `@cert-authority` line, and CA-signed host keys are not supported here), or `unknown`
 * (not listed; `types` are the key types listed for the host, if any).
 *
 * @example
 * ```ts
 * declare const offeredKey: Buffer; // the host key blob the server offered
 * knownHostsVerdict('orch01 ssh-ed25519 AAAA…old\n', 'orch01', 22, offeredKey); // { status: 'changed', line: 1 }
 * ```
 */
export function knownHostsVerdict(
  text: string,
  host: string,
  port: number,
  key: Buffer,
): { status: 'trusted' } | { status: 'revoked'; line: number } | { status: 'changed'; line: number } | { status: 'cert-authority'; line: number } | { status: 'unknown'; types: string[] } {
  const blob = key.toString('base64');
  const all = knownHostLines(text, host, port);
  const revoked = all.find((l) => l.marker === 'revoked' && l.blob === blob);
  if (revoked) return { status: 'revoked', line: revoked.line };
  const lines = all.filter((l) => l.marker === null);
  if (lines.some((l) => l.blob === blob)) return { status: 'trusted' };
  const type = keyTypeOf(key);
  const same = lines.find((l) => l.type === type);
  if (same) return { status: 'changed', line: same.line };
  const authority = all.find((l) => l.marker === 'cert-authority');
  if (authority && lines.length === 0) return { status: 'cert-authority', line: authority.line };
  return { status: 'unknown', types: [...new Set(lines.map((l) => l.type))] };
}

/** The key type a host key blob names first (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256` …). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return '';
  const length = key.readUInt32BE(0);
  return key.toString('latin1', 4, 4 + length);
}

/** The host key algorithms of the key types known_hosts lists for a host (an RSA key signs with SHA-2 first, as OpenSSH asks). */
const HOST_KEY_ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * The host key algorithms to ask for first: those of the key types known_hosts lists for the host, as
 * OpenSSH's client does — else a server with several host keys (Windows' OpenSSH makes RSA, ECDSA and
 * Ed25519 keys) may answer with one of a type the file does not hold, and be refused though known.
 *
 * @example
 * ```ts
 * preferredHostKeyAlgorithms('[orch01]:2222 ssh-rsa AAAA…\n', 'orch01', 2222); // ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']
 * ```
 */
export function preferredHostKeyAlgorithms(text: string, host: string, port: number): string[] {
  return [...new Set(knownHostLines(text, host, port).filter((l) => l.marker === null).flatMap((l) => HOST_KEY_ALGORITHMS[l.type] ?? []))];
}

/** The ExecutorError for an ssh2 connection's failure: its kind (what the engine retries) from its code or level. */
export function classifySshError(error: unknown, where: string): ExecutorError {
  if (error instanceof ExecutorError) return error;
  const e = error as NodeJS.ErrnoException & { level?: string };
  const byCode: Record<string, ExecutorErrorKind> = {
    ECONNREFUSED: 'refused',
    ECONNRESET: 'reset',
    EPIPE: 'reset',
    ETIMEDOUT: 'timeout',
    EHOSTUNREACH: 'unreachable',
    ENETUNREACH: 'unreachable',
    ENOTFOUND: 'unreachable',
    EAI_AGAIN: 'unreachable',
  };
  if (e.code && byCode[e.code]) return new ExecutorError(byCode[e.code], `${e.code}: ${e.message}`, { where, cause: error });
  if (e.level === 'client-timeout') {
    return new ExecutorError('timeout', 'the SSH handshake timed out: the port accepted the connection but no SSH server answered', {
      where,
      hint: "check that the port is the SSH server's (sshd) and that the server is running and not overloaded; a firewall or proxy that accepts connections and passes nothing on looks the same",
      cause: error,
    });
  }
  if (e.level === 'client-authentication') {
    return new ExecutorError('permanent', 'SSH authentication failed', {
      where,
      hint: 'set RUNBOOK_SSH_KEY to the path of a private key file (and RUNBOOK_SSH_PASSPHRASE), RUNBOOK_SSH_PASSWORD, or load the key into ssh-agent',
      cause: error,
    });
  }
  if (/host key|Host denied/i.test(e.message ?? '')) {
    return new ExecutorError('permanent', 'the host key is not trusted', {
      where,
      hint: 'add the host to known_hosts (ssh-keyscan) or pin its fingerprint with RUNBOOK_SSH_FINGERPRINT',
      cause: error,
    });
  }
  if (/connection lost|socket|closed/i.test(e.message ?? '')) return new ExecutorError('reset', e.message, { where, cause: error });
  return new ExecutorError('permanent', e.message ?? String(error), { where, cause: error });
}

/**
 * The error for a private key that ssh2 could not use when the connection was set up (ssh2 parses it
 * synchronously in `connect`, before any socket): a missing or wrong passphrase is refused credentials,
 * as a wrong password is; a file that is no private key says so; anything else is classified as usual.
 * Neither the passphrase nor ssh2's own text (which may quote bytes of the file) is in the message.
 */
function privateKeyError(error: unknown, keyPath: string | undefined, source: string, where: string): ExecutorError {
  const message = (error as Error)?.message ?? '';
  if (!keyPath || !/privateKey/.test(message)) return classifySshError(error, where);
  if (/no passphrase given/i.test(message)) {
    return new ExecutorError('permanent', `the SSH private key ${keyPath} is encrypted and RUNBOOK_SSH_PASSPHRASE is not set`, {
      where,
      hint: `set RUNBOOK_SSH_PASSPHRASE to its passphrase, or load the key into ssh-agent (ssh-add) and leave ${source} unset`,
    });
  }
  if (/bad passphrase/i.test(message)) {
    return new ExecutorError('permanent', `RUNBOOK_SSH_PASSPHRASE does not decrypt the SSH private key ${keyPath}`, {
      where,
      hint: `set RUNBOOK_SSH_PASSPHRASE to the key's passphrase (ssh-keygen -y -f ${keyPath} tells whether one is right), or load the key into ssh-agent (ssh-add) and leave ${source} unset`,
    });
  }
  return new ExecutorError('permanent', `${keyPath} is not an SSH private key in a format ssh2 reads (OpenSSH, PEM or PuTTY)`, {
    where,
    hint: `set ${source} to the path of the private key file (not its .pub), or load the key into ssh-agent (ssh-add)`,
  });
}

/**
 * An executor for a Windows host running OpenSSH server.
 *
 * @example
 * ```ts
 * // RUNBOOK_SSH_KEY=~/.ssh/id_ed25519 in the environment
 * const executor = createSshExecutor({ ...parseSshTarget('ssh://admin@orch01'), shell: 'powershell' });
 * const [os] = await executor.run([{ op: 'os.info' }]);
 * ```
 */
export function createSshExecutor(options: SshExecutorOptions): Executor {
  const port = options.port ?? 22;
  const target = `ssh://${options.username}@${options.host}${port === 22 ? '' : `:${port}`}`;
  const shell = options.shell ?? 'powershell';
  let client: Client | null = null;
  let ready: Promise<Client> | null = null;
  let rejectedKey: ExecutorError | null = null;
  /** The connection `ready` and `client` are of: a former one's late events leave them alone. */
  let connection = 0;

  const pinText = options.fingerprint ?? process.env.RUNBOOK_SSH_FINGERPRINT;
  const pinSource = options.fingerprint ? 'the fingerprint option' : 'RUNBOOK_SSH_FINGERPRINT';
  // A pin in no form ssh-keygen prints is refused now, before any connection.
  const pin = pinText ? parseHostKeyPin(pinText, pinSource, target) : null;
  const pinned = pin?.text;
  const knownHostsFile = options.knownHostsPath ?? process.env.RUNBOOK_SSH_KNOWN_HOSTS ?? join(homedir(), '.ssh', 'known_hosts');
  const knownHostsText = (): string => {
    try {
      return readFileSync(knownHostsFile, 'utf8');
    } catch {
      return '';
    }
  };
  /** The name known_hosts files a host under: the host, or `[host]:port` off port 22. */
  const knownName = port === 22 ? options.host : `[${options.host}]:${port}`;

  /** Why the host key offered is refused: what, where, and what to do (never "add it" for a key that changed). */
  const untrusted = (key: Buffer): ExecutorError => {
    const seen = fingerprintOf(key);
    const nothing = 'nothing was run there';
    if (pinned) {
      return new ExecutorError('permanent', `the host key ${seen} is not trusted: it is not the one ${pinSource} pins (${pinned}); ${nothing}`, {
        where: target,
        hint: `check the server's host key on its console (ssh-keygen -l -E sha256 -f the host key's .pub): if it changed on purpose, set ${pinSource} to its fingerprint; if not, another machine answers at this address`,
      });
    }
    const verdict = knownHostsVerdict(knownHostsText(), options.host, port, key);
    if (verdict.status === 'revoked') {
      return new ExecutorError('permanent', `the host key ${seen} is revoked: ${knownHostsFile} (line ${verdict.line}) marks it @revoked for ${knownName}, and a revoked key is never accepted (its private key may be in other hands); ${nothing}`, {
        where: target,
        hint: `do not connect to this host until it has a new host key (made on its own console); then compare the new key's fingerprint with the server's own (ssh-keygen -l -E sha256 on the server) and add it to ${knownHostsFile}, leaving the @revoked line in place`,
      });
    }
    if (verdict.status === 'cert-authority') {
      return new ExecutorError('permanent', `the host key ${seen} is not trusted: ${knownHostsFile} trusts ${knownName} only through a @cert-authority line (line ${verdict.line}), and the ssh executor does not support CA-signed host keys; ${nothing}`, {
        where: target,
        hint: `add the host's own key to ${knownHostsFile} once its fingerprint is checked against the server's own (ssh-keyscan -p ${port} ${options.host}, compared with ssh-keygen -l -E sha256 on the server), or pin its fingerprint with RUNBOOK_SSH_FINGERPRINT`,
      });
    }
    if (verdict.status === 'changed') {
      return new ExecutorError('permanent', `the host key ${seen} is not trusted: ${knownHostsFile} (line ${verdict.line}) holds another ${keyTypeOf(key)} key for ${knownName} — the host's key changed, or another machine answers at this address; ${nothing}`, {
        where: target,
        hint: `compare ${seen} with the server's own (ssh-keygen -l -E sha256 -f the host key's .pub, on its console): only if they match (a reinstalled server, a renewed key), remove the old line (ssh-keygen -R "${knownName}" -f ${knownHostsFile}) and add the new key, or pin it with RUNBOOK_SSH_FINGERPRINT; otherwise do not connect`,
      });
    }
    const types = verdict.status === 'unknown' ? verdict.types : [];
    const known = types.length > 0 ? ` (it lists only ${types.join(', ')} keys for ${knownName}, and the server offered none of them)` : ` has no key for ${knownName}`;
    return new ExecutorError('permanent', `the host key ${seen} is not trusted: ${knownHostsFile}${known}; ${nothing}`, {
      where: target,
      hint: `add the host's key to ${knownHostsFile} once its fingerprint is checked against the server's own (ssh-keyscan -p ${port} ${options.host}, compared with ssh-keygen -l -E sha256 on the server), or pin its fingerprint with RUNBOOK_SSH_FINGERPRINT`,
    });
  };

  const verify = (key: Buffer): boolean => {
    const ok = pin ? pinMatches(pin, key) : knownHostsAccept(knownHostsText(), options.host, port, key);
    if (!ok) rejectedKey = untrusted(key);
    return ok;
  };

  const connect = (): Promise<Client> => {
    if (ready) return ready;
    const config: ConnectConfig = {
      host: options.host,
      port,
      username: options.username,
      // Four attempts of 4 s plus the default back-off stay within 30 s for a host that never answers.
      readyTimeout: options.connectTimeoutMs ?? 4_000,
      hostVerifier: verify,
      keepaliveInterval: 10_000,
    };
    // Without a pin, the key types known_hosts holds for the host are asked for first (as OpenSSH does).
    const preferred = pinned ? [] : preferredHostKeyAlgorithms(knownHostsText(), options.host, port);
    // ssh2 applies `remove` then `prepend` (in this order): the known types move to the front.
    if (preferred.length > 0) config.algorithms = { serverHostKey: { remove: preferred as ServerHostKeyAlgorithm[], prepend: preferred as ServerHostKeyAlgorithm[], append: [] } };
    const keyPath = options.privateKeyPath ?? process.env.RUNBOOK_SSH_KEY;
    const keySource = options.privateKeyPath != null ? 'the privateKeyPath option' : 'RUNBOOK_SSH_KEY';
    if (keyPath) {
      // The key itself instead of its path is refused first: every later message names the path.
      const refused = keyMaterialError(keyPath, keySource, target);
      if (refused) return Promise.reject(refused);
      try {
        config.privateKey = readFileSync(keyPath);
      } catch (cause) {
        return Promise.reject(
          new ExecutorError('permanent', `cannot read the SSH private key ${keyPath}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, {
            where: `ssh://${options.username}@${options.host}:${port}`,
            hint: `set ${keySource} to the path of a readable private key file (or use RUNBOOK_SSH_PASSWORD or ssh-agent)`,
            cause,
          }),
        );
      }
    }
    if (process.env.RUNBOOK_SSH_PASSPHRASE) config.passphrase = process.env.RUNBOOK_SSH_PASSPHRASE;
    if (process.env.RUNBOOK_SSH_PASSWORD) config.password = process.env.RUNBOOK_SSH_PASSWORD;
    if (process.env.SSH_AUTH_SOCK) config.agent = process.env.SSH_AUTH_SOCK;
    rejectedKey = null;
    // ssh2 is loaded on the first connection, so that importing the library does not load it.
    ready = import('ssh2').then(({ Client: SshClient }) => new Promise<Client>((resolve, reject) => {
      const c = new SshClient();
      const mine = ++connection;
      c.once('ready', () => {
        client = c;
        resolve(c);
      });
      // ssh2 may emit 'error' more than once for one connection (a handshake that timed out is then
      // 'Connection lost before handshake' when its socket closes): every one is heard, the first
      // settles, and the client is destroyed at once so that no socket or timer of it is left.
      let failed = false;
      c.on('error', (error) => {
        if (failed) return;
        failed = true;
        if (connection === mine) {
          ready = null;
          client = null;
        }
        c.destroy();
        reject(rejectedKey ?? classifySshError(error, target));
      });
      c.on('close', () => {
        if (connection !== mine) return;
        ready = null;
        client = null;
      });
      try {
        c.connect(config);
      } catch (error) {
        // Thrown before any socket is opened: the private key could not be used (its passphrase
        // missing or wrong, or not a key), or the settings were refused.
        ready = null;
        reject(privateKeyError(error, keyPath, keySource, target));
      }
    }));
    return ready;
  };

  // One agent per connection, started by the fixed bootstrap: its first line of input is the agent
  // program, every later line a request. A dropped connection ends it; the next call starts another.
  const session = new AgentSession(target, async (output) => {
    const conn = await connect();
    const channel = await new Promise<ClientChannel>((resolve, reject) =>
      conn.exec([shell, ...bootstrapArgs({ announcePid: true })].join(' '), (error, opened) => (error ? reject(classifySshError(error, target)) : resolve(opened))),
    );
    // The bootstrap's first line is the agent's process id, taken off its output: stopping the agent
    // is stopping that process (see kill).
    let closed = false;
    let head: string | null = '';
    let setPid!: (pid: number | null) => void;
    const pid = new Promise<number | null>((resolve) => (setPid = resolve));
    channel.setEncoding('utf8').on('data', (text: string) => {
      if (head === null) return output.stdout(text);
      const got = announcedPid(head + text);
      if (got.pid === undefined) return void (head += text);
      setPid(got.pid);
      head = null;
      if (got.rest) output.stdout(got.rest);
    });
    channel.stderr.setEncoding('utf8').on('data', output.stderr);
    channel.on('close', () => {
      closed = true;
      setPid(null);
      output.closed();
    });
    channel.on('error', (error: Error) => output.closed(error));
    channel.write(bootstrapProgramLine(agentBackendFor(options.agentBackend)));
    return {
      write: (text) => void channel.write(text),
      end: () => void channel.end(),
      kill: () => stopAgent(conn, channel, pid, () => closed),
    };
  }, (error) => classifySshError(error, target));

  /**
   * Stops an agent given up on (its call timed out or was cancelled) before another starts: the agent
   * may be half-way through a batch. Neither OpenSSH's sshd nor Win32-OpenSSH can be relied on to end
   * a command without a terminal when its channel closes or is sent a signal (sshd 9.2 acts on no
   * `signal` request here; Win32-OpenSSH leaves such a command running when the session ends), so its
   * process is stopped by id, on a channel of its own (`Stop-Process -Id <n> -Force`, the id a whole
   * number the agent printed first). When that cannot be done (no id, the connection is gone) the
   * connection is ended, all that is left to do.
   */
  const stopAgent = async (conn: Client, channel: ClientChannel, pid: Promise<number | null>, closed: () => boolean): Promise<void> => {
    const within = <T>(ms: number, p: Promise<T>, otherwise: T) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([p, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(otherwise), ms)))]).finally(() => clearTimeout(timer));
    };
    const whenClosed = new Promise<boolean>((resolve) => (closed() ? resolve(true) : channel.once('close', () => resolve(true))));
    let stopped = closed();
    if (!stopped) {
      // The id comes with PowerShell's start: an agent given up on before it is known is still starting.
      const id = await within(STOP_WAIT_MS, pid, null);
      if (id !== null && !closed()) {
        stopped = await within(STOP_WAIT_MS, new Promise<boolean>((resolve) => {
          try {
            conn.exec(stopProcessCommand(shell, id), (error, killer) => {
              if (error) return resolve(false);
              killer.on('data', () => undefined).stderr.on('data', () => undefined);
              killer.on('close', () => resolve(true));
            });
          } catch {
            resolve(false);
          }
        }), false);
        // Its channel closes once the process has ended.
        if (stopped) stopped = await within(STOP_WAIT_MS, whenClosed, false);
      }
    }
    try {
      channel.close();
    } catch {
      // the connection is gone
    }
    if (!stopped) {
      conn.destroy();
      if (client === conn) {
        client = null;
        ready = null;
      }
    }
  };

  return sessionExecutor(session, { name, target: target, onTarget: false, timeoutMs: options.timeoutMs }, {
    async close() {
      await session.close();
      client?.end();
      client = null;
      ready = null;
    },
  });
}
