import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, open, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Journal, fileStore, readJournal, JournalError, createSimulatedExecutor, loadRunbook, VirtualClock, type Executor } from '../../src/index.js';
import { WRITE_OPS } from '../../src/executors/types.js';
import { acquireLease } from '../../src/store/file-lease.js';
import { JOURNAL_FORMAT } from '../../src/engine/records.js';
import { FAST, kinds, makeHost, newRunner, runToEnd, tempDir } from '../helpers.js';

async function journalWith(n: number): Promise<string> {
  const file = join(await tempDir(), 'journal.jsonl');
  const journal = await Journal.open(file);
  for (let i = 0; i < n; i++) await journal.append({ type: 'note', i, text: `record ${i}` });
  await journal.close();
  return file;
}

test('numbers every record and survives a JSON round trip unchanged', async () => {
  const file = await journalWith(3);
  const { records } = await readJournal(file);
  assert.equal(records.map((r) => r.seq), [1, 2, 3]);
  assert.equal(JSON.parse(JSON.stringify(records)), records);
  assert.ok(records.every((r) => /^[0-9a-f]{16}$/.test(r.sum)));
});

test('a journal that lets go of its records lists them again when asked, open or closed (from its own bytes, not a file put in its place)', async () => {
  const file = join(await tempDir(), 'journal.jsonl');
  const journal = await Journal.open(file);
  for (let i = 0; i < 3; i++) await journal.append({ type: 'note', i });
  const listed = journal.records;
  assert.equal(listed.map((r) => r.seq), [1, 2, 3]);
  assert.is(journal.records, listed, 'kept until an append or forget()');
  journal.forget();
  const again = journal.records;
  assert.ok(again !== listed, 'read again, not the list it let go of');
  assert.equal(again, listed);
  journal.forget();
  await journal.close();
  // Closed, it lists what its file held when it closed: the bytes it kept, not the file as it is now.
  await writeFile(file, '');
  assert.equal(journal.records, listed);
});

test('tolerates a torn last line and cuts it off before appending', async () => {
  const file = await journalWith(3);
  await appendFile(file, '{"type":"note","i":3,"seq":4,"at":"2026-');
  const { records, torn } = await readJournal(file);
  assert.is(records.length, 3);
  assert.ok(torn);
  const journal = await Journal.open(file);
  await journal.append({ type: 'note', i: 99 });
  await journal.close();
  const after = await readJournal(file);
  assert.equal(after.records.map((r) => r.seq), [1, 2, 3, 4]);
  assert.is(after.torn, false);
});

test('a last record whole but for its newline is a torn write: dropped, and the next record gets a line of its own', async () => {
  const file = await journalWith(3);
  // The write of record 3 stopped one byte short: its JSON and checksum are whole, its newline is not there.
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.slice(0, -1));
  const { records, torn, validBytes } = await readJournal(file);
  assert.equal(records.map((r) => r.seq), [1, 2]);
  assert.ok(torn);
  assert.is(validBytes, Buffer.byteLength(text.split('\n').slice(0, 2).join('\n')) + 1);
  const journal = await Journal.open(file);
  await journal.append({ type: 'note', i: 99 });
  await journal.close();
  const after = await readJournal(file);
  assert.equal(after.records.map((r) => r.seq), [1, 2, 3]);
  assert.is((after.records[2] as unknown as { i: number }).i, 99);
  assert.is(after.torn, false);
});

test('lines beyond Latin-1 read back as written, from a reading and from the journal itself', async () => {
  const file = join(await tempDir(), 'journal.jsonl');
  const journal = await Journal.open(file);
  const texts = ['build 14393 ≥ 14393 → ok — “quoted” …', 'plain', '日本語 and an emoji 🙂'];
  for (const text of texts) await journal.append({ type: 'note', text });
  assert.equal(journal.records.map((r) => (r as unknown as { text: string }).text), texts);
  await journal.close();
  assert.equal((await readJournal(file)).records.map((r) => (r as unknown as { text: string }).text), texts);
});

test('a line is the record\'s JSON with the first 16 hex digits of its SHA-256 as its last field, in UTF-8: the format every store reads', async () => {
  const file = join(await tempDir(), 'journal.jsonl');
  const journal = await Journal.open(file);
  const texts = ['build 14393 ≥ 14393 → ok', '日本語 🙂', 'plain'];
  for (const text of texts) await journal.append({ type: 'note', text });
  await journal.close();
  const lines = (await readFile(file, 'utf8')).split('\n');
  assert.is(lines.pop(), '', 'every line ends with a newline');
  lines.forEach((line, i) => {
    // Worked out here from the record, independently of the journal's own code.
    const { sum, ...record } = JSON.parse(line) as { sum: string; seq: number };
    const body = JSON.stringify(record);
    assert.is(sum, createHash('sha256').update(body, 'utf8').digest('hex').slice(0, 16), `line ${i + 1}'s checksum`);
    assert.is(line, `${body.slice(0, -1)},"sum":"${sum}"}`, `line ${i + 1} as written`);
  });
  // One byte of a character beyond ASCII changed: the checksum fails (the bytes are checked, not their text).
  const data = await readFile(file);
  const at = data.indexOf(Buffer.from('≥'));
  data[at + 2] ^= 0x01;
  await writeFile(file, data);
  try {
    await readJournal(file);
    assert.unreachable('accepted a damaged character');
  } catch (error) {
    assert.is((error as JournalError).code, 'JOURNAL_CORRUPT');
    assert.match((error as Error).message, /journal\.jsonl:1/);
  }
});

test('rejects a corrupt record in the middle with its line number', async () => {
  const file = await journalWith(4);
  const lines = (await readFile(file, 'utf8')).split('\n');
  lines[1] = lines[1].replace('record 1', 'record X');
  await writeFile(file, lines.join('\n'));
  try {
    await readJournal(file);
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, JournalError);
    assert.is((error as JournalError).code, 'JOURNAL_CORRUPT');
    assert.match((error as Error).message, /journal\.jsonl:2/);
  }
});

test('a complete last line whose checksum fails is corruption, not a torn write', async () => {
  const file = await journalWith(3);
  const lines = (await readFile(file, 'utf8')).split('\n');
  lines[2] = lines[2].replace('record 2', 'record Z'); // still newline-terminated
  await writeFile(file, lines.join('\n'));
  for (const read of [() => readJournal(file), () => Journal.open(file)]) {
    try {
      await read();
      assert.unreachable('accepted a damaged last record');
    } catch (error) {
      assert.is((error as JournalError).code, 'JOURNAL_CORRUPT');
      assert.match((error as Error).message, /checksum does not match.*journal\.jsonl:3/s);
    }
  }
  assert.is((await readFile(file, 'utf8')).split('\n').length, 4, 'nothing was cut off');
});

test('a run journaled in another format is refused with what to do, and listed as damaged', async () => {
  const { Runner, bundledStepKinds } = await import('../../src/index.js');
  const { mkdir } = await import('node:fs/promises');
  const stateDir = await tempDir();
  for (const [id, format] of [['old', undefined], ['new', JOURNAL_FORMAT + 1]] as const) {
    await mkdir(join(stateDir, 'runs', id), { recursive: true });
    const journal = await Journal.open(join(stateDir, 'runs', id, 'journal.jsonl'));
    await journal.append({ type: 'run.started', ...(format ? { format } : {}), runId: id, runbook: { name: 'x', steps: [{ id: 'a', uses: 'windows/schannel' }] }, params: {}, secrets: [], target: 'sim:x', checkMode: false });
    await journal.close();
  }
  const runner = new Runner({ stateDir, kinds: bundledStepKinds() });
  await runner.status('old').then(
    () => assert.unreachable('read an old journal'),
    (error: JournalError) => {
      assert.is(error.code, 'JOURNAL_VERSION');
      assert.match(error.message, new RegExp(`format 1; this runbook-engine reads format ${JOURNAL_FORMAT}.*finish \\(resume or roll back\\) this run with the runbook-engine version that started it`, 's'));
    },
  );
  const listed = await runner.list();
  assert.equal(listed.map((r) => [r.runId, r.status]), [['new', 'damaged'], ['old', 'damaged']]);
  assert.match(listed[0].error!, new RegExp(`format ${JOURNAL_FORMAT + 1}`));
});

test('replay refuses a record type it does not know, and a record naming a step the runbook lacks', async () => {
  const { replay } = await import('../../src/engine/replay.js');
  const started = { type: 'run.started', format: JOURNAL_FORMAT, runId: 'r', runbook: { name: 'x', steps: [{ id: 'a', uses: 'windows/schannel' }] }, params: {}, secrets: [], target: 't', checkMode: false };
  const at = (seq: number, r: object) => ({ ...r, seq, at: '2026-11-25T00:00:00.000Z', sum: '' });
  for (const [bad, message] of [
    [{ type: 'step.teleported', index: 0 }, /unknown journal record type "step.teleported"/],
    [{ type: 'step.started', index: 5, stepId: 'z', params: {} }, /record 2 names step 5, which the runbook does not have/],
  ] as const) {
    try {
      replay([at(1, started), at(2, bad)] as never);
      assert.unreachable('replayed');
    } catch (error) {
      assert.is((error as JournalError).code, 'JOURNAL_CORRUPT');
      assert.match((error as Error).message, message);
    }
  }
});

test('a run folder whose journal is gone says the id is right and what undoes the run, not to check the id', async () => {
  const dir = await tempDir();
  const error = await readJournal(join(dir, 'journal.jsonl')).then(
    () => null,
    (e: JournalError) => e,
  );
  assert.is(error?.code, 'JOURNAL_MISSING');
  assert.match(error!.message, /^the run's folder is there but its journal is gone \(/);
  assert.match(error!.message, /→ the run id is right: restore journal\.jsonl from a backup of the state directory, then run the command again; .*undo\.reg or undo\.ps1 .*backups\//);
  assert.not.match(error!.message, /check the run id/);
  // No folder: the id (or the state directory) is what to check.
  const none = await readJournal(join(dir, 'no-such-run', 'journal.jsonl')).then(
    () => null,
    (e: JournalError) => e,
  );
  assert.match(none!.message, /^no journal for this run \(.*\)\n  → check the run id with `runbook status`/);
});

test('rejects a record out of sequence', async () => {
  const file = await journalWith(3);
  const lines = (await readFile(file, 'utf8')).split('\n');
  await writeFile(file, [lines[0], lines[2], lines[1], ''].join('\n'));
  try {
    await readJournal(file);
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.match((error as Error).message, /out of sequence.*:2/s);
  }
});

test('group-commits concurrent appends in order', async () => {
  const file = join(await tempDir(), 'journal.jsonl');
  const journal = await Journal.open(file);
  await Promise.all(Array.from({ length: 50 }, (_, i) => journal.append({ type: 'note', i })));
  await journal.close();
  const { records } = await readJournal(file);
  assert.equal(records.map((r) => (r as unknown as { i: number }).i), Array.from({ length: 50 }, (_, i) => i));
});

test('refuses a lease held by a live process and takes over one of a dead process', async () => {
  const dir = await tempDir();
  const file = join(dir, 'lease.1.json');
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  try {
    await writeFile(file, JSON.stringify({ generation: 1, host: hostname(), pid: child.pid, token: 'x', expiresAt: new Date(Date.now() + 60_000).toISOString() }));
    try {
      await acquireLease(dir);
      assert.unreachable('should have thrown');
    } catch (error) {
      assert.is((error as JournalError).code, 'LEASE_HELD');
      assert.match((error as Error).message, new RegExp(`pid ${child.pid}`));
    }
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  const lease = await acquireLease(dir);
  assert.is(lease.generation, 2);
  assert.is(JSON.parse(await readFile(join(dir, 'lease.2.json'), 'utf8')).pid, process.pid);
  await lease.release();
});

test('records that come together are flushed together: a run flushes fewer times than it appends', async () => {
  // Counting the file journal's flushes (its protected writeBatch) for one run of the bundled runbook.
  const proto = Journal.prototype as unknown as { writeBatch(batch: unknown[]): Promise<void> };
  const original = proto.writeBatch;
  let flushes = 0;
  let records = 0;
  proto.writeBatch = function (this: unknown, batch: unknown[]) {
    flushes += 1;
    records += batch.length;
    return original.call(this, batch);
  };
  try {
    const { result } = await runToEnd(await makeHost('server-2016'));
    assert.is(result.status, 'succeeded');
  } finally {
    proto.writeBatch = original;
  }
  assert.ok(records >= 50, `${records} records`);
  // Each record waited for on its own took one flush each (51 for 51).
  assert.ok(flushes <= records * 0.6, `${flushes} flushes for ${records} records`);
});

/** A file handle, as `countSyncs`' hook sees it. */
type SyncedHandle = { stat(): Promise<{ size: number }> };

/** Counts the fsyncs of every file handle (they share one prototype) until `stop()`; `after` runs once each has succeeded. */
async function countSyncs(after?: (handle: SyncedHandle) => Promise<void>): Promise<{ count: () => number; stop: () => void }> {
  const probe = await open(join(await tempDir(), 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { sync(this: SyncedHandle): Promise<void> };
  await probe.close();
  const original = proto.sync;
  let syncs = 0;
  proto.sync = async function (this: SyncedHandle) {
    syncs += 1;
    await original.call(this);
    await after?.(this);
  };
  return { count: () => syncs, stop: () => void (proto.sync = original) };
}

test("sync 'on-close': appends are in the file at once and reach the disk in one flush, when the journal closes", async () => {
  const file = join(await tempDir(), 'journal.jsonl');
  const syncs = await countSyncs();
  try {
    const journal = await Journal.open(file, { sync: 'on-close' });
    await journal.append({ type: 'note', i: 0 });
    await journal.append({ type: 'note', i: 1 });
    // Written (a crash of this process would lose nothing), not flushed yet.
    assert.equal((await readJournal(file)).records.map((r) => r.seq), [1, 2]);
    assert.is(syncs.count(), 0);
    await journal.close();
    assert.is(syncs.count(), 1, 'one flush, at close');
    const each = await Journal.open(join(await tempDir(), 'journal.jsonl'));
    await each.append({ type: 'note', i: 0 });
    await each.append({ type: 'note', i: 1 });
    await each.close();
    assert.is(syncs.count(), 3, 'the default: one flush per batch');
  } finally {
    syncs.stop();
  }
});

test('opened for one holder, a new journal is made as a file of its own without a flush; a journal that exists is moved to one, flushed', async () => {
  const file = join(await tempDir(), 'journal.jsonl');
  const syncs = await countSyncs();
  try {
    const first = await Journal.open(file, { exclusive: true });
    assert.is(syncs.count(), 0, 'nothing to flush in a new, empty journal');
    await first.append({ type: 'note', n: 1 });
    assert.is(syncs.count(), 1);
    const second = await Journal.open(file, { exclusive: true });
    assert.is(syncs.count(), 2, 'the moved records are flushed before anything is appended to them');
    await second.append({ type: 'note', n: 2 });
    await first.append({ type: 'note', n: 3 }).then(
      () => assert.unreachable('appended to a replaced journal'),
      (error: JournalError) => assert.is(error.code, 'FENCED'),
    );
    await first.close();
    await second.close();
  } finally {
    syncs.stop();
  }
  assert.equal((await readJournal(file)).records.map((r) => (r as unknown as { n: number }).n), [1, 2]);
});

test('a plan opens its journal to be flushed when it closes; a run, before each step goes on', async () => {
  const opened: (string | undefined)[] = [];
  const dir = await tempDir();
  const files = fileStore(dir);
  const store = { ...files, openJournal: ((runId, lease, options) => (opened.push(options?.sync), files.openJournal(runId, lease, options))) as typeof files.openJournal };
  for (const checkMode of [true, false]) {
    const { result, executor } = await runToEnd(await makeHost('server-2016'), { checkMode, stateDir: dir, store });
    await executor.close();
    assert.is(result.status, checkMode ? 'planned' : 'succeeded');
  }
  assert.equal(opened, ['on-close', 'before-writes']);
});

test("sync 'before-writes': appends are in the file at once, and one flush when asked makes all of them durable", async () => {
  const file = join(await tempDir(), 'journal.jsonl');
  const syncs = await countSyncs();
  try {
    const journal = await Journal.open(file, { exclusive: true, sync: 'before-writes' });
    for (let i = 0; i < 5; i++) await journal.append({ type: 'note', i });
    assert.equal((await readJournal(file)).records.map((r) => r.seq), [1, 2, 3, 4, 5], 'in the file at once');
    assert.is(syncs.count(), 0, 'no flush until one is asked for');
    const pending = journal.append({ type: 'note', i: 5 });
    await journal.durable();
    await pending;
    assert.is(syncs.count(), 1, 'one flush for six records, the one appended just before it included');
    await journal.durable();
    assert.is(syncs.count(), 1, 'nothing new: no flush');
    await journal.append({ type: 'note', i: 6 });
    await journal.close();
    assert.is(syncs.count(), 2, 'closing flushes what was written since');
  } finally {
    syncs.stop();
  }
});

test("sync 'before-writes': a failed flush cuts the file back to what was durable, forgets the rest, and takes nothing more", async () => {
  const file = join(await tempDir(), 'journal.jsonl');
  const journal = await Journal.open(file, { exclusive: true, sync: 'before-writes' });
  await journal.append({ type: 'note', i: 0 });
  await journal.durable();
  const proto = Object.getPrototypeOf((journal as unknown as { handle: object }).handle) as { sync(): Promise<void> };
  const original = proto.sync;
  proto.sync = () => Promise.reject(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
  try {
    await journal.append({ type: 'note', i: 1 });
    await journal.append({ type: 'note', i: 2 });
    const error = await journal.durable().then(
      () => new Error('the flush did not fail'),
      (e: Error) => e,
    );
    assert.is((error as { name: string }).name, 'DurabilityError');
    assert.match(error.message, /EIO/);
  } finally {
    proto.sync = original;
  }
  assert.equal(journal.records.map((r) => r.seq), [1], 'only the durable record is kept');
  assert.equal((await readJournal(file)).records.map((r) => r.seq), [1], 'the file is cut back to it');
  await journal.append({ type: 'note', i: 3 }).then(
    () => assert.unreachable('a failed journal takes no more records'),
    () => undefined,
  );
  await journal.close();
});

test('a run flushes its journal before each change to the target, every record before it included, and not after each batch', async () => {
  const hostFile = await makeHost('server-2016');
  const dir = await tempDir();
  const clock = new VirtualClock();
  const base = await createSimulatedExecutor(hostFile, { clock });
  // The journal's length at its last flush, and whether it was that long at each write to the target.
  let flushedAt = -1;
  const flushedBeforeWrite: boolean[] = [];
  const journalSize = async () => {
    const [run] = await readdir(join(dir, 'runs'));
    return (await stat(join(dir, 'runs', run, 'journal.jsonl'))).size;
  };
  const syncs = await countSyncs(async (handle) => {
    flushedAt = (await handle.stat()).size;
  });
  const executor = Object.create(base) as Executor;
  executor.run = async (ops, options) => {
    if (ops.some((op) => WRITE_OPS.has(op.op))) flushedBeforeWrite.push((await journalSize()) === flushedAt);
    return base.run(ops, options);
  };
  let batches = 0;
  const batchProto = Journal.prototype as unknown as { writeBatch(b: unknown): Promise<void> };
  const writeBatch = batchProto.writeBatch;
  batchProto.writeBatch = function (b: unknown) {
    batches += 1;
    return writeBatch.call(this, b);
  };
  try {
    const run = newRunner(dir, clock).start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: FAST });
    const result = await run.result;
    assert.is(result.status, 'succeeded');
  } finally {
    syncs.stop();
    batchProto.writeBatch = writeBatch;
    await base.close();
  }
  assert.ok(flushedBeforeWrite.length >= 5, `${flushedBeforeWrite.length} writes to the target`);
  assert.ok(flushedBeforeWrite.every(Boolean), `the journal was flushed, to its last byte, before each write: ${flushedBeforeWrite}`);
  assert.ok(syncs.count() < batches, `${syncs.count()} flushes (every file) for ${batches} journal batches`);
  console.log(`  ${flushedBeforeWrite.length} writes to the target, ${batches} journal batches, ${syncs.count()} flushes of every file`);
});

test.run();
