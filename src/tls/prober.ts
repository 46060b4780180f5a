/**
 * Real TLS handshakes from the controller: one per protocol version, to tell from outside which
 * versions a server accepts.
 *
 * A scanner goes wrong easily: today's OpenSSL refuses to offer TLS 1.0 and 1.1 at its default security
 * level, so a naive client "sees" every server refuse them. This prober offers the old versions at
 * OpenSSL security level 0, and counts a refusal as the server's own only when its ClientHello went out
 * and the server answered with an alert (protocol_version, handshake_failure, …), chose another version,
 * or closed the connection before its ServerHello. Anything else — the endpoint not reachable, a
 * timeout, a client that could not offer the version — is `inconclusive`, never a pass.
 *
 * What OpenSSL no longer offers at all cannot be tested this way: SSL 2.0 and 3.0, and RC4 and 3DES
 * cipher suites. Reports say so ({@link NOT_TESTABLE}).
 */
import { Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls';
import { isIP } from 'node:net';
import type { TlsEndpoint } from '../executors/types.js';
import { concurrencyLimit } from '../util/limit.js';

export type { TlsEndpoint } from '../executors/types.js';

/**
 * The protocol versions the prober can offer, by their SCHANNEL names.
 *
 * @example
 * ```ts
 * const verdicts = await probeEndpoint(parseEndpoint('orch01:443'), PROBED_PROTOCOLS.filter((p) => p !== 'TLS 1.3'));
 * ```
 */
export const PROBED_PROTOCOLS = ['TLS 1.0', 'TLS 1.1', 'TLS 1.2', 'TLS 1.3'] as const;
/**
 * A protocol version the prober can offer, by its SCHANNEL name: one of {@link PROBED_PROTOCOLS}.
 *
 * @example
 * ```ts
 * const legacy: ProbedProtocol[] = ['TLS 1.0', 'TLS 1.1'];
 * const verdicts = await probeEndpoint(parseEndpoint('orch01:443'), legacy);
 * ```
 */
export type ProbedProtocol = (typeof PROBED_PROTOCOLS)[number];

const OPENSSL_NAME: Record<ProbedProtocol, 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'> = {
  'TLS 1.0': 'TLSv1',
  'TLS 1.1': 'TLSv1.1',
  'TLS 1.2': 'TLSv1.2',
  'TLS 1.3': 'TLSv1.3',
};

const clientContexts = new Map<string, SecureContext>();

/**
 * The client's context for one protocol: only that version, at the given OpenSSL security level (0: the
 * client itself must not be what refuses the old versions). Made once per process and reused. It trusts
 * no certificate authority (`ca: []`): the prober verifies no certificate, and Node would otherwise
 * build its store of public roots for the process's first context — some 40 ms of CPU.
 */
function clientContext(version: (typeof OPENSSL_NAME)[ProbedProtocol], level: number): SecureContext {
  const key = `${version}@${level}`;
  let context = clientContexts.get(key);
  if (!context) {
    context = createSecureContext({ minVersion: version, maxVersion: version, ciphers: `DEFAULT:@SECLEVEL=${level}`, ca: [] });
    clientContexts.set(key, context);
  }
  return context;
}

/**
 * What a prober built on OpenSSL 3 cannot test, said in every report instead of passing silently.
 *
 * @example
 * ```ts
 * const verdicts = await probeEndpoint(parseEndpoint('orch01:443'));
 * console.log(verdicts.map((v) => `${v.protocol}: ${v.outcome}`).join('\n'), `\nnot tested: ${NOT_TESTABLE}`);
 * ```
 */
export const NOT_TESTABLE = 'SSL 2.0, SSL 3.0, RC4 and 3DES cipher suites: OpenSSL 3 no longer offers them, so no handshake can show whether the server refuses them';

/**
 * What one handshake (or a protocol's verdict) showed: the server `accepted` the version, `refused`
 * it, or nothing could tell (`inconclusive`, never a pass).
 *
 * @example
 * ```ts
 * const verdicts = await probeEndpoint(parseEndpoint('orch01:443'), ['TLS 1.0']);
 * const outcome: HandshakeOutcome = verdicts[0].outcome;
 * if (outcome === 'inconclusive') console.warn(verdicts[0].evidence);
 * ```
 */
export type HandshakeOutcome = 'accepted' | 'refused' | 'inconclusive';

/**
 * One handshake's evidence.
 *
 * @example
 * ```ts
 * const [verdict] = await probeEndpoint(parseEndpoint('orch01:443'), ['TLS 1.2']);
 * const withSni: Handshake | undefined = verdict.handshakes.find((h) => h.sni);
 * console.log(withSni?.outcome, withSni?.negotiated, withSni?.cipher);
 * ```
 */
export type Handshake = {
  protocol: ProbedProtocol;
  /** Whether SNI was sent. */
  sni: boolean;
  outcome: HandshakeOutcome;
  /** Accepted: the version and cipher the server chose. */
  negotiated?: string;
  cipher?: string;
  /** What shows it: the alert, the error, or "handshake completed". */
  evidence: string;
};

/**
 * The verdict for one endpoint and protocol, from its handshakes with and without SNI.
 *
 * @example
 * ```ts
 * const verdicts: ProtocolVerdict[] = await probeEndpoint(parseEndpoint('orch01:443'));
 * for (const v of verdicts) console.log(`${v.endpoint} ${v.protocol}: ${v.outcome} (${v.evidence})`);
 * ```
 */
export type ProtocolVerdict = {
  endpoint: string;
  address: string;
  protocol: ProbedProtocol;
  outcome: HandshakeOutcome;
  evidence: string;
  handshakes: Handshake[];
};

/**
 * How the prober's handshakes are made: how long each may take, and the client's OpenSSL security
 * level.
 *
 * @example
 * ```ts
 * const options: ProbeOptions = { timeoutMs: 2000, securityLevel: 0 };
 * const verdicts = await probeEndpoint(parseEndpoint('orch01:443'), PROBED_PROTOCOLS, options);
 * ```
 */
export interface ProbeOptions {
  /** How long one handshake may take. @default 5000 */
  timeoutMs?: number;
  /**
   * The client's OpenSSL security level. Level 0 lets it offer TLS 1.0 and 1.1; a higher one makes the
   * client refuse them itself (what this option exists to show in tests). @default 0
   */
  securityLevel?: number;
}

/** Alerts a server sends to refuse a version (OpenSSL's names for received alerts). */
const RECEIVED_ALERT = /^ERR_SSL_(?:TLSV1|SSLV3|TLSV13)_ALERT_/;

/** One handshake offering exactly `protocol`. */
export async function handshake(endpoint: TlsEndpoint, protocol: ProbedProtocol, sni: boolean, options: ProbeOptions = {}): Promise<Handshake> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const raw = new Socket();
  const base = { protocol, sni } as const;
  const connected = await new Promise<Error | null>((resolve) => {
    const timer = setTimeout(() => resolve(new Error(`no TCP connection within ${timeoutMs} ms`)), timeoutMs);
    raw.once('connect', () => {
      clearTimeout(timer);
      resolve(null);
    });
    raw.once('error', (error) => {
      clearTimeout(timer);
      resolve(error);
    });
    raw.connect(endpoint.port, endpoint.host);
  });
  if (connected) {
    raw.destroy();
    return { ...base, outcome: 'inconclusive', evidence: `not reachable: ${(connected as NodeJS.ErrnoException).code ?? connected.message}` };
  }
  const version = OPENSSL_NAME[protocol];
  const tlsOptions: ConnectionOptions = {
    socket: raw,
    secureContext: clientContext(version, options.securityLevel ?? 0),
    // The protocol is under test, not the certificate.
    rejectUnauthorized: false,
    ...(sni && endpoint.servername && isIP(endpoint.servername) === 0 ? { servername: endpoint.servername } : { servername: '' }),
  };
  return new Promise<Handshake>((resolve) => {
    let done = false;
    const finish = (h: Handshake) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      raw.destroy();
      resolve(h);
    };
    const socket = tlsConnect(tlsOptions);
    const timer = setTimeout(
      () => finish({ ...base, outcome: 'inconclusive', evidence: `no answer to the handshake within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.once('secureConnect', () => {
      finish({ ...base, outcome: 'accepted', negotiated: socket.getProtocol() ?? version, cipher: socket.getCipher()?.name, evidence: 'handshake completed' });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => finish({ ...base, ...classify(error, raw) }));
    socket.once('close', () => finish({ ...base, ...classify(Object.assign(new Error('connection closed'), { code: 'ECONNRESET' }), raw) }));
  });
}

/** Whose refusal an error is. */
function classify(error: NodeJS.ErrnoException, raw: Socket): { outcome: HandshakeOutcome; evidence: string } {
  const code = error.code ?? '';
  const reason = (error as { reason?: string }).reason ?? error.message;
  // Nothing went out: the client could not offer the version (its own refusal, not the server's).
  if (raw.bytesWritten === 0) return { outcome: 'inconclusive', evidence: `the client could not offer it (${code || reason})` };
  if (RECEIVED_ALERT.test(code)) return { outcome: 'refused', evidence: `server alert: ${reason}` };
  if (code === 'ERR_SSL_UNSUPPORTED_PROTOCOL' && raw.bytesRead > 0) return { outcome: 'refused', evidence: 'the server chose another version' };
  if ((code === 'ECONNRESET' || code === 'EPIPE') && raw.bytesRead === 0) return { outcome: 'refused', evidence: 'connection closed by the server before its ServerHello' };
  return { outcome: 'inconclusive', evidence: `${code || 'error'}: ${reason}` };
}

/**
 * Handshakes in flight in this process at most: a probe's handshakes run at once (a server far away
 * answers all of them in one round trip's time), and a fleet probing a thousand hosts does not open
 * tens of thousands of sockets.
 */
export const MAX_HANDSHAKES_IN_FLIGHT = 32;
const inFlight = concurrencyLimit(MAX_HANDSHAKES_IN_FLIGHT);

/**
 * Probes each protocol on one endpoint, without SNI and (when the endpoint has a DNS name) with it, all
 * handshakes at once (at most {@link MAX_HANDSHAKES_IN_FLIGHT} in the process). A version counts as
 * accepted when any handshake completed, refused when every handshake was refused by the server, and
 * inconclusive otherwise. Verdicts come in the order of `protocols`.
 *
 * @example
 * ```ts
 * const verdicts = await probeEndpoint({ name: 'web', host: 'orch01.contoso.com', port: 443, servername: 'orch01.contoso.com' });
 * for (const v of verdicts) console.log(v.protocol, v.outcome, v.evidence);
 * ```
 */
export async function probeEndpoint(endpoint: TlsEndpoint, protocols: readonly ProbedProtocol[] = PROBED_PROTOCOLS, options: ProbeOptions = {}): Promise<ProtocolVerdict[]> {
  const address = `${endpoint.host}:${endpoint.port}`;
  const withSni = endpoint.servername !== undefined && endpoint.servername !== '' && isIP(endpoint.servername) === 0;
  const attempt = (protocol: ProbedProtocol, sni: boolean) => inFlight.run(() => handshake(endpoint, protocol, sni, options));
  return Promise.all(protocols.map(async (protocol): Promise<ProtocolVerdict> => {
    const handshakes = await Promise.all(withSni ? [attempt(protocol, false), attempt(protocol, true)] : [attempt(protocol, false)]);
    const accepted = handshakes.find((h) => h.outcome === 'accepted');
    const outcome: HandshakeOutcome = accepted ? 'accepted' : handshakes.every((h) => h.outcome === 'refused') ? 'refused' : 'inconclusive';
    const evidence = (accepted ?? handshakes.find((h) => h.outcome === outcome) ?? handshakes[0]).evidence;
    return { endpoint: endpoint.name, address, protocol, outcome, evidence: accepted?.negotiated ? `${evidence}: ${accepted.negotiated} ${accepted.cipher ?? ''}`.trim() : evidence, handshakes };
  }));
}

/**
 * Parses `host:port` (or `[v6]:port`, or `name=host:port`) into an endpoint.
 *
 * @example
 * ```ts
 * parseEndpoint('orch01.contoso.com:443'); // { name: 'orch01.contoso.com:443', host: 'orch01.contoso.com', port: 443, servername: 'orch01.contoso.com' }
 * parseEndpoint('web=10.0.0.12:443', 'orch01.contoso.com'); // named web, SNI orch01.contoso.com
 * ```
 */
export function parseEndpoint(text: string, servername?: string): TlsEndpoint {
  const named = /^([A-Za-z0-9._-]+)=(.+)$/.exec(text);
  const spec = named ? named[2] : text;
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(spec);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`"${text}" is not host:port (e.g. orch01.contoso.com:443)`);
  const host = m[1] ?? m[2];
  const dns = isIP(host) === 0 ? host : undefined;
  return { name: named ? named[1] : spec, host, port, ...(servername ?? dns ? { servername: servername ?? dns } : {}) };
}
