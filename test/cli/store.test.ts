/**
 * The CLI on a PostgreSQL store (`--store` / `$RUNBOOK_STORE`), as on files: run, status, plan, a
 * controller killed mid-run and resumed, rollback, reports written on request; a password on the
 * command line refused; an unreachable store a clear error (exit 69) with nothing changed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostOf, makeHost, registryText, tempDir } from '../helpers.js';
import { cli } from './run-cli.js';
import { startPostgres, type TestPostgres } from '../postgres.js';

let server: TestPostgres;
const FAST = ['--param', 'pollIntervalMs=10'];

test.before(async () => {
  server = await startPostgres();
  Object.assign(process.env, server.env);
});
test.after(async () => {
  await server.stop();
});

test('run, status, plan, kill + resume, rollback and reports on a PostgreSQL store', async () => {
  const url = await server.freshDatabase();
  const state = await tempDir();
  const on = ['--store', url, '--state-dir', state];
  const host = await makeHost('server-2016');
  const original = await registryText(host);

  const ran = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--json', ...on, ...FAST]);
  assert.is(ran.code, 0, ran.stderr);
  const runId = (JSON.parse(ran.stdout.trim().split('\n').pop()!) as { runId: string }).runId;
  const listed = await cli(['status', '--json', ...on]);
  assert.equal((JSON.parse(listed.stdout) as { runId: string; status: string }[]).map((r) => [r.runId, r.status]), [[runId, 'succeeded']]);

  // Plan on a fresh host: nothing changes.
  const fresh = await makeHost('server-2016');
  const planned = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${fresh}`, ...on]);
  assert.is(planned.code, 0, planned.stderr);
  assert.is(await registryText(fresh), original);

  // A controller killed mid-run, resumed from the store.
  const other = await makeHost('server-2016');
  const killed = await cli(['run', 'orchestrator-tls12', '--target', `sim:${other}`, '--json', ...on, ...FAST], { RUNBOOK_CRASH_AFTER: '25' });
  assert.is(killed.code, null, 'killed');
  const runs = JSON.parse((await cli(['status', '--json', ...on])).stdout) as { runId: string; status: string }[];
  const crashed = runs.find((r) => r.status === 'running');
  assert.ok(crashed, 'the killed run is listed as running');
  const resumed = await cli(['resume', crashed!.runId, ...on]);
  assert.is(resumed.code, 0, resumed.stderr);
  assert.is(await registryText(other), await registryText(host));
  assert.is((await hostOf(other)).restarts, 1);

  // Rollback, exactly.
  const undone = await cli(['rollback', runId, ...on]);
  assert.is(undone.code, 0, undone.stderr);
  assert.is(await registryText(host), original);

  // Reports from the store, into a folder of one's choosing.
  const out = await tempDir();
  const reported = await cli(['status', runId, '--reports', out, ...on]);
  assert.is(reported.code, 0, reported.stderr);
  assert.match(await readFile(join(out, 'report.md'), 'utf8'), /orchestrator-tls12/);
  assert.ok((await readFile(join(out, 'undo.reg'), 'utf8')).length > 0);
});

test('a fleet driven by the command itself on a PostgreSQL store: waves, status matrix, reports, rollback', async () => {
  const url = await server.freshDatabase();
  const state = await tempDir();
  const on = ['--store', url, '--state-dir', state];
  const dir = await tempDir();
  assert.is((await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '3', '--out', dir, '--downtime-ms', '50'])).code, 0);
  const hosts = ['host-1', 'host-2', 'host-3'].map((h) => join(dir, `${h}.json`));
  const original = await registryText(hosts[0]);
  const ran = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'inventory.yaml'), '--json', ...on, ...FAST]);
  assert.is(ran.code, 0, ran.stderr);
  const events = ran.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; wave?: string; fleetId?: string });
  assert.equal(events.filter((e) => e.event === 'wave:start').map((e) => e.wave), ['canary', 'rest']);
  const fleetId = events.find((e) => e.fleetId)!.fleetId!;
  for (const h of hosts) assert.is((await hostOf(h)).restarts, 1);
  const matrix = JSON.parse((await cli(['status', fleetId, '--json', ...on])).stdout) as { hosts: { status: string }[] };
  assert.equal(matrix.hosts.map((h) => h.status), ['succeeded', 'succeeded', 'succeeded']);
  const out = await tempDir();
  assert.is((await cli(['status', fleetId, '--reports', out, ...on])).code, 0);
  assert.match(await readFile(join(out, 'junit.xml'), 'utf8'), /tests="3" failures="0"/);
  const undone = await cli(['rollback', fleetId, ...on]);
  assert.is(undone.code, 0, undone.stderr);
  for (const h of hosts) assert.is(await registryText(h), original);
});

test('fleet host runs on a PostgreSQL store resume by their own run id and with resume --all', async () => {
  const url = await server.freshDatabase();
  const dir = await tempDir();
  assert.is((await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '3', '--out', dir, '--downtime-ms', '40'])).code, 0);
  const { fleetHostResumes } = await import('./fleet-resume.js');
  await fleetHostResumes(dir, ['--store', url, '--state-dir', await tempDir()]);
});

test('a password in --store is refused before anything is done, and not echoed', async () => {
  const host = await makeHost('server-2016');
  const before = await registryText(host);
  const url = server.url.replace('runbook@', 'runbook:hunter2-secret@');
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--store', url, '--state-dir', await tempDir()]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /PGPASSWORD/);
  assert.ok(!`${r.stdout}${r.stderr}`.includes('hunter2-secret'));
  assert.is(await registryText(host), before);
});

test('an unreachable store: exit 69, the store named, nothing on the target changed', async () => {
  const host = await makeHost('server-2016');
  const before = await registryText(host);
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', await tempDir()], { RUNBOOK_STORE: `postgres://runbook:pw-in-env@127.0.0.1:${server.port + 1}/x` });
  assert.is(r.code, 69, r.stderr);
  assert.match(r.stderr, /PostgreSQL store cannot be reached/);
  assert.ok(!r.stderr.includes('pw-in-env'));
  assert.is(await registryText(host), before);
});

test.run();
