/**
 * The work queue's start-up (a real PostgreSQL server on loopback, started for this file): workers
 * starting at once take turns to start pg-boss, under a lock that a paused worker cannot keep.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { postgresStore } from '../../src/store/postgres.js';
import { WorkQueue } from '../../src/worker/queue.js';
import { tempDir } from '../helpers.js';
import { postgresForFile } from '../postgres.js';
import { until } from '../processes.js';

const clients: pg.Client[] = [];
const children: ChildProcess[] = [];
const { server, stores } = postgresForFile(test, {
  async after() {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const c of clients) await c.end().catch(() => undefined);
  },
});

test('a worker paused while it starts the queue does not stop another from starting: the server ends its session, and it still starts when it wakes', async () => {
  const url = await server.freshDatabase();
  const stateDir = await tempDir('rbe-queue-');
  const store = await postgresStore(url, { stateDir, idleInTransactionMs: 1000 });
  stores.push(store);
  await (await WorkQueue.open(store)).close(); // pg-boss's schema is installed
  // pg-boss's start reads its version table: held, the child's start waits there, the queue's lock taken.
  const blocker = new pg.Client({ connectionString: url });
  clients.push(blocker);
  await blocker.connect();
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE runbook_queue.version IN ACCESS EXCLUSIVE MODE');
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'fixtures', 'open-queue.ts'), url, stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const holders = async () =>
    (await store.query<{ pid: number }>(`SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'runbook-engine' AND a.datname = current_database()`)).rows.map((r) => r.pid);
  await until('the child to hold the queue lock while pg-boss starts', async () => (await holders()).length > 0 && (await store.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'runbook-engine queue' AND wait_event_type = 'Lock' AND datname = current_database()`)).rowCount! > 0);
  const [holder] = await holders();
  child.kill('SIGSTOP');
  await blocker.query('COMMIT');
  // Another worker starts: it waits for the lock only until the server ends the paused one's session.
  const starting = WorkQueue.open(store);
  const timer = new AbortController();
  const opened = await Promise.race([starting, delay(15_000, undefined, { signal: timer.signal }).then(() => undefined, () => undefined)]);
  timer.abort();
  if (!opened) {
    child.kill('SIGKILL'); // its lock goes with it: the start waiting on it ends, and is closed
    await (await starting).close();
  }
  assert.ok(opened, 'the second start waited on the paused worker past 15 s');
  await opened.close();
  const { rows } = await store.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [holder]);
  assert.is(rows.length, 0, "the server ended the paused worker's lock-holding session");
  // Woken, the paused worker's start had succeeded: its COMMIT fails (no session), and it opens all the same.
  child.kill('SIGCONT');
  const [code] = await once(child, 'exit');
  assert.is(code, 0, out);
  assert.match(out, /^opened\n/);
});

test.run();
