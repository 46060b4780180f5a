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
import { createSimulatedExecutor, loadRunbook, type RunResult } from '../../src/index.js';
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

/** Resumes the ended run with a connect that must not be called; returns its result. */
async function rewrite(dir: string): Promise<RunResult> {
  const run = await newRunner(dir).resume('files', {
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
    assert.equal(result.unwritten?.map((u) => [u.file, u.errno]), [[join(runDir, file), code]]);
    assert.not.ok(existsSync(join(runDir, file)), `${file} is not there`);
    // The other files were written all the same.
    for (const other of ['report.json', 'report.md', 'undo.reg', 'undo.ps1', 'summary.json'].filter((f) => f !== file && !(file.startsWith('undo.') && f.startsWith('undo.')))) {
      assert.ok(existsSync(join(runDir, other)), `${other} was written`);
    }
    if (file.startsWith('undo.')) assert.is(result.undoFiles, undefined, 'no undo files are offered that are not all there');
    if (file !== 'report.json' && file !== 'summary.json' && file !== 'report.md') {
      assert.equal((JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8')) as RunResult).unwritten?.[0]?.file, join(runDir, file), 'the report says which file is missing');
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
  assert.equal(result.unwritten?.map((u) => u.file.split('/').pop()), ['undo.reg', 'report.json', 'report.md', 'summary.json']);
  assert.is(warnings.length, 4);
});

test.run();
