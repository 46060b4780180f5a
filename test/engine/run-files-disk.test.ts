/**
 * The files a drive writes once it ended (undo files, reports, the summary) under a full or failing
 * disk: the run's journal is durable by then, so its outcome stands; the result says which file could
 * not be written (`unwritten`), a warning says why and what to do, and a resume of the ended run writes
 * them again from the journal without connecting to the target. Through the write fault hook of
 * `util/write-atomic.ts` (a full disk's error: the code, no path of its own).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rename } from 'node:fs/promises';
import pg from 'pg';
import { createSimulatedExecutor, loadRunbook, type RunResult, type UnsavedSummary, type UnwrittenFile } from '../../src/index.js';
import { fileStore } from '../../src/store/file-store.js';
import { postgresStore, type PostgresStore } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/types.js';
import { startPostgres, type TestPostgres } from '../postgres.js';
import type { LogEvent } from '../../src/engine/events.js';
import { injectWriteFault } from '../../src/util/write-atomic.js';
import { FAST, kinds, makeHost, newRunner, tempDir } from '../helpers.js';

/** One run of the bundled runbook with the writes of files ending with `suffix` failing with `code`. */
async function runWithRefused(suffix: string[], code: string): Promise<{ result: RunResult; warnings: LogEvent[]; dir: string; host: string }> {
  const host = await makeHost('server-2016');
  const dir = await tempDir('rbe-files-');
  const runbook = await loadRunbook('orchestrator-tls12', kinds);
  injectWriteFault({ suffixes: suffix, code });
  try {
    const run = newRunner(dir).start(runbook, { executor: await createSimulatedExecutor(host), params: FAST, runId: 'files' });
    const warnings: LogEvent[] = [];
    run.events.on('log', (e) => {
      if (e.level !== 'info') warnings.push(e);
    });
    return { result: await run.result, warnings, dir, host };
  } finally {
    injectWriteFault(null);
  }
}

/** One run of the bundled runbook through `store`, its warnings kept. */
async function runThrough(store: Store, dir: string, runId: string): Promise<{ result: RunResult; warnings: LogEvent[] }> {
  const run = newRunner(dir, undefined, store).start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(await makeHost('server-2016')), params: FAST, runId });
  const warnings: LogEvent[] = [];
  run.events.on('log', (e) => {
    if (e.level !== 'info') warnings.push(e);
  });
  return { result: await run.result, warnings };
}

/** Resumes the ended run with a connect that must not be called; returns its result. */
async function rewrite(dir: string, store?: Store, runId = 'files'): Promise<RunResult> {
  const run = await newRunner(dir, undefined, store).resume(runId, {
    connect: async () => {
      throw new Error('an ended run was connected to its target');
    },
  });
  return run.result;
}

for (const [file, code, words] of [
  ['report.json', 'ENOSPC', 'the disk is full'],
  ['report.md', 'EDQUOT', 'the disk quota is used up'],
  ['undo.reg', 'ENOSPC', 'the disk is full'],
  ['undo.ps1', 'EFBIG', 'the file is too large for its file system'],
  ['summary.json', 'EIO', 'the disk failed the write'],
] as const) {
  test(`${file} refused (${code}) after the drive ended: the run succeeded as it did, the result and a warning name the file, and a resume writes it again without the target`, async () => {
    const { result, warnings, dir } = await runWithRefused([`/${file}`], code);
    const runDir = join(dir, 'runs', 'files');
    assert.is(result.status, 'succeeded', 'the outcome stands');
    assert.equal(result.unwritten?.map((u) => [(u as UnwrittenFile).file, (u as UnwrittenFile).errno]), [[join(runDir, file), code]]);
    assert.not.ok(existsSync(join(runDir, file)), `${file} is not there`);
    // The other files were written all the same.
    for (const other of ['report.json', 'report.md', 'undo.reg', 'undo.ps1', 'summary.json'].filter((f) => f !== file && !(file.startsWith('undo.') && f.startsWith('undo.')))) {
      assert.ok(existsSync(join(runDir, other)), `${other} was written`);
    }
    if (file.startsWith('undo.')) assert.is(result.undoFiles, undefined, 'no undo files are offered that are not all there');
    if (file !== 'report.json' && file !== 'summary.json' && file !== 'report.md') {
      assert.equal((JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8')) as RunResult).unwritten?.map((u) => (u as UnwrittenFile).file)[0], join(runDir, file), 'the report says which file is missing');
    }
    assert.is(warnings.length, 1, JSON.stringify(warnings));
    const warning = warnings[0].message;
    assert.ok(warning.includes(join(runDir, file)), warning);
    assert.ok(warning.includes(`${code}: ${words}`), warning);
    if (code === 'EFBIG') assert.not.match(warning, /disk is full/);
    assert.match(warning, /journal is intact and its outcome stands/);
    assert.match(warning, /`runbook resume files` writes the run's files again from its journal/);
    assert.not.match(warning, /nothing (was )?changed/i);
    assert.not.match(warning, /\n\s+at /);

    const again = await rewrite(dir);
    assert.is(again.status, 'succeeded');
    assert.is(again.unwritten, undefined);
    assert.ok(existsSync(join(runDir, file)), `${file} was written by the resume`);
    assert.is((JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8')) as RunResult).unwritten, undefined);
  });
}

test('every file refused at the end of a run: the run still succeeded, each file is named', async () => {
  const { result, warnings } = await runWithRefused(['/undo.reg', '/report.json', '/report.md', '/summary.json'], 'ENOSPC');
  assert.is(result.status, 'succeeded');
  assert.equal(result.unwritten?.map((u) => (u as UnwrittenFile).file.split('/').pop()), ['undo.reg', 'report.json', 'report.md', 'summary.json']);
  assert.is(warnings.length, 4);
});

test('the journal\'s stat failing before summary.json is written is told as that read, not as a write the disk refused; a resume writes the summary', async () => {
  const dir = await tempDir('rbe-files-');
  const store = fileStore(dir);
  const runDir = join(dir, 'runs', 'unread');
  const journal = join(runDir, 'journal.jsonl');
  // The journal is away while the summary is saved (its stat fails, ENOENT), back for the resume.
  const { result, warnings } = await runThrough({ ...store, saveRun: async (id, summary) => {
    await rename(journal, `${journal}.away`);
    try {
      await store.saveRun(id, summary);
    } finally {
      await rename(`${journal}.away`, journal);
    }
  } }, dir, 'unread');
  assert.is(result.status, 'succeeded', 'the outcome stands');
  assert.equal(result.unwritten, [{ kind: 'file', file: join(runDir, 'summary.json'), errno: 'ENOENT', message: (result.unwritten?.[0] as UnwrittenFile).message, unread: { file: journal, syscall: 'stat' } }]);
  assert.is(warnings.length, 1, JSON.stringify(warnings));
  const warning = warnings[0].message;
  assert.ok(warning.startsWith(`${join(runDir, 'summary.json')} was not written: ${journal} could not be read first (stat ENOENT: it is not there) — not a failed write`), warning);
  assert.not.match(warning, /could not be written|disk is full|free space|disk failed the write/);
  assert.match(warning, /`runbook resume unread` writes the run's files again from its journal/);
  assert.not.ok(existsSync(join(runDir, 'summary.json')));
  const again = await rewrite(dir, store, 'unread');
  assert.is(again.unwritten, undefined);
  assert.ok(existsSync(join(runDir, 'summary.json')), 'the resume wrote it');
});

let server: TestPostgres | undefined;
test.after(async () => {
  await server?.stop();
});

test('PostgreSQL: the server ending the session that saves the run\'s summary is told as a lost connection (which store, the code, what to do), never a file or a disk, never the password; a resume of the ended run saves it', async () => {
  server = await startPostgres();
  const url = await server.freshDatabase();
  const password = server.env.PGPASSWORD;
  // The password in the URL (as a library caller may give it): it must reach no message.
  const withPassword = url.replace('postgres://runbook@', `postgres://runbook:${password}@`);
  const dir = await tempDir('rbe-files-');
  // No retry window: the first lost connection is final (the CLI's store retries for a minute first).
  const store = await postgresStore(withPassword, { stateDir: dir, reconnectForMs: 0 });
  const admin = new pg.Client({ connectionString: withPassword });
  await admin.connect();
  try {
    // The server itself ends the session of the statement that saves a summary, as pg_terminate_backend does.
    await admin.query(`CREATE FUNCTION end_session() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$`);
    await admin.query(`CREATE TRIGGER end_session BEFORE UPDATE OF summary ON rbe_runs FOR EACH ROW WHEN (NEW.summary IS NOT NULL) EXECUTE FUNCTION end_session()`);
    const { result, warnings } = await runThrough(store, dir, 'pg-lost');
    assert.is(result.status, 'succeeded', 'the outcome stands');
    const location = url.replace(/^postgres:\/\/runbook@/, 'postgres://runbook:***@');
    assert.equal(result.unwritten?.map((u) => ({ ...u, message: '' })), [{ kind: 'store', store: location, reason: '57P01: the server ended the session', message: '' }] satisfies UnsavedSummary[]);
    assert.is(warnings.length, 1, JSON.stringify(warnings));
    const warning = warnings[0].message;
    assert.ok(warning.startsWith(`the run's summary (and the copies of its files) could not be saved in the store ${url}: the connection was lost (57P01: the server ended the session)`), warning);
    assert.match(warning, /Check that the database is up and reachable from here, then `runbook resume pg-lost --store postgres:\/\/runbook@127\.0\.0\.1:\d+\/t_\w+` saves it again from the run's journal/);
    assert.not.match(warning, /summary\.json|disk|free space|could not be written/);
    for (const text of [warning, JSON.stringify(result)]) assert.not.ok(text.includes(password), 'the password is in no message');
    const { rows } = await admin.query('SELECT summary FROM rbe_runs WHERE run_id = $1', ['pg-lost']);
    assert.is(rows[0].summary, null, 'nothing was saved');

    await admin.query('DROP TRIGGER end_session ON rbe_runs');
    const again = await rewrite(dir, store, 'pg-lost');
    assert.is(again.status, 'succeeded');
    assert.is(again.unwritten, undefined);
    const saved = await admin.query<{ status: string; last: number; seq: number }>("SELECT summary->>'status' AS status, summary_seq AS seq, (SELECT max(seq) FROM rbe_journal WHERE run_id = $1) AS last FROM rbe_runs WHERE run_id = $1", ['pg-lost']);
    assert.equal(saved.rows[0], { status: 'succeeded', seq: saved.rows[0].last, last: saved.rows[0].last }, 'the resume saved the summary, current with the journal');
    const files = await (store as PostgresStore).runFiles('pg-lost');
    assert.ok('report.json' in files && 'report.md' in files, Object.keys(files).join());
  } finally {
    await admin.end();
    await store.close();
  }
});

test.run();
