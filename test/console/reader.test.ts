/**
 * The console's reading of fleets from real fleet runs: the failure budget and the hosts it stopped,
 * and the graduated outcomes of hosts (the engine's words: failed and rolled back, skipped (not started), awaiting a restart window).
 * What the console shows is what the CLI says: an interrupted fleet, a host another run held, a run
 * whose driver died, a failed plan, a change that may have been written.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileStore, loadInventory, loadRunbook, createSimulatedExecutor, startFleet, Runner, type Store } from '../../src/index.js';
import { ConsoleReader } from '../../src/console/reader.js';
import { machineKeyOf } from '../../src/engine/target-machine.js';
import { cli } from '../cli/run-cli.js';
import { FAST, kinds, makeHost, newRunner, restartRefused, runToEnd, tempDir } from '../helpers.js';

async function fleetOf(hosts: { name: string; file: string; group: string }[], options: { maxFailures?: number; params?: Record<string, unknown>; concurrency?: number; interruptAtFirstStart?: boolean }) {
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
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  });
  // One SIGINT as the first host starts: it stops at a safe point, the others are not started.
  if (options.interruptAtFirstStart) fleet.events.once('host:start', () => fleet.interrupt());
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

test('a canary awaiting its restart window reads as the CLI says the fleet: awaiting resume, the next wave not started (not a failed fleet with skipped hosts)', async () => {
  const { reader, fleetId } = await fleetOf(
    [
      { name: 'orch-1', file: await makeHost('server-2016'), group: 'canary' },
      { name: 'orch-2', file: await makeHost('server-2016'), group: 'rest' },
    ],
    { params: { allowRestart: false } },
  );
  const view = await reader.fleet(fleetId);
  assert.equal(view.waves.map((w) => w.hosts.map((h) => h.outcome)), [['awaiting a restart window'], ['not started (awaiting resume)']]);
  assert.is(view.status, 'awaiting-resume');
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

test('a fleet a signal stopped reads "awaiting-resume" as the CLI and its report say; the hosts it did not start read "not started (awaiting resume)", not skipped', async () => {
  const { reader, fleetId, state } = await fleetOf(
    [
      { name: 'canary-1', file: await makeHost('server-2016'), group: 'canary' },
      { name: 'web-1', file: await makeHost('server-2016'), group: 'rest' },
      { name: 'web-2', file: await makeHost('server-2016'), group: 'rest' },
    ],
    { concurrency: 1, interruptAtFirstStart: true },
  );
  const report = JSON.parse(await readFile(join(state, 'fleets', fleetId, 'report.json'), 'utf8')) as { status: string; interrupted?: boolean };
  assert.equal([report.status, report.interrupted], ['awaiting-resume', true]);
  const view = await reader.fleet(fleetId);
  assert.is(view.status, report.status);
  assert.equal(view.waves[1].hosts.map((h) => [h.name, h.outcome, h.status]), [
    ['web-1', 'not started (awaiting resume)', 'not-started'],
    ['web-2', 'not started (awaiting resume)', 'not-started'],
  ]);
  assert.is(view.counts['not started (awaiting resume)'], 2);
  assert.not.ok('skipped (not started)' in view.counts, JSON.stringify(view.counts));
  assert.equal(view.budget.stopped, [], 'the budget stopped nothing');
  assert.is((await reader.fleetRow(fleetId)).status, 'awaiting-resume');
});

test('a fleet host refused because another run holds its machine reads "interrupted (awaiting resume)" with who holds it, in the console and in `runbook status`; the fleet awaits its resume', async () => {
  const held = await makeHost('server-2016');
  const dir = await tempDir();
  const state = join(dir, 'state');
  // Another run drives host-2's machine (its lease, in the same store) while the fleet runs.
  const lease = await fileStore(state).leaseTarget(machineKeyOf(`sim:${held}`), 'other-run-1', { renew: false });
  let reader: ConsoleReader;
  let fleetId: string;
  try {
    const file = join(dir, 'inventory.yaml');
    await writeFile(file, JSON.stringify({ hosts: [{ name: 'host-1', target: `sim:${await makeHost('server-2016')}` }, { name: 'host-2', target: `sim:${held}` }] }));
    const fleet = startFleet({ runner: newRunner(state), kinds, runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file), connect: (target) => createSimulatedExecutor(target.slice(4)), params: FAST, concurrency: 1 });
    const result = await fleet.result;
    assert.is(result.status, 'awaiting-resume');
    reader = new ConsoleReader(fileStore(state), state);
    fleetId = fleet.id;
  } finally {
    await lease.release();
  }
  const view = await reader.fleet(fleetId);
  const host2 = view.waves.flatMap((w) => w.hosts).find((h) => h.name === 'host-2')!;
  assert.equal([host2.outcome, host2.outcomeId, host2.status], ['interrupted (awaiting resume)', 'interrupted', 'held']);
  assert.match(host2.why!, /is being driven by run other-run-1/);
  assert.is(view.status, 'awaiting-resume');
  assert.equal(view.counts, { changed: 1, 'interrupted (awaiting resume)': 1 });
  const matrix = await cli(['status', fleetId, '--state-dir', state]);
  assert.is(matrix.code, 0, matrix.stderr);
  assert.match(matrix.stdout, /2 host\(s\): 1 changed, 1 interrupted \(awaiting resume\)\n/);
  assert.not.match(matrix.stdout, /not started/);
  assert.match(matrix.stdout, /\nhost-2: interrupted \(awaiting resume\): .*being driven by run other-run-1/);
  const list = await cli(['status', '--state-dir', state]);
  assert.match(list.stdout, new RegExp(`${fleetId} +orchestrator-tls12 +2: 1 changed, 1 interrupted \\(awaiting resume\\)`));
});

test('a run whose driver died reads "interrupted (lease expired)" with what to do, in the list, on its page and in `runbook status <run-id>`: no longer "running"', async () => {
  const dir = await tempDir();
  const host = await makeHost('server-2016', (h) => {
    h.downtimeMs = 60_000;
  });
  const state = join(dir, 'state');
  // Killed (SIGKILL) after 20 journal records: during the restart's wait.
  const killed = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, '--param', 'pollIntervalMs=10'], { RUNBOOK_CRASH_AFTER: '20' });
  assert.is(killed.code, null, 'killed');
  const [runId] = await readdir(join(state, 'runs'));
  const reader = new ConsoleReader(fileStore(state), state);
  const [row] = (await reader.list()).items;
  assert.equal([row.status, (row as { outcome: string }).outcome, (row as { leaseExpired?: boolean }).leaseExpired], ['awaiting-resume', 'interrupted (lease expired)', true]);
  const page = (await reader.run(runId))!;
  assert.equal([page.status, page.outcome, page.outcomeId, page.leaseExpired], ['awaiting-resume', 'interrupted (lease expired)', 'interrupted', true]);
  assert.ok(page.advice!.includes(`\`runbook resume ${runId} --state-dir ${state}\``) && page.advice!.includes('lease expired'), page.advice!);
  const status = await cli(['status', runId, '--state-dir', state]);
  assert.is(status.code, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`^\\S*${runId}\\S*  interrupted \\(lease expired\\)  `));
  assert.ok(status.stdout.includes(`  outcome: ${page.outcome}\n`), status.stdout);
  assert.ok(status.stdout.includes(`runbook resume ${runId}`), status.stdout);
});

test('a fleet whose controller was killed reads "awaiting-resume": its host under way "interrupted (lease expired)", the hosts it did not start "not started (awaiting resume)" — not "running" forever', async () => {
  const dir = await tempDir();
  await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '3', '--out', join(dir, 'f3'), '--downtime-ms', '60000']);
  const state = join(dir, 'state');
  const killed = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'f3', 'inventory.yaml'), '--yes', '--concurrency', '1', '--state-dir', state, '--param', 'pollIntervalMs=10'], { RUNBOOK_CRASH_AFTER: '20' });
  assert.is(killed.code, null, 'killed');
  const [fleetId] = await readdir(join(state, 'fleets'));
  const view = await new ConsoleReader(fileStore(state), state).fleet(fleetId);
  assert.equal(view.waves.flatMap((w) => w.hosts.map((h) => [h.name, h.outcome])), [
    ['host-1', 'interrupted (lease expired)'],
    ['host-2', 'not started (awaiting resume)'],
    ['host-3', 'not started (awaiting resume)'],
  ]);
  assert.is(view.status, 'awaiting-resume');
});

test('a failed plan reads "plan failed (nothing changed)" on its page, in `runbook status` and in report.md, and its advice is to plan again, not to relaunch', async () => {
  const dir = await tempDir();
  await cli(['sim', 'create', '--preset', 'server-2012r2-no-hotfix', '--out', join(dir, 'h3.json')]);
  const state = join(dir, 'state');
  const plan = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${join(dir, 'h3.json')}`, '--param', 'onUnknown=refuse', '--state-dir', state]);
  assert.match(plan.stdout, /Result: plan failed \(nothing changed\)/);
  const [runId] = await readdir(join(state, 'runs'));
  const reader = new ConsoleReader(fileStore(state), state);
  const page = (await reader.run(runId))!;
  assert.is(page.outcome, 'plan failed (nothing changed)');
  assert.is(page.outcomeClass, 'bad');
  assert.match(page.advice!, /nothing was changed/);
  assert.not.match(page.advice!, /relaunch|rolled back/i);
  assert.is(((await reader.list()).items[0] as { outcome: string }).outcome, 'plan failed (nothing changed)');
  const status = await cli(['status', runId, '--state-dir', state]);
  assert.ok(status.stdout.includes('  outcome: plan failed (nothing changed)\n'), status.stdout);
  assert.match(await readFile(join(state, 'runs', runId, 'report.md'), 'utf8'), /\n- outcome: \*\*plan failed \(nothing changed\)\*\*\n/);
});

test('a change still on the host that may have been written says so on the run\'s page, as report.json does; keys are marked apart from values', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.downtimeMs = 1e12;
  });
  const stateDir = await tempDir();
  const runner = new Runner({ stateDir, kinds, compensationBudgetMs: 300, retry: { minTimeout: 5, maxTimeout: 20, randomize: false } });
  const run = runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(file), params: { ...FAST, restartTimeoutSeconds: 1 } });
  const result = await run.result;
  assert.is(result.status, 'rollback-failed');
  const page = (await new ConsoleReader(fileStore(stateDir), stateDir).run(result.runId))!;
  const maybe = result.remaining!.filter((c) => c.maybe).map((c) => `${c.target} ${c.field}`);
  assert.ok(maybe.some((m) => m.endsWith(' RestartOwed')), JSON.stringify(maybe));
  assert.equal(page.remaining.filter((c) => c.maybe).map((c) => `${c.target} ${c.field}`), maybe);
  assert.ok(page.remaining.length > maybe.length, 'the others are certain');
  const changes = page.steps.flatMap((s) => s.changes);
  assert.ok(changes.some((c) => c.key) && changes.some((c) => !c.key));
  assert.ok(changes.every((c) => c.key === (c.field === '(key)')));
});

test('the advice\'s commands name the store the console reads: --state-dir, or --store without its password (never sent to the page, not even masked)', async () => {
  const state = await tempDir();
  const { result, executor } = await runToEnd(await makeHost('server-2016'), { stateDir: state, params: { allowRestart: false } });
  await executor.close();
  const files = fileStore(state);
  const run = (await new ConsoleReader(files, state).run(result.runId))!;
  assert.is(run.outcome, 'awaiting a restart window');
  assert.ok(run.advice!.includes(`\`runbook resume ${result.runId} --allow-restart --state-dir ${state}\``), run.advice!);
  assert.ok(run.advice!.includes(`\`runbook rollback ${result.runId} --state-dir ${state}\``), run.advice!);
  // The same journal as a PostgreSQL store shows it: its location has the password masked.
  const shared: Store = { ...files, kind: 'postgres', location: 'postgres://rbe:***@db:5432/runs?password=***&sslmode=require' };
  const advice = (await new ConsoleReader(shared, state).run(result.runId))!.advice!;
  assert.ok(advice.includes(`\`runbook resume ${result.runId} --allow-restart --store "postgres://rbe@db:5432/runs?sslmode=require"\``), advice);
  assert.not.match(advice, /\*\*\*|password|--state-dir/);
});

test.run();
