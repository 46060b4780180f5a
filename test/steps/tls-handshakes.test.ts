/**
 * The handshake proof in the bundled runbook: a baseline before the changes, the proof after the
 * restart, a mismatch that fails (and rolls back) or warns, and nothing called proven that was not.
 */
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderReportMarkdown } from '../../src/engine/report.js';
import type { RunResult } from '../../src/index.js';
import { makeHost, registryText, runToEnd, single } from '../helpers.js';
import { expectations, tlsHandshakesParams } from '../../src/steps/tls-handshakes.js';

const step = (r: RunResult, id: string) => r.steps.find((s) => s.id === id)!;
const out = (r: RunResult, id: string) => step(r, id).output as { verdict: string; verdicts: { endpoint: string; protocol: string; outcome: string }[] };
const TLS10_SERVER = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Server';

test('a run proves by handshake that TLS 1.0 and 1.1 are refused after the restart and TLS 1.2 works', async () => {
  const { result } = await runToEnd(await makeHost('server-2016'));
  assert.is(result.status, 'succeeded');
  assert.is(out(result, 'tls-baseline').verdict, 'baseline');
  assert.ok(out(result, 'tls-baseline').verdicts.some((v) => v.protocol === 'TLS 1.0' && v.outcome === 'accepted'), 'before: accepted');
  assert.is(out(result, 'tls-verify').verdict, 'proven');
  assert.match(step(result, 'tls-verify').summary, /proven by handshake: TLS 1\.0, TLS 1\.1 refused, TLS 1\.2 accepted on 2 endpoint/);
  assert.is(step(result, 'tls-verify').roundTrips, 0, 'no call through the executor');
  assert.match(renderReportMarkdown(result), /\| winrm-https \| TLS 1\.0 \| accepted \(handshake completed: TLSv1 [^|]*\) \| refused \(server alert: [^|]*protocol version\) \|/);
});

test('the plan shows the handshakes as they are (the baseline) and changes nothing', async () => {
  const { result } = await runToEnd(await makeHost('server-2016'), { checkMode: true });
  assert.is(result.status, 'planned');
  assert.ok(out(result, 'tls-verify').verdicts.some((v) => v.protocol === 'TLS 1.0' && v.outcome === 'accepted'));
});

test('a server that still accepts TLS 1.0 after the restart fails the proof and the run rolls back; with warn it is reported', async () => {
  // Something on the host puts TLS 1.0 back while it restarts: Enabled=1 and DisabledByDefault=0 (with
  // DisabledByDefault=1 left, the services that use the system defaults would still not negotiate it).
  const enable = { op: 'registry.set', view: '64', key: TLS10_SERVER, name: 'Enabled', value: { type: 'REG_DWORD', data: 1 } } as const;
  const notByDefault = { op: 'registry.set', view: '64', key: TLS10_SERVER, name: 'DisabledByDefault', value: { type: 'REG_DWORD', data: 0 } } as const;
  const reenable = (h: Parameters<NonNullable<Parameters<typeof makeHost>[1]>>[0]) => void h.bootActions.push(enable, notByDefault);
  const file = await makeHost('server-2016', reenable);
  const before = await registryText(file);
  const { result } = await runToEnd(file);
  assert.is(result.status, 'rolled-back', JSON.stringify(result.error));
  assert.is(result.error?.code, 'VERIFY_FAILED');
  assert.match(result.error!.message, /TLS 1\.0: accepted, expected refused/);
  assert.is(await registryText(file), before);
  const warned = await runToEnd(await makeHost('server-2016', reenable), { params: { onTlsMismatch: 'warn' } });
  assert.is(warned.result.status, 'succeeded');
  assert.is(out(warned.result, 'tls-verify').verdict, 'mismatch');
  assert.match(step(warned.result, 'tls-verify').summary, /^warning: 2 mismatch/);
});

test('with no endpoint to probe nothing is called proven', async () => {
  const file = await makeHost('server-2016', (h) => void (h.endpoints = []));
  const { result } = await runToEnd(file, { runbook: single('tls/handshakes') });
  assert.is(result.status, 'succeeded');
  assert.is(out(result, 'only').verdict, 'inconclusive');
  assert.match(step(result, 'only').summary, /inconclusive: no TLS endpoint to probe/);
});

test('a plan observes each endpoint once: the verification reuses the baseline until something is written', async () => {
  // A server that closes every connection: each connection is one handshake, counted.
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const endpoints = `closer=127.0.0.1:${(server.address() as AddressInfo).port}`;
  const runbook = {
    name: 'baseline-then-verify',
    steps: [
      { id: 'before', uses: 'tls/handshakes', with: { role: 'baseline', endpoints } },
      { id: 'schannel', uses: 'windows/schannel', with: {} },
      { id: 'after', uses: 'tls/handshakes', with: { role: 'verify', endpoints, onMismatch: 'warn' } },
    ],
  } as const;
  try {
    const file = await makeHost('server-2016', (h) => void (h.endpoints = []));
    const planned = await runToEnd(file, { runbook: runbook as never, checkMode: true });
    assert.is(planned.result.status, 'planned', JSON.stringify(planned.result.error));
    assert.is(connections, 4, 'one handshake per protocol, for both steps');
    assert.equal(out(planned.result, 'after').verdicts, out(planned.result, 'before').verdicts);
    connections = 0;
    const applied = await runToEnd(file, { runbook: runbook as never });
    assert.is(applied.result.status, 'succeeded', JSON.stringify(applied.result.error));
    assert.is(connections, 8, 'the SCHANNEL write between them: the verification handshakes again');
  } finally {
    server.close();
  }
});

test('asConfigured: the server must do as the schannel step configured its server side (TLS 1.3 when managed), not the TLS 1.2 defaults', () => {
  const configured = (tls12Server: boolean, tls13: { managed: boolean; setting: string }) => ({
    protocols: { 'SSL 3.0': { Server: false }, 'TLS 1.0': { Server: false }, 'TLS 1.1': { Server: false }, 'TLS 1.2': { Server: tls12Server, Client: true } },
    tls13,
  });
  const of = (asConfigured: unknown) => expectations(tlsHandshakesParams.parse({ asConfigured }));
  assert.equal(of(configured(true, { managed: true, setting: 'enabled' })), { accept: ['TLS 1.2', 'TLS 1.3'], refuse: ['TLS 1.0', 'TLS 1.1'] });
  assert.equal(of(configured(false, { managed: true, setting: 'enabled' })), { accept: ['TLS 1.3'], refuse: ['TLS 1.0', 'TLS 1.1', 'TLS 1.2'] });
  assert.equal(of(configured(true, { managed: false, setting: 'leave' })), { accept: ['TLS 1.2'], refuse: ['TLS 1.0', 'TLS 1.1'] }, 'TLS 1.3 left alone: no expectation');
  assert.equal(of(undefined), { accept: ['TLS 1.2'], refuse: ['TLS 1.0', 'TLS 1.1'] }, 'without it: accept and refuse');
});

test('TLS 1.3 configured on a Windows without it (Server 2016) is a mismatch: the handshake shows it refused', async () => {
  const runbook = single('tls/handshakes', { role: 'verify', asConfigured: { protocols: { 'TLS 1.2': { Server: true } }, tls13: { managed: true, setting: 'enabled' } } });
  const { result } = await runToEnd(await makeHost('server-2016'), { runbook });
  assert.is(result.status, 'rolled-back');
  assert.match(JSON.stringify(step(result, 'only')), /TLS 1\.3: refused, expected accepted/);
});

test.run();
