/**
 * One driver per run: the lease is taken by an exclusive create, so two processes that both found the
 * run free cannot both take it; a holder paused past its expiry is fenced at its next journal append
 * and its next write to the target. The races are made deterministic with hooks, not timing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import { join } from 'node:path';
import { acquireLease } from '../../src/store/file-lease.js';
import { Journal, readJournal } from '../../src/store/file-journal.js';
import { JournalError, createSimulatedExecutor, loadRunbook } from '../../src/index.js';
import { Runner } from '../../src/engine/runner.js';
import { fileStore } from '../../src/store/file-store.js';
import { FAST, hostOf, kinds, makeHost, tempDir } from '../helpers.js';

test('two drivers that both found the run free: exactly one takes the lease', async () => {
  const dir = await tempDir();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let arrived = 0;
  // Both read "free", then both wait between their read and their claim until both have read.
  const hold = async () => {
    arrived += 1;
    if (arrived === 2) release();
    await gate;
  };
  const outcomes = await Promise.allSettled([acquireLease(dir, { beforeClaim: hold }), acquireLease(dir, { beforeClaim: hold })]);
  const won = outcomes.filter((o) => o.status === 'fulfilled');
  const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
  assert.is(won.length, 1);
  assert.is(lost.length, 1);
  assert.is((lost[0].reason as JournalError).code, 'LEASE_HELD');
  await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLease>>>).value.release();
});

test('a lease another thread of this process holds keeps the run: a second thread cannot take it over', async () => {
  // A fleet's hosts spread over worker threads share one pid: only the thread that took a lease knows
  // whether it let it go, so another thread's live lease is held until it expires.
  const dir = await tempDir();
  const other = { generation: 1, host: hostname(), pid: process.pid, token: 'another-thread', thread: threadId + 1, expiresAt: new Date(Date.now() + 60_000).toISOString() };
  await writeFile(join(dir, 'lease.1.json'), JSON.stringify(other));
  const error = await acquireLease(dir).then(
    () => null,
    (e: JournalError) => e,
  );
  assert.is(error?.code, 'LEASE_HELD', 'took a lease another thread holds');
});

test('a lease file with no whole record holds the run while it may be being written, saying so and when it is taken over; once as old as a lease lasts, it is taken over', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'lease.1.json'), 'garbage{');
  const { mtimeMs } = await stat(join(dir, 'lease.1.json'));
  const error = await acquireLease(dir, { ttlMs: 60_000, now: () => mtimeMs + 1000 }).then(
    () => null,
    (e: JournalError) => e,
  );
  assert.is(error?.code, 'LEASE_HELD');
  assert.is(
    error!.message,
    `the lease of the run cannot be read (lease.1.json is empty or not a whole record): a driver may be writing it this moment; nothing was done (${dir})\n  → run the command again in a moment; if no process is writing it (a crash or a full disk left it so), it is taken over once it is 60 s old, at ${new Date(mtimeMs + 60_000).toISOString()}`,
  );
  assert.not.match(error!.message, /pid 0|on \?|unknown|wait for that process/);
  const lease = await acquireLease(dir, { ttlMs: 60_000, now: () => mtimeMs + 60_001 });
  await lease.release();
});

test('a renewal moves the lease on without an fsync: only the claim is flushed', async () => {
  const dir = await tempDir();
  let clock = Date.now();
  let renew: (() => Promise<void>) | undefined;
  const lease = await acquireLease(dir, { ttlMs: 60_000, now: () => clock, schedule: (fn) => ((renew = fn), () => undefined) });
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
  await probe.close();
  const sync = proto.sync;
  let syncs = 0;
  proto.sync = function (this: unknown) {
    syncs += 1;
    return sync.call(this);
  };
  try {
    clock += 20_000;
    assert.ok(renew, 'the renewal was scheduled');
    await renew?.();
  } finally {
    proto.sync = sync;
  }
  assert.is(syncs, 0);
  const renewed = JSON.parse(await readFile(join(dir, `lease.${lease.generation}.json`), 'utf8')) as { expiresAt: string };
  assert.is(renewed.expiresAt, new Date(clock + 60_000).toISOString());
  await lease.release();
});

test('a holder paused past its expiry is fenced: its appends are refused and the journal stays whole', async () => {
  const dir = await tempDir();
  const file = join(dir, 'journal.jsonl');
  let clock = Date.now();
  const now = () => clock;
  const first = await acquireLease(dir, { ttlMs: 1000, renew: false, now });
  const stale = await Journal.open(file, { exclusive: true, fence: first.check });
  await stale.append({ type: 'note', by: 'first' });
  clock += 5000; // the first holder is paused past its expiry
  const second = await acquireLease(dir, { ttlMs: 1000, renew: false, now });
  const fresh = await Journal.open(file, { exclusive: true, fence: second.check });
  await fresh.append({ type: 'note', by: 'second' });
  try {
    await stale.append({ type: 'note', by: 'first, after the takeover' });
    assert.unreachable('the fenced holder appended');
  } catch (error) {
    assert.is((error as JournalError).code, 'FENCED');
  }
  await first.check().then(
    () => assert.unreachable('check passed'),
    (error: JournalError) => assert.is(error.code, 'FENCED'),
  );
  const { records } = await readJournal(file);
  assert.equal(records.map((r) => (r as unknown as { by: string }).by), ['first', 'second']);
  await fresh.close();
  await stale.close();
  await second.release();
  await first.release();
});

test('a journal writer whose file was replaced by a new holder is fenced even without a lease check', async () => {
  const file = join(await tempDir(), 'journal.jsonl');
  const a = await Journal.open(file, { exclusive: true });
  await a.append({ type: 'note', n: 1 });
  const b = await Journal.open(file, { exclusive: true });
  await b.append({ type: 'note', n: 2 });
  await a.append({ type: 'note', n: 3 }).then(
    () => assert.unreachable('appended to a replaced journal'),
    (error: JournalError) => assert.is(error.code, 'FENCED'),
  );
  const { records } = await readJournal(file);
  assert.equal(records.map((r) => (r as unknown as { n: number }).n), [1, 2]);
  await a.close();
  await b.close();
});

test('a driver fenced mid-run changes nothing more on the target and the run is finished by the new holder', async () => {
  const host = await makeHost('server-2016', (h) => {
    h.downtimeMs = 200;
  });
  const stateDir = await tempDir();
  let clock = Date.now();
  const lease = { ttlMs: 1000, renew: false, now: () => clock };
  const runbook = await loadRunbook('orchestrator-tls12', kinds);
  const stale = new Runner({ store: fileStore(stateDir), kinds, lease, retry: { minTimeout: 5, maxTimeout: 20, randomize: false } });
  const executor = await createSimulatedExecutor(host);
  const run = stale.start(runbook, { executor, params: FAST });
  // Pause the first driver as soon as the restart is requested: its host is down and it polls.
  await new Promise<void>((resolve) => run.events.on('log', (e) => e.message === 'restart requested' && resolve()));
  clock += 10_000;
  const next = new Runner({ store: fileStore(stateDir), kinds, lease, retry: { minTimeout: 5, maxTimeout: 20, randomize: false } });
  const takeover = await next.resume(run.id, { executor: await createSimulatedExecutor(host) });
  const [staleOutcome, result] = await Promise.allSettled([run.result, takeover.result]);
  assert.is(staleOutcome.status, 'rejected');
  assert.is(((staleOutcome as PromiseRejectedResult).reason as JournalError).code, 'FENCED');
  assert.is(result.status, 'fulfilled');
  assert.is((result as PromiseFulfilledResult<{ status: string }>).value.status, 'succeeded');
  assert.is((await hostOf(host)).restarts, 1, 'restarted exactly once');
  const journal = await readJournal(join(stateDir, 'runs', run.id, 'journal.jsonl'));
  assert.ok(journal.records.length > 10, 'the journal reads whole, in sequence');
  assert.ok((await readFile(join(stateDir, 'runs', run.id, 'report.json'), 'utf8')).includes('"succeeded"'));
});

test.run();
