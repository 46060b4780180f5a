/**
 * The console's reading of fleets from real fleet runs: the failure budget and the hosts it stopped,
 * and the graduated outcomes of hosts (the engine's words: failed and rolled back, skipped (not started), awaiting a restart window).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileStore, loadInventory, loadRunbook, createSimulatedExecutor, startFleet } from '../../src/index.js';
import { ConsoleReader } from '../../src/console/reader.js';
import { cli } from '../cli/run-cli.js';
import { kinds, makeHost, newRunner, restartRefused, tempDir } from '../helpers.js';

async function fleetOf(hosts: { name: string; file: string; group: string }[], options: { maxFailures?: number; params?: Record<string, unknown> }) {
  const dir = await tempDir();
  const state = join(dir, 'state');
  const file = join(dir, 'inventory.yaml');
  await writeFile(file, JSON.stringify({ hosts: hosts.map((h) => ({ name: h.name, target: `sim:${h.file}`, groups: [h.group] })), waves: [{ name: 'canary', groups: ['canary'] }, { name: 'rest', groups: ['rest'] }].filter((w) => hosts.some((h) => h.group === w.groups[0])) }));
  const fleet = startFleet({
    runner: newRunner(state),
    kinds,
    runbook: await loadRunbook('orchestrator-tls12', kinds),
    inventory: await loadInventory(file),
    connect: (target) => createSimulatedExecutor(target.slice(4)),
    maxFailures: options.maxFailures ?? 0,
    params: { pollIntervalMs: 10, ...options.params },
  });
  await fleet.result;
  return { reader: new ConsoleReader(fileStore(state), state), fleetId: fleet.id, state };
}

test('a spent failure budget: the failed canary reads "failed and rolled back" with why, the hosts it stopped are listed and read "skipped"', async () => {
  const { reader, fleetId } = await fleetOf(
    [
      { name: 'canary-1', file: await makeHost('server-2016', restartRefused), group: 'canary' },
      { name: 'web-1', file: await makeHost('server-2016'), group: 'rest' },
      { name: 'web-2', file: await makeHost('server-2016'), group: 'rest' },
    ],
    { maxFailures: 0 },
  );
  const view = await reader.fleet(fleetId);
  assert.equal(view.waves.map((w) => w.name), ['canary', 'rest']);
  const [canary] = view.waves[0].hosts;
  assert.is(canary.outcome, 'failed and rolled back');
  assert.match(canary.why!, /restart/);
  assert.equal(view.waves[1].hosts.map((h) => h.outcome), ['skipped (not started)', 'skipped (not started)']);
  assert.equal(view.budget, { maxFailures: 0, failures: 1, spent: true, stopped: ['web-1', 'web-2'] });
  assert.is(view.status, 'failed');
  assert.equal(view.counts, { 'failed and rolled back': 1, 'skipped (not started)': 2 });
  assert.equal(view.reports, ['report.md', 'report.json', 'junit.xml']);
});

test('a host whose restart is not allowed reads "awaiting a restart window" as the CLI says it, with the command that goes on', async () => {
  const { reader, fleetId } = await fleetOf([{ name: 'orch-1', file: await makeHost('server-2016'), group: 'canary' }], { params: { allowRestart: false } });
  const view = await reader.fleet(fleetId);
  const [host] = view.waves[0].hosts;
  assert.is(host.outcome, 'awaiting a restart window');
  assert.is(view.status, 'awaiting-resume');
  const run = (await reader.run(host.runId))!;
  assert.match(run.advice!, new RegExp(`runbook resume ${host.runId.replace(/\./g, '\\.')} --allow-restart`));
});

test('a host rolled back on request reads "rolled back on request", does not spend the failure budget, and reads the same in `runbook status`', async () => {
  const file = await makeHost('server-2016');
  const { reader, fleetId, state } = await fleetOf([{ name: 'orch-1', file, group: 'canary' }], {});
  const [done] = (await reader.fleet(fleetId)).waves[0].hosts;
  assert.is(done.outcome, 'changed');
  await (await newRunner(state).rollback(done.runId, { executor: await createSimulatedExecutor(file) })).result;
  const view = await reader.fleet(fleetId);
  const [host] = view.waves[0].hosts;
  assert.is(host.outcome, 'rolled back on request');
  assert.is(view.budget.failures, 0, 'an operator\'s rollback is no failure');
  assert.equal(view.counts, { 'rolled back on request': 1 });
  // The CLI's words for the same host: the matrix and `status` name its outcome alike.
  const status = await cli(['status', host.runId, '--state-dir', state]);
  assert.is(status.code, 0, status.stderr);
  assert.ok(status.stdout.includes(`outcome: ${host.outcome}\n`), status.stdout);
  assert.is((await reader.run(host.runId))?.outcome, host.outcome);
});

test.run();
