/**
 * The simulated host's WinRM listener: WS-Management over HTTP and HTTPS on 127.0.0.1, path /wsman,
 * with the Windows Remote Shell (`winrs.ts`) behind it. It authenticates as the WinRM
 * service does by default: Negotiate (NTLM) on a connection, and Basic only when the listener is told
 * to allow it (Windows' default: off). Over HTTP, once authenticated, it takes only encrypted messages
 * (`multipart/encrypted`, [MS-WSMV] 2.2.9.1), as Windows does with AllowUnencrypted=false; over HTTPS
 * NTLM is bound to the TLS channel (the certificate's hash). A request larger than MaxEnvelopeSizekb
 * gets HTTP 413 unread. A restarting host drops its connections; a restart ends the shells.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Clock } from '../util/clock.js';
import { boot, type SimHostState } from './model.js';
import { serverAnswer, selfSigned } from './endpoints.js';
import { Winrs, answerEnvelope } from './winrs.js';
import { faultEnvelope, readRequest, type WsmanFault } from './wsman.js';
import { negotiateAuth, type NtlmLayer } from './winrm-ntlm.js';
import type { NtlmSession } from '../executors/winrm/ntlm.js';
import {
  WINRM_SERVICE_ALLOW_UNENCRYPTED_DEFAULT,
  WINRM_SERVICE_BASIC_DEFAULT,
  WINRM_SERVICE_MAX_ENVELOPE_SIZE_KB,
  WINRM_SERVICE_OVERSIZE_STATUS,
  WINRM_UNENCRYPTED_REFUSAL_STATUS,
} from '../windows/facts/winrm-service.js';

/**
 * Options of {@link serveWinrm}. The account is read from the environment unless given.
 *
 * @example
 * ```ts
 * const options: WinrmListenerOptions = { hostFile: 'host.json', write: (host) => writeHost('host.json', host), allowBasic: true };
 * const winrm = await serveWinrm(() => readHost('host.json'), options);
 * ```
 */
export interface WinrmListenerOptions {
  /** The simulated host's file (the agent's RUNBOOK_AGENT_HOST_FILE). */
  hostFile: string;
  /** Writes the host back (a boot completed by the listener). */
  write: (host: SimHostState) => Promise<void>;
  /** The host's clock (restarts). @default the system clock */
  clock?: Clock;
  /** The PowerShell that stands for powershell.exe. @default `$RUNBOOK_PWSH`, else `pwsh` */
  pwsh?: string;
  /** The account. @default `$RUNBOOK_SIM_WINRM_USER` (`user`, `DOMAIN\user` or `user@domain`) */
  user?: string;
  /** Its password. @default `$RUNBOOK_SIM_WINRM_PASSWORD` */
  password?: string;
  /** Accept Basic authentication (Auth/Basic). @default false, Windows' default */
  allowBasic?: boolean;
  /** Accept unencrypted messages over HTTP (AllowUnencrypted). @default false, Windows' default */
  allowUnencrypted?: boolean;
  /** MaxEnvelopeSizekb. @default 500, Windows' default */
  maxEnvelopeSizeKb?: number;
  /** The longest a Receive waits for output, in ms (MaxTimeoutms). @default 60000 */
  maxTimeoutMs?: number;
  /**
   * Called with each request's `wsa:Action` as it arrives, before it is answered: lets a test act at a
   * precise point of the exchange (e.g. close the listener while a Receive waits) instead of after a delay.
   *
   * @example
   * ```ts
   * declare const options: Parameters<typeof serveWinrm>[1]; // the listener's host file and writer
   * const winrm = await serveWinrm(async () => createPreset('server-2016'), { ...options, onRequest: (action) => { if (action.endsWith('/Receive')) void winrm.close(); } });
   * ```
   */
  onRequest?: (action: string) => void;
}

/**
 * The listeners being served, and how to stop them.
 *
 * @example
 * ```ts
 * declare const options: WinrmListenerOptions;
 * const winrm: ServedWinrm = await serveWinrm(() => readHost('host.json'), options);
 * console.log(winrm.https, winrm.certificateSha256);
 * await winrm.close();
 * ```
 */
export interface ServedWinrm {
  /** `http://127.0.0.1:PORT/wsman` */
  http: string;
  /** `https://127.0.0.1:PORT/wsman` */
  https: string;
  /** SHA-256 of the HTTPS certificate (DER), for a client that pins it. */
  certificateSha256: string;
  /** The HTTPS certificate (PEM), for a client that trusts it as its CA. */
  certificatePem: string;
  close(): Promise<void>;
}

/** What a connection carries: NTLM authenticates a connection, not a request. */
interface Connection {
  tls: boolean;
  ntlm?: ReturnType<NtlmLayer['acceptor']>;
  session?: NtlmSession;
}

const SOAP = 'application/soap+xml;charset=UTF-8';

/** The account's user name without its domain, lower case. */
function userPart(name: string): string {
  return (name.includes('\\') ? name.slice(name.indexOf('\\') + 1) : name.replace(/@.*$/, '')).toLowerCase();
}

/**
 * Serves the simulated host's WinRM listeners until `close()`. `read` gives the host as it is now.
 *
 * @example
 * ```ts
 * const winrm = await serveWinrm(() => readHost('host.json'), { hostFile: 'host.json', write: (h) => writeHost('host.json', h) });
 * console.log(winrm.http); // http://127.0.0.1:40123/wsman
 * await winrm.close();
 * ```
 */
export async function serveWinrm(read: () => Promise<SimHostState>, options: WinrmListenerOptions): Promise<ServedWinrm> {
  const { key, cert } = await selfSigned();
  const der = new X509Certificate(cert).raw;
  const certificateSha256 = createHash('sha256').update(der).digest('hex');
  const ntlm = negotiateAuth();
  const channelBindings = ntlm.channelBindings(der);
  const user = options.user ?? process.env.RUNBOOK_SIM_WINRM_USER ?? '';
  const password = options.password ?? process.env.RUNBOOK_SIM_WINRM_PASSWORD ?? '';
  const allowBasic = options.allowBasic ?? WINRM_SERVICE_BASIC_DEFAULT.value;
  const allowUnencrypted = options.allowUnencrypted ?? WINRM_SERVICE_ALLOW_UNENCRYPTED_DEFAULT.value;
  const maxBytes = (options.maxEnvelopeSizeKb ?? WINRM_SERVICE_MAX_ENVELOPE_SIZE_KB.value) * 1024;
  const winrs = new Winrs({ hostFile: options.hostFile, pwsh: options.pwsh ?? process.env.RUNBOOK_PWSH ?? 'pwsh', maxTimeoutMs: options.maxTimeoutMs });
  const lookup = (name: string) => (user && password && userPart(name) === userPart(user) ? password : null);
  const connections = new WeakMap<Socket, Connection>();
  const sockets = new Set<Socket>();
  const contexts = new Map<number, SecureContext>();

  /** The host now, booted if its restart is over; null while it restarts. */
  async function hostNow(): Promise<SimHostState | null> {
    const host = await read();
    const at = options.clock?.now() ?? Date.now();
    if (host.down && at < Date.parse(host.down.until)) return null;
    if (host.down) {
      boot(host, host.down.until);
      await options.write(host);
    }
    return host;
  }

  function offers(tls: boolean): string[] {
    const schemes = ['Negotiate'];
    if (allowBasic && (tls || allowUnencrypted)) schemes.push('Basic realm="WSMAN"');
    return schemes;
  }

  function send(res: ServerResponse, status: number, body: Buffer | string = '', headers: Record<string, string | string[]> = {}): void {
    const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    res.writeHead(status, { 'Content-Length': String(data.length), Server: 'Microsoft-HTTPAPI/2.0', ...headers });
    res.end(data);
  }

  const unauthorized = (res: ServerResponse, conn: Connection) => {
    conn.ntlm = undefined;
    conn.session = undefined;
    send(res, 401, '', { 'WWW-Authenticate': offers(conn.tls) });
  };

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket;
    const conn = connections.get(socket) ?? { tls: socket instanceof TLSSocket };
    connections.set(socket, conn);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const host = await hostNow().catch(() => null);
    if (!host || req.url?.split('?')[0].toLowerCase() !== '/wsman' || req.method !== 'POST') {
      if (!host) return void socket.destroy();
      return send(res, 404);
    }
    // Authentication: Negotiate (NTLM) for the connection, or Basic for the request.
    const [scheme, token] = (req.headers.authorization ?? '').split(/\s+/, 2);
    const method = scheme?.toLowerCase();
    if (method === 'basic') {
      if (!allowBasic || !(conn.tls || allowUnencrypted)) return unauthorized(res, conn);
      const [name, ...rest] = Buffer.from(token ?? '', 'base64').toString('utf8').split(':');
      const expected = lookup(name);
      if (expected === null || rest.join(':') !== expected) return unauthorized(res, conn);
      conn.session = undefined;
    } else if (method === 'negotiate' || method === 'ntlm') {
      const message = Buffer.from(token ?? '', 'base64');
      if (message.length > 8 && message.readUInt32LE(8) === 1) {
        conn.ntlm = ntlm.acceptor({ lookup: (name) => lookup(name), targetName: 'SIMULATED', channelBindings: conn.tls ? channelBindings : undefined });
        conn.session = undefined;
        try {
          const challenge = conn.ntlm.challenge(message);
          return send(res, 401, '', { 'WWW-Authenticate': `${scheme} ${challenge.toString('base64')}` });
        } catch {
          return unauthorized(res, conn);
        }
      }
      if (!conn.ntlm) return unauthorized(res, conn);
      try {
        conn.ntlm.accept(message);
        conn.session = conn.ntlm.session;
      } catch {
        return unauthorized(res, conn);
      }
    } else if (!conn.session) {
      return unauthorized(res, conn);
    }
    if (raw.length > maxBytes) return send(res, WINRM_SERVICE_OVERSIZE_STATUS.value, '', { Connection: 'close' });
    const contentType = req.headers['content-type'] ?? '';
    const encrypted = ntlm.isEncrypted(contentType);
    if (raw.length === 0) return send(res, 200);
    let xml: string;
    if (encrypted) {
      if (!conn.session) return send(res, 400);
      try {
        xml = ntlm.decryptBody(conn.session, raw, contentType).toString('utf8');
      } catch {
        return send(res, 400);
      }
    } else if (!conn.tls && !allowUnencrypted) {
      return send(res, WINRM_UNENCRYPTED_REFUSAL_STATUS.value);
    } else {
      xml = raw.toString('utf8');
    }
    const [status, envelope] = await soap(xml, host);
    const body = Buffer.from(envelope, 'utf8');
    if (encrypted && conn.session) {
      const sealed = ntlm.encryptBody(conn.session, body, SOAP);
      return send(res, status, sealed.body, { 'Content-Type': sealed.contentType });
    }
    send(res, status, body, { 'Content-Type': SOAP });
  }

  async function soap(xml: string, host: SimHostState): Promise<[number, string]> {
    const request = readRequest(xml);
    const fault = (f: WsmanFault, relatesTo = ''): [number, string] => [500, faultEnvelope(f, relatesTo, '127.0.0.1')];
    if (!request || !request.action) {
      return fault({ code: 's:Sender', subcode: 'a:InvalidMessageInformationHeader', reason: 'The request is not a WS-Management envelope with a wsa:Action header.', wsmanCode: 87, message: 'The WS-Management service cannot process the request: it is not a SOAP envelope with a WS-Addressing action.' });
    }
    options.onRequest?.(request.action);
    if (request.maxEnvelopeSize !== null && request.maxEnvelopeSize < 8192) {
      return fault(
        { code: 's:Sender', subcode: 'w:EncodingLimit', reason: 'An internal encoding limit was exceeded in a request or would be violated if the message were processed.', wsmanCode: 87, message: `The MaxEnvelopeSize of ${request.maxEnvelopeSize} octets is below the 8192 that WS-Management requires.`, detail: 'http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/MinimumEnvelopeLimit' },
        request.messageId,
      );
    }
    const answer = await winrs.handle(request, host.bootTime, Math.min(request.maxEnvelopeSize ?? maxBytes, maxBytes));
    return answer.ok ? [200, answerEnvelope(answer, request.messageId)] : fault(answer.fault, request.messageId);
  }

  const app = createHttpServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    answer(req, res).catch(() => res.destroy());
  });
  const listen = async (tls: boolean): Promise<Server> => {
    const server = createNetServer((socket) => {
      // Nor does a client's kept-alive connection.
      socket.unref();
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      if (!tls) return void app.emit('connection', socket);
      void (async () => {
        const host = await hostNow().catch(() => null);
        const served = host ? serverAnswer(host, key, cert, contexts) : ({ status: 'closed' } as const);
        // A protocol whose default nothing settles (unmodelledDefaults): left unanswered, as the TLS endpoints.
        if (served.status === 'unmodelled') return;
        if (served.status === 'closed') return void socket.destroy();
        const secure = new TLSSocket(socket, { isServer: true, secureContext: served.context });
        secure.on('error', () => socket.destroy());
        app.emit('connection', secure);
      })();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    // Serving never keeps a process alive by itself (as the TLS endpoints).
    server.unref();
    return server;
  };
  const servers = [await listen(false), await listen(true)];
  const url = (server: Server, scheme: string) => `${scheme}://127.0.0.1:${(server.address() as { port: number }).port}/wsman`;
  return {
    http: url(servers[0], 'http'),
    https: url(servers[1], 'https'),
    certificateSha256,
    certificatePem: cert,
    async close() {
      winrs.close();
      for (const s of sockets) s.destroy();
      app.close();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
