/**
 * The bundled runbook on simulated-host presets: the scenarios of the reference procedure.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSimulatedExecutor, loadRunbook, writeHost, type RunResult } from '../../src/index.js';
import { PROCEDURE_ORDER, PROCEDURE_PAGES } from '../../src/windows/facts/procedure.js';
import { FAST, hostOf, kinds, makeHost, newRunner, registryText, restartRefused, runToEnd, readRegFile, tempDir } from '../helpers.js';

const SCH = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';
const WOW4 = 'SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v4.0.30319';
const NET = 'SOFTWARE\\Microsoft\\.NETFramework';
const WOW = 'SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework';

/** The kinds of the steps that ran, in order, restricted to those the procedure orders. */
function procedureOrder(result: RunResult, revision: 'current' | '2019'): string[] {
  const ordered = PROCEDURE_ORDER.value[revision];
  return result.steps.map((s) => s.kind).filter((k) => ordered.includes(k));
}
const dword = (data: number) => ({ type: 'REG_DWORD' as const, data });

function step(result: RunResult, id: string) {
  return result.steps.find((s) => s.id === id)!;
}

test('fresh Server 2016 x64: succeeds with one restart in at most 8 round trips', async () => {
  const file = await makeHost('server-2016');
  const { result, runner } = await runToEnd(file);
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  const host = await hostOf(file);
  assert.is(host.restarts, 1);
  assert.ok(result.roundTrips <= 8, `round trips ${result.roundTrips}`);
  assert.ok(result.pollRoundTrips >= 1);
  assert.equal(host.registry[`${SCH}\\TLS 1.2\\Client`], { DisabledByDefault: dword(0), Enabled: dword(1) });
  assert.equal(host.registry[`${SCH}\\SSL 3.0\\Server`], { DisabledByDefault: dword(1), Enabled: dword(0) });
  assert.equal(host.registry[WOW4].SystemDefaultTlsVersions, dword(1));
  assert.is(host.inEffect['TLS 1.1'].Client, false, 'protocols in effect changed at the boot');
  assert.is(result.backups.length, 3);
  // Named among the run's files (backups/<file>), in its folder of the state directory.
  assert.is(result.filesAt, runner.runDir(result.runId));
  for (const b of result.backups) assert.match(await readRegFile(join(runner.runDir(result.runId), b)), /^Windows Registry Editor Version 5\.00/);
  assert.is(Object.keys(host.files).length, 3, 'the .reg files are on the target too');
});

test(`by default the runbook follows Microsoft's current page (${PROCEDURE_PAGES.value.current.msDate}): .NET before SCHANNEL, SchUseStrongCrypto=1 under v4.0.30319 in both views`, async () => {
  const file = await makeHost('server-2016');
  const { result } = await runToEnd(file);
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  assert.equal(procedureOrder(result, 'current'), PROCEDURE_ORDER.value.current);
  assert.ok(result.steps.findIndex((s) => s.id === 'dotnet') < result.steps.findIndex((s) => s.id === 'schannel'), '.NET first');
  const host = await hostOf(file);
  for (const root of [NET, WOW]) {
    assert.equal(host.registry[`${root}\\v4.0.30319`].SchUseStrongCrypto, dword(1), `${root} v4`);
    assert.not.ok('SchUseStrongCrypto' in host.registry[`${root}\\v2.0.50727`], `${root} v2.0: neither revision asks for it`);
  }
  assert.equal(step(result, 'dotnet').changes.slice(0, 2).map((c) => [c.target, c.field]), [
    [`HKLM\\${NET}\\v4.0.30319 (64-bit view)`, 'SchUseStrongCrypto'],
    [`HKLM\\${NET}\\v4.0.30319 (32-bit view)`, 'SchUseStrongCrypto'],
  ], 'strong crypto first, native key then WOW6432Node, as the page does');
  assert.ok(result.roundTrips <= 8, `round trips ${result.roundTrips}`);
});

test('procedure=2019 keeps the 2019 order and values: SCHANNEL first, then SystemDefaultTlsVersions only', async () => {
  const file = await makeHost('server-2016');
  const { result } = await runToEnd(file, { params: { ...FAST, procedure: '2019' } });
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  assert.equal(procedureOrder(result, '2019'), PROCEDURE_ORDER.value['2019']);
  assert.equal(result.steps.map((s) => s.id), ['preflight', 'tls-baseline', 'backup', 'schannel', 'winhttp', 'dotnet', 'hotfix', 'restart', 'ip-verify', 'tls-verify']);
  assert.is(step(result, 'dotnet').changes.length, 4);
  const host = await hostOf(file);
  for (const root of [NET, WOW]) {
    for (const v of ['v2.0.50727', 'v4.0.30319']) assert.equal(host.registry[`${root}\\${v}`], { SystemDefaultTlsVersions: dword(1) }, `${root} ${v}`);
  }
  assert.ok(result.roundTrips <= 8, `round trips ${result.roundTrips}`);
});

test('a run that follows the 2019 revision resumes with the 2019 steps (the selection is made again from the journaled parameters)', async () => {
  const file = await makeHost('server-2016');
  const { result, runner, executor } = await runToEnd(file, { params: { ...FAST, procedure: '2019', allowRestart: false } });
  assert.is(result.status, 'awaiting-resume');
  const resumed = await (await runner.resume(result.runId, { executor, overrides: { allowRestart: true } })).result;
  assert.is(resumed.status, 'succeeded', JSON.stringify(resumed.error));
  assert.equal(procedureOrder(resumed, '2019'), PROCEDURE_ORDER.value['2019']);
  assert.not.ok('SchUseStrongCrypto' in (await hostOf(file)).registry[WOW4]);
});

test('a server made compliant by the 2019 revision owes the current one only SchUseStrongCrypto (a plan shows the two values)', async () => {
  const file = await makeHost('server-2016');
  await runToEnd(file, { params: { ...FAST, procedure: '2019' } });
  const { result } = await runToEnd(file, { checkMode: true });
  assert.is(result.status, 'planned');
  assert.equal(step(result, 'dotnet').changes.map((c) => c.field), ['SchUseStrongCrypto', 'SchUseStrongCrypto']);
  assert.equal(step(result, 'schannel').changes, []);
});

test('Server 2012 R2 x64 with KB3154520 listed succeeds: the hotfix step names the update as its evidence', async () => {
  const { result } = await runToEnd(await makeHost('server-2012r2'));
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  assert.match(step(result, 'hotfix').summary, /Windows Server 2012 R2: KB3154520 installed/);
  assert.equal((step(result, 'hotfix').output as { by: string }).by, 'update');
});

test('Server 2016, 2019, 2022 and 2025 succeed without KB3156421: in the box on 2016 and 2019, unknown (warned) on 2022 and 2025, which no sentence covers', async () => {
  for (const [preset, by] of [['server-2016', 'in-the-box'], ['server-2019', 'in-the-box'], ['server-2022', 'no-evidence'], ['server-2025', 'no-evidence']]) {
    const { result } = await runToEnd(await makeHost(preset));
    assert.is(result.status, 'succeeded', `${preset}: ${JSON.stringify(result.error)}`);
    assert.equal((step(result, 'hotfix').output as { by: string }).by, by, preset);
  }
});

test('a 2012 R2 whose updates prove nothing is warned about, not refused; a superseding KB given as a parameter settles it', async () => {
  const file = await makeHost('server-2012r2-no-hotfix', (h) => void (h.hotfixes = ['KB4041085']));
  const warned = await runToEnd(file);
  assert.is(warned.result.status, 'succeeded', JSON.stringify(warned.result.error));
  assert.match(step(warned.result, 'preflight').summary, /not settled by any document \(onUnknown=warn\): .*dotnet35-tls: none of KB3154520 is listed/);
  assert.ok((step(warned.result, 'preflight').output as { unknowns: string[] }).unknowns.some((u) => u.startsWith('dotnet35-tls:')));
  assert.match(step(warned.result, 'hotfix').summary, /unknown/);
  const { result } = await runToEnd(await makeHost('server-2012r2-no-hotfix', (h) => void (h.hotfixes = ['KB4041085'])), { params: { ...FAST, hotfixSupersededBy: 'KB4041085' } });
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  assert.match(step(result, 'hotfix').summary, /KB4041085 installed/);
});

test('32-bit Windows is refused at preflight: Orchestrator\'s server roles are x64 only', async () => {
  const file = await makeHost('server-2019', (h) => void (h.os = { ...h.os, architecture: '32-bit' }));
  const before = await readFile(file, 'utf8');
  const { result } = await runToEnd(file);
  assert.is(result.error?.code, 'PREFLIGHT_FAILED');
  assert.match(result.error!.message, /os-architecture: .* is 32-bit — Orchestrator's server roles need 64-bit Windows Server/);
  assert.is(await readFile(file, 'utf8'), before);
});

test('onUnknown=refuse stops a server whose .NET 3.5 evidence is silent at preflight, before anything is written', async () => {
  const file = await makeHost('server-2012r2-no-hotfix');
  const before = await readFile(file, 'utf8');
  const { result } = await runToEnd(file, { params: { ...FAST, onUnknown: 'refuse' } });
  assert.is(result.status, 'rolled-back');
  assert.is(result.error?.code, 'PREFLIGHT_FAILED');
  assert.match(result.error!.message, /prerequisite\(s\) no document settles \(onUnknown=refuse\):\n(.*\n)*    - dotnet35-tls: none of KB3154520 is listed/);
  assert.match(result.error!.message, /or install KB3154520/);
  assert.is(result.roundTrips, 1);
  assert.is(await readFile(file, 'utf8'), before, 'nothing written, not even a key time');
  assert.equal(result.steps.map((s) => s.status), ['compensated', ...Array(9).fill('pending')]);
});

test('SQL Server versions as the registry reports them (service pack in the minor number) are judged by their build', async () => {
  for (const version of ['12.2.5000.0', '12.3.6024.0', '11.4.7001.0', '13.2.5026.0']) {
    const { result } = await runToEnd(await makeHost('server-2016', (h) => void (h.sqlInstances = [{ name: 'MSSQLSERVER', version }])));
    assert.is(result.status, 'succeeded', `${version}: ${result.error?.message}`);
  }
  const { result } = await runToEnd(await makeHost('server-2016', (h) => void (h.sqlInstances = [{ name: 'MSSQLSERVER', version: '12.1.4100.1' }])));
  assert.match(result.error!.message, /SQL Server 2014 SP1 GDR line build 12\.1\.4100\.1 \(12\.0\.4100\.1\) is older than 12\.0\.4219\.0/);
});

test('the SQL Server client is shown with its version and never passes silently: no document gives its TLS 1.2 build', async () => {
  const oledbOnly = await runToEnd(await makeHost('server-2022'));
  assert.is(oledbOnly.result.status, 'succeeded', JSON.stringify(oledbOnly.result.error));
  const out = step(oledbOnly.result, 'preflight').output as { nativeClient: string[]; unknowns: string[] };
  assert.equal(out.nativeClient, ['Microsoft OLE DB Driver 18 for SQL Server 18.6.5.0']);
  assert.ok(out.unknowns.some((u) => /^sql-client: Microsoft OLE DB Driver 18 for SQL Server 18\.6\.5\.0 found/.test(u)), out.unknowns.join('\n'));
  const none = await runToEnd(await makeHost('server-2022', (h) => void delete h.registry['SOFTWARE\\Microsoft\\MSOLEDBSQL']), { params: { ...FAST, onUnknown: 'refuse' } });
  assert.match(none.result.error!.message, /sql-client: none of .* has an InstalledVersion .* make sure Microsoft OLE DB Driver for SQL Server v18 is installed/);
});

test('Orchestrator 2016 on Windows Server 2008 R2 cannot exist: refused at preflight', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.os = { ...h.os, caption: 'Microsoft Windows Server 2008 R2 Enterprise', version: '6.1.7601', build: 7601, servicePack: 1 };
  });
  const before = await readFile(file, 'utf8');
  const { result } = await runToEnd(file);
  assert.is(result.error?.code, 'PREFLIGHT_FAILED');
  assert.match(result.error!.message, /orchestrator-os: Orchestrator 2016 on Windows Server 2008 R2 .* supports Windows Server 2012 R2 and Windows Server 2016 only/);
  assert.is(await readFile(file, 'utf8'), before);
});

test('SQL Server 2008 R2: refused at preflight with nothing written', async () => {
  const file = await makeHost('server-2016-sql2008r2');
  const before = await readFile(file, 'utf8');
  const { result } = await runToEnd(file);
  assert.is(result.status, 'rolled-back');
  assert.is(result.error?.code, 'PREFLIGHT_FAILED');
  assert.match(result.error!.message, /orchestrator-sql: Orchestrator 2016 on SQL Server 2008 R2 \(10\.53\.6000\.34\)/);
  assert.match(result.error!.message, /sql-tls12: SQL Server 2008 R2 SP3 build 10\.53\.6000\.34 \(10\.50\.6000\.34\) is older than 10\.50\.6542\.0/);
  assert.is(await readFile(file, 'utf8'), before, 'the host file is untouched');
  assert.is(result.roundTrips, 1);
});

test('an Orchestrator 2016 whose Update Rollup the server cannot tell is shown as unknown until the operator states it', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.orchestrator.updateRollup = -1;
  });
  const refused = await runToEnd(file, { params: { ...FAST, onUnknown: 'refuse' } });
  assert.is(refused.result.status, 'rolled-back');
  assert.match(refused.result.error!.message, /pass --param orchestratorUpdateRollup=<n>/);
  const stated = await runToEnd(file, { params: { ...FAST, orchestratorUpdateRollup: 4, onUnknown: 'refuse' } });
  assert.not.match(stated.result.error?.message ?? '', /orchestrator-release/);
});

test('already compliant: the second run writes nothing, does not restart, and takes at most 4 round trips', async () => {
  const file = await makeHost('server-2016');
  await runToEnd(file);
  const before = await readFile(file, 'utf8');
  const { result } = await runToEnd(file);
  assert.is(result.status, 'succeeded');
  assert.ok(result.roundTrips <= 4, `round trips ${result.roundTrips}`);
  assert.is(await readFile(file, 'utf8'), before, 'nothing written');
  assert.is(step(result, 'restart').status, 'skipped');
  assert.is(step(result, 'backup').status, 'skipped');
});

test('Enabled=0xFFFFFFFF counts as enabled; a REG_SZ value is rewritten as DWORD and restored with its old type', async () => {
  const file = await makeHost('server-2016', (h) => {
    restartRefused(h);
    h.registry[`${SCH}\\TLS 1.2`] = {};
    h.registry[`${SCH}\\TLS 1.2\\Server`] = { Enabled: dword(0xffffffff), DisabledByDefault: dword(0) };
    h.registry[`${SCH}\\TLS 1.2\\Client`] = { Enabled: { type: 'REG_SZ', data: '1' } as never };
  });
  const before = await registryText(file);
  const runner = newRunner(await tempDir());
  const executor = await createSimulatedExecutor(file);
  const run = runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: FAST });
  let sawRetype = false;
  run.events.on('step:settled', async (e) => {
    if (e.stepId !== 'schannel') return;
    assert.not.ok(e.changes.some((c) => c.target.includes('TLS 1.2\\Server')), '0xFFFFFFFF left as it is');
    sawRetype = e.changes.some((c) => c.target.includes('TLS 1.2\\Client') && c.field === 'Enabled' && c.type === 'REG_SZ → REG_DWORD');
  });
  const result = await run.result;
  assert.ok(sawRetype);
  assert.is(result.status, 'rolled-back');
  assert.is(await registryText(file), before, 'REG_SZ "1" is back with its type');
});

test('the Integration Pack value deleted again during the reboot is fixed and reported', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.bootActions = [{ op: 'registry.deleteValue', view: '32', key: 'SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319', name: 'SystemDefaultTlsVersions' }];
  });
  const { result } = await runToEnd(file);
  assert.is(result.status, 'succeeded');
  const ip = step(result, 'ip-verify');
  assert.is(ip.changes.length, 1);
  assert.equal((ip.output as { fixed: boolean }).fixed, true);
  assert.match(ip.summary, /KB4494803/);
  assert.equal((await hostOf(file)).registry[WOW4].SystemDefaultTlsVersions, dword(1));
  assert.ok(result.roundTrips <= 9, `round trips ${result.roundTrips}`);
});

test('restart owed is decided by the marker, not key times: a Group Policy refresh after the run does not restart a compliant host', async () => {
  const file = await makeHost('server-2016');
  const first = await runToEnd(file);
  assert.is(first.result.status, 'succeeded');
  const host = await hostOf(file);
  assert.not.ok('SOFTWARE\\runbook-engine' in host.registry, 'the marker and its key are gone after the restart');
  // Group Policy rewrites the SCHANNEL keys every 90 minutes: their last-write times move past the boot.
  for (const key of Object.keys(host.keyTimes)) if (key.includes('SCHANNEL')) host.keyTimes[key] = new Date(Date.now() + 60_000).toISOString();
  await writeHost(file, host);
  const again = await runToEnd(file);
  assert.is(again.result.status, 'succeeded');
  assert.is(step(again.result, 'restart').status, 'skipped');
  assert.is((await hostOf(file)).restarts, 1, 'not restarted again');
});

test('a run waiting for a restart window leaves the marker: a later run owes the restart and clears it', async () => {
  const file = await makeHost('server-2016');
  const waiting = await runToEnd(file, { params: { ...FAST, allowRestart: false } });
  assert.is(waiting.result.status, 'awaiting-resume');
  assert.match(String((await hostOf(file)).registry['SOFTWARE\\runbook-engine'].RestartOwed.data), new RegExp(`owed by run ${waiting.result.runId}`));
  const later = await runToEnd(file);
  assert.is(later.result.status, 'succeeded');
  assert.match(step(later.result, 'restart').summary, /restarted/);
  assert.is((await hostOf(file)).restarts, 1);
  assert.not.ok('SOFTWARE\\runbook-engine' in (await hostOf(file)).registry);
});

test('a transient fault during the SCHANNEL write is retried and the run succeeds', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.faults = [{ op: 'registry.set', keyContains: 'TLS 1.1', kind: 'transient', times: 2 }];
  });
  const { result, runner } = await runToEnd(file);
  assert.is(result.status, 'succeeded');
  assert.is(step(result, 'schannel').retries, 2);
  const journal = await readFile(`${runner.runDir(result.runId)}/journal.jsonl`, 'utf8');
  assert.is(journal.split('\n').filter((l) => l.includes('"type":"step.attempt"')).length, 2);
});

test('retries counts the retries, not the attempts: a fault that outlasts them is 3 retries of 4 attempts', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.faults = [{ op: 'registry.set', keyContains: 'TLS 1.1', kind: 'transient', times: 10 }];
  });
  const { result } = await runToEnd(file);
  assert.is(result.status, 'rolled-back');
  assert.is(step(result, 'schannel').retries, 3);
});

test('protocol keys the runbook does not manage (TLS 1.3) are left alone', async () => {
  const file = await makeHost('server-2019', (h) => {
    h.registry[`${SCH}\\TLS 1.3`] = {};
    h.registry[`${SCH}\\TLS 1.3\\Server`] = { Enabled: dword(1), DisabledByDefault: dword(0) };
  });
  const { result } = await runToEnd(file);
  assert.is(result.status, 'succeeded');
  assert.equal((await hostOf(file)).registry[`${SCH}\\TLS 1.3\\Server`], { Enabled: dword(1), DisabledByDefault: dword(0) });
});

test("the document's NOTE mode keeps outgoing TLS 1.0 and 1.1", async () => {
  const file = await makeHost('server-2016');
  const { result } = await runToEnd(file, { params: { mode: 'tls12-incoming-only' } });
  assert.is(result.status, 'succeeded');
  const host = await hostOf(file);
  assert.equal(host.registry[`${SCH}\\TLS 1.0\\Client`], { DisabledByDefault: dword(0), Enabled: dword(1) });
  assert.equal(host.registry[`${SCH}\\TLS 1.0\\Server`], { DisabledByDefault: dword(1), Enabled: dword(0) });
});

test('allowRestart=false ends awaiting a restart window; a resume that allows it completes the run', async () => {
  const file = await makeHost('server-2016');
  const stateDir = await tempDir();
  const { result, runner, executor } = await runToEnd(file, { stateDir, params: { allowRestart: false } });
  assert.is(result.status, 'awaiting-resume');
  assert.match(result.reason!, /restart window/);
  assert.is((await hostOf(file)).restarts, 0);
  const resumed = await (await runner.resume(result.runId, { executor, overrides: { allowRestart: true } })).result;
  assert.is(resumed.status, 'succeeded');
  assert.is((await hostOf(file)).restarts, 1);
});

test('on the target itself: exits awaiting resume, the start-up task resumes the run and is removed', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.onTarget = true;
  });
  const stateDir = await tempDir();
  const { result, runner, clock } = await runToEnd(file, { stateDir });
  assert.is(result.status, 'awaiting-resume');
  const tasks = (await hostOf(file)).startupTasks;
  const [name, command] = Object.entries(tasks)[0];
  assert.is(name, `runbook-resume-${result.runId}`);
  assert.equal(command, ['runbook', 'resume', result.runId, '--state-dir', stateDir]);
  clock!.advance(80); // the simulated boot
  const resumed = await (await runner.resume(result.runId, { executor: await createSimulatedExecutor(file, { clock }) })).result;
  assert.is(resumed.status, 'succeeded', JSON.stringify(resumed.error));
  assert.equal((await hostOf(file)).startupTasks, {});
  assert.is((await hostOf(file)).restarts, 1);
});

test('a failure after the restart restores the values and restarts again', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.services.orunbook.startType = 'disabled';
  });
  const before = await registryText(file);
  const { result } = await runToEnd(file);
  assert.is(result.status, 'rolled-back');
  assert.is(result.error?.code, 'IP_VERIFY_FAILED');
  assert.match(result.error!.message, /service orunbook is stopped/);
  const host = await hostOf(file);
  assert.is(await registryText(file), before);
  assert.is(host.restarts, 2, 'the rollback restarted so that the restored values take effect');
  assert.is(host.inEffect['TLS 1.0'].Server, null);
  assert.match(step(result, 'restart').compensation!.detail, /restarted again/);
});

test('on the target itself, a rollback after the restart also resumes through a start-up task', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.onTarget = true;
    h.services.orunbook.startType = 'disabled';
  });
  const before = await registryText(file);
  const stateDir = await tempDir();
  const { result, runner, clock } = await runToEnd(file, { stateDir });
  assert.is(result.status, 'awaiting-resume');
  let current = result;
  for (let i = 0; i < 3 && current.status === 'awaiting-resume'; i++) {
    assert.equal(Object.keys((await hostOf(file)).startupTasks), [`runbook-resume-${result.runId}`]);
    clock!.advance(80);
    current = await (await runner.resume(result.runId, { executor: await createSimulatedExecutor(file, { clock }) })).result;
  }
  assert.is(current.status, 'rolled-back', JSON.stringify(current.error));
  assert.is(await registryText(file), before);
  assert.is((await hostOf(file)).restarts, 2);
  assert.equal((await hostOf(file)).startupTasks, {});
});

test.run();

test('tls13=enabled on Server 2016 is refused at preflight as a parameter (PARAMETER_REFUSED), naming the fact and its source; nothing is written', async () => {
  for (const preset of ['server-2016', 'server-2019', 'server-2012r2']) {
    const file = await makeHost(preset);
    const before = await readFile(file, 'utf8');
    const { result } = await runToEnd(file, { params: { ...FAST, tls13: 'enabled' } });
    assert.is(result.status, 'rolled-back', preset);
    assert.is(result.error?.code, 'PARAMETER_REFUSED', preset);
    assert.match(result.error!.message, /1 parameter\(s\) impossible on this host:\n\s+- param-tls13: parameter tls13=enabled is impossible here: .*no TLS 1\.3.*fact schannel\.tls13-first-build \("Protocols in TLS\/SSL \(Schannel SSP\)", https:/);
    assert.equal(result.steps.filter((s) => s.changes.length > 0).map((s) => s.id), [], preset);
    assert.is(await readFile(file, 'utf8'), before, `${preset}: the host is unchanged`);
  }
});

test('tls13=disabled on Server 2016 is harmless (the host has no TLS 1.3) and the run succeeds; tls13=enabled on Server 2022 succeeds', async () => {
  const { result } = await runToEnd(await makeHost('server-2016'), { params: { ...FAST, tls13: 'disabled' } });
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  const enabled = await runToEnd(await makeHost('server-2022'), { params: { ...FAST, tls13: 'enabled' } });
  assert.is(enabled.result.status, 'succeeded', JSON.stringify(enabled.result.error));
});
