/**
 * `windows/winhttp-tls`: DefaultSecureProtocols=0x800 in both registry views on the builds KB3140245
 * is for (Windows Server 2012, 2008 R2 SP1) in tls12-only mode — check, apply, again, rollback —
 * and nothing anywhere else.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostOf, makeHost, registryText, runToEnd, single } from '../helpers.js';
import type { SimHostState } from '../../src/index.js';

const WINHTTP = 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp';
const WOW = 'SOFTWARE\\Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp';
const as2012 = (h: SimHostState) => {
  h.os = { ...h.os, caption: 'Microsoft Windows Server 2012 Standard', version: '6.2.9200', build: 9200 };
};
const runbook = single('windows/winhttp-tls');

test('Windows Server 2012: check mode shows both views, apply sets 0x800, again changes nothing', async () => {
  const file = await makeHost('server-2012r2', as2012);
  const before = await registryText(file);
  const plan = await runToEnd(file, { runbook, checkMode: true });
  const planned = plan.result.steps[0].changes as { target: string; field: string; after: unknown }[];
  // The simulated host has no WinHttp key (nor some of its parents): the plan lists the keys it creates.
  assert.ok(planned.filter((c) => c.field === '(key)').every((c) => c.after === 'created' && /^HKLM\\SOFTWARE\\Microsoft\\Windows/.test(c.target)));
  assert.equal(planned.filter((c) => c.field !== '(key)').map((c) => [c.target, c.field, c.after]), [
    [`HKLM\\${WINHTTP} (64-bit view)`, 'DefaultSecureProtocols', '0x00000800 (2048)'],
    [`HKLM\\${WINHTTP} (32-bit view)`, 'DefaultSecureProtocols', '0x00000800 (2048)'],
  ]);
  assert.match(plan.result.steps[0].summary, /KB3140245 is not among the updates Windows lists/);
  assert.is(await registryText(file), before, 'check mode changes nothing');

  const { result } = await runToEnd(file, { runbook });
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  assert.is((result.steps[0].output as { rebootRequired: boolean }).rebootRequired, true, 'a changed DefaultSecureProtocols takes effect after a restart (winhttp.default-secure-protocols-restart)');
  const host = await hostOf(file);
  assert.equal(host.registry[WINHTTP]?.DefaultSecureProtocols, { type: 'REG_DWORD', data: 0x800 });
  assert.equal(host.registry[WOW]?.DefaultSecureProtocols, { type: 'REG_DWORD', data: 0x800 });

  const again = await runToEnd(file, { runbook });
  assert.equal(again.result.steps[0].changes, []);
  assert.is((again.result.steps[0].output as { rebootRequired: boolean }).rebootRequired, false, 'nothing written, no restart owed');
});

test('Windows Server 2008 R2 SP1 with KB3140245 installed: set; when a later step fails, the rollback removes the values and the keys it created', async () => {
  const file = await makeHost('server-2012r2', (h) => {
    h.os = { ...h.os, caption: 'Microsoft Windows Server 2008 R2 Standard', version: '6.1.7601', build: 7601, servicePack: 1 };
    h.hotfixes.push('KB3140245');
    // What fails the later step: a service that exists and does not run (an absent one would not).
    h.services.orunbook = { state: 'stopped', startType: 'disabled' };
  });
  const before = await registryText(file);
  const failing = {
    name: 'w',
    steps: [
      { id: 'winhttp', uses: 'windows/winhttp-tls' },
      { id: 'fails', uses: 'orchestrator/ip-verify', with: { services: ['orunbook'] } },
    ],
  };
  const { result } = await runToEnd(file, { runbook: failing as never });
  assert.is(result.status, 'rolled-back');
  assert.match(result.steps[0].summary, /KB3140245 installed/);
  assert.equal((result.steps[0].changes as { field: string }[]).filter((c) => c.field !== '(key)').map((c) => c.field), ['DefaultSecureProtocols', 'DefaultSecureProtocols']);
  assert.is(await registryText(file), before, 'the WinHttp values and keys the step created are gone');
});

test('a build KB3140245 is not for, or tls12-incoming-only: nothing to do, and the plan says why', async () => {
  const plan = await runToEnd(await makeHost('server-2016'), { runbook, checkMode: true });
  assert.equal(plan.result.steps[0].changes, []);
  assert.match(plan.result.steps[0].summary, /not needed: KB3140245 is for Windows Server 2012 and 2008 R2 SP1, not build 14393/);
  const incoming = await runToEnd(await makeHost('server-2012r2', as2012), { runbook: single('windows/winhttp-tls', { mode: 'tls12-incoming-only' }), checkMode: true });
  assert.equal(incoming.result.steps[0].changes, []);
  assert.match(incoming.result.steps[0].summary, /client TLS 1\.0 stays on/);
});

test.run();
