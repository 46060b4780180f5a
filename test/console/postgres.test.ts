/**
 * The console over the PostgreSQL store: runs listed and shown from the database, and live updates
 * heard by LISTEN/NOTIFY (the poll set to an hour, so an update can only come from a notification),
 * pushed as server-sent events — also after the listening connection is ended by the server.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSimulatedExecutor, validateRunbook, type RunbookDefinition } from '../../src/index.js';
import { PostgresStore, postgresStore } from '../../src/store/postgres.js';
import { startConsole, type Console } from '../../src/console/server.js';
import { LISTENER_NAME } from '../../src/console/live-postgres.js';
import { postgresForFile } from '../postgres.js';
import { kinds, makeHost, newRunner, tempDir } from '../helpers.js';
import { ConsoleReader } from '../../src/console/reader.js';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cli } from '../cli/run-cli.js';
import { hostname } from 'node:os';
import pg from 'pg';
import type { Executor } from '../../src/index.js';

let store: PostgresStore;
let c: Console;
let stateDir: string;
const { server } = postgresForFile(test, {
  async before(started) {
    stateDir = await tempDir();
    store = await postgresStore(await started.freshDatabase(), { stateDir });
  },
  async after() {
    await c?.close();
    await store?.close();
  },
});

const preflight: RunbookDefinition = { name: 'just-preflight', steps: [{ id: 'preflight', uses: 'orchestrator/preflight' }] };

async function runOne(): Promise<string> {
  const executor = await createSimulatedExecutor(await makeHost('server-2016'));
  try {
    return (await newRunner(stateDir, undefined, store).start(validateRunbook(preflight, kinds, 'inline'), { executor }).result).runId;
  } finally {
    await executor.close();
  }
}

/** The page's event stream, read as it comes. */
async function events(base: string, auth: Record<string, string>) {
  const reader = (await fetch(`${base}/api/events`, { headers: auth })).body!.getReader();
  let text = '';
  return {
    /** Reads until the stream has pushed an update of run `id`; fails after 20 s (no poll would bring it). */
    async until(id: string): Promise<string> {
      const deadline = setTimeout(() => void reader.cancel(), 20_000);
      try {
        while (!text.includes(`"runId":"${id}"`)) {
          const { value, done } = await reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
        }
      } finally {
        clearTimeout(deadline);
      }
      assert.ok(text.includes(`"runId":"${id}"`), `no update of run ${id} was pushed within 20 s`);
      return text;
    },
    close: () => reader.cancel(),
  };
}

/** The backend of the console's listening connection, once it listens on both channels. */
async function listenerPid(not?: number): Promise<number> {
  for (;;) {
    const { rows } = await store.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN rbe_fleets%' AND pid <> $2`, [LISTENER_NAME, not ?? 0]);
    if (rows.length > 0) return rows[0].pid;
    await new Promise((r) => setTimeout(r, 20)); // a real server's reconnection, not simulated time
  }
}

test('runs in PostgreSQL are listed and shown; a new run reaches the page pushed by NOTIFY, with the poll off', async () => {
  const first = await runOne();
  c = await startConsole({ store, stateDir, port: 0, intervalMs: 100, pollMs: 3_600_000 });
  assert.is(c.liveMode, 'listen');
  const base = c.url.slice(0, c.url.indexOf('/?'));
  const auth = { authorization: `Bearer ${c.token}` };
  const list = (await (await fetch(`${base}/api/list`, { headers: auth })).json()) as { items: { runId: string; outcome: string }[]; store: string };
  assert.equal(list.items.map((i) => [i.runId, i.outcome]), [[first, 'already compliant']]);
  assert.not.match(list.store, /:[^:@/]+@/, 'no password in the store shown');
  const run = (await (await fetch(`${base}/api/runs/${first}`, { headers: auth })).json()) as { steps: { id: string }[] };
  assert.equal(run.steps.map((s) => s.id), ['preflight']);

  const stream = await events(base, auth);
  const id = await runOne();
  const text = await stream.until(id);
  await stream.close();
  assert.match(text, /event: hello\ndata: \{"mode":"listen"\}/);
  assert.match(text, /event: update/);
  assert.ok(text.includes(`"runId":"${id}"`), 'the new run was pushed');
});

test("a run whose journal says running: shown running while a driver holds its lease (here, or a worker of another machine), interrupted with the resume once no driver does (the driver's process gone)", async () => {
  // The run's first action waits on a gate: its journal says `running`, its lease is held by this process.
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let acting!: () => void;
  const started = new Promise<void>((r) => (acting = r));
  const inner = await createSimulatedExecutor(await makeHost('server-2016'));
  const executor: Executor = { ...inner, name: inner.name, target: inner.target, onTarget: inner.onTarget, roundTrips: 0, run: async (batch, o) => (acting(), await gate, inner.run(batch, o)), close: () => inner.close() };
  const run = newRunner(stateDir, undefined, store).start(validateRunbook(preflight, kinds, 'inline'), { executor });
  await started;
  const admin = new pg.Client({ connectionString: store.url });
  await admin.connect();
  try {
    const reader = new ConsoleReader(store, stateDir);
    const shownAs = async () => {
      const row = await reader.row(run.id);
      const view = (await reader.run(run.id))!;
      const listed = (await reader.list()).items.find((i) => i.kind === 'run' && i.runId === run.id) as { outcomeId: string } | undefined;
      return { row: [row.status, row.outcomeId, row.why ?? ''], view: [view.outcomeId, view.advice ?? ''], listed: listed?.outcomeId };
    };
    const live = await shownAs();
    assert.equal(live.row.slice(0, 2), ['running', 'running']);
    assert.is(live.listed, 'running');
    // A worker of another machine holds it: running still (its lease is live; that machine's processes are not ours to judge).
    await admin.query('UPDATE rbe_leases SET holder = $2 WHERE run_id = $1', [run.id, 'another-machine:4242:abcd']);
    assert.equal((await shownAs()).row.slice(0, 2), ['running', 'running']);
    // Its driver was a process of this machine that is gone: the lease holds nothing.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await admin.query('UPDATE rbe_leases SET holder = $2 WHERE run_id = $1', [run.id, `${hostname()}:${dead}:abcd`]);
    const gone = await shownAs();
    assert.equal(gone.row.slice(0, 2), ['awaiting-resume', 'interrupted']);
    assert.match(gone.row[2], /lease expired: no driver holds the run/);
    assert.is(gone.listed, 'interrupted');
    assert.equal(gone.view[0], 'interrupted');
    assert.match(gone.view[1], new RegExp(`No driver holds it any more .*\`runbook resume ${run.id} --store `));
  } finally {
    await admin.end();
    open();
    await run.result.catch(() => undefined);
    await executor.close();
  }
});

test('a fleet on PostgreSQL whose controller was killed reads "awaiting-resume", as on the file store: its host under way "interrupted (lease expired)", the hosts it did not start "not started (awaiting resume)" — not "running" forever', async () => {
  const dir = await tempDir();
  const made = await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '3', '--out', join(dir, 'f3'), '--downtime-ms', '60000']);
  assert.is(made.code, 0, made.stderr);
  const url = await server.freshDatabase();
  const state = join(dir, 'state');
  const killed = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'f3', 'inventory.yaml'), '--yes', '--concurrency', '1', '--store', url, '--state-dir', state, '--param', 'pollIntervalMs=10'], { RUNBOOK_CRASH_AFTER: '20' });
  assert.is(killed.code, null, 'killed');
  const own = await postgresStore(url, { stateDir: state });
  try {
    const { rows } = await own.query<{ fleet_id: string }>('SELECT fleet_id FROM rbe_fleets');
    const fleetId = rows[0].fleet_id;
    const reader = new ConsoleReader(own, state);
    const view = await reader.fleet(fleetId);
    assert.equal(view.waves.flatMap((w) => w.hosts.map((h) => [h.name, h.outcome])), [
      ['host-1', 'interrupted (lease expired)'],
      ['host-2', 'not started (awaiting resume)'],
      ['host-3', 'not started (awaiting resume)'],
    ]);
    assert.is(view.status, 'awaiting-resume');
    assert.is((await reader.fleetRow(fleetId)).status, 'awaiting-resume');
    // `runbook status <fleet-id>` reads it as the file store's: the host under way awaits its resume, the others were not started.
    const st = await cli(['status', fleetId, '--store', url, '--state-dir', state]);
    assert.is(st.code, 0, st.stderr);
    assert.match(st.stdout, /3 host\(s\): 1 interrupted \(awaiting resume\), 2 not started\n/);
    assert.match(st.stdout, /\ncanary\s+host-1\s+interrupted \(awaiting resume\)/);
    assert.not.match(st.stdout, /host-\d\s+running/);
    // A fleet queued for workers has no controller to lose: still running while its hosts wait for them.
    await own.query('DELETE FROM rbe_fleet_leases WHERE fleet_id = $1', [fleetId]);
    assert.is((await reader.fleet(fleetId)).status, 'running');
  } finally {
    await own.close();
  }
});

test('a listening connection the server ends is made again: the run missed meanwhile and a later one reach the page', async () => {
  const base = c.url.slice(0, c.url.indexOf('/?'));
  const auth = { authorization: `Bearer ${c.token}` };
  const stream = await events(base, auth);
  const before = await listenerPid();
  const { rows } = await store.query<{ ended: boolean }>('SELECT pg_terminate_backend($1) AS ended', [before]);
  assert.ok(rows[0].ended);
  // Driven while the console may not listen: found by the listing read after the reconnection.
  const missed = await runOne();
  await stream.until(missed);
  const after = await listenerPid(before);
  assert.is.not(after, before);
  const later = await runOne();
  const text = await stream.until(later);
  await stream.close();
  assert.ok(text.includes(`"runId":"${missed}"`) && text.includes(`"runId":"${later}"`), 'both runs were pushed');
  assert.is(c.liveMode, 'listen', 'still listening, not polling');
});

test('on a hot standby, which refuses LISTEN, the console polls and says so', async () => {
  const standby = await server.standby(new URL(store.url).pathname.slice(1));
  // Opened as the CLI opens a store: its migrations are there, replicated, and only read (a standby takes no CREATE TABLE).
  const replica = await postgresStore(standby.url, { stateDir, reconnectForMs: 2000 });
  try {
    const onStandby = await startConsole({ store: replica, stateDir, port: 0, pollMs: 3_600_000 });
    try {
      assert.is(onStandby.liveMode, 'poll');
      const base = onStandby.url.slice(0, onStandby.url.indexOf('/?'));
      const res = await fetch(`${base}/api/events`, { headers: { authorization: `Bearer ${onStandby.token}` } });
      const reader = res.body!.getReader();
      const { value } = await reader.read();
      await reader.cancel();
      assert.match(new TextDecoder().decode(value), /event: hello\ndata: \{"mode":"poll"\}/);
    } finally {
      await onStandby.close();
    }
  } finally {
    await replica.close();
    await standby.stop();
  }
});

test.run();
