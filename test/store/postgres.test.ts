/**
 * The PostgreSQL store's notifications (a real server on loopback, started for this file): a journal
 * batch notifies its run id once, only when its transaction commits; a fleet's records notify its id.
 * Absence is proven without waiting: notifications of one session arrive in order, so once a later
 * marker arrives, an earlier notification would have arrived before it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pg from 'pg';
import { APPEND_SQL, FLEET_CHANNEL, JOURNAL_CHANNEL, MIGRATIONS, NOTIFY_EVERY_MS, PostgresStore, postgresStore, storeRefusal } from '../../src/store/postgres.js';
import type { FleetRecord } from '../../src/fleet/types.js';
import { StoreRefusedError, StoreUnavailableError, ValidationError } from '../../src/errors.js';
import { tempDir } from '../helpers.js';
import { postgresForFile } from '../postgres.js';

let store: PostgresStore;
let url: string;
const clients: pg.Client[] = [];
postgresForFile(test, {
  async before(started) {
    url = await started.freshDatabase();
    store = await postgresStore(url, { stateDir: await tempDir('rbe-store-') });
  },
  async after() {
    for (const c of clients) await c.end().catch(() => undefined);
    await store?.close();
  },
});

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  clients.push(c);
  return c;
}

/** A client listening on both channels, with what it heard and a way to wait for a payload. */
async function listener(): Promise<{ heard: string[]; until(payload: string): Promise<void> }> {
  const c = await client();
  const heard: string[] = [];
  let wake = () => undefined as void;
  c.on('notification', (n) => {
    heard.push(`${n.channel}:${n.payload}`);
    wake();
  });
  await c.query(`LISTEN ${JOURNAL_CHANNEL}`);
  await c.query(`LISTEN ${FLEET_CHANNEL}`);
  return {
    heard,
    async until(payload) {
      while (!heard.some((h) => h.endsWith(`:${payload}`))) await new Promise<void>((r) => (wake = r));
    },
  };
}

test('a malformed store URL is a ValidationError naming the field and the URL, its password masked, before anything connects', async () => {
  for (const bad of ['postgres://rbe:hunter2@db:notaport/x', 'postgres://rbe:hun/ter2@[::1/x', 'mysql://rbe:hunter2@db/x']) {
    try {
      await postgresStore(bad, { stateDir: await tempDir('rbe-store-') });
      assert.unreachable(`${bad} is refused`);
    } catch (error) {
      assert.instance(error, ValidationError, `${bad}: ${String(error)}`);
      const message = (error as Error).message;
      assert.match(message, /the store URL \(--store or \$RUNBOOK_STORE\) "[a-z]+:\/\/rbe:\*\*\*@/, message);
      assert.match(message, /expected postgres:\/\/user@host:port\/database/);
      assert.not.match(message, /hunter2|hun\/ter2|ter2/);
    }
  }
});

test('a journal batch notifies its run id once, when its transaction commits; a rolled-back batch notifies nothing', async () => {
  const l = await listener();
  const lease = await store.lease('notify-run', { renew: false });
  const writer = await client();
  const other = await client();
  const batch = ['notify-run', lease.generation, [1, 2, 3], ['a', 'b', 'c']];

  await writer.query('BEGIN');
  await writer.query(APPEND_SQL, batch);
  await writer.query('ROLLBACK');
  await writer.query(`NOTIFY ${JOURNAL_CHANNEL}, 'marker-1'`);
  await l.until('marker-1');
  assert.equal(l.heard, [`${JOURNAL_CHANNEL}:marker-1`], 'nothing for the rolled-back batch');

  await writer.query('BEGIN');
  const r = await writer.query(APPEND_SQL, batch);
  assert.is(r.rowCount, 1, 'one notification for the batch of three records');
  await other.query(`NOTIFY ${JOURNAL_CHANNEL}, 'marker-2'`);
  await l.until('marker-2');
  assert.equal(l.heard.slice(1), [`${JOURNAL_CHANNEL}:marker-2`], 'nothing before the commit');
  await writer.query('COMMIT');
  await writer.query(`NOTIFY ${JOURNAL_CHANNEL}, 'marker-3'`);
  await l.until('marker-3');
  assert.equal(l.heard.slice(2), [`${JOURNAL_CHANNEL}:notify-run`, `${JOURNAL_CHANNEL}:marker-3`], 'the run id, once, on commit');
  await lease.release();
});

test("a fenced writer's batch stores nothing and notifies nothing", async () => {
  const l = await listener();
  const lease = await store.lease('fenced-run', { renew: false });
  const writer = await client();
  const r = await writer.query(APPEND_SQL, ['fenced-run', lease.generation + 1, [1], ['a']]);
  assert.is(r.rowCount, 0);
  await writer.query(`NOTIFY ${JOURNAL_CHANNEL}, 'marker-fenced'`);
  await l.until('marker-fenced');
  assert.equal(l.heard, [`${JOURNAL_CHANNEL}:marker-fenced`]);
  await lease.release();
});

test("a run's journal appends notify its run id; a new fleet and an unreachable host notify the fleet id", async () => {
  const l = await listener();
  const lease = await store.lease('journal-run', { renew: false });
  const journal = await store.openJournal('journal-run', lease);
  await journal.append({ type: 'note', text: 'one' } as never);
  await l.until('journal-run');
  await journal.close();
  await lease.release();

  const record = { fleetId: 'fleet-n', inventory: { waves: [] } } as unknown as FleetRecord;
  await store.query('INSERT INTO rbe_fleets (fleet_id, record) VALUES ($1, $2)', ['fleet-other', '{}']); // not the store's: no notification
  await store.createFleet(record);
  await l.until('fleet-n');
  await store.recordUnreachableHost('fleet-n', { host: 'h1', wave: 0, position: 0, runId: 'fleet-n-h1', error: { name: 'ExecutorError', code: 'unreachable', message: 'no answer' }, at: '2026-01-01T00:00:00Z' } as never);
  const writer = await client();
  await writer.query(`NOTIFY ${FLEET_CHANNEL}, 'marker-fleet'`);
  await l.until('marker-fleet');
  assert.equal(l.heard, [`${JOURNAL_CHANNEL}:journal-run`, `${FLEET_CHANNEL}:fleet-n`, `${FLEET_CHANNEL}:fleet-n`, `${FLEET_CHANNEL}:marker-fleet`]);
});

test('a run appending fast notifies at most twice per interval, and its last records are announced after they commit', async () => {
  const l = await listener();
  const other = await client();
  const lease = await store.lease('fast-run', { renew: false });
  const journal = await store.openJournal('fast-run', lease);
  const t0 = Date.now();
  for (let i = 0; i < 40; i++) await journal.append({ type: 'note', i } as never);
  await other.query(`NOTIFY ${JOURNAL_CHANNEL}, 'marker-last'`);
  await journal.append({ type: 'note', i: 40 } as never);
  await journal.close();
  const elapsed = Date.now() - t0;
  await other.query(`NOTIFY ${JOURNAL_CHANNEL}, 'marker-end'`);
  await l.until('marker-end');
  const last = l.heard.indexOf(`${JOURNAL_CHANNEL}:marker-last`);
  assert.ok(l.heard.slice(last).includes(`${JOURNAL_CHANNEL}:fast-run`), `the last record was announced: ${l.heard.join(', ')}`);
  const runs = l.heard.filter((h) => h === `${JOURNAL_CHANNEL}:fast-run`).length;
  assert.ok(runs <= 2 * Math.ceil(elapsed / NOTIFY_EVERY_MS) + 1, `${runs} notifications for 41 batches in ${elapsed} ms`);
  await lease.release();
});

test('a migrated store is opened by reading it only: a read-only session opens it and reads its runs, the statements it was sent all SELECTs', async () => {
  const readOnly = `${url}?options=${encodeURIComponent('-c default_transaction_read_only=on')}`;
  const reader = new PostgresStore(readOnly, { stateDir: await tempDir('rbe-store-'), reconnectForMs: 0 });
  try {
    const sent: string[] = [];
    reader.pool.on('connect', (c) => {
      const q = c.query.bind(c) as (...a: unknown[]) => unknown;
      (c as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
        sent.push(typeof a[0] === 'string' ? a[0] : String((a[0] as { text?: string }).text));
        return q(...a);
      };
    });
    assert.is(await reader.migrate(), MIGRATIONS.length);
    assert.ok(Array.isArray(await reader.listRuns()));
    assert.ok(sent.length > 0 && sent.every((q) => /^\s*SELECT/i.test(q)), sent.join('\n'));
    // A write is refused as what it is: read-only, with what to do.
    const error = await reader.lease('read-only-run').catch((e: unknown) => e);
    assert.instance(error, StoreRefusedError);
    assert.is((error as StoreRefusedError).code, 'STORE_READ_ONLY');
    assert.is((error as StoreRefusedError).sqlstate, '25006');
    assert.match((error as Error).message, /point --store at the primary/);
  } finally {
    await reader.close();
  }
});

test('a wrong password or a database that does not exist: a refusal at once (STORE_AUTH, STORE_NO_DATABASE), tried once, not retried as a server away', async () => {
  const wrong = new URL(url);
  wrong.password = 'Wr0ng/pw@:%';
  const missing = new URL(url);
  missing.pathname = '/no_such_db';
  for (const [at, code, sqlstate] of [[wrong.href, 'STORE_AUTH', '28P01'], [missing.href, 'STORE_NO_DATABASE', '3D000']] as const) {
    const s = new PostgresStore(at, { stateDir: await tempDir(), reconnectForMs: 600_000 });
    let connects = 0;
    const connect = s.pool.connect.bind(s.pool) as (...a: unknown[]) => unknown;
    (s.pool as unknown as { connect: (...a: unknown[]) => unknown }).connect = (...a: unknown[]) => ((connects += 1), connect(...a));
    try {
      for (const attempt of [() => s.migrate(), () => s.query('SELECT 1')]) {
        const error = await attempt().catch((e: unknown) => e);
        assert.instance(error, StoreRefusedError, String(error));
        assert.is((error as StoreRefusedError).code, code);
        assert.is((error as StoreRefusedError).sqlstate, sqlstate);
        assert.not.ok((error as Error).message.includes('Wr0ng') || (error as Error).message.includes(encodeURIComponent('Wr0ng/pw@:%')), (error as Error).message);
      }
      // One login each: a refused login is not retried for reconnectForMs as a server that is away would be.
      assert.is(connects, 2);
    } finally {
      await s.close();
    }
  }
});

test('a lease let go of while the store cannot be reached: tried for releaseForMs (not the reconnect period), then once more for the next; the error says it expires by itself', async () => {
  // A clock that moves a second per reading: the retries are timed by it, not by waiting.
  let t = 0;
  const s = new PostgresStore(url, { stateDir: await tempDir(), reconnectForMs: 600_000, now: () => (t += 1000) });
  const run = await s.lease('release-unreachable');
  const machine = await s.leaseTarget('sim:/release-unreachable.json', 'release-unreachable');
  let tries = 0;
  const query = s.pool.query.bind(s.pool) as (...a: unknown[]) => unknown;
  (s.pool as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
    if (!/SET released = true/.test(String(a[0]))) return query(...a);
    tries += 1;
    // A bound for a store that would retry for its whole reconnect period: the test ends, and fails below.
    if (tries > 12) return Promise.reject(new Error('retried past the bound'));
    return Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
  };
  try {
    const first = await machine.release({ unfinished: true }).then(() => null, (e: unknown) => e);
    assert.ok(tries <= 6, `${tries} tries`);
    assert.instance(first, StoreUnavailableError);
    assert.match((first as Error).message, /the lease of target sim:\/release-unreachable\.json could not be released \(the store cannot be reached: ECONNREFUSED: the server refused the connection\); it expires by itself by \d{4}-\d\d-\d\dT/);
    assert.match((first as Error).message, /→ nothing is left to do for it: once it has expired, `runbook resume` takes the run over/);
    // The store was just found out of reach: the run's lease is tried once, not waited for again.
    const before = tries;
    const second = await run.release().then(() => null, (e: unknown) => e);
    assert.is(tries - before, 1);
    assert.match((second as Error).message, /the lease of run release-unreachable could not be released/);
  } finally {
    await s.close();
  }
});

test("the server's refusals by SQLSTATE: each its code and advice, the store's URL without its password, anything else left as it is", () => {
  const said = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'ERROR' });
  const where = 'postgres://rbe:***@db:5432/runs';
  const cases: [string, string, string, RegExp][] = [
    ['53100', 'could not extend file "base/16384/16385": No space left on device', 'STORE_FULL', /the PostgreSQL server's disk is full: could not extend file .* \(SQLSTATE 53100\) \(postgres:\/\/rbe:\*\*\*@db:5432\/runs\)\n  → free space on the database server/],
    ['53200', 'out of memory', 'STORE_FULL', /out of memory .*\n  → free memory on the database server/],
    ['42501', 'permission denied for table rbe_journal', 'STORE_PERMISSION', /refused its user rbe: permission denied for table rbe_journal \(SQLSTATE 42501\)/],
    ['25006', 'cannot execute INSERT in a read-only transaction', 'STORE_READ_ONLY', /read-only .*→ point --store at the primary/s],
    ['28P01', 'password authentication failed for user "rbe"', 'STORE_AUTH', /refused the login of the store's user rbe .*: password authentication failed for user "rbe" \(SQLSTATE 28P01\).*→ check the user in the store URL and its password \(\$PGPASSWORD/s],
    ['28000', 'no pg_hba.conf entry for host "10.0.0.9", user "rbe", database "runs", no encryption', 'STORE_AUTH', /does not let the store's user rbe log in from here: no pg_hba.conf entry .*→ ask the database's administrator .*pg_hba.conf/s],
    ['3D000', 'database "runs" does not exist', 'STORE_NO_DATABASE', /the store's database does not exist on its PostgreSQL server: database "runs" does not exist \(SQLSTATE 3D000\).*→ point --store .* at the database that holds your runs/s],
    ['42P07', 'relation "rbe_runs" already exists', 'STORE_SCHEMA', /did not create/],
    ['42P01', 'relation "rbe_files" does not exist', 'STORE_SCHEMA', /not all there/],
    ['22P02', 'invalid input syntax for type integer', 'STORE_REFUSED', /refused a statement: invalid input syntax .* \(SQLSTATE 22P02\).*→ see the database server's log for SQLSTATE 22P02/s],
  ];
  for (const [code, message, expected, shown] of cases) {
    const e = storeRefusal(said(code, message), 'query', 'rbe', where);
    assert.instance(e, StoreRefusedError, code);
    assert.is(e!.code, expected, code);
    assert.match(e!.message, shown, e!.message);
  }
  // A lost connection (retried, then unavailable) and a bug are not refusals.
  assert.is(storeRefusal(said('57P01', 'terminating connection due to administrator command'), 'query', 'rbe', where), null);
  assert.is(storeRefusal(new TypeError('x is not a function'), 'query', 'rbe', where), null);
});

test.run();
