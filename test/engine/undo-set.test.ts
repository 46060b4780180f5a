/**
 * What a run left, exactly (`src/engine/undo-set.ts`): `remaining`, `undo.reg` and `undo.ps1` list the
 * registry values the run wrote (or may have written) and the keys it created, not yet undone — checked
 * against the simulated host's registry as it is after the run; an undo touches only what the run
 * wrote, and a rollback whose undo failed is retried by `rollback` once the fault is gone.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSimulatedExecutor, loadRunbook, writeHost, type SimHostState } from '../../src/index.js';
import { VirtualClock } from '../../src/util/clock.js';
import { FAST, hostOf, kinds, makeHost, newRunner, readRegFile, registryText, runToEnd, tempDir } from '../helpers.js';

const SCH = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';

/** The values and keys of `after` that differ from `before`, as `key|name` and `key`. */
function registryDiff(before: SimHostState, after: SimHostState): { values: string[]; keysAdded: string[] } {
  const a = before.registry;
  const b = after.registry;
  const values: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    for (const name of new Set([...Object.keys(a[key] ?? {}), ...Object.keys(b[key] ?? {})])) {
      if (JSON.stringify(a[key]?.[name]) !== JSON.stringify(b[key]?.[name])) values.push(`${key}|${name}`);
    }
  }
  return { values: values.sort(), keysAdded: Object.keys(b).filter((k) => !(k in a)).sort() };
}

/** The data of `undo.ps1`: its values and created keys. */
async function undoData(file: string): Promise<{ values: { view: string; key: string; name: string; value: unknown; maybe?: boolean }[]; createdKeys: { key: string }[] }> {
  const text = await readFile(file, 'utf8');
  return JSON.parse(text.slice(text.indexOf("@'") + 2, text.indexOf("'@")));
}

const hkey = (target: string) => target.replace(/^HKLM\\/, '').replace(/ \((?:64|32)-bit view\)$/, '');

test('a compensation that fails on a value the run never wrote is not attempted: the run rolls back, the host is as before', async () => {
  // The SCHANNEL batch fails at its first op (nothing of it written); SSL 2.0\Client DisabledByDefault
  // is already 1 on this host: the undo wrote it anyway, failed, and listed 19 values as still changed.
  const file = await makeHost('server-2016', (h) => {
    h.faults.push({ op: 'restart', kind: 'permanent', times: 1 }, { op: 'registry.set', keyContains: 'SSL 2.0', kind: 'permanent', times: 50 });
  });
  const before = await registryText(file);
  const { result } = await runToEnd(file, { params: { ...FAST } });
  assert.is(result.status, 'rolled-back', result.reason);
  assert.is(result.error?.code, 'EXECUTOR');
  assert.is(result.steps.find((s) => s.id === 'schannel')!.status, 'compensated');
  assert.is(result.remaining, undefined);
  assert.is(result.undoFiles, undefined);
  assert.is(await registryText(file), before);
});

test('a rollback that failed on every key deletion lists exactly the keys left, and rollback retries it once the fault is gone', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.faults.push({ op: 'restart', kind: 'permanent', times: 1 }, { op: 'registry.deleteKey', kind: 'permanent', times: 50 });
  });
  const original = await hostOf(file);
  const stateDir = await tempDir();
  const { result, runner } = await runToEnd(file, { stateDir });
  assert.is(result.status, 'rollback-failed');
  const now = await hostOf(file);
  const diff = registryDiff(original, now);
  assert.equal(diff.values, [], 'every value was put back');
  // What is left: the keys the run created (every deletion failed), and the restart marker, whose
  // undo failed with its key's deletion: its value is listed as may-have-been.
  const keys = result.remaining!.filter((c) => c.field === '(key)');
  assert.equal(keys.map((c) => hkey(c.target)).sort(), diff.keysAdded);
  assert.ok(keys.every((c) => c.action === 'create' && c.after === 'created'));
  const values = result.remaining!.filter((c) => c.field !== '(key)');
  assert.equal(values.map((c) => [hkey(c.target), c.field, c.maybe]), [['SOFTWARE\\runbook-engine', 'RestartOwed', true]]);
  // The undo files hold the same, and nothing else.
  const data = await undoData(result.undoFiles!.powershell);
  assert.equal(data.values.map((v) => [v.key, v.name, v.value, v.maybe]), [['SOFTWARE\\runbook-engine', 'RestartOwed', null, true]]);
  assert.equal(data.createdKeys.map((k) => k.key).sort(), diff.keysAdded);
  const reg = await readRegFile(result.undoFiles!.reg);
  assert.equal(reg.split('\r\n').filter((l) => l.startsWith('"')), ['"RestartOwed"=-']);
  assert.not.match(reg, /\[-HKEY/);
  // The status shows the same as the report (recorded with the run's end).
  const reported = JSON.parse(await readFile(join(runner.runDir(result.runId), 'report.json'), 'utf8'));
  assert.equal(reported.remaining, result.remaining);
  // The fault cleared, `rollback` retries the undos that failed: the host is as it was.
  await writeHost(file, { ...now, faults: [] });
  const clock = new VirtualClock();
  const again = await (await newRunner(stateDir, clock).rollback(result.runId, { executor: await createSimulatedExecutor(file, { clock }) })).result;
  assert.is(again.status, 'rolled-back', again.reason);
  assert.equal(registryDiff(original, await hostOf(file)), { values: [], keysAdded: [] });
});

test("a succeeded run's undo files hold exactly the values it changed, not those it found already as required", async () => {
  // An administrator had already set SSL 2.0\Client DisabledByDefault=1, as the procedure wants it.
  const file = await makeHost('server-2016', (h) => {
    h.registry[`${SCH}\\SSL 2.0`] ??= {};
    h.registry[`${SCH}\\SSL 2.0\\Client`] = { DisabledByDefault: { type: 'REG_DWORD', data: 1 } };
  });
  const original = await hostOf(file);
  const { result } = await runToEnd(file);
  assert.is(result.status, 'succeeded');
  const diff = registryDiff(original, await hostOf(file));
  const data = await undoData(result.undoFiles!.powershell);
  const physical = (v: { view: string; key: string }) => (v.view === '32' ? v.key.replace(/^SOFTWARE\\/i, 'SOFTWARE\\Wow6432Node\\') : v.key);
  assert.equal(data.values.map((v) => `${physical(v)}|${v.name}`).sort(), diff.values);
  assert.equal(data.createdKeys.map((k) => k.key).sort(), diff.keysAdded);
  assert.ok(data.values.every((v) => !v.maybe));
  // SSL 2.0\Client DisabledByDefault was 1 before the run: the undo would overwrite a later change of it.
  const reg = await readRegFile(result.undoFiles!.reg);
  const client = reg.split('\r\n\r\n').find((block) => block.startsWith(`[HKEY_LOCAL_MACHINE\\${SCH}\\SSL 2.0\\Client]`));
  assert.equal(client?.split('\r\n'), [`[HKEY_LOCAL_MACHINE\\${SCH}\\SSL 2.0\\Client]`, '"Enabled"=-']);
});

test('a run interrupted during its backup changed no registry value: nothing is listed, no undo file is written', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.latencyMs = 5;
  });
  const runner = newRunner(await tempDir());
  const run = runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(file), params: FAST });
  run.events.on('step:transition', (e) => e.stepId === 'backup' && e.to === 'export' && run.interrupt());
  const result = await run.result;
  assert.is(result.status, 'awaiting-resume');
  assert.ok(['running', 'succeeded'].includes(result.steps.find((s) => s.id === 'backup')!.status));
  assert.is(result.steps.find((s) => s.id === 'dotnet')!.status, 'pending');
  // The old list: the three exports, and undo files restoring the 26 values the backup read.
  assert.equal(result.remaining, []);
  assert.is(result.undoFiles, undefined);
  assert.not.ok(existsSync(join(runner.runDir(run.id), 'undo.reg')));
});

test('a batch cut part-way: the writes without an answer are read before they are undone, and what is left is listed exactly, marked may-have-been', async () => {
  // The .NET batch fails at its first v2.0.50727 value (those before it were written, none after), and
  // every value deletion fails: the undo of the values it did write fails.
  const file = await makeHost('server-2016', (h) => {
    h.faults.push({ op: 'registry.set', keyContains: 'v2.0.50727', kind: 'permanent', times: 50 }, { op: 'registry.deleteValue', kind: 'permanent', times: 50 });
  });
  const original = await hostOf(file);
  const { result } = await runToEnd(file);
  assert.is(result.status, 'rollback-failed');
  assert.is(result.steps.find((s) => s.id === 'dotnet')!.status, 'compensation-failed');
  const diff = registryDiff(original, await hostOf(file));
  assert.ok(diff.values.length > 0 && diff.values.length < 6, JSON.stringify(diff));
  const physical = (c: { target: string }) => {
    const key = hkey(c.target);
    return c.target.endsWith('(32-bit view)') ? key.replace(/^SOFTWARE\\/, 'SOFTWARE\\Wow6432Node\\') : key;
  };
  assert.equal(result.remaining!.map((c) => `${physical(c)}|${c.field}`).sort(), diff.values, 'the values written, not those the batch never reached');
  assert.ok(result.remaining!.every((c) => c.maybe === true));
  const data = await undoData(result.undoFiles!.powershell);
  assert.equal(data.values.map((v) => v.name).sort(), result.remaining!.map((c) => c.field).sort());
  assert.ok(data.values.every((v) => v.maybe === true && v.value === null));
});

test.run();
