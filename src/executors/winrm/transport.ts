/**
 * WinRM's HTTP transport: one keep-alive connection (NTLM authenticates a connection, not a request),
 * authenticated once per connection with `Authorization: Negotiate` (NTLM), then every SOAP message
 * sealed (HTTP) or carried by TLS (HTTPS, with the channel bound to the server's certificate). Basic
 * sends the credentials with every request, over HTTPS only unless asked for explicitly. A server
 * certificate is checked against a CA file or a pinned SHA-256 fingerprint (or the system's CAs),
 * never accepted unchecked. The authentication is one interface, {@link SecurityContext}, so that
 * Kerberos can join later.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { ExecutorError, type ExecutorErrorKind } from '../../errors.js';
import { tlsServerEndPoint } from './channel-bindings.js';
import { WINRM_ACCOUNT_ADVICE } from './access-advice.js';

/** A sealed session: what NTLM (MS-NLMP §3.4) gives once authenticated. */
export interface SealingSession {
  seal(message: Buffer): { signature: Buffer; sealed: Buffer };
  unseal(sealed: Buffer, signature: Buffer): Buffer;
}

/** A client security context for one connection (NTLM's initiator; Kerberos would be another). */
export interface SecurityContext {
  negotiate(): Buffer;
  authenticate(challenge: Buffer): Buffer;
  readonly session: SealingSession;
}

/** The mechanism a transport authenticates with, and how a sealed body is framed over HTTP. */
export interface NtlmMechanism {
  /** A new context for a connection; `channelBindings` over HTTPS (`tls-server-end-point:` + hash). */
  start(channelBindings?: Buffer): SecurityContext;
  encryptBody(session: SealingSession, body: Buffer, contentType: string): { body: Buffer; contentType: string };
  decryptBody(session: SealingSession, body: Buffer, contentType: string): Buffer;
}

export interface WinrmCredentials {
  user: string;
  password: string;
  domain?: string;
}

/** Options of {@link WinrmTransport}. */
export interface TransportOptions {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** @default '/wsman' */
  path?: string;
  /** `ntlm` (sealed over HTTP, channel-bound over HTTPS) or `basic` (HTTPS, or HTTP when the server allows unencrypted messages). */
  auth: 'ntlm' | 'basic';
  credentials: WinrmCredentials;
  /** NTLM itself (required with `auth: 'ntlm'`). */
  ntlm?: NtlmMechanism;
  /** PEM file of the CA(s) that issued the server's certificate. */
  caFile?: string;
  /** The server certificate's SHA-256 fingerprint (hex, colons optional), pinned instead of a CA. */
  fingerprint?: string;
  /**
   * Time for the TCP connection (and, over HTTPS, the TLS handshake): a connection not made by then
   * fails as `unreachable` (transient). @default 10000
   */
  connectTimeoutMs?: number;
  /**
   * Time for the listener's first answer, until it has answered once (NTLM's negotiation, or with
   * Basic the shell's creation): a listener that accepts the connection and never answers fails as
   * `unreachable` (transient) then, not at the call's own limit (two minutes). Later requests are not
   * bounded by it: a Receive may wait `operationTimeoutS` for output. @default 10000
   */
  firstAnswerTimeoutMs?: number;
  /**
   * Time for the answer to any later request. The server answers every request within the
   * `wsman:OperationTimeout` it carries (a Receive with no output by then gets the timeout fault), so
   * a request unanswered well after it is on a connection that is gone without a word (the host
   * switched off, a network that drops the packets, a hung service): it fails as `timeout`
   * (transient) and its connection is dropped, instead of holding the call to its own limit, or
   * `close()` for ever. Must exceed the envelopes' OperationTimeout. @default 30000
   */
  answerTimeoutMs?: number;
  /** Opens the TCP connection (tests give one that never connects). @default `net.connect` */
  createSocket?: (options: net.NetConnectOpts) => Socket;
  /** Where, for errors. */
  where: string;
}

const SOAP = 'application/soap+xml;charset=UTF-8';

/** How long a connection (and its TLS handshake) may take unless told. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** How long the listener may take to answer for the first time unless told. */
export const DEFAULT_FIRST_ANSWER_TIMEOUT_MS = 10_000;

/** How long a request may wait for its answer once the listener has answered once, unless told: OperationTimeout's 20 s and 10 s more. */
export const DEFAULT_ANSWER_TIMEOUT_MS = 30_000;

/** A request stopped before it was sent: its connection is not authenticated. */
const NEEDS_AUTHENTICATION = new Error('the connection is not authenticated');

/** A normalised SHA-256 fingerprint: upper-case hex pairs joined by colons, as Node prints `fingerprint256`. */
export function normaliseFingerprint(text: string): string {
  const hex = text.replace(/^sha256:/i, '').replace(/[^0-9a-fA-F]/g, '').toUpperCase();
  if (hex.length !== 64) throw new Error(`"${text}" is not a SHA-256 fingerprint (64 hex digits)`);
  return hex.match(/../g)!.join(':');
}

/**
 * What to check when the TLS handshake fails for want of a common protocol or cipher: the runbook
 * changes the server's SCHANNEL protocols and ciphers, so after its restart this is a real possibility.
 */
const TLS_MISMATCH_HINT =
  "check which TLS versions and cipher suites the server's SCHANNEL enables for its Server side (this runbook changes them: after its restart the listener may accept only TLS 1.2 or 1.3, or other ciphers) and what this controller's OpenSSL allows (its openssl.cnf MinProtocol/CipherString, Node's --tls-min-v1.x/--tls-max-v1.x); the run's preflight refuses to disable the protocol its own connection uses";

/** The reason of an OpenSSL error line (`…:error:0A00042E:SSL routines:func:tlsv1 alert protocol version:file:…`), else the message. */
function opensslReason(message: string): string {
  const parts = message.split(':');
  return parts[1] === 'error' && parts[5] ? parts[5] : message;
}

/** Node's (OpenSSL's) codes of a certificate that is not trusted, as opposed to a handshake that failed. */
const CERTIFICATE_CODE = /^(ERR_TLS_CERT|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|ERR_TLS_PSK|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH)/;

/**
 * Why a TLS connection failed before its handshake completed: a certificate that is not trusted, the
 * server speaking no TLS on the port, a protocol or cipher the two sides do not share (an alert), or a
 * connection reset during the handshake — which Windows' Schannel may do when it shares no protocol
 * with the client; transient (the engine retries it a bounded number of times) but said as TLS.
 *
 * @example
 * ```ts
 * tlsHandshakeError(Object.assign(new Error('tlsv1 alert protocol version'), { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' }), 'winrm+https://orch01:5986').message;
 * // 'the TLS handshake with the WinRM server failed: the server and this controller share no TLS protocol version or cipher suite …'
 * ```
 */
export function tlsHandshakeError(error: unknown, where: string): ExecutorError {
  if (error instanceof ExecutorError) return error;
  const e = error as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  if (CERTIFICATE_CODE.test(code)) return classifyNetworkError(error, where);
  if (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up|disconnected before secure/i.test(e?.message ?? '')) {
    return new ExecutorError('reset', `the WinRM server reset the connection during the TLS handshake (${code || e.message}): it may share no TLS protocol version or cipher suite with this controller (Windows' Schannel then closes the connection without an alert)`, {
      where,
      hint: TLS_MISMATCH_HINT,
      cause: error,
    });
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || code === 'ERR_SSL_HTTP_REQUEST') {
    return new ExecutorError('permanent', `the WinRM server does not speak TLS on this port (${code})`, {
      where,
      hint: 'is it the HTTP listener (5985)? use winrm:// for HTTP, winrm+https:// with the HTTPS listener\'s port (5986)',
      cause: error,
    });
  }
  if (/^ERR_SSL_/.test(code)) {
    return new ExecutorError('permanent', `the TLS handshake with the WinRM server failed: the server and this controller share no TLS protocol version or cipher suite (${code}: ${opensslReason(e.message)})`, {
      where,
      hint: TLS_MISMATCH_HINT,
      cause: error,
    });
  }
  return classifyNetworkError(error, where);
}

const PIN_HINT = 'pin its SHA-256 fingerprint with RUNBOOK_WINRM_FINGERPRINT (that certificate is then trusted alone, whatever its names and issuer)';

/**
 * The error for a server certificate Node refused, with what to do for its case: a certificate for
 * other names (the CA is trusted: connect by one of its names), a self-signed one (it is its own CA),
 * one out of its validity period, or one whose issuer is not trusted.
 *
 * @example
 * ```ts
 * certificateError(Object.assign(new Error("Hostname/IP does not match certificate's altnames: …"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), 'winrm+https://orch01:5986').message;
 * // "the WinRM server's certificate is not for the name connected to: Hostname/IP does not match … (winrm+https://orch01:5986)\n  → connect by a name the certificate carries …"
 * ```
 */
export function certificateError(e: NodeJS.ErrnoException, where: string): ExecutorError {
  const code = e.code ?? '';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new ExecutorError('permanent', `the WinRM server's certificate is not for the name connected to: ${e.message}`, {
      where,
      hint: `connect by a name the certificate carries (its altnames, above: the target's host is checked against them), or give the listener a certificate issued for the target's name; or ${PIN_HINT}`,
      cause: e,
    });
  }
  if (code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'SELF_SIGNED_CERT_IN_CHAIN') {
    return new ExecutorError('permanent', `the WinRM server's certificate is not trusted: it is self-signed (${e.message})`, {
      where,
      hint: `a self-signed certificate is its own CA: give it, as a PEM file, with RUNBOOK_WINRM_CA_FILE (exported on the server from Cert:\\LocalMachine\\My, the listener's thumbprint), or ${PIN_HINT}`,
      cause: e,
    });
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return new ExecutorError('permanent', `the WinRM server's certificate is not trusted: ${code === 'CERT_HAS_EXPIRED' ? 'it has expired' : 'it is not valid yet'} (${e.message})`, {
      where,
      hint: code === 'CERT_HAS_EXPIRED'
        ? "renew the listener's certificate on the server and give the HTTPS listener the new one's thumbprint (winrm set winrm/config/Listener?Address=*+Transport=HTTPS @{CertificateThumbprint=\"…\"})"
        : "check this controller's clock and the server's (the certificate's validity starts later than this controller's time)",
      cause: e,
    });
  }
  return new ExecutorError('permanent', `the WinRM server's certificate is not trusted: ${e.message}`, {
    where,
    hint: `name the CA that issued it with RUNBOOK_WINRM_CA_FILE, or ${PIN_HINT}`,
    cause: e,
  });
}

/** Why a request failed below HTTP. */
export function classifyNetworkError(error: unknown, where: string): ExecutorError {
  if (error instanceof ExecutorError) return error;
  const e = error as NodeJS.ErrnoException;
  const byCode: Record<string, [ExecutorErrorKind, string]> = {
    ECONNREFUSED: ['refused', 'no WinRM listener answers (connection refused)'],
    ECONNRESET: ['reset', 'the connection to the WinRM listener was reset'],
    EPIPE: ['reset', 'the connection to the WinRM listener was closed'],
    ETIMEDOUT: ['timeout', 'the WinRM listener did not answer in time'],
    EHOSTUNREACH: ['unreachable', 'the host is unreachable'],
    ENETUNREACH: ['unreachable', 'the network is unreachable'],
    ENOTFOUND: ['unreachable', 'the host name does not resolve'],
    EAI_AGAIN: ['unreachable', 'the host name does not resolve (yet)'],
  };
  const known = e?.code ? byCode[e.code] : undefined;
  if (known) return new ExecutorError(known[0], `${known[1]} (${e.code})`, { where, cause: error });
  if (/socket hang up|aborted|closed/i.test(e?.message ?? '')) return new ExecutorError('reset', `the connection to the WinRM listener dropped: ${e.message}`, { where, cause: error });
  if (e?.code && CERTIFICATE_CODE.test(e.code)) return certificateError(e, where);
  if (e?.code && /^ERR_SSL_/.test(e.code)) return tlsHandshakeError(error, where);
  return new ExecutorError('protocol', `the WinRM request failed: ${e?.message ?? String(error)}`, { where, cause: error });
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  socket: Socket;
}

/**
 * One connection to a WinRM listener, authenticated per connection; requests go one at a time.
 *
 * @example
 * ```ts
 * declare const envelope: string; // e.g. createShellEnvelope(…) from ./wsman.ts
 * const credentials = { user: 'admin', password: process.env.RUNBOOK_WINRM_PASSWORD ?? '' };
 * const transport = new WinrmTransport({ scheme: 'https', host: 'orch01', port: 5986, auth: 'basic', credentials, fingerprint: process.env.RUNBOOK_WINRM_FINGERPRINT, where: 'winrm+https://orch01:5986' });
 * const answer = await transport.post(envelope);
 * ```
 */
export class WinrmTransport {
  private readonly agent: http.Agent;
  /** The security context of each authenticated connection. */
  private readonly contexts = new WeakMap<Socket, SecurityContext>();
  private queue: Promise<unknown> = Promise.resolve();
  /** The connection NTLM authenticated, while it is open. */
  private live: Socket | null = null;
  private readonly inFlight = new Set<http.ClientRequest>();
  readonly url: string;
  /** The TLS protocol of the last connection made (`TLSv1.2`, …), null over HTTP or before one. */
  tlsProtocol: string | null = null;
  /** Whether the listener has answered a request yet: until it has, each request has `firstAnswerTimeoutMs`. */
  private answered = false;

  constructor(private readonly options: TransportOptions) {
    const path = options.path ?? '/wsman';
    this.url = `${options.scheme}://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}${path}`;
    if (options.auth === 'ntlm' && !options.ntlm) throw new Error('NTLM needs its mechanism');
    const agentOptions = { keepAlive: true, maxSockets: 1, maxFreeSockets: 1, timeout: 0 };
    if (options.scheme === 'http') {
      const agent = new http.Agent(agentOptions);
      agent.createConnection = ((connectOptions: net.NetConnectOpts) => {
        const socket = (options.createSocket ?? net.connect)(connectOptions);
        this.connectDeadline(socket, 'connect');
        return socket;
      }) as typeof agent.createConnection;
      this.agent = agent;
    } else {
      const tlsOptions = this.tlsOptions();
      const agent = new https.Agent({ ...agentOptions, ...tlsOptions });
      // The socket is handed over only once its certificate is checked: nothing, not even Basic's
      // header, is written to a server that is not the one pinned.
      agent.createConnection = ((connectOptions: tls.ConnectionOptions, done: (error: Error | null, socket?: Socket) => void) => {
        const socket = tls.connect({ ...connectOptions, ...tlsOptions, ...(options.createSocket ? { socket: options.createSocket(connectOptions as net.NetConnectOpts) } : {}) });
        this.connectDeadline(socket, 'secureConnect');
        // Before secureConnect every failure is the handshake's: told apart from a certificate refused.
        const fail = (error: Error) => done(tlsHandshakeError(error, this.options.where));
        socket.once('error', fail);
        socket.once('secureConnect', () => {
          socket.off('error', fail);
          const mismatch = this.checkPin(socket);
          if (mismatch) {
            socket.destroy();
            return done(mismatch);
          }
          this.tlsProtocol = socket.getProtocol();
          done(null, socket);
        });
        return undefined;
      }) as unknown as typeof agent.createConnection;
      this.agent = agent;
    }
  }

  /**
   * Ends a connection not made within `connectTimeoutMs` (TCP, and over HTTPS its handshake) as
   * `unreachable`: a host that drops the SYN, or a listener that never answers the ClientHello.
   */
  private connectDeadline(socket: Socket, made: 'connect' | 'secureConnect'): void {
    const ms = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const timer = setTimeout(() => {
      const what = made === 'connect' ? 'no TCP connection to the WinRM listener' : 'no TLS connection to the WinRM listener (TCP connected, the handshake unanswered)';
      socket.destroy(new ExecutorError('unreachable', `${what} within ${ms} ms`, { where: this.options.where, hint: 'check that the host is up, that nothing on the way (a firewall) drops the port, and the port' }));
    }, ms);
    const clear = () => clearTimeout(timer);
    socket.once(made, clear);
    socket.once('close', clear);
  }

  /** Ends a request the listener has not answered within `firstAnswerTimeoutMs`, as `unreachable`. */
  private firstAnswerDeadline(request: http.ClientRequest): NodeJS.Timeout {
    const ms = this.options.firstAnswerTimeoutMs ?? DEFAULT_FIRST_ANSWER_TIMEOUT_MS;
    return setTimeout(() => {
      request.destroy(
        new ExecutorError('unreachable', `the WinRM listener accepted the connection but did not answer within ${ms} ms`, {
          where: this.options.where,
          hint: 'check that the port is the WinRM listener (winrm enumerate winrm/config/listener on the host) and that the WinRM service is running, not hung; a proxy or load balancer in the way may hold connections it cannot forward',
        }),
      );
    }, ms);
  }

  /** Ends a request not answered within `answerTimeoutMs` (the listener answered before), as `timeout`. */
  private answerDeadline(request: http.ClientRequest): NodeJS.Timeout {
    const ms = this.options.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS;
    return setTimeout(() => {
      request.destroy(
        new ExecutorError('timeout', `the WinRM listener did not answer a request within ${ms} ms, though it answers every request within the request's OperationTimeout`, {
          where: this.options.where,
          hint: 'the connection is likely gone without a word (the host switched off or restarting, a network or firewall dropping the packets) or the WinRM service is hung: check that the host is up and its WinRM service answers (Test-WSMan on a machine near it)',
        }),
      );
    }, ms);
  }

  private tlsOptions(): tls.ConnectionOptions {
    const { caFile, fingerprint, host } = this.options;
    const servername = /^[\d.]+$|:/.test(host) ? undefined : host;
    if (fingerprint) return { rejectUnauthorized: false, servername };
    let ca: Buffer | undefined;
    if (caFile) {
      try {
        ca = readFileSync(caFile);
      } catch (cause) {
        throw new ExecutorError('permanent', `cannot read the CA file ${caFile}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, {
          where: this.options.where,
          hint: 'set RUNBOOK_WINRM_CA_FILE to a readable PEM file',
          cause,
        });
      }
    }
    return { rejectUnauthorized: true, ...(ca ? { ca } : {}), servername };
  }

  private checkPin(socket: TLSSocket): ExecutorError | null {
    const pinned = this.options.fingerprint;
    if (!pinned) return null;
    const seen = socket.getPeerCertificate().fingerprint256 ?? '';
    if (seen === normaliseFingerprint(pinned)) return null;
    return new ExecutorError('permanent', `the WinRM server's certificate ${seen || '(none)'} is not the pinned one`, {
      where: this.options.where,
      hint: 'check that this is the right server; if its certificate was renewed, pin the new fingerprint with RUNBOOK_WINRM_FINGERPRINT',
    });
  }

  /** Sends one SOAP envelope and returns the answer's XML (a fault included: the caller reads it). */
  post(xml: string, signal?: AbortSignal): Promise<string> {
    const task = this.queue.then(() => this.postNow(Buffer.from(xml, 'utf8'), signal));
    this.queue = task.catch(() => undefined);
    return task;
  }

  private async postNow(body: Buffer, signal?: AbortSignal): Promise<string> {
    const ntlm = this.options.auth === 'ntlm';
    for (let attempt = 0; ; attempt++) {
      if (ntlm && !this.live) await this.authenticate(signal);
      let answer: Answer;
      try {
        answer = await this.send(body, signal);
      } catch (error) {
        // The authenticated connection closed just before this request: authenticate a new one.
        if (error === NEEDS_AUTHENTICATION && attempt === 0) continue;
        throw error;
      }
      if (answer.status === 401 && ntlm && attempt === 0) {
        // The server forgot this connection's context: authenticate it again, once.
        this.contexts.delete(answer.socket);
        this.live = null;
        continue;
      }
      return this.read(answer);
    }
  }

  /** A request on the transport's connection, its body sealed by the connection's context if it has one. */
  private async send(body: Buffer | null, signal: AbortSignal | undefined, authorize?: (socket: Socket) => string): Promise<Answer> {
    const { host, port, scheme } = this.options;
    return new Promise<Answer>((resolve, reject) => {
      const request = (scheme === 'http' ? http : https).request({
        agent: this.agent,
        host,
        port,
        method: 'POST',
        path: this.options.path ?? '/wsman',
        // The port is always part of the Host header (a listener on a non-default port checks it).
        headers: { Host: `${host.includes(':') ? `[${host}]` : host}:${port}`, 'User-Agent': 'runbook-engine winrm' },
        signal,
      });
      this.inFlight.add(request);
      // A listener that has never answered gets a short time to: one that accepts TCP and stays silent
      // would otherwise hold the call for its whole limit. Later, every request has its answer's time.
      const firstAnswer = this.answered ? this.answerDeadline(request) : this.firstAnswerDeadline(request);
      const cleanup = () => {
        this.inFlight.delete(request);
        clearTimeout(firstAnswer);
      };
      request.once('error', (error) => {
        cleanup();
        reject(error === NEEDS_AUTHENTICATION ? error : classifyNetworkError(error, this.options.where));
      });
      let used: Socket;
      request.once('socket', (socket: Socket) => {
        used = socket;
        let payload = body ?? Buffer.alloc(0);
        let contentType = SOAP;
        const context = this.contexts.get(socket);
        // Nothing is sent on a connection NTLM has not authenticated: over HTTP it would go unsealed.
        if (body && this.options.auth === 'ntlm' && !context) {
          this.live = null;
          request.destroy(NEEDS_AUTHENTICATION);
          return;
        }
        if (authorize) {
          try {
            request.setHeader('Authorization', authorize(socket));
          } catch (error) {
            request.destroy(error as Error);
            return;
          }
        } else if (this.options.auth === 'basic') request.setHeader('Authorization', this.basic());
        if (body && context && scheme === 'http') {
          ({ body: payload, contentType } = this.options.ntlm!.encryptBody(context.session, body, SOAP));
        }
        request.setHeader('Content-Type', contentType);
        request.setHeader('Content-Length', payload.length);
        request.end(payload);
      });
      request.once('response', (response) => {
        this.answered = true;
        clearTimeout(firstAnswer);
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.once('error', (error) => {
          cleanup();
          reject(classifyNetworkError(error, this.options.where));
        });
        response.once('end', () => {
          cleanup();
          if (!response.complete) return reject(new ExecutorError('reset', 'the connection to the WinRM listener dropped mid-answer', { where: this.options.where }));
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks), socket: used });
        });
      });
    });
  }

  private basic(): string {
    const { user, password, domain } = this.options.credentials;
    const name = domain ? `${domain}\\${user}` : user;
    return `Basic ${Buffer.from(`${name}:${password}`, 'utf8').toString('base64')}`;
  }

  /**
   * NTLM's three legs on the connection, with empty bodies (the context must exist before anything is
   * sealed). Over HTTPS the context is bound to the certificate of the connection it is made on.
   */
  private async authenticate(signal?: AbortSignal): Promise<void> {
    const { where } = this.options;
    let context: SecurityContext | null = null;
    const challengeAnswer = await this.send(null, signal, (socket) => {
      const bindings = this.options.scheme === 'https' ? tlsServerEndPoint((socket as TLSSocket).getPeerCertificate(true).raw) : undefined;
      context = this.options.ntlm!.start(bindings);
      return `Negotiate ${context.negotiate().toString('base64')}`;
    });
    this.offered(challengeAnswer);
    const challenge = this.token(challengeAnswer);
    if (challengeAnswer.status !== 401 || !challenge || !context) {
      throw new ExecutorError('protocol', `the WinRM server did not answer NTLM's negotiation with a challenge (HTTP ${challengeAnswer.status})`, { where });
    }
    const started: SecurityContext = context;
    const done = await this.send(null, signal, (socket) => {
      if (socket !== challengeAnswer.socket) throw new ExecutorError('reset', 'the WinRM server closed the connection during authentication', { where });
      return `Negotiate ${started.authenticate(challenge).toString('base64')}`;
    });
    if (done.status === 401) throw this.refused();
    if (done.status >= 300) throw new ExecutorError('protocol', `the WinRM server answered NTLM's authentication with HTTP ${done.status}`, { where });
    this.contexts.set(done.socket, started);
    this.live = done.socket;
    done.socket.once('close', () => {
      if (this.live === done.socket) this.live = null;
    });
  }

  /** Checks that a server offers Negotiate; its 401 to a request without credentials lists what it does offer. */
  private offered(answer: Answer): void {
    if (answer.status !== 401) return;
    const offers = ([] as string[]).concat(answer.headers['www-authenticate'] ?? []).map((h) => h.split(/\s+/)[0].toLowerCase());
    if (offers.length > 0 && !offers.includes('negotiate') && !offers.includes('ntlm')) {
      throw new ExecutorError('permanent', `the WinRM listener does not offer NTLM (it offers: ${offers.join(', ')})`, {
        where: this.options.where,
        hint: 'enable Negotiate on the service (winrm set winrm/config/service/auth @{Negotiate="true"}) or use Basic over HTTPS (RUNBOOK_WINRM_AUTH=basic with winrm+https://)',
      });
    }
  }

  private token(answer: Answer): Buffer | null {
    for (const header of ([] as string[]).concat(answer.headers['www-authenticate'] ?? [])) {
      const m = /^(?:Negotiate|NTLM)\s+([A-Za-z0-9+/=]+)/i.exec(header.trim());
      if (m) return Buffer.from(m[1], 'base64');
    }
    return null;
  }

  private account(): string {
    const { user, domain } = this.options.credentials;
    return `${domain ? `${domain}\\` : ''}${user}`;
  }

  /** HTTP 401 to the logon (NTLM's AUTHENTICATE, or Basic): a wrong password, or an account Windows will not serve. */
  private refused(): ExecutorError {
    return new ExecutorError('permanent', `the WinRM server refused the credentials of ${this.account()}`, {
      where: this.options.where,
      hint: `check RUNBOOK_WINRM_USER, RUNBOOK_WINRM_PASSWORD and RUNBOOK_WINRM_DOMAIN (a local account: leave the domain empty or use the host name). If they are right: ${WINRM_ACCOUNT_ADVICE}`,
    });
  }

  /** HTTP 401 to a message on a connection whose logon the server had just accepted: the password is right. */
  private notServed(): ExecutorError {
    return new ExecutorError('permanent', `the WinRM server accepted the logon of ${this.account()} but refused it the service (HTTP 401 after a successful authentication, again after authenticating anew)`, {
      where: this.options.where,
      hint: `the password is right. ${WINRM_ACCOUNT_ADVICE}`,
    });
  }

  /** The answer's XML: unsealed, or an error that says why there is none. */
  private read(answer: Answer): string {
    const { where } = this.options;
    if (answer.status === 401) {
      if (this.options.auth === 'basic' && this.options.scheme === 'http') {
        const offers = ([] as string[]).concat(answer.headers['www-authenticate'] ?? []).map((h) => h.split(/\s+/)[0].toLowerCase());
        if (!offers.includes('basic')) {
          throw new ExecutorError('permanent', 'the WinRM server refuses unencrypted messages (Basic over HTTP needs AllowUnencrypted=true on the service)', {
            where,
            hint: 'use NTLM, which seals every message (the default: unset RUNBOOK_WINRM_AUTH), or winrm+https://',
          });
        }
      }
      // The logon of this connection succeeded (it has a context): the account, not its password, is refused.
      if (this.options.auth === 'ntlm' && this.contexts.has(answer.socket)) throw this.notServed();
      throw this.refused();
    }
    const contentType = String(answer.headers['content-type'] ?? '');
    let body = answer.body;
    if (/multipart\/(x-multi-)?encrypted/i.test(contentType)) {
      const context = this.contexts.get(answer.socket);
      if (!context) throw new ExecutorError('protocol', 'the WinRM server sent a sealed answer on a connection that has no security context', { where });
      try {
        body = this.options.ntlm!.decryptBody(context.session, answer.body, contentType);
      } catch (cause) {
        this.contexts.delete(answer.socket);
        throw new ExecutorError('protocol', `the WinRM server's sealed answer could not be unsealed: ${(cause as Error).message}`, { where, cause });
      }
    } else if (this.options.auth === 'ntlm' && this.options.scheme === 'http' && answer.body.length > 0 && answer.status < 300) {
      throw new ExecutorError('protocol', 'the WinRM server answered a sealed message in clear text', { where });
    }
    if (answer.status === 200 || (answer.status === 500 && body.length > 0)) return body.toString('utf8');
    if (answer.status === 500 && this.options.scheme === 'http' && !this.contexts.get(answer.socket)) {
      // Windows' answer to an unencrypted message is not documented (500 is what clients report): said as a likely cause.
      throw new ExecutorError('permanent', 'the WinRM server refused an unencrypted message over HTTP (HTTP 500 with no answer: AllowUnencrypted is likely false)', {
        where,
        hint: 'use NTLM, which seals every message (the default: unset RUNBOOK_WINRM_AUTH), or winrm+https://',
      });
    }
    if (answer.status === 413) {
      throw new ExecutorError('permanent', 'the WinRM server refused a message as too large (HTTP 413: larger than its MaxEnvelopeSizekb)', {
        where,
        hint: "set RUNBOOK_WINRM_MAX_ENVELOPE_KB to the server's MaxEnvelopeSizekb (winrm get winrm/config), or raise that setting",
      });
    }
    throw new ExecutorError(answer.status >= 500 ? 'protocol' : 'permanent', `the WinRM server answered HTTP ${answer.status}`, {
      where,
      hint: body.length ? body.toString('utf8').slice(0, 200) : undefined,
    });
  }

  /** Drops the connection now (a call given up on): requests in flight fail, the next one connects again. */
  reset(): void {
    for (const request of this.inFlight) request.destroy(new Error('aborted'));
    this.inFlight.clear();
    this.live = null;
    this.agent.destroy();
  }

  /** Closes the connection. */
  close(): void {
    this.reset();
  }
}
