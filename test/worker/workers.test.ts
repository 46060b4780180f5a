/**
 * Workers on a PostgreSQL store, as real processes (the built CLI) against a real server on loopback:
 * fleets queued with `run --no-wait` and driven by `runbook worker`; a worker SIGKILLed mid-run and
 * its runs taken over; a worker paused past its lease and fenced when it wakes; SIGTERM; the server
 * restarted mid-fleet; the failure budget. Every host must end compliant with exactly one restart.
 * (These wait on real processes and a real server, polling; no simulated time is waited for.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { postgresStore, type PostgresStore } from '../../src/store/postgres.js';
import { runResult } from '../../src/engine/run-index.js';
import { hostRunId } from '../../src/fleet/fleet.js';
import { WorkQueue } from '../../src/worker/queue.js';
import { hostOf, restartRefused, tempDir } from '../helpers.js';
import { CLI, cli } from '../cli/run-cli.js';
import { postgresForFile } from '../postgres.js';
import { writeHost, readHost, Runner, bundledStepKinds, createSimulatedExecutor } from '../../src/index.js';
import { startWorker, type Worker } from '../../src/worker/worker.js';

const started: ChildProcess[] = [];
const { server } = postgresForFile(test, {
  async after() {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  },
});

/** What is printed when a wait times out: the store's tables and every worker's events. */
let diagnose: (() => Promise<string>) | null = null;

const until = async (what: string, check: () => Promise<boolean> | boolean, ms = 90_000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100)); // polling real processes
  }
  throw new Error(`timed out waiting for ${what}${diagnose ? `\n${await diagnose().catch((e: unknown) => String(e))}` : ''}`);
};

function diagnoseWith(s: Setup, workers: WorkerProcess[]): void {
  diagnose = async () => {
    const q = async (sql: string) => JSON.stringify((await s.store.query(sql)).rows);
    return [
      `leases: ${await q('SELECT run_id, generation, holder, expires_at, released, now() AS now FROM rbe_leases')}`,
      `runs: ${await q(`SELECT run_id, summary->>'status' AS status, summary->>'awaiting' AS awaiting, summary_seq, (SELECT max(seq) FROM rbe_journal j WHERE j.run_id = r.run_id) AS last FROM rbe_runs r`)}`,
      `hosts: ${await q('SELECT host, state, status FROM rbe_fleet_hosts')}`,
      `jobs: ${await q('SELECT id, state, retry_count, data FROM runbook_queue.job')}`,
      ...workers.map((w, i) => `worker ${i}: ${JSON.stringify(w.events)}`),
    ].join('\n');
  };
}

interface WorkerProcess {
  child: ChildProcess;
  events: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

function worker(url: string, stateDir: string, extra: string[] = []): WorkerProcess {
  const child = spawn(process.execPath, [CLI, 'worker', '--json', '--state-dir', stateDir, '--lease-ms', '2500', '--poll-ms', '100', '--concurrency', '3', ...extra], {
    env: { ...process.env, RUNBOOK_STORE: url, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const events: Record<string, unknown>[] = [];
  let buffer = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        events.push({ event: 'text', line });
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, events, exited, stderr: () => stderr };
}

interface Setup {
  url: string;
  store: PostgresStore;
  stateDir: string;
  inventory: string;
  hosts: { name: string; file: string }[];
}

/** A database, a simulated fleet (a canary, then the rest) and its inventory. */
async function setup(count: number, downtimeMs: number): Promise<Setup> {
  const url = await server.freshDatabase();
  const dir = await tempDir('rbe-wfleet-');
  const made = await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', String(count), '--out', dir, '--downtime-ms', String(downtimeMs)]);
  assert.is(made.code, 0, made.stderr);
  const inventory = join(dir, 'inventory.yaml');
  const doc = parseYaml(await readFile(inventory, 'utf8')) as { hosts: { name: string; target: string }[] };
  const stateDir = await tempDir('rbe-wstate-');
  const store = await postgresStore(url, { stateDir });
  return { url, store, stateDir, inventory, hosts: doc.hosts.map((h) => ({ name: h.name, file: resolve(dir, h.target.slice(4)) })) };
}

async function enqueue(s: Setup, extra: string[] = []): Promise<string> {
  const out = await cli(['run', 'orchestrator-tls12', '--inventory', s.inventory, '--no-wait', '--json', '--state-dir', s.stateDir, '--param', 'pollIntervalMs=100', ...extra], { RUNBOOK_STORE: s.url });
  assert.is(out.code, 0, out.stderr);
  return (JSON.parse(out.stdout.trim().split('\n').pop()!) as { fleetId: string }).fleetId;
}

async function hostStates(s: Setup, fleetId: string): Promise<Record<string, { state: string; status: string | null }>> {
  const { rows } = await s.store.query<{ host: string; state: string; status: string | null }>('SELECT host, state, status FROM rbe_fleet_hosts WHERE fleet_id = $1', [fleetId]);
  return Object.fromEntries(rows.map((r) => [r.host, { state: r.state, status: r.status }]));
}

const allEnded = (s: Setup, fleetId: string) => async () => Object.values(await hostStates(s, fleetId)).every((h) => h.state === 'ended');

/** Jobs fetched by a worker whose run has no lease yet (the worker is between fetching and taking it). */
async function jobsWithoutLease(s: Setup): Promise<number> {
  const { rows } = await s.store.query<{ n: string }>(
    `SELECT count(*) AS n FROM runbook_queue.job j WHERE j.state = 'active'
       AND NOT EXISTS (SELECT 1 FROM rbe_leases l WHERE l.run_id = j.data->>'runId' AND NOT l.released)`,
  );
  return Number(rows[0].n);
}

async function journalLength(s: Setup, runId: string): Promise<number> {
  const { rows } = await s.store.query<{ n: string }>('SELECT count(*) AS n FROM rbe_journal WHERE run_id = $1', [runId]);
  return Number(rows[0].n);
}

async function assertCompliant(s: Setup, fleetId: string) {
  for (const h of s.hosts) {
    const result = await runResult(s.store, hostRunId(fleetId, h.name));
    assert.is(result.status, 'succeeded', `${h.name}: ${JSON.stringify(result.error)}`);
    assert.is((await hostOf(h.file)).restarts, 1, `${h.name} restarted exactly once`);
  }
}

/** Ends the test: each worker is sent SIGTERM and must exit 0; the test's store connection is closed. */
async function stopWorkers(s: Setup, workers: WorkerProcess[]): Promise<void> {
  for (const w of workers) w.child.kill('SIGTERM');
  for (const w of workers) assert.is((await w.exited).code, 0, w.stderr());
  await s.store.close();
}

test('two workers share a fleet; one is SIGKILLed mid-run, the other takes its runs over: every host compliant, one restart each', async () => {
  const s = await setup(6, 1500);
  const a = worker(s.url, s.stateDir);
  const fleetId = await enqueue(s);
  // A alone drives the canary; then B joins, and A is killed while it drives hosts of the second wave.
  const b = worker(s.url, await tempDir('rbe-wstate-b-'));
  diagnoseWith(s, [a, b]);
  const mine = () => a.events.filter((e) => e.event === 'host:start').map((e) => e.runId as string);
  // A is killed while it drives a host of the second wave, and not while it holds a job it fetched but
  // has not yet taken the run's lease for: such a job waits for pg-boss to expire it (a minute and up to
  // a maintenance round, docs/scaling.md), which is not what this test is about.
  await until('worker A to drive a host of the second wave, with no job between fetch and lease', async () => {
    for (const runId of mine()) if (!runId.endsWith(s.hosts[0].name) && (await journalLength(s, runId)) >= 8) return (await jobsWithoutLease(s)) === 0;
    return false;
  });
  const victims = mine().filter((id) => !id.endsWith(`.${s.hosts[0].name}`));
  a.child.kill('SIGKILL');
  assert.is((await a.exited).signal, 'SIGKILL');
  await until('every host to end', allEnded(s, fleetId));
  await assertCompliant(s, fleetId);
  const resumed = b.events.filter((e) => e.event === 'host:start' && e.resumed === true).map((e) => e.runId);
  assert.ok(victims.some((v) => resumed.includes(v)), `B resumed a run A was driving (${victims.join(', ')} vs ${resumed.join(', ')})`);
  await stopWorkers(s, [b]);
});

/**
 * Pauses a worker (SIGSTOP) at the worst point: while its session is idle inside a transaction (it polls
 * its fleets every 100 ms, each poll a transaction under the fleet's lock). Returns that session's pid.
 */
async function pauseInsideTransaction(s: Setup, w: WorkerProcess): Promise<number> {
  for (;;) {
    const { rows } = await s.store.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'`);
    if (rows.length > 0) {
      w.child.kill('SIGSTOP');
      const { rows: still } = await s.store.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'idle in transaction'`, [rows[0].pid]);
      if (still.length > 0) return rows[0].pid;
      w.child.kill('SIGCONT'); // its transaction ended before the pause: again
    }
  }
}

test('a worker paused past its lease is fenced when it wakes: it stores nothing more, the host restarts once', async () => {
  const s = await setup(1, 4000);
  const a = worker(s.url, s.stateDir);
  const fleetId = await enqueue(s);
  const runId = hostRunId(fleetId, s.hosts[0].name);
  diagnoseWith(s, [a]);
  await until('the host to go down for its restart', async () => Boolean((await readHost(s.hosts[0].file)).down));
  // Paused inside its fleet's transaction, it holds the fleet's lock: once CI paused it there by chance,
  // and the other worker waited on that lock ("Query read timeout") until the pause ended.
  const paused = await pauseInsideTransaction(s, a);
  const b = worker(s.url, await tempDir('rbe-wstate-b-'));
  diagnoseWith(s, [a, b]);
  await until('every host to end', allEnded(s, fleetId));
  // Paused right after its BEGIN, before it took the fleet's lock, it stopped nobody: the fleet may end
  // before the server's idle-in-transaction timeout (10 s) has ended its session. Ended it is, in time.
  await until("the server to end the paused worker's session, and its locks with it", async () => (await s.store.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [paused])).rows.length === 0, 30_000);
  const records = await journalLength(s, runId);
  a.child.kill('SIGCONT');
  await until('A to find it lost the run', () => a.events.some((e) => e.event === 'host:end' && e.status === 'fenced'));
  assert.is(await journalLength(s, runId), records, 'nothing appended by the fenced worker');
  await assertCompliant(s, fleetId);
  await stopWorkers(s, [a, b]);
});

test('SIGTERM: the worker stops claiming, its runs stop at a safe point, it exits 0; another worker finishes them', async () => {
  const s = await setup(3, 3000);
  const a = worker(s.url, s.stateDir);
  const fleetId = await enqueue(s, ['--concurrency', '3']);
  await until('A to drive the second wave', () => a.events.filter((e) => e.event === 'host:start').length >= 3);
  a.child.kill('SIGTERM');
  const exit = await a.exited;
  assert.is(exit.code, 0);
  const interrupted = a.events.filter((e) => e.event === 'host:end' && e.status === 'awaiting-resume').length;
  assert.ok(interrupted >= 1, 'runs under way stopped awaiting a resume');
  assert.ok(a.events.length > 0 && a.events.every((e) => typeof e.at === 'string' && !Number.isNaN(Date.parse(e.at))), 'every line of the worker\'s log carries its time');
  const ends = (w: WorkerProcess) => w.events.filter((e) => e.event === 'host:end').map((e) => [e.status, e.outcome]);
  for (const [status, outcome] of ends(a)) assert.is(outcome, status === 'awaiting-resume' ? 'interrupted' : 'changed', 'host:end carries the graduated outcome');
  const b = worker(s.url, await tempDir('rbe-wstate-b-'));
  diagnoseWith(s, [a, b]);
  await until('every host to end', allEnded(s, fleetId));
  await assertCompliant(s, fleetId);
  await until('B to log every host it ended', () => ends(b).length >= interrupted);
  assert.ok(ends(b).every(([, outcome]) => outcome === 'changed'), `B's hosts changed: ${JSON.stringify(ends(b))}`);
  await stopWorkers(s, [b]);
});

test('the store refuses the worker\'s login mid-life (its password rotated): one line naming the user and the store, then the worker stops and exits 2 (STORE_AUTH), never a password, not retried every poll', async () => {
  const s = await setup(1, 0);
  const role = { user: 'rbe_rotated', old: 'old-pw/7c1e@x', now: 'new-pw/9d2f@y' };
  await s.store.query(`CREATE ROLE ${role.user} LOGIN SUPERUSER PASSWORD '${role.old}'`);
  const url = s.url.replace('runbook@', `${role.user}@`);
  const child = spawn(process.execPath, [CLI, 'worker', '--json', '--state-dir', s.stateDir, '--poll-ms', '50'], { env: { ...process.env, RUNBOOK_STORE: url, PGPASSWORD: role.old, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await until('the worker to start', () => out.includes('"event":"worker:start"'));
  // Rotated: the new password is the role's, the worker's sessions are ended; each new login is refused.
  await s.store.query(`ALTER ROLE ${role.user} PASSWORD '${role.now}'`);
  await s.store.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role.user]);
  let code: number | null | undefined;
  void exited.then((c) => (code = c));
  await until('the worker to exit', () => code !== undefined, 30_000).catch((e: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\nits log:\n${out.split('\n').slice(-6).join('\n')}`);
  });
  assert.is(code, 2, err);
  const events = out.trim().split('\n').map((l) => JSON.parse(l) as { event: string; code?: string; message?: string });
  const refused = events.filter((e) => e.event === 'store:refused');
  assert.is(refused.length, 1, out);
  assert.is(refused[0].code, 'STORE_AUTH');
  assert.ok(refused[0].message!.includes(`the PostgreSQL server refused the login of the store's user ${role.user} (wrong password, or no such user): password authentication failed for user "${role.user}" (SQLSTATE 28P01) (${url})`), refused[0].message);
  assert.ok(events.filter((e) => e.event === 'store:error').length <= 1, `retried: ${out}`);
  assert.is(events.at(-2)?.event, 'worker:stopped');
  // The error said once, in the log line: what, where, what to do; not again on stderr at exit. The
  // --json error event every command ends with stays (its code and exit code); no stack.
  assert.match(refused[0].message!, /→ check the user in the store URL and its password \(\$PGPASSWORD/);
  assert.not.match(err, /refused the login/, `said again on stderr: ${err}`);
  assert.equal([events.at(-1)?.event, events.at(-1)?.code, (events.at(-1) as { exitCode?: number }).exitCode], ['error', 'STORE_AUTH', 2]);
  const all = out + err;
  assert.not.match(all, /\n\s+at .+:\d+:\d+/);
  for (const secret of [role.old, role.now]) for (const shown of [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')]) assert.not.ok(all.includes(shown), `a password in: ${all}`);
  await s.store.close();
});

test('a stop that comes while the worker fetches: what it fetched is handed back, not driven, and another worker drives it', async () => {
  const s = await setup(1, 500);
  const fleetId = await enqueue(s);
  const runner = new Runner({ stateDir: s.stateDir, store: s.store, kinds: bundledStepKinds(), lease: { ttlMs: 2500 } });
  // The stop arrives while the queue's answer is on its way: the worker is told after the jobs were
  // taken from the queue, before it sees them.
  const fetch = WorkQueue.prototype.fetch;
  let w: Worker | undefined;
  let fetchedAsItStopped = 0;
  WorkQueue.prototype.fetch = async function (this: WorkQueue, n: number) {
    const jobs = await fetch.call(this, n);
    if (jobs.length > 0 && w && fetchedAsItStopped === 0) {
      fetchedAsItStopped = jobs.length;
      void w.stop();
    }
    return jobs;
  };
  const starts: string[] = [];
  try {
    w = await startWorker({ store: s.store, runner, connect: (target) => createSimulatedExecutor(target.slice('sim:'.length)), pollMs: 50 });
    w.events.on('host:start', (e) => starts.push(e.runId));
    await until('the worker to fetch the job', () => fetchedAsItStopped > 0);
    await w.stop();
  } finally {
    WorkQueue.prototype.fetch = fetch;
  }
  assert.equal(starts, [], 'the stopping worker drove nothing it fetched');
  const b = worker(s.url, await tempDir('rbe-wstate-b-'));
  diagnoseWith(s, [b]);
  await until('every host to end', allEnded(s, fleetId));
  await assertCompliant(s, fleetId);
  await stopWorkers(s, [b]);
});

test('PostgreSQL stopped and started again mid-fleet: the workers reconnect and finish, one restart per host', async () => {
  const s = await setup(4, 1500);
  const a = worker(s.url, s.stateDir);
  const b = worker(s.url, await tempDir('rbe-wstate-b-'));
  const fleetId = await enqueue(s);
  diagnoseWith(s, [a, b]);
  await until('the second wave under way', () => [...a.events, ...b.events].filter((e) => e.event === 'host:start').length >= 2);
  await s.store.close();
  await server.stop();
  await new Promise((r) => setTimeout(r, 1500)); // the server stays down a while, for real
  await server.start();
  s.store = await postgresStore(s.url, { stateDir: s.stateDir });
  await until('every host to end', allEnded(s, fleetId));
  await assertCompliant(s, fleetId);
  await stopWorkers(s, [a, b]);
});

test('a job is done once its run holds the lease: a job expiry shorter than the run hands nothing out twice', async () => {
  const s = await setup(1, 8000);
  // The queue made first, by this test: its jobs expire 4 s after they are fetched (checked every second),
  // while the host's run lasts longer than its 8 s restart.
  const queue = await WorkQueue.open(s.store, { jobExpirySeconds: 4, maintenanceSeconds: 1 });
  const a = worker(s.url, s.stateDir);
  const b = worker(s.url, await tempDir('rbe-wstate-b-'));
  const fleetId = await enqueue(s);
  const runId = hostRunId(fleetId, s.hosts[0].name);
  diagnoseWith(s, [a, b]);
  await until('the host to go down for its restart', async () => Boolean((await readHost(s.hosts[0].file)).down));
  const { rows } = await s.store.query<{ state: string }>(`SELECT state FROM runbook_queue.job WHERE data->>'runId' = $1`, [runId]);
  assert.equal(rows.map((r) => r.state), ['completed'], 'the job is completed while its run goes on');
  await until('every host to end', allEnded(s, fleetId));
  const events = [...a.events, ...b.events];
  assert.equal(events.filter((e) => e.event === 'host:start').map((e) => e.runId), [runId], 'one worker drove the run, once');
  assert.is(events.filter((e) => e.event === 'host:held').length, 0, 'no worker was handed the job again');
  await assertCompliant(s, fleetId);
  await queue.close();
  await stopWorkers(s, [a, b]);
});

test('the failure budget holds across workers: a failed canary, and no host of the next wave is touched', async () => {
  const s = await setup(4, 200);
  const canary = await readHost(s.hosts[0].file);
  restartRefused(canary);
  await writeHost(s.hosts[0].file, canary);
  const untouched = await Promise.all(s.hosts.slice(1).map((h) => readFile(h.file, 'utf8')));
  const a = worker(s.url, s.stateDir);
  const fleetId = await enqueue(s, ['--max-failures', '0']);
  await until('the fleet to be over', () => a.events.some((e) => e.event === 'fleet:over'));
  const states = await hostStates(s, fleetId);
  assert.equal(states[s.hosts[0].name], { state: 'ended', status: 'rolled-back' });
  for (const h of s.hosts.slice(1)) assert.equal(states[h.name], { state: 'pending', status: null });
  assert.equal(await Promise.all(s.hosts.slice(1).map((h) => readFile(h.file, 'utf8'))), untouched, 'the next wave never contacted');
  const status = await cli(['status', fleetId, '--json', '--state-dir', s.stateDir, '--store', s.url]);
  assert.is(status.code, 0, status.stderr);
  const matrix = JSON.parse(status.stdout) as { hosts: { host: string; status: string }[] };
  assert.equal(matrix.hosts.map((h) => h.status), ['rolled-back', 'not started', 'not started', 'not started']);
  const reports = await tempDir('rbe-wreports-');
  assert.is((await cli(['status', fleetId, '--reports', reports, '--state-dir', s.stateDir, '--store', s.url])).code, 0);
  assert.match(await readFile(join(reports, 'junit.xml'), 'utf8'), /<skipped/);
  await stopWorkers(s, [a]);
});

test('a queued fleet is its workers\': `resume <fleet-id>` and `rollback <fleet-id>` are refused (exit 2) while they have hosts to drive, nothing contacted; once they are done, the fleet is anyone\'s', async () => {
  const s = await setup(3, 200);
  const canary = await readHost(s.hosts[0].file);
  restartRefused(canary);
  await writeHost(s.hosts[0].file, canary);
  const before = await Promise.all(s.hosts.map((h) => readFile(h.file, 'utf8')));
  // No worker yet: the canary is queued, the rest wait for their wave.
  const fleetId = await enqueue(s, ['--max-failures', '0']);
  const env = { RUNBOOK_STORE: s.url };
  const resumed = await cli(['resume', fleetId, '--state-dir', s.stateDir], env);
  assert.is(resumed.code, 2, resumed.stderr + resumed.stdout);
  assert.match(resumed.stderr, `fleet ${fleetId} is queued: its workers drive it (under way: ${s.hosts[0].name}; waiting for their wave: ${s.hosts[1].name}, ${s.hosts[2].name})`);
  assert.match(resumed.stderr, `runbook status ${fleetId}`);
  assert.not.match(resumed.stdout, /wave|preflight/, 'no host was driven');
  const rolledBack = await cli(['rollback', fleetId, '--yes', '--state-dir', s.stateDir], env);
  assert.is(rolledBack.code, 2, rolledBack.stderr + rolledBack.stdout);
  assert.match(rolledBack.stderr, `fleet ${fleetId} is queued: its workers drive it`);
  assert.equal(await Promise.all(s.hosts.map((h) => readFile(h.file, 'utf8'))), before, 'no host was contacted');
  assert.equal(await journalLength(s, hostRunId(fleetId, s.hosts[0].name)), 0, 'no run was started');
  // The workers drive it: the canary fails, the budget is spent, nothing more is queued.
  const a = worker(s.url, s.stateDir);
  diagnoseWith(s, [a]);
  await until('the fleet to be over', () => a.events.some((e) => e.event === 'fleet:over'));
  const after = await cli(['rollback', fleetId, '--yes', '--state-dir', s.stateDir], env);
  assert.not.match(after.stderr, /is queued/, after.stderr);
  assert.match(after.stdout, `fleet ${fleetId}: nothing to roll back`);
  await stopWorkers(s, [a]);
});

test.run();
