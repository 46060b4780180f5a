/**
 * The simulated host's TLS endpoints answer handshakes as the real host would: the server-side
 * protocols read at its last boot, Windows' defaults where the registry says nothing, silence while it
 * restarts — and openssl s_client agrees with the engine's prober.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPreset, createSimulatedExecutor, VirtualClock, writeHost, type HostOp } from '../../src/index.js';
import { probeEndpoint } from '../../src/tls/prober.js';
import { hostOf, makeHost } from '../helpers.js';
import { needOpenssl, sClient } from '../tls/openssl.js';

const outcomes = (vs: { protocol: string; outcome: string }[]) => Object.fromEntries(vs.map((v) => [v.protocol, v.outcome]));
const SERVER = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';
const disable = (p: string): HostOp => ({ op: 'registry.set', view: '64', key: `${SERVER}\\${p}\\Server`, name: 'Enabled', value: { type: 'REG_DWORD', data: 0 } });

test('a fresh host answers with Windows defaults: Server 2016 TLS 1.0-1.2 (no 1.3), Server 2022 also TLS 1.3', async () => {
  for (const [preset, tls13] of [['server-2016', 'refused'], ['server-2022', 'accepted']] as const) {
    const executor = await createSimulatedExecutor(await makeHost(preset));
    try {
      const endpoints = await executor.tlsEndpoints!();
      assert.equal(endpoints.map((e) => e.name), ['winrm-https', 'orchestrator-web-service']);
      assert.equal(outcomes(await probeEndpoint(endpoints[0])), { 'TLS 1.0': 'accepted', 'TLS 1.1': 'accepted', 'TLS 1.2': 'accepted', 'TLS 1.3': tls13 });
    } finally {
      await executor.close();
    }
  }
});

test('TLS 1.3 is served only where the facts say Windows has it: Enabled=1 on Server 2019 gives no TLS 1.3, on Server 2025 it does', async () => {
  const enable13: HostOp[] = ['Enabled', 'DisabledByDefault'].map((name) => ({ op: 'registry.set', view: '64', key: `${SERVER}\\TLS 1.3\\Server`, name, value: { type: 'REG_DWORD', data: name === 'Enabled' ? 1 : 0 } }));
  for (const [preset, tls13] of [['server-2019', 'refused'], ['server-2025', 'accepted']] as const) {
    const clock = new VirtualClock();
    const executor = await createSimulatedExecutor(await makeHost(preset), { clock });
    try {
      const [endpoint] = await executor.tlsEndpoints!();
      await executor.run(enable13);
      const [boot] = await executor.run([{ op: 'boot.time' }]);
      await executor.run([{ op: 'restart', delaySeconds: 0, reason: 't', ifBootTime: (boot as { bootTime: string }).bootTime }]);
      clock.advance(60_000);
      const [v] = await probeEndpoint(endpoint, ['TLS 1.3']);
      assert.is(v.outcome, tls13, `${preset}: ${v.evidence}`);
    } finally {
      await executor.close();
    }
  }
});

test('values written leave the running services as they were until the restart; after it the old versions are refused; while it restarts nothing is proven', async () => {
  const clock = new VirtualClock();
  const executor = await createSimulatedExecutor(await makeHost('server-2016'), { clock });
  try {
    const [endpoint] = await executor.tlsEndpoints!();
    await executor.run([disable('TLS 1.0'), disable('TLS 1.1')]);
    assert.is(outcomes(await probeEndpoint(endpoint, ['TLS 1.0']))['TLS 1.0'], 'accepted', "the services keep the credential handles they acquired at boot (Microsoft: 'a service restart may be required')");
    const [boot] = await executor.run([{ op: 'boot.time' }]);
    await executor.run([{ op: 'restart', delaySeconds: 0, reason: 't', ifBootTime: (boot as { bootTime: string }).bootTime }]);
    const [down] = await probeEndpoint(endpoint, ['TLS 1.0'], { timeoutMs: 300 });
    assert.is(down.outcome, 'inconclusive', 'a restarting host is not a hardened one');
    clock.advance(60_000);
    assert.equal(outcomes(await probeEndpoint(endpoint)), { 'TLS 1.0': 'refused', 'TLS 1.1': 'refused', 'TLS 1.2': 'accepted', 'TLS 1.3': 'refused' });
  } finally {
    await executor.close();
  }
});

test('a server side with DisabledByDefault=1 is refused after the boot: services that use the system defaults do not negotiate it', async () => {
  const clock = new VirtualClock();
  const executor = await createSimulatedExecutor(await makeHost('server-2016'), { clock });
  try {
    const [endpoint] = await executor.tlsEndpoints!();
    const dbd = (p: string): HostOp => ({ op: 'registry.set', view: '64', key: `${SERVER}\\${p}\\Server`, name: 'DisabledByDefault', value: { type: 'REG_DWORD', data: 1 } });
    // TLS 1.0: disabled by default only; TLS 1.1: Enabled=1 but disabled by default.
    await executor.run([dbd('TLS 1.0'), { op: 'registry.set', view: '64', key: `${SERVER}\\TLS 1.1\\Server`, name: 'Enabled', value: { type: 'REG_DWORD', data: 1 } }, dbd('TLS 1.1')]);
    const [effect] = await executor.run([{ op: 'tls.inEffect' }]);
    const protocols = (effect as { protocols: Record<string, { Server: boolean | null }> }).protocols;
    assert.equal([protocols['TLS 1.0'].Server, protocols['TLS 1.1'].Server], [false, false], 'the engine sees what the side negotiates');
    const [boot] = await executor.run([{ op: 'boot.time' }]);
    await executor.run([{ op: 'restart', delaySeconds: 0, reason: 't', ifBootTime: (boot as { bootTime: string }).bootTime }]);
    clock.advance(60_000);
    assert.equal(outcomes(await probeEndpoint(endpoint, ['TLS 1.0', 'TLS 1.1', 'TLS 1.2'])), { 'TLS 1.0': 'refused', 'TLS 1.1': 'refused', 'TLS 1.2': 'accepted' });
  } finally {
    await executor.close();
  }
});

test("where Microsoft's documents disagree (TLS 1.0/1.1 from Server 2022), the simulated host follows its own document's schannelDefaults", async () => {
  const executor = await createSimulatedExecutor(
    await makeHost('server-2022', (h) => {
      h.schannelDefaults = { 'TLS 1.0': { Server: false }, 'TLS 1.1': { Server: false } };
    }),
  );
  try {
    const [endpoint] = await executor.tlsEndpoints!();
    assert.equal(outcomes(await probeEndpoint(endpoint)), { 'TLS 1.0': 'refused', 'TLS 1.1': 'refused', 'TLS 1.2': 'accepted', 'TLS 1.3': 'accepted' });
  } finally {
    await executor.close();
  }
});

test('server-2025 answers as its stated assumption: TLS 1.0 and 1.1 refused, TLS 1.2 and 1.3 accepted (the facts leave them open; the simulator once took Server 2022\'s row and accepted 1.0 and 1.1)', async () => {
  const executor = await createSimulatedExecutor(await makeHost('server-2025'));
  try {
    for (const endpoint of await executor.tlsEndpoints!()) {
      assert.equal(outcomes(await probeEndpoint(endpoint)), { 'TLS 1.0': 'refused', 'TLS 1.1': 'refused', 'TLS 1.2': 'accepted', 'TLS 1.3': 'accepted' }, endpoint.name);
    }
  } finally {
    await executor.close();
  }
});

test('a host document whose build leaves a served default open and that states none is not served: the error names each default, its fact and what to write', async () => {
  for (const [preset, open] of [
    ['server-2025', ['TLS 1.0 Server on build 26100 (schannel.tls10-tls11-default-from-2022, disputed)', 'TLS 1.1 Server on build 26100 (schannel.tls10-tls11-default-from-2022, disputed)', 'TLS 1.3 Server on build 26100 (schannel.protocol-defaults, unknown)']],
    ['server-2022', ['TLS 1.0 Server on build 20348 (schannel.tls10-tls11-default-from-2022, disputed)', 'TLS 1.1 Server on build 20348 (schannel.tls10-tls11-default-from-2022, disputed)']],
  ] as const) {
    const file = await makeHost(preset, (h) => void delete h.schannelDefaults);
    const executor = await createSimulatedExecutor(file);
    try {
      const error = await executor.tlsEndpoints!().then(() => null, (e: Error) => e);
      assert.ok(error, `${preset}: refused`);
      assert.match(error!.message, /^the simulated host cannot serve its TLS endpoints: Windows' default for /);
      for (const line of open) assert.ok(error!.message.includes(line), `${preset}: ${line}`);
      assert.match(error!.message, /schannelDefaults/);
      assert.ok(error!.message.includes(`sim:${file}`), 'names the file');
      // Stated, it is served.
      await writeHost(file, { ...(await hostOf(file)), schannelDefaults: createPreset(preset).schannelDefaults });
      assert.is((await executor.tlsEndpoints!()).length, 2, `${preset}: served once stated`);
    } finally {
      await executor.close();
    }
  }
});

test('a default the document stops stating while it is served is not guessed: the handshake gets no answer (inconclusive), never accepted', async () => {
  const file = await makeHost('server-2025');
  const executor = await createSimulatedExecutor(file);
  try {
    const [endpoint] = await executor.tlsEndpoints!();
    await writeHost(file, { ...(await hostOf(file)), schannelDefaults: undefined });
    const [v] = await probeEndpoint(endpoint, ['TLS 1.2'], { timeoutMs: 300 });
    assert.is(v.outcome, 'inconclusive', v.evidence);
  } finally {
    await executor.close();
  }
});

if (needOpenssl('test/simulator/endpoints.test.ts')) {
  test('openssl s_client gives the same answers as the prober', async () => {
    const clock = new VirtualClock();
    const executor = await createSimulatedExecutor(await makeHost('server-2016'), { clock });
    try {
      const [endpoint] = await executor.tlsEndpoints!();
      await executor.run([disable('TLS 1.0')]);
      const [boot] = await executor.run([{ op: 'boot.time' }]);
      await executor.run([{ op: 'restart', delaySeconds: 0, reason: 't', ifBootTime: (boot as { bootTime: string }).bootTime }]);
      clock.advance(60_000);
      const ours = outcomes(await probeEndpoint(endpoint, ['TLS 1.0', 'TLS 1.1', 'TLS 1.2']));
      const theirs = {
        'TLS 1.0': await sClient(endpoint.port, '-tls1'),
        'TLS 1.1': await sClient(endpoint.port, '-tls1_1'),
        'TLS 1.2': await sClient(endpoint.port, '-tls1_2'),
      };
      assert.equal(theirs, { 'TLS 1.0': 'refused', 'TLS 1.1': 'accepted TLSv1.1', 'TLS 1.2': 'accepted TLSv1.2' });
      assert.equal(ours, { 'TLS 1.0': 'refused', 'TLS 1.1': 'accepted', 'TLS 1.2': 'accepted' });
    } finally {
      await executor.close();
    }
  });
}

test.run();
