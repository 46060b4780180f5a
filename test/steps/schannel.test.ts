/**
 * TLS 1.3 is reported and left alone unless a parameter manages it; `default` removes a protocol's
 * values so that Windows' own default applies; an `Enabled` of 0xFFFFFFFF is reported, and rewritten to
 * 1 only when asked.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FAST, hostOf, makeHost, registryText, restartRefused, runToEnd, single } from '../helpers.js';
import * as z from '../../src/util/zod.js';
import { schannelParams, schannelWrites } from '../../src/steps/schannel.js';
import { PROCEDURE_SCHANNEL, PROCEDURE_SCHANNEL_INCOMING_ONLY } from '../../src/windows/facts/procedure.js';

const SCH = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';
const step = (result: { steps: { id: string; summary: string; output: unknown; changes: unknown[] }[] }, id: string) => result.steps.find((s) => s.id === id)!;

test('Server 2022: TLS 1.3 is reported in the plan and the result, and left alone', async () => {
  const file = await makeHost('server-2022');
  const plan = await runToEnd(file, { checkMode: true });
  assert.match(step(plan.result, 'schannel').summary, /TLS 1\.3 left alone \(on, on by default on this Windows\)/);
  const { result } = await runToEnd(file);
  assert.is(result.status, 'succeeded');
  assert.match(step(result, 'schannel').summary, /TLS 1\.3 left alone/);
  assert.equal((step(result, 'schannel').output as { tls13: { inEffect: unknown } }).tls13.inEffect, { Client: true, Server: true });
  assert.not.ok(Object.keys((await hostOf(file)).registry).some((k) => k.includes('TLS 1.3')), 'no TLS 1.3 key written');
});

test('Server 2016: TLS 1.3 is reported as not supported', async () => {
  const plan = await runToEnd(await makeHost('server-2016'), { checkMode: true });
  assert.match(step(plan.result, 'schannel').summary, /TLS 1\.3 left alone \(off, not supported before Windows Server 2022\)/);
});

test('tls13=disabled manages it on both sides, and a rollback removes what it wrote', async () => {
  const file = await makeHost('server-2022', restartRefused);
  const before = await registryText(file);
  const { result } = await runToEnd(file, { params: { ...FAST, tls13: 'disabled' } });
  assert.is(result.status, 'rolled-back');
  const planned = step(result, 'schannel').changes as { target: string; field: string; after: unknown }[];
  assert.ok(planned.some((c) => c.target.includes('TLS 1.3\\Server') && c.field === 'Enabled' && c.after === '0x00000000 (0)'));
  assert.is(await registryText(file), before);
  const done = await runToEnd(await makeHost('server-2022'), { params: { ...FAST, tls13: 'disabled' } });
  assert.is(done.result.status, 'succeeded');
});

test('a protocol set to default has its values removed; again, nothing to do; the rollback restores them', async () => {
  // A DisabledByDefault=1 written earlier (by an administrator or a tool), with no Enabled value.
  const file = await makeHost('server-2016', (h) => {
    h.registry[`${SCH}\\SSL 2.0`] = {};
    h.registry[`${SCH}\\SSL 2.0\\Client`] = { DisabledByDefault: { type: 'REG_DWORD', data: 1 } };
  });
  const runbook = single('windows/schannel', { protocols: { 'SSL 2.0': { Client: 'default' } } });
  const first = await runToEnd(file, { runbook });
  assert.is(first.result.status, 'succeeded', JSON.stringify(first.result.error));
  const removed = (first.result.steps[0].changes as { target: string; field: string; action: string }[]).filter((c) => c.target.includes('SSL 2.0\\Client'));
  assert.equal(removed.map((c) => c.action), ['delete'], 'the DisabledByDefault=1 goes; Enabled was absent already');
  assert.equal((await hostOf(file)).registry[`${SCH}\\SSL 2.0\\Client`], {});
  const again = await runToEnd(file, { runbook });
  assert.not.ok((again.result.steps[0].changes as { target: string }[]).some((c) => c.target.includes('SSL 2.0\\Client')), 'nothing left to change there');
});

const FFFF = (h: Parameters<NonNullable<Parameters<typeof makeHost>[1]>>[0]) => {
  h.registry[`${SCH}\\TLS 1.2`] = {};
  for (const side of ['Client', 'Server']) h.registry[`${SCH}\\TLS 1.2\\${side}`] = { Enabled: { type: 'REG_DWORD', data: 0xffffffff }, DisabledByDefault: { type: 'REG_DWORD', data: 0 } };
};

test('Enabled=0xFFFFFFFF on TLS 1.2 is left alone (Windows takes it as enabled) and reported in the plan and the result', async () => {
  const file = await makeHost('server-2016', FFFF);
  const runbook = single('windows/schannel');
  const plan = await runToEnd(file, { runbook, checkMode: true });
  assert.match(plan.result.steps[0].summary, /TLS 1\.2 Client Enabled=0xFFFFFFFF, TLS 1\.2 Server Enabled=0xFFFFFFFF: Windows takes it as enabled, but checks that want the literal 1 reject it \(normaliseEnabled: true rewrites it\)/);
  assert.not.ok((plan.result.steps[0].changes as { target: string }[]).some((c) => c.target.includes('TLS 1.2')), 'nothing to change on TLS 1.2');
  const { result } = await runToEnd(file, { runbook });
  assert.is(result.status, 'succeeded');
  assert.equal((await hostOf(file)).registry[`${SCH}\\TLS 1.2\\Server`].Enabled, { type: 'REG_DWORD', data: 0xffffffff });
});

test('normaliseEnabled rewrites 0xFFFFFFFF to 1, and a rollback puts 0xFFFFFFFF back', async () => {
  const runbook = single('windows/schannel', { normaliseEnabled: true });
  const file = await makeHost('server-2016', FFFF);
  const { result } = await runToEnd(file, { runbook });
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  const changes = result.steps[0].changes as { target: string; field: string; before: unknown; after: unknown }[];
  assert.ok(changes.some((c) => c.target.includes('TLS 1.2\\Server') && c.field === 'Enabled' && c.before === '0xffffffff (4294967295)' && c.after === '0x00000001 (1)'));
  assert.match(result.steps[0].summary, /rewritten to 1 \(normaliseEnabled\)/);
  assert.equal((await hostOf(file)).registry[`${SCH}\\TLS 1.2\\Server`].Enabled, { type: 'REG_DWORD', data: 1 });

  const refused = await makeHost('server-2016', (h) => {
    FFFF(h);
    restartRefused(h);
  });
  const before = await registryText(refused);
  const rolled = await runToEnd(refused, { params: { ...FAST, normaliseEnabled: true } });
  assert.is(rolled.result.status, 'rolled-back');
  assert.is(await registryText(refused), before, 'the prior 0xFFFFFFFF is back');
});

test('a build after the protocols table (Windows Server 2025): TLS 1.3 left alone is reported as not known from the registry, never assumed', async () => {
  const file = await makeHost('server-2022', (h) => {
    h.os = { ...h.os, caption: 'Microsoft Windows Server 2025 Datacenter', version: '10.0.26100', build: 26100 };
  });
  const plan = await runToEnd(file, { runbook: single('windows/schannel'), checkMode: true });
  assert.match(plan.result.steps[0].summary, /TLS 1\.3 left alone \(not known from the registry: no Microsoft document states its default on this Windows \(unknown\); the handshakes show it\)/);
});

test("a side handed back to Windows' default where Microsoft's documents disagree (TLS 1.0 on Server 2022) is named in the plan with the fact it could not settle", async () => {
  const runbook = single('windows/schannel', { protocols: { 'TLS 1.0': { Server: 'default' } } });
  const plan = await runToEnd(await makeHost('server-2022'), { runbook, checkMode: true });
  assert.match(plan.result.steps[0].summary, /TLS 1\.0 Server set to Windows' default, which no Microsoft document settles on this build \(disputed: schannel\.tls10-tls11-default-from-2022\): the handshakes show what it does/);
  const on2016 = await runToEnd(await makeHost('server-2016'), { runbook, checkMode: true });
  assert.not.match(on2016.result.steps[0].summary, /no Microsoft document settles/, 'stated on Server 2016');
});

/** Which sides a parameter set enables: `TLS 1.0 Client` for every side whose Enabled it sets to 1. */
function enabledSides(mode: 'tls12-only' | 'tls12-incoming-only'): string[] {
  return schannelWrites(z.parse(schannelParams, { mode }))
    .filter((w) => w.name === 'Enabled' && (w.desired as { data: number } | null)?.data === 1)
    .map((w) => w.key.split('\\').slice(-2).join(' '));
}

test('the protocols each mode turns on come from the facts: the script for tls12-only, the NOTE per side for tls12-incoming-only', () => {
  assert.equal(enabledSides('tls12-only'), ['TLS 1.2 Client', 'TLS 1.2 Server']);
  assert.equal(enabledSides('tls12-incoming-only'), ['TLS 1.0 Client', 'TLS 1.1 Client', 'TLS 1.2 Client', 'TLS 1.2 Server']);
  assert.match(PROCEDURE_SCHANNEL_INCOMING_ONLY.sources[0].quote, /enable the TLS 1\.2 protocol for incoming communications/);
});

test("a changed fact list changes the step's writes (no copy of the lists in the step)", () => {
  const client = PROCEDURE_SCHANNEL_INCOMING_ONLY.value.Client;
  const script = PROCEDURE_SCHANNEL.value;
  const saved = { clientOn: client.on, clientOff: client.off, on: script.on, off: script.off };
  try {
    // The NOTE without outgoing TLS 1.0: its Client side is written disabled.
    Object.assign(client, { on: ['TLS 1.1', 'TLS 1.2'], off: ['SSL 2.0', 'SSL 3.0', 'TLS 1.0'] });
    assert.equal(enabledSides('tls12-incoming-only'), ['TLS 1.1 Client', 'TLS 1.2 Client', 'TLS 1.2 Server']);
    // The script's list with TLS 1.1 on: both of its sides are written enabled.
    Object.assign(script, { on: ['TLS 1.1', 'TLS 1.2'], off: ['SSL 2.0', 'SSL 3.0', 'TLS 1.0'] });
    assert.equal(enabledSides('tls12-only'), ['TLS 1.1 Client', 'TLS 1.1 Server', 'TLS 1.2 Client', 'TLS 1.2 Server']);
  } finally {
    Object.assign(client, { on: saved.clientOn, off: saved.clientOff });
    Object.assign(script, { on: saved.on, off: saved.off });
  }
});

test.run();
