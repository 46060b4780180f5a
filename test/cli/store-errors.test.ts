/**
 * The CLI on a PostgreSQL store that answers and refuses (one throw-away server for the file): a user
 * that may not create tables, one that may only read, a read-only database and a hot standby, a table of
 * our name that is not ours — each a clear error (what, where, what to do; exit 2; never a stack, never
 * a password) or, for a command that only reads a store already migrated, an answer. Mid-run, after the
 * target was changed: a grant revoked, or the server gone past the store's retries, stops the run for a
 * resume (exit 75, the `continue with:` line), and the resume completes it once the store is back.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { hostOf, makeHost, registryText, tempDir } from '../helpers.js';
import { CLI, cli } from './run-cli.js';
import { postgresForFile } from '../postgres.js';
import { MIGRATIONS } from '../../src/store/postgres.js';

const { server } = postgresForFile(test, { before: (started) => sql(started.url, `CREATE ROLE ${LOW.user} LOGIN PASSWORD '${LOW.password}'`) });
const FAST = ['--param', 'pollIntervalMs=10'];
const LOW = { user: 'rbe_low', password: 'low-pw-7f3a9' };

/** Statements as the cluster's superuser on the database of `url`. */
async function sql(url: string, ...statements: string[]): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: url, password: server.env.PGPASSWORD });
  await client.connect();
  try {
    let rows: pg.QueryResultRow[] = [];
    for (const s of statements) rows = (await client.query(s)).rows;
    return rows;
  } finally {
    await client.end();
  }
}

const dbOf = (url: string) => new URL(url).pathname.slice(1);
const asLow = (url: string) => url.replace('runbook@', `${LOW.user}@`);
const lowEnv = { PGPASSWORD: LOW.password };

/** No stack, no password: what every refusal's output holds to. */
function clean(r: { stdout: string; stderr: string }, ...secrets: string[]): void {
  const out = `${r.stdout}${r.stderr}`;
  assert.not.match(out, /\n\s+at .+:\d+:\d+/, `a stack trace in: ${out}`);
  assert.not.match(out, /unexpected error/, out);
  for (const s of [server.env.PGPASSWORD, ...secrets]) assert.not.ok(out.includes(s), `a password in: ${out}`);
}

/** The `--json` error event (the last line of stdout). */
function jsonError(stdout: string): { event: string; code: string; exitCode: number; message: string } {
  return JSON.parse(stdout.trim().split('\n').pop()!) as { event: string; code: string; exitCode: number; message: string };
}

test('a user that may not create tables: a clear exit-2 error on a store not migrated yet; once its owner migrated it, a SELECT-only user reads it and a run it cannot write is refused before anything changes', async () => {
  const url = await server.freshDatabase();
  const low = asLow(url);
  for (const json of [[], ['--json']]) {
    const r = await cli(['status', '--store', low, '--state-dir', await tempDir(), ...json], lowEnv);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`tables are not all created yet, and its user ${LOW.user} may not create them: permission denied for schema public \\(SQLSTATE 42501\\) \\(postgres://${LOW.user}@127\\.0\\.0\\.1:${server.port}/${dbOf(url)}\\)`));
    assert.match(r.stderr, /→ run a first command .* as the database's owner/);
    assert.match(r.stderr, new RegExp(`GRANT CREATE ON SCHEMA public TO ${LOW.user}`));
    if (json.length > 0) {
      const e = jsonError(r.stdout);
      assert.equal([e.event, e.code, e.exitCode], ['error', 'STORE_PERMISSION', 2]);
    }
    clean(r, LOW.password);
  }
  // Its owner's first command creates the tables; a user granted SELECT reads them (no DDL asked).
  const owner = await cli(['status', '--store', url, '--state-dir', await tempDir()]);
  assert.is(owner.code, 0, owner.stderr);
  await sql(url, `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${LOW.user}`);
  const listed = await cli(['status', '--json', '--store', low, '--state-dir', await tempDir()], lowEnv);
  assert.is(listed.code, 0, listed.stderr);
  assert.equal(JSON.parse(listed.stdout), []);
  // It may not write: a run is refused before anything is changed on its target.
  const host = await makeHost('server-2016');
  const before = await registryText(host);
  const ran = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--store', low, '--state-dir', await tempDir(), ...FAST], lowEnv);
  assert.is(ran.code, 2, ran.stderr);
  assert.match(ran.stderr, new RegExp(`the PostgreSQL store refused its user ${LOW.user}: permission denied for table rbe_runs \\(SQLSTATE 42501\\)`));
  assert.match(ran.stderr, new RegExp(`→ ask the database's owner to GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${LOW.user}`));
  clean(ran, LOW.password);
  assert.is(await registryText(host), before);
});

test('a read-only database: status reads a migrated one, a hot standby too (and serve polls it); one not migrated, or a run, is a clear exit-2 error naming the primary', async () => {
  // Not migrated, default_transaction_read_only on: its tables cannot be created there.
  const bare = await server.freshDatabase();
  await sql(bare, `ALTER DATABASE ${dbOf(bare)} SET default_transaction_read_only = on`);
  const refused = await cli(['status', '--store', bare, '--state-dir', await tempDir()]);
  assert.is(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /the PostgreSQL store is read-only \(a hot standby, or default_transaction_read_only is on\) and runbook-engine's tables are not all created yet: cannot execute CREATE TABLE in a read-only transaction \(SQLSTATE 25006\)/);
  assert.match(refused.stderr, /→ point --store at the primary \(read-write\) server/);
  clean(refused);

  // Migrated, with a run, then read-only: status answers, a run is refused.
  const url = await server.freshDatabase();
  const host = await makeHost('server-2016');
  const ran = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--store', url, '--state-dir', await tempDir(), ...FAST]);
  assert.is(ran.code, 0, ran.stderr);
  const standby = await server.standby(dbOf(url));
  try {
    await sql(url, `ALTER DATABASE ${dbOf(url)} SET default_transaction_read_only = on`);
    for (const at of [url, standby.url]) {
      const listed = await cli(['status', '--json', '--store', at, '--state-dir', await tempDir()]);
      assert.is(listed.code, 0, `${at}: ${listed.stderr}`);
      assert.equal((JSON.parse(listed.stdout) as { status: string }[]).map((r) => r.status), ['succeeded']);
    }
    const other = await makeHost('server-2016');
    const before = await registryText(other);
    const again = await cli(['run', 'orchestrator-tls12', '--target', `sim:${other}`, '--store', url, '--state-dir', await tempDir(), ...FAST]);
    assert.is(again.code, 2, again.stderr);
    assert.match(again.stderr, /the PostgreSQL store is read-only .* and this command writes to it: cannot execute INSERT in a read-only transaction \(SQLSTATE 25006\)/);
    clean(again);
    assert.is(await registryText(other), before);

    // serve on the standby: it starts, and polls (the standby refuses LISTEN).
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--json', '--store', standby.url, '--state-dir', await tempDir()], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const first = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      void exited.then((code) => reject(new Error(`serve exited ${code}: ${err}`)));
    });
    child.kill('SIGTERM');
    await exited;
    assert.is((JSON.parse(first) as { live: string }).live, 'poll');
  } finally {
    await standby.stop();
  }
});

test('a wrong password or a database that does not exist: a typed exit-2 refusal (what, where, what to do), never the password — plain or percent-encoded — and nothing changed', async () => {
  const url = await server.freshDatabase();
  const secret = 'Wr0ng/p@ss:w%rd';
  const encoded = encodeURIComponent(secret);
  const withUserInfo = url.replace('runbook@', `runbook:${encoded}@`);
  const cases: { env: Record<string, string>; args: string[]; code: string; said: RegExp; advice: RegExp; shown: string }[] = [
    { env: { PGPASSWORD: secret }, args: ['--store', url], code: 'STORE_AUTH', said: /password authentication failed for user "runbook" \(SQLSTATE 28P01\)/, advice: /→ check the user in the store URL and its password \(\$PGPASSWORD, or the URL in \$RUNBOOK_STORE\)/, shown: url },
    { env: { RUNBOOK_STORE: withUserInfo }, args: [], code: 'STORE_AUTH', said: /SQLSTATE 28P01/, advice: /→ check the user in the store URL/, shown: url.replace('runbook@', 'runbook:***@') },
    { env: { RUNBOOK_STORE: `${url}?password=${encoded}` }, args: [], code: 'STORE_AUTH', said: /SQLSTATE 28P01/, advice: /→ check the user in the store URL/, shown: `${url}?password=***` },
    { env: {}, args: ['--store', url.replace(/\/[^/]+$/, '/no_such_db')], code: 'STORE_NO_DATABASE', said: /the store's database does not exist on its PostgreSQL server: database "no_such_db" does not exist \(SQLSTATE 3D000\)/, advice: /→ point --store \(or \$RUNBOOK_STORE\) at the database that holds your runs/, shown: url.replace(/\/[^/]+$/, '/no_such_db') },
  ];
  for (const c of cases) {
    for (const json of [[], ['--json']]) {
      const r = await cli(['status', ...c.args, '--state-dir', await tempDir(), ...json], c.env);
      assert.is(r.code, 2, r.stderr);
      assert.match(r.stderr, c.said);
      assert.match(r.stderr, c.advice);
      assert.ok(r.stderr.includes(`(${c.shown})`), r.stderr);
      assert.not.match(r.stderr, /cannot be reached/);
      if (json.length > 0) assert.equal([jsonError(r.stdout).code, jsonError(r.stdout).exitCode], [c.code, 2]);
      clean(r, secret, encoded, encodeURIComponent(encoded));
    }
  }
  // A run with the wrong password: refused before anything is sent to its target.
  const host = await makeHost('server-2016');
  const before = await registryText(host);
  const ran = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--store', url, '--state-dir', await tempDir(), ...FAST], { PGPASSWORD: secret });
  assert.is(ran.code, 2, ran.stderr);
  assert.match(ran.stderr, /SQLSTATE 28P01/);
  clean(ran, secret, encoded);
  assert.is(await registryText(host), before);
});

test('no password at all for a server that asks for one: a STORE_AUTH exit-2 refusal saying what to set (not "cannot be reached", not 69), for a command and for a run, nothing changed', async () => {
  const url = await server.freshDatabase();
  // No $PGPASSWORD (an empty one is none), no ~/.pgpass: node-postgres cannot answer the server's SCRAM challenge.
  const none = { PGPASSWORD: '', PGPASSFILE: '/nonexistent/pgpass' };
  for (const json of [[], ['--json']]) {
    const r = await cli(['status', '--store', url, '--state-dir', await tempDir(), ...json], none);
    assert.is(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`the PostgreSQL server asks the store's user runbook for a password, and none was given ($PGPASSWORD is not set, and neither the URL nor ~/.pgpass holds one) (${url})`), r.stderr);
    assert.match(r.stderr, /→ set \$PGPASSWORD to the password of runbook \(or put it in ~\/\.pgpass, or in the URL in \$RUNBOOK_STORE, percent-encoded\)/);
    assert.not.match(r.stderr, /cannot be reached|SASL/);
    if (json.length > 0) assert.equal([jsonError(r.stdout).code, jsonError(r.stdout).exitCode], ['STORE_AUTH', 2]);
    clean(r);
  }
  const host = await makeHost('server-2016');
  const before = await registryText(host);
  const ran = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--store', url, '--state-dir', await tempDir(), ...FAST], none);
  assert.is(ran.code, 2, ran.stderr);
  assert.match(ran.stderr, /asks the store's user runbook for a password, and none was given/);
  clean(ran);
  assert.is(await registryText(host), before);
});

test('a migration that alters a table, for a user that may read and write it but does not own it: a clear exit-2 error naming the migration, the table, its owner and what to do; applied once as the owner, the user goes on', async () => {
  // A store its owner made with an earlier runbook-engine (migrations 1 to 5), used by a user granted what a driver needs.
  const url = await server.freshDatabase();
  await sql(url, 'CREATE TABLE rbe_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())', ...MIGRATIONS.slice(0, 5), 'INSERT INTO rbe_schema (version) SELECT generate_series(1, 5)');
  await sql(url, `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${LOW.user}`);
  const low = asLow(url);
  for (const json of [[], ['--json']]) {
    const r = await cli(['status', '--store', low, '--state-dir', await tempDir(), ...json], lowEnv);
    assert.is(r.code, 2, r.stderr);
    assert.ok(
      r.stderr.includes(`migration 6 of the PostgreSQL store's schema alters table rbe_fleet_hosts, which only its owner (runbook) may do, and the store's user ${LOW.user} does not own it (SELECT, INSERT, UPDATE and DELETE are not enough): must be owner of table rbe_fleet_hosts (SQLSTATE 42501) (${low})`),
      r.stderr,
    );
    assert.match(r.stderr, new RegExp(`→ run one command of this runbook-engine \\(\`runbook status --store …\`\\) once as runbook, which applies migration 6 \\(and any after it\\); ${LOW.user} then goes on as it is`));
    assert.not.match(r.stderr, /tables are not all created yet|GRANT CREATE ON SCHEMA/);
    if (json.length > 0) assert.equal([jsonError(r.stdout).code, jsonError(r.stdout).exitCode], ['STORE_PERMISSION', 2]);
    clean(r, LOW.password);
  }
  // Nothing of it was applied: the migration's transaction was rolled back.
  assert.equal(await sql(url, 'SELECT max(version) AS v FROM rbe_schema'), [{ v: 5 }]);
  const owner = await cli(['status', '--store', url, '--state-dir', await tempDir()]);
  assert.is(owner.code, 0, owner.stderr);
  const after = await cli(['status', '--json', '--store', low, '--state-dir', await tempDir()], lowEnv);
  assert.is(after.code, 0, after.stderr);
});

test('a table of our name that is not ours, or a table of the store dropped: a clear exit-2 error', async () => {
  const foreign = await server.freshDatabase();
  await sql(foreign, 'CREATE TABLE rbe_runs (id serial PRIMARY KEY, note text)');
  const r = await cli(['status', '--json', '--store', foreign, '--state-dir', await tempDir()]);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /the database holds a table of runbook-engine's name that runbook-engine did not create .*: relation "rbe_runs" already exists \(SQLSTATE 42P07\)/);
  assert.match(r.stderr, /→ give runbook-engine a database of its own \(point --store at it\), or rename that table/);
  assert.is(jsonError(r.stdout).code, 'STORE_SCHEMA');
  clean(r);
  // Nothing of ours was left behind: the migration's transaction was rolled back.
  assert.equal(await sql(foreign, "SELECT to_regclass('rbe_journal') AS t"), [{ t: null }]);

  const dropped = await server.freshDatabase();
  assert.is((await cli(['status', '--store', dropped, '--state-dir', await tempDir()])).code, 0);
  await sql(dropped, 'DROP TABLE rbe_files, rbe_leases, rbe_journal');
  const incomplete = await cli(['status', '--store', dropped, '--state-dir', await tempDir()]);
  assert.is(incomplete.code, 2, incomplete.stderr);
  assert.match(incomplete.stderr, /tables are not all there, or not as runbook-engine made them .*: relation "rbe_journal" does not exist \(SQLSTATE 42P01\)/);
  clean(incomplete);
});

/**
 * Starts a run (on the store `url`, watched as its `owner`) whose host restarts slowly; calls `during` once the restart step is acting (the target
 * was changed), and resolves with the run's exit and its id.
 */
async function runStoppedDuringRestart(url: string, owner: string, env: Record<string, string>, during: () => Promise<void>): Promise<{ code: number | null; stdout: string; stderr: string; runId: string; host: string; state: string }> {
  const host = await makeHost('server-2016', (h) => {
    h.downtimeMs = 2500;
  });
  const state = await tempDir();
  const running = cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--store', url, '--state-dir', state, ...FAST], env);
  let runId = '';
  let ended: { code: number | null; stderr: string } | null = null;
  void running.then((r) => (ended = r));
  for (;;) {
    if (ended) assert.unreachable(`the run ended before its restart: ${JSON.stringify(ended)}`);
    const rows = await sql(owner, `SELECT run_id FROM rbe_journal WHERE line LIKE '%"stepId":"restart"%' AND line LIKE '%"value":"acting"%'`);
    if (rows.length > 0) {
      runId = rows[0].run_id as string;
      break;
    }
    await new Promise((r) => setTimeout(r, 20)); // polling a real server for the run's progress
  }
  await during();
  return { ...(await running), runId, host, state };
}

test('a grant revoked mid-run, after the target was changed: the run stops for a resume (exit 75, what and what to do, continue with), and resumes once granted again', async () => {
  const url = await server.freshDatabase();
  assert.is((await cli(['status', '--store', url, '--state-dir', await tempDir()])).code, 0);
  await sql(url, `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${LOW.user}`);
  const low = asLow(url);
  const r = await runStoppedDuringRestart(low, url, lowEnv, async () => {
    await sql(url, `REVOKE INSERT ON rbe_journal FROM ${LOW.user}`);
  });
  assert.is(r.code, 75, r.stderr + r.stdout);
  assert.match(r.stderr, new RegExp(`run ${r.runId} stopped: the PostgreSQL store refused its user ${LOW.user}: permission denied for table rbe_journal \\(SQLSTATE 42501\\); the target holds changes of this run \\(steps [^)]*restart[^)]*\\)`));
  assert.match(r.stderr, /→ ask the database's owner to GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO rbe_low/);
  assert.ok(r.stderr.includes(`continue with: runbook resume ${r.runId} --store ${low}`), r.stderr);
  clean(r, LOW.password);
  await sql(url, `GRANT INSERT ON rbe_journal TO ${LOW.user}`);
  const resumed = await cli(['resume', r.runId, '--store', low, '--state-dir', r.state], lowEnv);
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
  assert.is((await hostOf(r.host)).restarts, 1);
});

test('a fleet on PostgreSQL whose store refuses a host\'s run mid-run: the fleet stops there for a resume (exit 75, naming the host, the store\'s words and what to do), no later host is started or blamed; resumed once granted again, every host ends compliant', async () => {
  const url = await server.freshDatabase();
  assert.is((await cli(['status', '--store', url, '--state-dir', await tempDir()])).code, 0);
  await sql(url, `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${LOW.user}`);
  const low = asLow(url);
  const dir = await tempDir('rbe-pgfleet-');
  const made = await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '2', '--out', dir, '--downtime-ms', '2500']);
  assert.is(made.code, 0, made.stderr);
  const [canary, second] = ['host-1', 'host-2'].map((h) => join(dir, `${h}.json`));
  const state = await tempDir();
  const running = cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'inventory.yaml'), '--concurrency', '1', '--store', low, '--state-dir', state, ...FAST], lowEnv);
  let ended: { code: number | null; stderr: string } | null = null;
  void running.then((r) => (ended = r));
  for (;;) {
    if (ended) assert.unreachable(`the fleet ended before its canary's restart: ${JSON.stringify(ended)}`);
    if ((await sql(url, `SELECT 1 FROM rbe_journal WHERE line LIKE '%"stepId":"restart"%' AND line LIKE '%"value":"acting"%'`)).length > 0) break;
    await new Promise((r) => setTimeout(r, 20)); // polling a real server for the run's progress
  }
  await sql(url, `REVOKE INSERT ON rbe_journal FROM ${LOW.user}`);
  const r = await running;
  assert.is(r.code, 75, r.stderr + r.stdout);
  const fleetId = /(\d{8}-\d{6}-fleet-[0-9a-f]+)/.exec(r.stdout + r.stderr)![1];
  assert.match(r.stderr, new RegExp(`stopped: the store failed the run of host host-1: run ${fleetId}\\.host-1 stopped: the PostgreSQL store refused its user ${LOW.user}: permission denied for table rbe_journal \\(SQLSTATE 42501\\)[^\\n]*; the fleet stopped there — no host started after it`));
  assert.ok(r.stderr.includes(`→ ask the database's owner to GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${LOW.user} (a user that only reads — status, serve — needs SELECT); then \`runbook resume ${fleetId} --store ${low}\` goes on`), r.stderr);
  assert.not.match(r.stdout + r.stderr, /unreachable/);
  clean(r, LOW.password);
  // The next host was neither started nor blamed.
  assert.is((await hostOf(second)).restarts, 0);
  assert.equal(await sql(url, `SELECT count(*)::int AS n FROM rbe_journal WHERE run_id = '${fleetId}.host-2'`), [{ n: 0 }]);
  await sql(url, `GRANT INSERT ON rbe_journal TO ${LOW.user}`);
  const resumed = await cli(['resume', fleetId, '--store', low, '--state-dir', state], lowEnv);
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
  for (const file of [canary, second]) assert.is((await hostOf(file)).restarts, 1, file);
});

test('the store lost mid-run past its retries, after the target was changed: exit 75 with the resume hint (not 69), and the resume completes once it is back', async () => {
  const url = await server.freshDatabase();
  assert.is((await cli(['status', '--store', url, '--state-dir', await tempDir()])).code, 0);
  const r = await runStoppedDuringRestart(url, url, { RUNBOOK_STORE_RECONNECT_MS: '1500' }, () => server.stop());
  try {
    assert.is(r.code, 75, r.stderr + r.stdout);
    assert.match(r.stderr, new RegExp(`run ${r.runId} stopped: the PostgreSQL store cannot be reached: .*; the target holds changes of this run \\(steps [^)]*restart[^)]*\\)`));
    assert.match(r.stderr, /→ check that the server is up and reachable from here/);
    assert.ok(r.stderr.includes(`continue with: runbook resume ${r.runId} --store ${url}`), r.stderr);
    assert.not.match(r.stderr, /nothing more was changed/);
    // Its leases could not be let go of: said so (they expire by themselves), after a bounded wait.
    assert.match(r.stderr, new RegExp(`could not let go of the run's journal or lease: the lease of (run ${r.runId}|target [^ ]+) could not be released \\(the store cannot be reached: [^)]*\\); (it expires by itself by \\S+|it has expired already)`));
    clean(r);
  } finally {
    await server.start();
  }
  // Its journal could not record the stop, but no driver holds it: status says interrupted, and how to go on.
  const listed = await cli(['status', '--json', '--store', url, '--state-dir', r.state]);
  assert.equal((JSON.parse(listed.stdout) as { runId: string; status: string; outcome: string; leaseExpired?: boolean }[]).map((x) => [x.runId, x.status, x.outcome, x.leaseExpired]), [[r.runId, 'running', 'interrupted', true]]);
  const table = await cli(['status', '--store', url, '--state-dir', r.state]);
  assert.match(table.stdout, new RegExp(`${r.runId}\\s+interrupted \\(lease expired\\)`));
  const one = await cli(['status', r.runId, '--store', url, '--state-dir', r.state]);
  assert.match(one.stdout, new RegExp(`${r.runId}  interrupted \\(lease expired\\)`));
  assert.ok(one.stdout.includes(`resume with \`runbook resume ${r.runId} --store ${url}\``), one.stdout);
  assert.match(one.stdout, /outcome: interrupted \(lease expired\)/);
  const resumed = await cli(['resume', r.runId, '--store', url, '--state-dir', r.state]);
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
  assert.is((await hostOf(r.host)).restarts, 1);
});

test.run();
