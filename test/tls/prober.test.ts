/**
 * The prober against independent peers: openssl s_server (TLS 1.2 only, TLS 1.0 only), a server that
 * closes every connection, one that never answers, and a port nobody listens on.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server, type Socket } from 'node:net';
import { parseEndpoint, probeEndpoint } from '../../src/tls/prober.js';
import { needOpenssl, sServer } from './openssl.js';

const outcomes = (vs: { protocol: string; outcome: string }[]) => Object.fromEntries(vs.map((v) => [v.protocol, v.outcome]));

async function tcpServer(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as { port: number }).port };
}

if (needOpenssl('test/tls/prober.test.ts')) {
  test('a TLS 1.2-only server: 1.0, 1.1 and 1.3 refused by its own alert, 1.2 accepted with its cipher', async () => {
    const peer = await sServer('-tls1_2');
    try {
      const verdicts = await probeEndpoint({ name: 's', host: '127.0.0.1', port: peer.port, servername: 'orch01.example.test' });
      assert.equal(outcomes(verdicts), { 'TLS 1.0': 'refused', 'TLS 1.1': 'refused', 'TLS 1.2': 'accepted', 'TLS 1.3': 'refused' });
      const v10 = verdicts.find((v) => v.protocol === 'TLS 1.0')!;
      assert.match(v10.evidence, /server alert: .*protocol version/);
      assert.equal(v10.handshakes.map((h) => h.sni), [false, true], 'with and without SNI');
      assert.match(verdicts.find((v) => v.protocol === 'TLS 1.2')!.evidence, /TLSv1\.2 \S+/);
    } finally {
      await peer.stop();
    }
  });

  test('a TLS 1.0-only server is seen accepting TLS 1.0: the prober offers it at security level 0', async () => {
    const peer = await sServer('-tls1');
    try {
      const verdicts = await probeEndpoint({ name: 's', host: '127.0.0.1', port: peer.port });
      assert.is(outcomes(verdicts)['TLS 1.0'], 'accepted');
      assert.is(outcomes(verdicts)['TLS 1.2'], 'refused');
    } finally {
      await peer.stop();
    }
  });

  test('a client that cannot offer TLS 1.0 itself is not counted as the server refusing it', async () => {
    const peer = await sServer('-tls1');
    try {
      // At OpenSSL's usual security level the client will not complete a TLS 1.0 handshake: a naive
      // scanner would call this server hardened.
      const [naive] = await probeEndpoint({ name: 's', host: '127.0.0.1', port: peer.port }, ['TLS 1.0'], { securityLevel: 2 });
      assert.is(naive.outcome, 'inconclusive', naive.evidence);
      assert.not.match(naive.evidence, /server alert/);
    } finally {
      await peer.stop();
    }
  });
}

test('a connection closed before the ServerHello is a refusal; silence and a closed port are inconclusive', async () => {
  const closing = await tcpServer((socket) => socket.once('data', () => socket.destroy()));
  const silent = await tcpServer(() => undefined);
  const nobody = await tcpServer(() => undefined);
  const nobodyPort = nobody.port;
  await new Promise<void>((resolve) => nobody.server.close(() => resolve()));
  try {
    const [closed] = await probeEndpoint({ name: 'c', host: '127.0.0.1', port: closing.port }, ['TLS 1.0']);
    assert.is(closed.outcome, 'refused');
    assert.match(closed.evidence, /closed by the server before its ServerHello/);
    const [quiet] = await probeEndpoint({ name: 'q', host: '127.0.0.1', port: silent.port }, ['TLS 1.2'], { timeoutMs: 300 });
    assert.is(quiet.outcome, 'inconclusive');
    assert.match(quiet.evidence, /no answer/);
    const [none] = await probeEndpoint({ name: 'n', host: '127.0.0.1', port: nobodyPort }, ['TLS 1.2']);
    assert.is(none.outcome, 'inconclusive');
    assert.match(none.evidence, /not reachable: ECONNREFUSED/);
  } finally {
    closing.server.close();
    silent.server.close();
    closing.server.unref();
    silent.server.unref();
  }
});

test('endpoints parse as host:port, [v6]:port or name=host:port; a DNS name is sent as SNI, an address never', () => {
  assert.equal(parseEndpoint('orch01.contoso.com:443'), { name: 'orch01.contoso.com:443', host: 'orch01.contoso.com', port: 443, servername: 'orch01.contoso.com' });
  assert.equal(parseEndpoint('web=10.0.0.5:81', 'orch01.contoso.com'), { name: 'web', host: '10.0.0.5', port: 81, servername: 'orch01.contoso.com' });
  assert.equal(parseEndpoint('[::1]:5986'), { name: '[::1]:5986', host: '::1', port: 5986 });
  assert.throws(() => parseEndpoint('orch01'), /is not host:port/);
  assert.throws(() => parseEndpoint('orch01:99999'), /is not host:port/);
});

test.run();
