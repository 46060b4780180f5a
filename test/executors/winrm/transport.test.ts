/** The WinRM transport's pieces that need no WinRM server (the rest runs in test/executors/winrm.test.ts). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, X509Certificate } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import tls from 'node:tls';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutorError } from '../../../src/errors.js';
import { normaliseFingerprint, WinrmTransport } from '../../../src/executors/winrm/transport.js';
import { selfSigned } from '../../../src/simulator/endpoints.js';

test('fingerprints normalise to the form Node prints', () => {
  assert.is(normaliseFingerprint('sha256:' + 'ab'.repeat(32)), Array(32).fill('AB').join(':'));
  assert.is(normaliseFingerprint('ab'.repeat(32)), Array(32).fill('AB').join(':'));
  assert.throws(() => normaliseFingerprint('abc'), /64 hex digits/);
});

/** Listens on 127.0.0.1 until the test ends it; its sockets are destroyed with it. */
async function listen(server: Server): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One request over HTTPS (Basic, nothing sent before the handshake), and the error it ends with. */
async function failure(port: number, options: { fingerprint?: string; connectTimeoutMs?: number; firstAnswerTimeoutMs?: number; scheme?: 'http' | 'https'; createSocket?: () => Socket } = {}): Promise<ExecutorError> {
  const transport = new WinrmTransport({ scheme: options.scheme ?? 'https', host: '127.0.0.1', port, auth: 'basic', credentials: { user: 'admin', password: 'Secret-PW-123' }, where: `winrm+https://127.0.0.1:${port}`, ...options });
  try {
    await transport.post('<x/>');
    assert.unreachable('it should have failed');
    throw new Error('unreachable');
  } catch (error) {
    assert.instance(error, ExecutorError);
    return error as ExecutorError;
  } finally {
    transport.close();
  }
}

test('a pinned server that offers only TLS 1.0/1.1 fails as a TLS version mismatch, not as an untrusted certificate', async () => {
  const { key, cert } = await selfSigned();
  const fingerprint = createHash('sha256').update(new X509Certificate(cert).raw).digest('hex');
  const server = await listen(tls.createServer({ key, cert, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }));
  try {
    const error = await failure(server.port, { fingerprint });
    assert.is(error.kind, 'permanent');
    assert.match(error.message, /TLS handshake with the WinRM server failed: the server and this controller share no TLS protocol version or cipher suite/);
    assert.match(error.message, /alert protocol version/);
    assert.match(error.message, /SCHANNEL/);
    assert.not.match(error.message, /not trusted|pin its SHA-256/);
  } finally {
    await server.close();
  }
});

test('a server that resets the connection during the handshake (as Schannel does) is a transient reset that names TLS', async () => {
  const server = await listen(createServer((socket) => socket.once('data', () => socket.resetAndDestroy())));
  try {
    const error = await failure(server.port, { fingerprint: 'ab'.repeat(32) });
    assert.is(error.kind, 'reset');
    assert.ok(error.transient);
    assert.match(error.message, /reset the connection during the TLS handshake/);
    assert.match(error.message, /share no TLS protocol version or cipher suite/);
  } finally {
    await server.close();
  }
});

test('a self-signed certificate neither pinned nor from a CA given is still an untrusted certificate', async () => {
  const { key, cert } = await selfSigned();
  const server = await listen(tls.createServer({ key, cert }));
  try {
    const error = await failure(server.port);
    assert.is(error.kind, 'permanent');
    assert.match(error.message, /certificate is not trusted/);
    assert.match(error.message, /RUNBOOK_WINRM_FINGERPRINT/);
  } finally {
    await server.close();
  }
});

test('a certificate for other names, from a CA given, says to connect by one of its names (not to give the CA); a self-signed one says it is its own CA', async () => {
  const { key, cert } = await selfSigned();
  const server = await listen(tls.createServer({ key, cert }));
  const dir = await mkdtemp(join(tmpdir(), 'rbe-winrm-ca-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, cert);
  // The target names orch01.contoso.com; the connection goes to the test server (its certificate: localhost, 127.0.0.1).
  const transport = new WinrmTransport({ scheme: 'https', host: 'orch01.contoso.com', port: server.port, auth: 'basic', credentials: { user: 'admin', password: 'Secret-PW-123' }, caFile, where: 'winrm+https://orch01.contoso.com:5986', createSocket: () => connect(server.port, '127.0.0.1') });
  try {
    const mismatch = await transport.post('<x/>').then(() => null, (e: unknown) => e as ExecutorError);
    if (!mismatch) return assert.unreachable('the handshake succeeded');
    assert.instance(mismatch, ExecutorError);
    assert.is(mismatch.kind, 'permanent');
    assert.ok(mismatch.message.startsWith("the WinRM server's certificate is not for the name connected to: Hostname/IP does not match certificate's altnames: Host: orch01.contoso.com."), mismatch.message);
    assert.match(mismatch.message, /DNS:localhost/, 'the names it carries');
    assert.match(mismatch.message, /\(winrm\+https:\/\/orch01\.contoso\.com:5986\)\n  → connect by a name the certificate carries/);
    assert.not.match(mismatch.message, /RUNBOOK_WINRM_CA_FILE|Secret-PW/, 'the CA is trusted already; no password');
    const selfSignedError = await failure(server.port);
    assert.match(selfSignedError.message, /^the WinRM server's certificate is not trusted: it is self-signed/);
    assert.match(selfSignedError.message, /a self-signed certificate is its own CA: give it, as a PEM file, with RUNBOOK_WINRM_CA_FILE/);
  } finally {
    transport.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a TLS handshake the listener never answers fails within connectTimeoutMs as unreachable (transient)', async () => {
  // Accepts the TCP connection and never answers the ClientHello.
  const server = await listen(createServer(() => undefined));
  try {
    const error = await failure(server.port, { fingerprint: 'ab'.repeat(32), connectTimeoutMs: 200 });
    assert.is(error.kind, 'unreachable');
    assert.ok(error.transient);
    assert.match(error.message, /no TLS connection to the WinRM listener \(TCP connected, the handshake unanswered\) within 200 ms/);
  } finally {
    await server.close();
  }
});

test('a TCP connection that is never made fails within connectTimeoutMs as unreachable (transient)', async () => {
  // A socket whose connection never completes (its name lookup never answers), as to a host that drops the SYN.
  const error = await failure(1, { scheme: 'http', connectTimeoutMs: 200, createSocket: () => connect({ host: 'winrm.invalid', port: 1, lookup: () => undefined }) });
  assert.is(error.kind, 'unreachable');
  assert.ok(error.transient);
  assert.match(error.message, /no TCP connection to the WinRM listener within 200 ms/);
});

test('a listener that accepts the connection and never answers fails within firstAnswerTimeoutMs as unreachable (transient), not at the call limit', async () => {
  // Accepts TCP (and reads the request) but never answers it, as a hung WinRM service or a proxy that cannot forward.
  const server = await listen(createServer((socket) => socket.resume()));
  try {
    const error = await failure(server.port, { scheme: 'http', firstAnswerTimeoutMs: 200 });
    assert.is(error.kind, 'unreachable');
    assert.ok(error.transient);
    assert.match(error.message, /^the WinRM listener accepted the connection but did not answer within 200 ms \(winrm\+https:\/\/127\.0\.0\.1:\d+\)\n  → check that the port is the WinRM listener/);
  } finally {
    await server.close();
  }
});

test.run();
