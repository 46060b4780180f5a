/**
 * The CLI on a PostgreSQL store (`--store` / `$RUNBOOK_STORE`), as on files: run, status, plan, a
 * controller killed mid-run and resumed, rollback, reports written on request; a password on the
 * command line refused; a password in `$RUNBOOK_STORE`'s query shown nowhere, nor in the start-up
 * task; an unreachable store a clear error (exit 69) with nothing changed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { hostOf, makeHost, readRegFile, registryText, tempDir } from '../helpers.js';
import { cli } from './run-cli.js';
import { sim } from './sim-in-process.js';
import { postgresForFile } from '../postgres.js';

const { server } = postgresForFile(test);

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
const FAST = ['--param', 'pollIntervalMs=10'];

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
  // Rolled back whole, the run leaves nothing to undo: no undo file is kept for it (an earlier drive's
  // would undo whatever set those values since).
  assert.not.ok(existsSync(join(out, 'undo.reg')), 'a run rolled back whole keeps no undo.reg');
  // The resumed run's changes stand: its reports carry the undo file, from the store.
  const standing = await tempDir();
  const kept = await cli(['status', crashed!.runId, '--reports', standing, ...on]);
  assert.is(kept.code, 0, kept.stderr);
  assert.ok((await readRegFile(join(standing, 'undo.reg'))).length > 0);
});

test('a fleet driven by the command itself on a PostgreSQL store: waves, status matrix, reports, rollback', async () => {
  const url = await server.freshDatabase();
  const state = await tempDir();
  const on = ['--store', url, '--state-dir', state];
  const dir = await tempDir();
  assert.is((await sim(['fleet', '--preset', 'server-2016', '--count', '3', '--out', dir, '--downtime-ms', '50'])).code, 0);
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
  assert.is((await sim(['fleet', '--preset', 'server-2016', '--count', '3', '--out', dir, '--downtime-ms', '40'])).code, 0);
  const { fleetHostResumes } = await import('./fleet-resume.js');
  await fleetHostResumes(dir, ['--store', url, '--state-dir', await tempDir()]);
});

test('a password in --store is refused before anything is done, and not echoed', async () => {
  const host = await makeHost('server-2016');
  const before = await registryText(host);
  for (const url of [server.url.replace('runbook@', 'runbook:hunter2-secret@'), `${server.url}?password=hunter2-secret`, `${server.url}?sslmode=disable&pass%77ord=hunter2-secret`]) {
    const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--store', url, '--state-dir', await tempDir()]);
    assert.is(r.code, 2, url);
    assert.match(r.stderr, /PGPASSWORD/);
    assert.ok(!`${r.stdout}${r.stderr}`.includes('hunter2-secret'), url);
  }
  assert.is(await registryText(host), before);
});

test('a password given as ?password= in $RUNBOOK_STORE reaches no hint, report, state file, row or start-up task', async () => {
  const password = server.env.PGPASSWORD;
  const pieces = [password, password.slice(0, 8), password.slice(-8)];
  const url = await server.freshDatabase();
  const state = await tempDir();
  const host = await makeHost('server-2016', (h) => {
    h.onTarget = true;
  });
  // The query's password is the one that logs in: $PGPASSWORD is wrong for this command.
  const env = { RUNBOOK_STORE: `${url}?sslmode=disable&password=${password}`, PGPASSWORD: 'not-the-password' };
  const first = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST], env);
  assert.is(first.code, 75, first.stderr + first.stdout);
  const shown = `${url}?sslmode=disable&password=***`;
  // The hint can be run as printed: the URL without its password (`--store` refuses one), quoted for the shell.
  assert.ok(first.stdout.includes(`--store "${url}?sslmode=disable"`), first.stdout);
  const json = await cli(['status', '--json', '--state-dir', state], env);
  const [listed] = JSON.parse(json.stdout) as { runId: string }[];
  const report = JSON.parse((await cli(['status', listed.runId, '--json', '--state-dir', state], env)).stdout) as { stateDir?: string };
  const seen = [first.stdout, first.stderr, json.stdout, json.stderr, JSON.stringify(report)];
  for (const file of await filesUnder(state)) seen.push(await readFile(file, 'utf8'));
  const db = new pg.Client({ connectionString: url, password });
  await db.connect();
  try {
    for (const table of ['rbe_runs', 'rbe_journal', 'rbe_leases', 'rbe_files']) seen.push(JSON.stringify((await db.query(`SELECT * FROM ${table}`)).rows));
    seen.push((await db.query("SELECT string_agg(content, '') AS c FROM rbe_files WHERE name = 'report.json'")).rows[0].c as string);
  } finally {
    await db.end();
  }
  assert.ok(seen.some((s) => s.includes(shown)), 'the report names the store, its password masked');
  // The start-up task SYSTEM runs after the reboot: the URL without the password, the other parameter kept.
  const [command] = Object.values((await hostOf(host)).startupTasks as Record<string, string[]>);
  assert.is(command[command.indexOf('--store') + 1], `${url}?sslmode=disable`);
  seen.push(command.join(' '));
  for (const s of seen) for (const p of pieces) assert.not.ok(s.includes(p), `the password in: ${s.slice(0, 400)}`);
  // SYSTEM's password comes from its own pgpass; here from $PGPASSWORD, as the test's environment has it.
  await new Promise((r) => setTimeout(r, 80)); // the simulated host's boot, a real wait
  const resumed = await cli(command.slice(2));
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
});

test('an unreachable store: exit 69, the store named, its password masked wherever it was given, nothing on the target changed', async () => {
  const host = await makeHost('server-2016');
  const before = await registryText(host);
  const at = `127.0.0.1:${server.port + 1}/x`;
  for (const [store, shown] of [
    [`postgres://runbook:pw-in-env@${at}`, `postgres://runbook:***@${at}`],
    [`postgres://runbook@${at}?password=pw-in-env`, `postgres://runbook@${at}?password=***`],
    [`postgres://${at}?user=runbook&password=pw-in-env`, `postgres://${at}?user=runbook&password=***`],
  ]) {
    for (const json of [[], ['--json']]) {
      const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', await tempDir(), ...json], { RUNBOOK_STORE: store });
      assert.is(r.code, 69, r.stderr);
      assert.match(r.stderr, /PostgreSQL store cannot be reached/);
      assert.ok(`${r.stdout}${r.stderr}`.includes(shown), `${shown} in ${r.stdout}${r.stderr}`);
      assert.ok(!`${r.stdout}${r.stderr}`.includes('pw-in-env'), r.stderr);
    }
  }
  assert.is(await registryText(host), before);
});

test.run();
