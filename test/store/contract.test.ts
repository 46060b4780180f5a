/**
 * The store contract, the same tests against both backends: the file store of a state directory and
 * PostgreSQL (a real server on loopback, started for this file). Leases are exclusive and fenced,
 * journals durable and verified, runs listed, fleets recorded once — and the bundled runbook run through
 * either store leaves the same host.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { JournalError, StateError } from '../../src/errors.js';
import { fileStore } from '../../src/store/file-store.js';
import { runDirOf } from '../../src/store/file-runs.js';
import { postgresStore, MIGRATIONS, type PostgresStore } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/types.js';
import type { FleetRecord } from '../../src/fleet/types.js';
import { createSimulatedExecutor, loadRunbook, Runner } from '../../src/index.js';
import { FAST, kinds, makeHost, registryText, tempDir } from '../helpers.js';
import { postgresForFile } from '../postgres.js';

const stores: Store[] = [];
const { server } = postgresForFile(test, { after: () => Promise.all(stores.map((s) => s.close())) });

interface Backend {
  name: string;
  open(): Promise<{ store: Store; stateDir: string; clock: { now: number } }>;
  /** Makes a run's lease expire (the file store by its clock, PostgreSQL in the database's). */
  expire(store: Store, runId: string, clock: { now: number }): Promise<void>;
  /** Makes a fleet's lease expire. */
  expireFleet(store: Store, fleetId: string, clock: { now: number }): Promise<void>;
  /** Makes a machine's lease expire. */
  expireTarget(store: Store, machine: string, clock: { now: number }): Promise<void>;
  /** Damages a stored record. */
  damage(store: Store, runId: string, seq: number): Promise<void>;
}

const backends: Backend[] = [
  {
    name: 'file',
    async open() {
      const stateDir = await tempDir('rbe-store-');
      const store = fileStore(stateDir);
      return { store, stateDir, clock: { now: Date.now() } };
    },
    async expire(_store, _runId, clock) {
      clock.now += 120_000;
    },
    async expireFleet(_store, _fleetId, clock) {
      clock.now += 120_000;
    },
    async expireTarget(_store, _machine, clock) {
      clock.now += 120_000;
    },
    async damage(store, runId, seq) {
      const file = join(store.runDir(runId), 'journal.jsonl');
      const lines = (await readFile(file, 'utf8')).split('\n');
      lines[seq - 1] = lines[seq - 1].replace('"type"', '"tYpe"');
      await writeFile(file, lines.join('\n'));
    },
  },
  {
    name: 'postgres',
    async open() {
      const stateDir = await tempDir('rbe-store-');
      const store = await postgresStore(await server.freshDatabase(), { stateDir, reconnectForMs: 5000 });
      stores.push(store);
      return { store, stateDir, clock: { now: Date.now() } };
    },
    async expire(store, runId) {
      await (store as PostgresStore).query(`UPDATE rbe_leases SET expires_at = now() - interval '1 second' WHERE run_id = $1`, [runId]);
    },
    async expireFleet(store, fleetId) {
      await (store as PostgresStore).query(`UPDATE rbe_fleet_leases SET expires_at = now() - interval '1 second' WHERE fleet_id = $1`, [fleetId]);
    },
    async expireTarget(store, machine) {
      await (store as PostgresStore).query(`UPDATE rbe_target_leases SET expires_at = now() - interval '1 second' WHERE machine = $1`, [machine]);
    },
    async damage(store, runId, seq) {
      await (store as PostgresStore).query(`UPDATE rbe_journal SET line = replace(line, '"type"', '"tYpe"') WHERE run_id = $1 AND seq = $2`, [runId, seq]);
    },
  },
];

const code = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'resolved';
  } catch (error) {
    return error instanceof StateError ? error.code : (error as Error).message;
  }
};

for (const b of backends) {
  test(`${b.name}: a journal appended by the lease holder is read back whole, in order, after reopening`, async () => {
    const { store } = await b.open();
    const lease = await store.lease('r1', { renew: false });
    const journal = await store.openJournal('r1', lease);
    await Promise.all([1, 2, 3].map((n) => journal.append({ type: 'note', n } as never)));
    await journal.close();
    await lease.release();
    const records = await store.readJournal('r1');
    assert.equal(records.map((r) => [r.seq, (r as unknown as { n: number }).n]), [[1, 1], [2, 2], [3, 3]]);
    const again = await store.lease('r1', { renew: false });
    const reopened = await store.openJournal('r1', again);
    assert.is(reopened.records.length, 3);
    await reopened.append({ type: 'note', n: 4 } as never);
    await reopened.close();
    await again.release();
    assert.is((await store.readJournal('r1')).length, 4);
  });

  test(`${b.name}: one driver at a time — a second lease is refused while the first holds`, async () => {
    const { store, clock } = await b.open();
    const first = await store.lease('r2', { renew: false, now: () => clock.now });
    assert.is(await code(store.lease('r2', { renew: false, now: () => clock.now })), 'LEASE_HELD');
    await first.release();
    const second = await store.lease('r2', { renew: false, now: () => clock.now });
    assert.ok(second.generation > first.generation, 'a released lease is taken with a higher generation');
    await second.release();
  });

  test(`${b.name}: a driver whose lease expired and was taken over is fenced — nothing it appends is stored`, async () => {
    const { store, clock } = await b.open();
    const old = await store.lease('r3', { renew: false, ttlMs: 1000, now: () => clock.now });
    const oldJournal = await store.openJournal('r3', old);
    await oldJournal.append({ type: 'note', by: 'old' } as never);
    await b.expire(store, 'r3', clock);
    const taker = await store.lease('r3', { renew: false, ttlMs: 1000, now: () => clock.now });
    const journal = await store.openJournal('r3', taker);
    assert.is(await code(oldJournal.append({ type: 'note', by: 'old, fenced' } as never)), 'FENCED');
    assert.is(await code(old.check()), 'FENCED');
    await oldJournal.close();
    await journal.append({ type: 'note', by: 'taker' } as never);
    await journal.close();
    await taker.release();
    const by = (await store.readJournal('r3')).map((r) => (r as unknown as { by: string }).by);
    assert.equal(by, ['old', 'taker']);
  });

  test(`${b.name}: a damaged record is refused with where it is; a missing run is named`, async () => {
    const { store } = await b.open();
    const lease = await store.lease('r4', { renew: false });
    const journal = await store.openJournal('r4', lease);
    await journal.append({ type: 'note', n: 1 } as never);
    await journal.append({ type: 'note', n: 2 } as never);
    await journal.close();
    await lease.release();
    await b.damage(store, 'r4', 1);
    const error = await store.readJournal('r4').catch((e: unknown) => e as JournalError);
    assert.instance(error, JournalError);
    assert.is((error as JournalError).code, 'JOURNAL_CORRUPT');
    assert.match((error as JournalError).message, /r4/);
    assert.is(await code(store.readJournal('nope')), 'JOURNAL_MISSING');
    assert.is(await code(store.lease('../escape')), 'JOURNAL_MISSING');
  });

  test(`${b.name}: fleets are recorded once and read back, with their unreachable hosts`, async () => {
    const { store } = await b.open();
    const record = { format: 1, fleetId: 'f1', runbook: { name: 'x', steps: [] }, checkMode: false, inventory: { file: 'i.yaml', hosts: [], groups: {}, waves: [], defaults: { params: {} } }, concurrency: 2, maxFailures: 0, params: {}, startedAt: new Date().toISOString() } as unknown as FleetRecord;
    assert.is(await store.isFleet('f1'), false);
    await store.createFleet(record);
    assert.is(await store.isFleet('f1'), true);
    assert.equal((await store.readFleet('f1')).concurrency, 2);
    assert.is(await code(store.createFleet(record)), 'NOT_RESUMABLE');
    assert.is(await code(store.readFleet('f2')), 'JOURNAL_MISSING');
    // A host whose target could not be reached, recorded twice: the last record wins.
    assert.equal(await store.unreachableHosts('f1'), {});
    const error = (message: string) => ({ name: 'ExecutorError', code: 'permanent', message });
    await store.recordUnreachableHost('f1', { host: 'h2', wave: 0, position: 1, runId: 'f1--h2', error: error('first'), at: '2026-12-01T00:00:00.000Z' });
    await store.recordUnreachableHost('f1', { host: 'h2', wave: 0, position: 1, runId: 'f1--h2', error: error('second'), at: '2026-12-01T00:01:00.000Z' });
    assert.equal(await store.unreachableHosts('f1'), {
      h2: { host: 'h2', wave: 0, position: 1, runId: 'f1--h2', error: error('second'), at: '2026-12-01T00:01:00.000Z' },
    });
  });

  test(`${b.name}: a fleet's host held by another run's lease is recorded with who holds it; the last record of a host wins, held or unreachable`, async () => {
    const { store } = await b.open();
    const record = { format: 1, fleetId: 'fh', runbook: { name: 'x', steps: [] }, checkMode: false, inventory: { file: 'i.yaml', hosts: [], groups: {}, waves: [], defaults: { params: {} } }, concurrency: 2, maxFailures: 0, params: {}, startedAt: new Date().toISOString() } as unknown as FleetRecord;
    await store.createFleet(record);
    assert.equal(await store.heldHosts('fh'), {});
    const error = (message: string, code = 'LEASE_HELD') => ({ name: 'LeaseError', code, message });
    const held = { host: 'h1', wave: 0, position: 0, runId: 'fh.h1', error: error('target sim:h1 is being driven by run r9'), at: '2026-12-01T00:00:00.000Z' };
    await store.recordHeldHost('fh', held);
    assert.equal(await store.heldHosts('fh'), { h1: held });
    assert.equal(await store.unreachableHosts('fh'), {}, 'held is not unreachable');
    // Tried again and not reached: unreachable now, held no more; and held again after that.
    const gone = { ...held, error: error('no answer', 'unreachable'), at: '2026-12-01T00:01:00.000Z' };
    await store.recordUnreachableHost('fh', gone);
    assert.equal([await store.heldHosts('fh'), await store.unreachableHosts('fh')], [{}, { h1: gone }]);
    await store.recordHeldHost('fh', { ...held, at: '2026-12-01T00:02:00.000Z' });
    assert.equal([await store.heldHosts('fh'), await store.unreachableHosts('fh')], [{ h1: { ...held, at: '2026-12-01T00:02:00.000Z' } }, {}]);
  });

  test(`${b.name}: one controller per fleet — a second fleet lease is refused naming its holder, a lost one is fenced`, async () => {
    const { store, clock } = await b.open();
    const first = await store.leaseFleet('fl1', { renew: false, ttlMs: 1000, now: () => clock.now });
    const held = await store.leaseFleet('fl1', { renew: false, now: () => clock.now }).catch((e: StateError) => e);
    assert.is((held as StateError).code, 'LEASE_HELD');
    assert.match((held as StateError).message, /^fleet fl1 is being driven by .*lease generation 1/);
    // Another fleet, and the runs, have leases of their own.
    const other = await store.leaseFleet('fl2', { renew: false });
    const run = await store.lease('fl1', { renew: false });
    await other.release();
    await run.release();
    await first.release();
    const second = await store.leaseFleet('fl1', { renew: false, ttlMs: 1000, now: () => clock.now });
    assert.ok(second.generation > first.generation);
    await b.expireFleet(store, 'fl1', clock);
    const taker = await store.leaseFleet('fl1', { renew: false, now: () => clock.now });
    assert.is(await code(second.check()), 'FENCED');
    await second.release();
    assert.is(await code(store.leaseFleet('fl1', { renew: false, now: () => clock.now })), 'LEASE_HELD', 'a fenced holder\'s release lets nothing go');
    await taker.release();
    assert.match(await code(store.leaseFleet('../x')), /is not a fleet id/);
  });

  test(`${b.name}: one run per machine — another run's lease is refused naming the run; the same run's resume takes it over, fencing the old; the next run is told how the last one let go`, async () => {
    const { store, clock } = await b.open();
    const at = { renew: false, ttlMs: 1000, now: () => clock.now };
    const first = await store.leaseTarget('sim:/x/h1.json', 'run-a', at);
    const held = (await store.leaseTarget('sim:/x/h1.json', 'run-b', at).catch((e: StateError) => e)) as StateError;
    assert.is(held.code, 'LEASE_HELD');
    assert.match(held.message, /^target sim:\/x\/h1\.json is being driven by run run-a \(pid \d+ on [^,]+, until \d{4}-.*\); nothing was sent to it/);
    assert.match(held.message, /runbook resume run-a/);
    // A start of the same run id takes nothing over; another machine has a lease of its own.
    assert.is(await code(store.leaseTarget('sim:/x/h1.json', 'run-a', at)), 'LEASE_HELD');
    const other = await store.leaseTarget('sim:/x/h2.json', 'run-b', at);
    // The same run's resume takes it over at once: the old driver is fenced.
    const resumed = await store.leaseTarget('sim:/x/h1.json', 'run-a', { ...at, takeOver: true });
    assert.ok(resumed.generation > first.generation);
    assert.is(await code(first.check()), 'FENCED');
    await first.release({ unfinished: false });
    assert.is(await code(store.leaseTarget('sim:/x/h1.json', 'run-b', at)), 'LEASE_HELD', "a fenced holder's release lets nothing go");
    // Let go unfinished (stopped mid-drive): the next run of another id is told so, and a refusal leaves the lease as it was.
    await resumed.release({ unfinished: true });
    const told: unknown[] = [];
    const refuse = async (last: unknown) => {
      told.push(last);
      throw new Error('refused by the caller');
    };
    assert.is(await code(store.leaseTarget('sim:/x/h1.json', 'run-b', { ...at, admit: refuse })), 'refused by the caller');
    assert.is(await code(store.leaseTarget('sim:/x/h1.json', 'run-c', { ...at, admit: refuse })), 'refused by the caller');
    assert.equal(told, [{ runId: 'run-a', unfinished: true }, { runId: 'run-a', unfinished: true }]);
    // Its own resume follows it without being asked; let go as ended, the next run is told that.
    const again = await store.leaseTarget('sim:/x/h1.json', 'run-a', { ...at, takeOver: true, admit: refuse });
    await again.release({ unfinished: false });
    const seen: unknown[] = [];
    const next = await store.leaseTarget('sim:/x/h1.json', 'run-b', { ...at, admit: async (last) => void seen.push(last) });
    assert.equal(seen, [{ runId: 'run-a', unfinished: false }]);
    // A holder whose lease lapsed (it died mid-drive): taken, the caller told it is not known how it ended.
    await b.expireTarget(store, 'sim:/x/h1.json', clock);
    const taker = await store.leaseTarget('sim:/x/h1.json', 'run-c', { ...at, admit: async (last) => void seen.push(last) });
    assert.equal(seen[1], { runId: 'run-b', unfinished: undefined });
    assert.is(await code(next.check()), 'FENCED');
    await Promise.all([taker.release({ unfinished: false }), other.release({ unfinished: false })]);
  });

  test(`${b.name}: two runs started at once on one simulated host: the second is refused before it sends anything, the host is as one run leaves it; a new run waits for one interrupted mid-drive (a plan does not), not for one awaiting only its restart window`, async () => {
    const { store, stateDir } = await b.open();
    const runbook = await loadRunbook('orchestrator-tls12', kinds);
    const runner = new Runner({ stateDir, store, kinds, retry: { minTimeout: 5, maxTimeout: 20, randomize: false } });
    const hostFile = await makeHost('server-2016');
    const [a, bExecutor] = [await createSimulatedExecutor(hostFile), await createSimulatedExecutor(hostFile)];
    const first = runner.start(runbook, { executor: a, params: FAST });
    const second = runner.start(runbook, { executor: bExecutor, params: FAST });
    const settled = await Promise.allSettled([first.result, second.result]);
    // Whichever took the host first drives it; the other is refused.
    const won = settled[0].status === 'fulfilled' ? 0 : 1;
    const [winner, loser] = won === 0 ? [first, second] : [second, first];
    assert.is((settled[won] as PromiseFulfilledResult<{ status: string }>).value.status, 'succeeded');
    const refused = (settled[1 - won] as PromiseRejectedResult).reason as StateError;
    assert.is(refused.code, 'LEASE_HELD');
    assert.match(refused.message, new RegExp(`is being driven by run ${winner.id} `));
    assert.is([a, bExecutor][1 - won].roundTrips, 0, 'nothing was sent to the host by the refused run');
    assert.equal((await store.listRuns()).map((r) => r.runId), [winner.id], `the refused start (${loser.id}) left no run`);
    const reference = await makeHost('server-2016');
    await new Runner({ stateDir: await tempDir(), kinds, retry: { minTimeout: 5, maxTimeout: 20, randomize: false } }).start(runbook, { executor: await createSimulatedExecutor(reference), params: FAST }).result;
    assert.is(await registryText(hostFile), await registryText(reference), 'the host is as one uninterrupted run leaves it');
    // A run interrupted mid-drive keeps a new run of another id off the host; a plan reads it still.
    const waiting = await makeHost('server-2016');
    const paused = runner.start(runbook, { executor: await createSimulatedExecutor(waiting), params: FAST });
    paused.events.on('step:settled', (e) => void (e.stepId === 'backup' && paused.interrupt()));
    const stopped = await paused.result;
    assert.equal([stopped.status, stopped.awaiting], ['awaiting-resume', 'interrupted']);
    const blocked = await runner.start(runbook, { executor: await createSimulatedExecutor(waiting), params: FAST }).result.catch((e: StateError) => e);
    assert.is((blocked as StateError).code, 'LEASE_HELD');
    assert.match((blocked as StateError).message, new RegExp(`holds unfinished run ${paused.id} \\(interrupted mid-drive, awaiting its resume\\)`));
    assert.match((blocked as StateError).message, new RegExp(`runbook rollback ${paused.id}`));
    assert.is((await runner.start(runbook, { executor: await createSimulatedExecutor(waiting), params: FAST, checkMode: true }).result).status, 'planned');
    // Its own resume drives it; then a new run may follow.
    assert.is((await (await runner.resume(paused.id, { executor: await createSimulatedExecutor(waiting) })).result).status, 'succeeded');
    assert.is((await runner.start(runbook, { executor: await createSimulatedExecutor(waiting), params: FAST }).result).status, 'succeeded');
    // A run awaiting only its restart window made every change and left its RestartOwed marker: the next run pays it.
    const owing = await makeHost('server-2016');
    assert.is((await runner.start(runbook, { executor: await createSimulatedExecutor(owing), params: { ...FAST, allowRestart: false } }).result).awaiting, 'restart-window');
    assert.is((await runner.start(runbook, { executor: await createSimulatedExecutor(owing), params: FAST }).result).status, 'succeeded');
  });

  test(`${b.name}: the bundled runbook through the store: the same host as through the other, listed with its files`, async () => {
    const { store, stateDir } = await b.open();
    const hostFile = await makeHost('server-2016');
    const runner = new Runner({ stateDir, store, kinds, retry: { minTimeout: 5, maxTimeout: 20, randomize: false } });
    const result = await runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(hostFile), runId: 'full', params: FAST }).result;
    assert.is(result.status, 'succeeded');
    const reference = await makeHost('server-2016');
    const fileRunner = new Runner({ stateDir: await tempDir(), kinds, retry: { minTimeout: 5, maxTimeout: 20, randomize: false } });
    await fileRunner.start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(reference), params: FAST }).result;
    assert.is(await registryText(hostFile), await registryText(reference));
    const [listed] = await store.listRuns();
    assert.equal([listed.runId, listed.status], ['full', 'succeeded']);
    const files = await store.runFiles('full');
    assert.ok(files['report.md']?.includes('orchestrator-tls12'), 'report.md kept');
    assert.ok(files['undo.reg'], 'undo.reg kept');
    // undo.reg is UTF-16LE with its byte order mark, zero bytes and all: kept byte for byte.
    assert.equal([...files['undo.reg'].subarray(0, 2)], [0xff, 0xfe], 'undo.reg kept as the bytes written');
    assert.ok(files['undo.reg'].equals(await readFile(join(runDirOf(stateDir, 'full'), 'undo.reg'))), 'undo.reg identical to the file the run wrote');
    assert.ok(Object.keys(files).some((n) => n.startsWith('backups/')), 'backups kept');
    assert.equal((await runner.status('full')).status, 'succeeded');
  });
}

test('postgres: migrations are applied once, by whichever store opens first; a newer schema is refused', async () => {
  const url = await server.freshDatabase();
  const stateDir = await tempDir();
  const [a, b] = await Promise.all([postgresStore(url, { stateDir }), postgresStore(url, { stateDir })]);
  stores.push(a, b);
  const { rows } = await a.query<{ version: number }>('SELECT version FROM rbe_schema ORDER BY version');
  assert.equal(rows.map((r) => r.version), MIGRATIONS.map((_, i) => i + 1));
  await a.query('INSERT INTO rbe_schema (version) VALUES ($1)', [MIGRATIONS.length + 1]);
  const error = await postgresStore(url, { stateDir }).catch((e: unknown) => e as JournalError);
  assert.is((error as JournalError).code, 'JOURNAL_VERSION');
});

test('postgres: a store of schema version 2 keeps the files it holds when it becomes version 3 (files as bytes)', async () => {
  const url = await server.freshDatabase();
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query('CREATE TABLE rbe_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    for (const [i, migration] of MIGRATIONS.slice(0, 2).entries()) {
      await admin.query(migration);
      await admin.query('INSERT INTO rbe_schema (version) VALUES ($1)', [i + 1]);
    }
    await admin.query("INSERT INTO rbe_runs (run_id) VALUES ('old')");
    await admin.query("INSERT INTO rbe_files (run_id, name, content) VALUES ('old', 'report.md', 'Grüße — report')");
  } finally {
    await admin.end();
  }
  const store = await postgresStore(url, { stateDir: await tempDir() });
  stores.push(store);
  const files = await store.runFiles('old');
  assert.is(files['report.md'].toString('utf8'), 'Grüße — report');
});

test('postgres: an unreachable server is a clear error naming the store, without its password', async () => {
  const port = server.port + 1;
  const error = await postgresStore(`postgres://runbook:s3cret-pw@127.0.0.1:${port}/x`, { stateDir: await tempDir(), reconnectForMs: 0 }).catch((e: unknown) => e as JournalError);
  assert.is((error as JournalError).code, 'STORE_UNAVAILABLE');
  assert.ok(!(error as Error).message.includes('s3cret-pw'), 'no password in the message');
  assert.match((error as Error).message, new RegExp(`127\\.0\\.0\\.1:${port}`));
});

test('postgres: an append whose answer was lost is not stored twice', async () => {
  const url = await server.freshDatabase();
  const store = await postgresStore(url, { stateDir: await tempDir() });
  stores.push(store);
  const lease = await store.lease('dup', { renew: false });
  const journal = await store.openJournal('dup', lease);
  // The same batch again, as a retry after a lost answer would send it.
  await journal.append({ type: 'note', n: 1 } as never);
  const [line] = (await store.query<{ line: string }>('SELECT line FROM rbe_journal WHERE run_id = $1', ['dup'])).rows;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const again = await client.query('INSERT INTO rbe_journal (run_id, seq, line) VALUES ($1, 1, $2) ON CONFLICT DO NOTHING', ['dup', line.line]);
  await client.end();
  assert.is(again.rowCount, 0);
  await journal.append({ type: 'note', n: 2 } as never);
  await journal.close();
  assert.is((await store.readJournal('dup')).length, 2);
  await lease.release();
});

test.run();
