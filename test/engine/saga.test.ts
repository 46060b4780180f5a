/**
 * The saga: a failure injected at each step of the bundled runbook rolls the registry back byte for
 * byte; every undo runs even when one fails; an operator can roll back a finished run.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSimulatedExecutor, loadRunbook, writeHost, type SimHostState } from '../../src/index.js';
import { FAST, hostOf, kinds, makeHost, newRunner, registryText, restartRefused, runToEnd, tempDir } from '../helpers.js';

const failures: [string, (h: SimHostState) => void, string][] = [
  ['preflight', (h) => void (h.sqlInstances = [{ name: 'MSSQLSERVER', version: '10.50.6000.34' }]), 'PREFLIGHT_FAILED'],
  ['backup', (h) => void h.faults.push({ op: 'registry.export', keyContains: '.NETFramework', kind: 'permanent', times: 1 }), 'EXECUTOR'],
  ['schannel', (h) => void h.faults.push({ op: 'registry.set', keyContains: 'TLS 1.1', kind: 'permanent', times: 1 }), 'EXECUTOR'],
  ['dotnet', (h) => void h.faults.push({ op: 'registry.set', keyContains: 'v4.0.30319', kind: 'permanent', times: 1 }), 'EXECUTOR'],
  ['restart', (h) => void h.faults.push({ op: 'restart', kind: 'permanent', times: 1 }), 'EXECUTOR'],
  ['ip-verify', (h) => void (h.services.oremoting.startType = 'manual'), 'IP_VERIFY_FAILED'],
];

for (const [stepId, inject, code] of failures) {
  test(`a failure at ${stepId} rolls the registry back byte for byte`, async () => {
    const file = await makeHost('server-2016', inject);
    const before = await registryText(file);
    const { result } = await runToEnd(file);
    assert.is(result.status, 'rolled-back', JSON.stringify(result.error));
    assert.is(result.error?.code, code);
    const failed = result.steps.findIndex((s) => s.id === stepId);
    assert.ok(result.steps.slice(0, failed + 1).every((s) => s.status === 'compensated'), JSON.stringify(result.steps.map((s) => s.status)));
    assert.ok(result.steps.slice(failed + 1).every((s) => s.status === 'pending'));
    assert.is(await registryText(file), before);
  });
}

test('every undo is attempted when one fails, and the run needs an operator', async () => {
  const file = await makeHost('server-2016', restartRefused);
  const runner = newRunner(await tempDir());
  const executor = await createSimulatedExecutor(file);
  const run = runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: FAST });
  run.events.on('step:settled', async (e) => {
    if (e.stepId !== 'hotfix') return;
    // Make the undo of the .NET values fail for good, after the step failed.
    const host = await hostOf(file);
    host.faults.push({ op: 'registry.deleteValue', keyContains: 'v2.0.50727', kind: 'permanent', times: 99 });
    await writeHost(file, host);
  });
  const result = await run.result;
  assert.is(result.status, 'rollback-failed');
  assert.is(result.error?.code, 'EXECUTOR', 'the original error is reported first');
  assert.match(result.error!.message, /fault on restart/);
  const dotnet = result.steps.find((s) => s.id === 'dotnet')!;
  const schannel = result.steps.find((s) => s.id === 'schannel')!;
  assert.is(dotnet.status, 'compensation-failed');
  assert.match(dotnet.compensation!.detail, /undo\(s\) failed/);
  assert.is(schannel.status, 'compensated', 'the undo after the failed one still ran');
  const host = await hostOf(file);
  assert.is(host.registry['SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2'], undefined);
  // The .NET 4 values (not faulted) were restored even inside the failing step.
  assert.is(host.registry['SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319'].SystemDefaultTlsVersions, undefined);
});

test('an operator can roll back a succeeded run exactly, restart included', async () => {
  const file = await makeHost('server-2016');
  const before = await registryText(file);
  const stateDir = await tempDir();
  const { result, runner, executor } = await runToEnd(file, { stateDir });
  assert.is(result.status, 'succeeded');
  const rolled = await (await runner.rollback(result.runId, { executor })).result;
  assert.is(rolled.status, 'rolled-back');
  assert.is(await registryText(file), before);
  assert.is((await hostOf(file)).restarts, 2);
  // Rolled back already: a second rollback has nothing to do — its result again, the target untouched.
  const again = await (await runner.rollback(result.runId, { executor })).result;
  assert.is(again.status, 'rolled-back');
  assert.is(again.outcome, 'rolled-back-on-request');
  assert.is(await registryText(file), before);
  assert.is((await hostOf(file)).restarts, 2);
});

test('cancelling a run compensates what was done and ends cancelled', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.latencyMs = 30;
  });
  const before = await registryText(file);
  const runner = newRunner(await tempDir());
  const run = runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(file), params: FAST });
  run.events.on('step:settled', (e) => {
    if (e.stepId === 'schannel') run.cancel();
  });
  const result = await run.result;
  assert.is(result.status, 'cancelled');
  assert.is(await registryText(file), before);
});

/** Permanent faults on every registry write under keys containing one of `where`: the undos there fail. */
function undosRefused(host: SimHostState, where: string[]): void {
  for (const keyContains of where) for (const op of ['registry.set', 'registry.deleteValue', 'registry.deleteKey'] as const) host.faults.push({ op, keyContains, kind: 'permanent', times: 1000 });
}

test('a rollback retried after its undos failed restarts again so that the values it restored take effect', async () => {
  const file = await makeHost('server-2016');
  const before = await registryText(file);
  const { result, runner, executor } = await runToEnd(file);
  assert.is(result.status, 'succeeded');
  assert.is((await hostOf(file)).restarts, 1);
  const faulted = await hostOf(file);
  undosRefused(faulted, ['SCHANNEL', '.NETFramework']);
  await writeHost(file, faulted);
  const failed = await (await runner.rollback(result.runId, { executor })).result;
  assert.is(failed.status, 'rollback-failed');
  assert.is(failed.steps.find((s) => s.id === 'schannel')!.status, 'compensation-failed');
  // Nothing restored needed a restart in this attempt (the WinHTTP values do not count without one? they do):
  const first = await hostOf(file);
  const restartsAfterFirst = first.restarts;
  first.faults = [];
  await writeHost(file, first);
  const retried = await (await runner.rollback(result.runId, { executor })).result;
  assert.is(retried.status, 'rolled-back', JSON.stringify(retried.error));
  assert.equal(retried.remaining ?? [], []);
  assert.is(await registryText(file), before, 'the registry as it was before the run');
  const restart = retried.steps.find((s) => s.id === 'restart')!;
  assert.match(restart.compensation!.detail, /restarted again so that the restored values take effect/);
  assert.is((await hostOf(file)).restarts, restartsAfterFirst + 1, 'restarted once more for the values this retry restored');
});

test('a rollback retried after its undos failed does not restart when the retry restores nothing', async () => {
  const file = await makeHost('server-2016');
  const original = await hostOf(file);
  const { result, runner, executor } = await runToEnd(file);
  assert.is(result.status, 'succeeded');
  const ran = await hostOf(file);
  undosRefused(ran, ['.NETFramework']);
  await writeHost(file, ran);
  const failed = await (await runner.rollback(result.runId, { executor })).result;
  assert.is(failed.status, 'rollback-failed');
  assert.is(failed.steps.find((s) => s.id === 'dotnet')!.status, 'compensation-failed');
  // Someone set the .NET values the run changed since: the retry keeps them and restores nothing.
  const first = await hostOf(file);
  const restarts = first.restarts;
  assert.is(restarts, 2, 'the first attempt restarted for the SCHANNEL values it restored');
  first.faults = [];
  const set: [string, string][] = [];
  for (const [key, values] of Object.entries(first.registry)) {
    if (!key.includes('.NETFramework')) continue;
    for (const name of Object.keys(values)) {
      if (JSON.stringify(values[name]) === JSON.stringify(original.registry[key]?.[name])) continue;
      values[name] = { type: 'REG_DWORD', data: 0x80 };
      set.push([key, name]);
    }
  }
  assert.ok(set.length > 0);
  await writeHost(file, first);
  const retried = await (await runner.rollback(result.runId, { executor })).result;
  assert.is(retried.status, 'rolled-back', JSON.stringify(retried.error));
  assert.match(retried.steps.find((s) => s.id === 'restart')!.compensation!.detail, /no undo restored a value that needs another/);
  const after = await hostOf(file);
  assert.is(after.restarts, restarts, 'not restarted: nothing restored');
  for (const [key, name] of set) assert.equal(after.registry[key][name], { type: 'REG_DWORD', data: 0x80 }, 'kept');
});

test.run();
