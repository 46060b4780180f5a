/**
 * What `runbook plan` and `runbook run` print of the keys a run creates, and of a plan that could not be
 * completed: the plan's count and the run's summary agree (values, keys, actions), each key the run
 * creates is a line of the plan, and a plan refused by its preflight says it failed with nothing
 * changed — never that it rolled back.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { hostOf, makeHost, tempDir } from '../helpers.js';
import { CLI, cli } from './run-cli.js';

test('the CLI was built', () => {
  assert.ok(existsSync(CLI), `missing ${CLI}: run npm run build`);
});

test('fresh Server 2016: plan lists the 15 keys the run creates, and plan and run count 26 values and 15 keys', async () => {
  const host = await makeHost('server-2016', (h) => void (h.downtimeMs = 0));
  const state = await tempDir();
  const on = ['--target', `sim:${host}`, '--state-dir', state];
  const before = new Set(Object.keys((await hostOf(host)).registry));

  const plan = await cli(['plan', 'orchestrator-tls12', ...on]);
  assert.is(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /\n {2}45 change\(s\) planned \(26 value\(s\), 15 key\(s\), 4 action\(s\)\):\n/);
  assert.match(plan.stdout, /schannel +would-change .*SCHANNEL protocols: 20 of 20 values to set, 15 key\(s\) to create/);
  const planned = [...plan.stdout.matchAll(/^ {4}\+ HKLM\\(.+) \(64-bit view\) \(key\): \(absent\) → created$/gm)].map((m) => m[1]);
  assert.is(planned.length, 15, plan.stdout);

  const run = await cli(['run', 'orchestrator-tls12', ...on]);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /Result: changed\n {2}26 value\(s\), 15 key\(s\) changed, 4 action\(s\) \(3 reg export, 1 restart\); /);
  const created = Object.keys((await hostOf(host)).registry).filter((k) => !before.has(k));
  assert.equal([...planned].sort(), [...created].sort(), 'the plan names exactly the keys the run created');

  const json = await cli(['plan', 'orchestrator-tls12', ...on, '--json']);
  const summary = JSON.parse(json.stdout.trim().split('\n').pop()!) as { outcome: string; steps: { changes: unknown[] }[] };
  assert.is(summary.outcome, 'compliant', 'a second plan has nothing to do');
  assert.is(summary.steps.reduce((n, s) => n + s.changes.length, 0), 0);
  const again = await cli(['plan', 'orchestrator-tls12', ...on]);
  assert.match(again.stdout, /Result: already compliant \(plan: nothing was changed\)\n {2}no changes: the target is already as required\n/);
});

test('--json plan: each created key is a change of its step, as the run lists it', async () => {
  const host = await makeHost('server-2016', (h) => void (h.downtimeMs = 0));
  const state = await tempDir();
  const plan = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, '--json']);
  const summary = JSON.parse(plan.stdout.trim().split('\n').pop()!) as { steps: { id: string; changes: { field: string; action: string; before: unknown; after: unknown }[] }[] };
  const schannel = summary.steps.find((s) => s.id === 'schannel')!;
  assert.is(schannel.changes.length, 35);
  const keys = schannel.changes.filter((c) => c.field === '(key)');
  assert.is(keys.length, 15);
  assert.ok(keys.every((c) => c.action === 'create' && c.before === null && c.after === 'created'));
});

test('a plan refused by its preflight says "plan failed (nothing changed)", not "failed and rolled back"', async () => {
  const host = await makeHost('server-2016-sql2008r2');
  const state = await tempDir();
  const on = ['--target', `sim:${host}`, '--state-dir', state];
  const plan = await cli(['plan', 'orchestrator-tls12', ...on]);
  assert.is(plan.code, 1, plan.stderr);
  assert.match(plan.stdout, /Result: plan failed \(nothing changed\)\n/);
  assert.not.match(plan.stdout, /rolled back/);
  assert.match(plan.stdout, /the plan could not be completed: nothing is known of what would change/);
  // --json keeps its keys (consumers and the exit code read them); checkMode tells a plan apart.
  const json = await cli(['plan', 'orchestrator-tls12', ...on, '--json']);
  const summary = JSON.parse(json.stdout.trim().split('\n').pop()!) as { status: string; outcome: string; checkMode: boolean };
  assert.equal([summary.status, summary.outcome, summary.checkMode], ['rolled-back', 'rolled-back', true]);
  // A run refused the same way did roll back (nothing to undo), and says so.
  const run = await cli(['run', 'orchestrator-tls12', ...on]);
  assert.match(run.stdout, /Result: failed and rolled back\n/);
});

test.run();
