/**
 * Every step kind: check mode reports a change and alters nothing; apply changes it; a second apply
 * reports no change (Ansible's check → apply → again).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import type { RunbookDefinition, SimHostState } from '../../src/index.js';
import { hostOf, makeHost, runToEnd, single, thirtyTwoBit } from '../helpers.js';

interface Case {
  name: string;
  preset: string;
  tweak?: (h: SimHostState) => void;
  runbook: RunbookDefinition;
  stepId: string;
  expectChanges: number;
  /** What apply must have done to the host. */
  applied: (host: SimHostState) => void;
}

const SCH = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';
const NET = 'SOFTWARE\\Microsoft\\.NETFramework';
const WOW = 'SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework';

const cases: Case[] = [
  {
    name: 'windows/schannel',
    preset: 'server-2016',
    runbook: single('windows/schannel', { mode: 'tls12-only' }),
    stepId: 'only',
    // Two values per protocol and side: a fresh preset has none (no fact says Windows ships one); and
    // the 15 keys they create (each protocol's key, its Client and its Server).
    expectChanges: 35,
    applied: (h) => {
      assert.equal(h.registry[`${SCH}\\TLS 1.2\\Server`], { DisabledByDefault: { type: 'REG_DWORD', data: 0 }, Enabled: { type: 'REG_DWORD', data: 1 } });
      assert.equal(h.registry[`${SCH}\\TLS 1.0\\Client`], { DisabledByDefault: { type: 'REG_DWORD', data: 1 }, Enabled: { type: 'REG_DWORD', data: 0 } });
    },
  },
  {
    name: 'windows/dotnet-tls on a 64-bit host, current revision (SchUseStrongCrypto in both v4 keys, then four SystemDefaultTlsVersions)',
    preset: 'server-2016',
    runbook: single('windows/dotnet-tls'),
    stepId: 'only',
    expectChanges: 6,
    applied: (h) => {
      for (const root of [NET, WOW]) {
        for (const v of ['v2.0.50727', 'v4.0.30319']) assert.equal(h.registry[`${root}\\${v}`].SystemDefaultTlsVersions, { type: 'REG_DWORD', data: 1 });
        assert.equal(h.registry[`${root}\\v4.0.30319`].SchUseStrongCrypto, { type: 'REG_DWORD', data: 1 });
        assert.not.ok('SchUseStrongCrypto' in h.registry[`${root}\\v2.0.50727`], 'neither revision asks for it under v2.0.50727');
      }
    },
  },
  {
    name: 'windows/dotnet-tls on a 64-bit host, 2019 revision (four keys, SystemDefaultTlsVersions only)',
    preset: 'server-2016',
    runbook: single('windows/dotnet-tls', { procedure: '2019' }),
    stepId: 'only',
    expectChanges: 4,
    applied: (h) => {
      for (const root of [NET, WOW]) {
        for (const v of ['v2.0.50727', 'v4.0.30319']) assert.equal(h.registry[`${root}\\${v}`], { SystemDefaultTlsVersions: { type: 'REG_DWORD', data: 1 } });
      }
    },
  },
  {
    name: 'windows/dotnet-tls on a 32-bit host (two keys)',
    preset: 'server-2019',
    tweak: thirtyTwoBit,
    runbook: single('windows/dotnet-tls', { strongCrypto: true }),
    stepId: 'only',
    expectChanges: 4,
    applied: (h) => {
      for (const v of ['v2.0.50727', 'v4.0.30319']) {
        assert.equal(h.registry[`${NET}\\${v}`], { SchUseStrongCrypto: { type: 'REG_DWORD', data: 1 }, SystemDefaultTlsVersions: { type: 'REG_DWORD', data: 1 } });
      }
    },
  },
  {
    name: 'orchestrator/ip-verify',
    preset: 'server-2016',
    runbook: single('orchestrator/ip-verify'),
    stepId: 'only',
    expectChanges: 1,
    applied: (h) => assert.equal(h.registry[`${WOW}\\v4.0.30319`].SystemDefaultTlsVersions, { type: 'REG_DWORD', data: 1 }),
  },
  {
    name: 'windows/registry-backup',
    preset: 'server-2016',
    runbook: {
      name: 'backup-then-schannel',
      steps: [
        { id: 'backup', uses: 'windows/registry-backup', with: { keys: [{ key: SCH, views: ['64'] }] } },
        { id: 'schannel', uses: 'windows/schannel' },
      ],
    },
    stepId: 'backup',
    expectChanges: 1,
    applied: (h) => {
      const files = Object.entries(h.files);
      assert.is(files.length, 1);
      assert.match(files[0][1], /^Windows Registry Editor Version 5\.00/);
    },
  },
  {
    name: 'windows/restart',
    preset: 'server-2016',
    runbook: {
      name: 'schannel-then-restart',
      steps: [
        { id: 'schannel', uses: 'windows/schannel' },
        { id: 'restart', uses: 'windows/restart', with: { pollIntervalMs: 10 } },
      ],
    },
    stepId: 'restart',
    expectChanges: 1,
    applied: (h) => {
      assert.is(h.restarts, 1);
      assert.is(h.inEffect['TLS 1.0'].Server, false);
    },
  },
];

for (const c of cases) {
  test(`${c.name}: check reports a change and alters nothing; apply changes it; again changes nothing`, async () => {
    const file = await makeHost(c.preset, c.tweak);
    const before = await readFile(file, 'utf8');

    const check = await runToEnd(file, { runbook: c.runbook, checkMode: true });
    assert.is(check.result.status, 'planned');
    const planned = check.result.steps.find((s) => s.id === c.stepId)!;
    assert.is(planned.status, 'planned');
    assert.is(planned.changes.length, c.expectChanges);
    assert.is(await readFile(file, 'utf8'), before, 'check mode left the host file as it was');

    const apply = await runToEnd(file, { runbook: c.runbook });
    assert.is(apply.result.status, 'succeeded', JSON.stringify(apply.result.error));
    const applied = apply.result.steps.find((s) => s.id === c.stepId)!;
    assert.is(applied.status, 'succeeded');
    assert.is(applied.changes.length, c.expectChanges);
    c.applied(await hostOf(file));

    const again = await runToEnd(file, { runbook: c.runbook });
    assert.is(again.result.status, 'succeeded');
    const second = again.result.steps.find((s) => s.id === c.stepId)!;
    assert.is(second.changes.length, 0);
    assert.ok(['skipped', 'succeeded'].includes(second.status));
    if (c.name === 'windows/restart') assert.is((await hostOf(file)).restarts, 1, 'no second restart');
  });
}

test('orchestrator/preflight and windows/hotfix-verify are read-only and pass on a supported host', async () => {
  const file = await makeHost('server-2012r2');
  const before = await readFile(file, 'utf8');
  const runbook: RunbookDefinition = {
    name: 'checks',
    steps: [
      { id: 'preflight', uses: 'orchestrator/preflight' },
      { id: 'hotfix', uses: 'windows/hotfix-verify' },
    ],
  };
  for (const checkMode of [true, false]) {
    const { result } = await runToEnd(file, { runbook, checkMode });
    assert.is(result.status, checkMode ? 'planned' : 'succeeded');
    assert.ok(result.steps.every((s) => s.changes.length === 0));
  }
  assert.is(await readFile(file, 'utf8'), before);
});

test.run();
