/**
 * A restart owed by an earlier run (allowRestart=false left its RestartOwed marker), as the CLI tells
 * it: the plan is "changes pending" (exit 2 with --detailed-exitcode), the run that pays it is
 * "changed" and counts the restart and the marker, and its rollback restores nothing and restarts
 * nothing. The simulated host comes back at once (downtime 0): no test waits for time.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hostOf, makeHost, tempDir } from '../helpers.js';
import { CLI, cli } from './run-cli.js';
import { writeHost } from '../../src/index.js';

const MARKER_KEY = 'SOFTWARE\\runbook-engine';

test('the CLI was built', () => {
  assert.ok(existsSync(CLI), `missing ${CLI}: run npm run build`);
});

test('a restart owed by an earlier run: plan exits 2 (changes pending), the run is changed, its rollback restores nothing and does not restart', async () => {
  const host = await makeHost('server-2016', (h) => void (h.downtimeMs = 0));
  const state = await tempDir();
  const on = ['--target', `sim:${host}`, '--state-dir', state];
  const waiting = await cli(['run', 'orchestrator-tls12', ...on, '--param', 'allowRestart=false']);
  assert.is(waiting.code, 75, waiting.stderr);
  const [earlier] = await readdir(join(state, 'runs'));

  const plan = await cli(['plan', 'orchestrator-tls12', ...on, '--detailed-exitcode']);
  assert.is(plan.code, 2, `changes pending: ${plan.stdout}${plan.stderr}`);
  assert.match(plan.stdout, /Result: changes pending \(plan: nothing was changed\)/);
  assert.not.match(plan.stdout, /already compliant/);
  assert.match(plan.stdout, /3 change\(s\) planned \(1 value\(s\), 1 key\(s\), 1 action\(s\)\):/);
  assert.match(plan.stdout, /~ host restart: booted \S+ → restarted/);
  assert.match(plan.stdout, new RegExp(`- HKLM\\\\SOFTWARE\\\\runbook-engine \\(64-bit view\\) RestartOwed: owed by run ${earlier} → \\(absent\\)  \\[REG_SZ\\]`));
  // The marker is all its key holds: clearing it deletes the key too (markerClear, onlyIfEmpty).
  assert.match(plan.stdout, /\n {4}- HKLM\\SOFTWARE\\runbook-engine \(64-bit view\) \(key\): present → \(absent\)\n/);
  assert.match(plan.stdout, /restart owed: yes/);

  const run = await cli(['run', 'orchestrator-tls12', ...on]);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /Result: changed\n/);
  assert.match(run.stdout, /\n {2}1 value\(s\), 1 key\(s\) changed, 1 action\(s\) \(1 restart\); /);
  assert.not.match(run.stdout, /to undo on the target's console/, 'no undo file: it would write the paid marker back');
  // The run's id as its heading prints it (ids made within one second do not sort by time).
  const paid = /\(run (\S+)\)/.exec(run.stdout)![1];
  assert.not.ok(existsSync(join(state, 'runs', paid, 'undo.reg')));
  const after = await hostOf(host);
  assert.is(after.restarts, 1);
  assert.not.ok(MARKER_KEY in after.registry);

  const rollback = await cli(['rollback', paid, '--state-dir', state]);
  assert.is(rollback.code, 0, rollback.stderr);
  assert.match(rollback.stdout, /restart +rolled-back +\S+ +nothing to undo: the target restarted for this run, which paid the restart an earlier run owed/);
  assert.match(rollback.stdout, /Result: rolled back on request\n {2}0 registry item\(s\) restored; \d+ round trip\(s\) to the target; 0 retries\n {2}nothing to undo: nothing restored, no restart\n/);
  assert.not.match(rollback.stdout, /restarted again/);
  const rolled = await hostOf(host);
  assert.is(rolled.restarts, 1, 'not restarted again');
  assert.equal(rolled.registry, after.registry, 'the registry as the run left it: no marker written back');

  // The next run has nothing owed: already compliant, no restart.
  const next = await cli(['run', 'orchestrator-tls12', ...on]);
  assert.is(next.code, 0, next.stderr);
  assert.match(next.stdout, /Result: already compliant\n {2}0 value\(s\) changed; /);
  assert.is((await hostOf(host)).restarts, 1);
});

test('allowRestart=false: plan prints the marker the run writes and the restart deferred, and a second plan and run agree with it', async () => {
  const host = await makeHost('server-2016', (h) => void (h.downtimeMs = 0));
  const state = await tempDir();
  const on = ['--target', `sim:${host}`, '--state-dir', state, '--param', 'allowRestart=false'];
  const key = 'HKLM\\\\SOFTWARE\\\\runbook-engine \\(64-bit view\\)';

  const plan = await cli(['plan', 'orchestrator-tls12', ...on, '--detailed-exitcode']);
  assert.is(plan.code, 2, plan.stderr);
  const planned = /\(run (\S+)\)/.exec(plan.stdout)![1];
  assert.match(plan.stdout, new RegExp(`\\+ ${key} \\(key\\): \\(absent\\) → created`));
  assert.match(plan.stdout, new RegExp(`\\+ ${key} RestartOwed: \\(absent\\) → owed by run ${planned}  \\[REG_SZ\\]`));
  assert.match(plan.stdout, /~ host restart: booted \S+ → deferred \(allowRestart=false; the run ends awaiting a restart window\)/);
  assert.not.match(plan.stdout, /→ restarted/);
  assert.match(plan.stdout, /restart owed: yes/);

  const first = await cli(['run', 'orchestrator-tls12', ...on]);
  assert.is(first.code, 75, first.stderr);
  const a = /\(run (\S+)\)/.exec(first.stdout)![1];
  assert.is((await hostOf(host)).registry[MARKER_KEY].RestartOwed.data, `owed by run ${a}`);

  const second = await cli(['plan', 'orchestrator-tls12', ...on, '--detailed-exitcode']);
  assert.is(second.code, 2, second.stderr);
  const b = /\(run (\S+)\)/.exec(second.stdout)![1];
  assert.match(second.stdout, /2 change\(s\) planned \(1 value\(s\), 1 action\(s\)\):/);
  assert.match(second.stdout, new RegExp(`~ ${key} RestartOwed: owed by run ${a} → owed by run ${b}  \\[REG_SZ\\]`));
  assert.match(second.stdout, /~ host restart: booted \S+ → deferred/);
  assert.not.match(second.stdout, /→ \(absent\)/, 'the marker is not deleted: no restart pays it');

  const again = await cli(['run', 'orchestrator-tls12', ...on]);
  assert.is(again.code, 75, again.stderr);
  const c = /\(run (\S+)\)/.exec(again.stdout)![1];
  const after = await hostOf(host);
  assert.is(after.restarts, 0, 'no restart, as planned');
  assert.is(after.registry[MARKER_KEY].RestartOwed.data, `owed by run ${c}`, 'the marker rewritten with the run\'s id, as planned');
});

test('values in the registry but not in effect: plan exits 2 saying why, the run restarts and verifies, the next plan exits 0', async () => {
  const done = await makeHost('server-2016', (h) => void (h.downtimeMs = 0));
  const state = await tempDir();
  const ran = await cli(['run', 'orchestrator-tls12', '--target', `sim:${done}`, '--state-dir', state]);
  assert.is(ran.code, 0, ran.stderr);
  // A fresh host (boot, services) whose registry holds the values, written without a restart.
  const host = await makeHost('server-2016', (h) => void (h.downtimeMs = 0));
  const fresh = await hostOf(host);
  fresh.registry = (await hostOf(done)).registry;
  await writeHost(host, fresh);
  const on = ['--target', `sim:${host}`, '--state-dir', state];

  const plan = await cli(['plan', 'orchestrator-tls12', ...on, '--detailed-exitcode']);
  assert.is(plan.code, 2, `changes pending: ${plan.stdout}${plan.stderr}`);
  assert.not.match(plan.stdout, /already compliant/);
  assert.match(plan.stdout, /restart owed: values not in effect .*TLS 1\.0: accepted, the registry disables it/);
  assert.match(plan.stdout, /1 change\(s\) planned \(0 value\(s\), 1 action\(s\)\):/);
  assert.match(plan.stdout, /~ host restart: booted \S+ → restarted/);
  assert.match(plan.stdout, /restart owed: yes/);

  const run = await cli(['run', 'orchestrator-tls12', ...on]);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /Result: changed\n {2}0 value\(s\) changed, 1 action\(s\) \(1 restart\); /);
  assert.match(run.stdout, /tls-verify +ok +\S+ +proven by handshake/);
  assert.is((await hostOf(host)).restarts, 1);

  const next = await cli(['plan', 'orchestrator-tls12', ...on, '--detailed-exitcode']);
  assert.is(next.code, 0, `${next.stdout}${next.stderr}`);
  assert.match(next.stdout, /restart owed: no/);
  const second = await cli(['run', 'orchestrator-tls12', ...on]);
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stdout, /Result: already compliant\n/);
  assert.is((await hostOf(host)).restarts, 1, 'no second restart');
});

test.run();
