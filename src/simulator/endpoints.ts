/**
 * The simulated host's TLS endpoints, served for real: one Node TLS server on 127.0.0.1 per endpoint of
 * the host file, each accepting exactly the server-side protocols in effect on the host (what SCHANNEL
 * read at its last boot, else Windows' defaults), read again for every connection. A version that is not
 * in effect is refused as OpenSSL refuses it (a protocol_version alert); a host that is restarting does
 * not answer (the handshake times out: inconclusive, never "refused"); a host with no protocol in effect
 * closes the connection. A host whose build leaves a served default open (disputed or unknown in the
 * facts) and whose document does not state it is not served at all: the simulator has no default of its
 * own to answer with (`unmodelledDefaults`).
 */
import { constants, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls';
import type Forge from 'node-forge';
import type { TlsEndpoint } from '../executors/types.js';
import type { Clock } from '../util/clock.js';
import { ExecutorError } from '../errors.js';
import { SERVED_PROTOCOLS, boot, describeUnmodelled, serverProtocolsInEffect, unmodelledDefaults, type ServedProtocol, type SimHostState } from './model.js';

/**
 * A self-signed certificate for `localhost` (the protocol is under test, not the certificate). Making
 * one costs a few hundred milliseconds of CPU (an RSA key), so it is made once and kept for this user in
 * the temporary folder (mode 0600) for the processes that follow — tests start hundreds of them. node-forge
 * (some 40 ms to load) is loaded only when a certificate has to be made.
 */
let identity: { key: string; cert: string } | undefined;
export async function selfSigned(): Promise<{ key: string; cert: string }> {
  if (identity) return identity;
  const file = join(tmpdir(), `runbook-engine-sim-tls-${process.getuid?.() ?? 'user'}.json`);
  try {
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { key: string; cert: string; notAfter: string };
    if (Date.parse(kept.notAfter) > Date.now() + 86_400_000) return (identity = { key: kept.key, cert: kept.cert });
  } catch {
    // none kept yet (or unreadable): make one
  }
  const { default: forge } = await import('node-forge');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 86_400_000);
  const subject = [{ name: 'commonName', value: 'localhost' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }]);
  // forge lays the certificate out; Node's crypto signs it (forge's own RSA, in JavaScript, is far slower).
  cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption;
  cert.signatureOid = forge.pki.oids.sha256WithRSAEncryption;
  // getTBSCertificate is forge's public API, missing from its type declarations.
  const tbsOf = (forge.pki as unknown as { getTBSCertificate(c: Forge.pki.Certificate): Forge.asn1.Asn1 }).getTBSCertificate;
  cert.signature = sign('sha256', Buffer.from(forge.asn1.toDer(tbsOf(cert)).getBytes(), 'binary'), privateKey).toString('binary');
  identity = { key, cert: forge.pki.certificateToPem(cert) };
  try {
    const temp = `${file}.${process.pid}`;
    writeFileSync(temp, JSON.stringify({ ...identity, notAfter: cert.validity.notAfter.toISOString() }), { mode: 0o600 });
    renameSync(temp, file);
  } catch {
    // not kept: the next process makes its own
  }
  return identity;
}

const NO_FLAG = {
  'TLS 1.0': constants.SSL_OP_NO_TLSv1,
  'TLS 1.1': constants.SSL_OP_NO_TLSv1_1,
  'TLS 1.2': constants.SSL_OP_NO_TLSv1_2,
  'TLS 1.3': constants.SSL_OP_NO_TLSv1_3,
} as const;

/**
 * What a simulated host's server side answers a handshake with now: `serve` with a context offering
 * exactly the protocols in effect; `closed` when none is (the connection is closed); `unmodelled` when a
 * protocol's state is settled neither by the facts nor by the document — such a connection is left
 * unanswered (the client gives up: inconclusive), never accepted nor refused. Contexts are kept in
 * `cache` by protocol set: making one parses the key, the costliest part of an answer. No certificate
 * authority (`ca: []`): the server asks for no client certificate, and Node would otherwise build its
 * store of public roots for the process's first context (~40 ms of CPU).
 */
export type ServerAnswer = { status: 'serve'; context: SecureContext } | { status: 'closed' } | { status: 'unmodelled'; protocols: ServedProtocol[] };

/** The {@link ServerAnswer} for a host as it is now (TLS endpoints and the WinRM listener's HTTPS). */
export function serverAnswer(host: SimHostState, key: string, cert: string, cache: Map<number, SecureContext>): ServerAnswer {
  const inEffect = serverProtocolsInEffect(host);
  const unmodelled = SERVED_PROTOCOLS.filter((p) => inEffect[p] === null);
  if (unmodelled.length > 0) return { status: 'unmodelled', protocols: unmodelled };
  if (!SERVED_PROTOCOLS.some((p) => inEffect[p])) return { status: 'closed' };
  const secureOptions = SERVED_PROTOCOLS.filter((p) => !inEffect[p]).reduce((flags, p) => flags | NO_FLAG[p], 0);
  let context = cache.get(secureOptions);
  if (!context) {
    context = createSecureContext({ key, cert, minVersion: 'TLSv1', maxVersion: 'TLSv1.3', ciphers: 'DEFAULT:@SECLEVEL=0', secureOptions, ca: [] });
    cache.set(secureOptions, context);
  }
  return { status: 'serve', context };
}

/**
 * Refuses a host whose served defaults nothing settles (see {@link unmodelledDefaults}), naming each and
 * what to write: its endpoints would otherwise answer with a default the simulator made up.
 */
export function refuseUnmodelled(host: SimHostState, where: string): void {
  const open = unmodelledDefaults(host);
  if (open.length === 0) return;
  throw new ExecutorError(
    'permanent',
    `the simulated host cannot serve its TLS endpoints: Windows' default for ${describeUnmodelled(open).join('; ')} is not settled by Microsoft's documents, and the host document's schannelDefaults does not state what this simulated Windows does`,
    {
      where,
      hint: `state it in the host document, e.g. "schannelDefaults": { ${open.map((o) => `"${o.protocol}": { "Server": false }`).join(', ')}, "note": "rehearsal assumption: …" } — true to accept, false to refuse (docs/simulated-host.md; the presets server-2022 and server-2025 state theirs)`,
    },
  );
}

/**
 * Served endpoints, and how to stop serving them.
 *
 * @example
 * ```ts
 * const served: ServedEndpoints = await serveEndpoints(() => readHost('host.json'));
 * const verdicts = await Promise.all(served.endpoints.map((e) => probeEndpoint(e, ['TLS 1.2'])));
 * await served.close();
 * ```
 */
export interface ServedEndpoints {
  endpoints: TlsEndpoint[];
  close(): Promise<void>;
}

/**
 * Serves the endpoints of a simulated host until `close()`. `read` gives the host as it is now (it is
 * called for every connection); `where` names it in errors. A host whose build leaves a served default
 * open and whose document does not state it is refused ({@link refuseUnmodelled}).
 *
 * @example
 * ```ts
 * const served = await serveEndpoints(() => readHost('host.json'));
 * console.log(served.endpoints); // [{ name: 'winrm-https', host: '127.0.0.1', port: 40123 }, …]
 * await served.close();
 * ```
 */
export async function serveEndpoints(read: () => Promise<SimHostState>, options: { clock?: Clock; where?: string } = {}): Promise<ServedEndpoints> {
  const host = await read();
  if (host.endpoints?.length) refuseUnmodelled(host, options.where ?? `simulated host ${host.name}`);
  const { key, cert } = await selfSigned();
  const contexts = new Map<number, SecureContext>();
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const endpoints: TlsEndpoint[] = [];
  for (const endpoint of host.endpoints ?? []) {
    const server = createServer((socket) => {
      socket.unref();
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      void answer(socket);
    });
    async function answer(socket: Socket): Promise<void> {
      let now: SimHostState;
      try {
        now = await read();
      } catch {
        socket.destroy();
        return;
      }
      const at = options.clock?.now() ?? Date.now();
      // Restarting: nothing answers (the client's handshake times out).
      if (now.down && at < Date.parse(now.down.until)) return;
      // Back up, though no call has seen it yet: it answers as booted.
      if (now.down) boot(now, now.down.until);
      const served = serverAnswer(now, key, cert, contexts);
      // A default the document stopped stating after serving began: no answer (inconclusive), no guess.
      if (served.status === 'unmodelled') return;
      if (served.status === 'closed') {
        socket.destroy();
        return;
      }
      const tls = new TLSSocket(socket, { isServer: true, secureContext: served.context });
      tls.on('error', () => socket.destroy());
      tls.once('secure', () => {
        tls.end(`HTTP/1.1 200 OK\r\nContent-Length: ${endpoint.name.length}\r\nConnection: close\r\n\r\n${endpoint.name}`);
      });
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    // Serving never keeps a process alive by itself: `runbook sim serve` waits for its signal instead.
    server.unref();
    servers.push(server);
    const address = server.address();
    endpoints.push({ name: endpoint.name, host: '127.0.0.1', port: typeof address === 'object' && address ? address.port : 0 });
  }
  return {
    endpoints,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
