/**
 * A plan lists the registry keys its writes create (one `(key)` line per key, as the run's `remaining`
 * and undo files name them), each once across steps, and the run reports the same changes it planned:
 * on a fresh Server 2016 the SCHANNEL step creates 15 keys (SSL 2.0, SSL 3.0, TLS 1.0, 1.1, 1.2 and
 * each one's Client and Server).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostOf, makeHost, runToEnd } from '../helpers.js';
import { planWrites, writesPlannedEarlier } from '../../src/steps/registry/values.js';
import type { DeclaredWrite } from '../../src/engine/step-kind.js';
import type { Change, RunResult } from '../../src/engine/types.js';

const SCH = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';
const keyLines = (changes: readonly Change[]) => changes.filter((c) => c.field === '(key)');
const allChanges = (r: RunResult) => r.steps.flatMap((s) => s.changes);

test('planWrites lists the keys a write creates, deepest first, each once, after the values', () => {
  const w = (name: string): DeclaredWrite => ({ view: '64', key: 'SOFTWARE\\X\\Y', name, desired: { type: 'REG_DWORD', data: 1 } });
  const missing = (name: string) => ({ view: '64' as const, key: 'SOFTWARE\\X\\Y', name, keyExists: false, existingAncestor: 'SOFTWARE', value: null });
  const changes = planWrites([w('A'), w('B')], [missing('A'), missing('B')]);
  assert.equal(
    changes.map((c) => `${c.target} ${c.field} ${c.action} ${c.after}`),
    [
      'HKLM\\SOFTWARE\\X\\Y (64-bit view) A create 0x00000001 (1)',
      'HKLM\\SOFTWARE\\X\\Y (64-bit view) B create 0x00000001 (1)',
      'HKLM\\SOFTWARE\\X\\Y (64-bit view) (key) create created',
      'HKLM\\SOFTWARE\\X (64-bit view) (key) create created',
    ],
  );
  assert.equal(keyLines(changes)[0], { target: 'HKLM\\SOFTWARE\\X\\Y (64-bit view)', field: '(key)', before: null, after: 'created', action: 'create' });
  // A value already as required creates nothing; nor does a deletion under a missing key.
  assert.equal(planWrites([{ ...w('A'), desired: null }], [missing('A')]), []);
  // A key an earlier step's pending write creates (the parent, or the key itself) is that step's line.
  const earlier: DeclaredWrite[] = [{ view: '64', key: 'software\\x\\Other', name: 'C', desired: { type: 'REG_DWORD', data: 1 } }];
  assert.equal(keyLines(planWrites([w('A')], [missing('A')], earlier)).map((c) => c.target), ['HKLM\\SOFTWARE\\X\\Y (64-bit view)']);
  // The other view's keys are its own.
  assert.is(keyLines(planWrites([w('A')], [missing('A')], [{ ...earlier[0], view: '32' }])).length, 2);
});

test('writesPlannedEarlier: the pending writes registry steps published, in check mode only', () => {
  const writes: DeclaredWrite[] = [
    { view: '64', key: 'K', name: 'A', desired: { type: 'REG_DWORD', data: 1 } },
    { view: '64', key: 'K', name: 'B', desired: { type: 'REG_DWORD', data: 1 } },
  ];
  const outputs = { one: { writes, pending: [1], rebootRequired: true }, two: { fixed: true }, three: null };
  assert.equal(writesPlannedEarlier({ checkMode: true, outputs }), [writes[1]]);
  assert.equal(writesPlannedEarlier({ checkMode: false, outputs }), []);
});

test('fresh Server 2016: the plan lists the 15 keys the run creates, and the run reports the changes it planned', async () => {
  const file = await makeHost('server-2016', (h) => void (h.downtimeMs = 0));
  const before = new Set(Object.keys((await hostOf(file)).registry));
  const plan = await runToEnd(file, { checkMode: true });
  assert.is(plan.result.status, 'planned');
  const planned = keyLines(allChanges(plan.result));
  assert.is(planned.length, 15);
  assert.ok(planned.every((c) => c.action === 'create' && c.before === null && c.after === 'created'));
  assert.equal(new Set(planned.map((c) => c.target)).size, 15, 'each key once');

  const { result } = await runToEnd(file);
  assert.is(result.status, 'succeeded');
  const created = Object.keys((await hostOf(file)).registry).filter((k) => !before.has(k));
  assert.equal(created.map((k) => `HKLM\\${k} (64-bit view)`).sort(), planned.map((c) => c.target).sort(), 'the keys the run created, exactly');
  for (const p of ['SSL 2.0', 'SSL 3.0', 'TLS 1.0', 'TLS 1.1', 'TLS 1.2']) for (const side of ['', '\\Client', '\\Server']) assert.ok(created.includes(`${SCH}\\${p}${side}`), `${p}${side}`);
  // The run lists what the plan listed (actions aside: their "before" is the host's boot, their file names the run's id).
  const regOnly = (r: RunResult) => allChanges(r).filter((c) => c.action !== 'run');
  assert.equal(regOnly(result), regOnly(plan.result));

  // Once done, nothing to do: no key line either.
  const again = await runToEnd(file, { checkMode: true });
  assert.equal(allChanges(again.result), []);
});

test('an earlier run\'s marker: the plan lists its key\'s deletion only when the marker is all the key holds', async () => {
  const marker = { type: 'REG_SZ' as const, data: 'owed by run r-earlier' };
  // A fresh marker, the only content of its key.
  const alone = await makeHost('server-2016', (h) => void (h.registry['SOFTWARE\\runbook-engine'] = { RestartOwed: marker }));
  const plan = await runToEnd(alone, { checkMode: true });
  const restart = plan.result.steps.find((s) => s.id === 'restart')!;
  assert.equal(restart.changes.filter((c) => c.action !== 'run').map((c) => `${c.field} ${c.action}`), ['RestartOwed delete', '(key) delete']);
  // The key holds another value: only the marker goes.
  const shared = await makeHost('server-2016', (h) => void (h.registry['SOFTWARE\\runbook-engine'] = { RestartOwed: marker, Note: { type: 'REG_SZ', data: 'kept' } }));
  const sharedPlan = await runToEnd(shared, { checkMode: true });
  assert.equal(sharedPlan.result.steps.find((s) => s.id === 'restart')!.changes.filter((c) => c.action !== 'run').map((c) => `${c.field} ${c.action}`), ['RestartOwed delete']);
  const { result } = await runToEnd(shared);
  assert.is(result.status, 'succeeded');
  assert.equal((await hostOf(shared)).registry['SOFTWARE\\runbook-engine'], { Note: { type: 'REG_SZ', data: 'kept' } });
});

test.run();
