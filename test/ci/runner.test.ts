/**
 * `test/run.mjs`, whose totals `.ci/run` turns into its closing line: it runs the sample files of
 * test/fixtures/runner (`RBE_TEST_DIR`), which fail in each way a test file can — a failing test, a
 * process that exits, a test that never ends, a timer left behind that throws after the file's tests,
 * an interval that keeps the last process alive (a file's time limit made 3 s) — beside files that pass, one of which has a child process write to the standard error it inherits.
 * Every failure must be counted, every failing file named, the files after a dead process still run,
 * each file's output printed with it, and the exit code say so.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

function runSamples(lanes: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'test', 'run.mjs')], {
      cwd: ROOT,
      env: { ...process.env, RBE_TEST_DIR: join(ROOT, 'test', 'fixtures', 'runner'), RBE_LANES: lanes, RBE_FILE_TIMEOUT_MS: '3000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out: out.replace(/\x1b\[[0-9;]*m/g, '') }));
  });
}

for (const lanes of ['1', '3']) {
  test(`with ${lanes} lane(s), each way a file fails is counted, and the files after a dead process still run`, async () => {
    const { code, out } = await runSamples(lanes);
    // The samples' output is not this file's: a failure here shows it indented, so that the suite
    // does not read the samples' totals as its own.
    const shown = out.replace(/^/gm, '    | ');
    assert.is(code, 1, shown);
    // a-fails: 2 tests, 1 passed; c-exits and e-never-ends: 1 failure each; g-throws-later and
    // i-leaves-interval: their test passed, and 1 failure for what they left behind; b, d, f, h: 1
    // passed each.
    assert.match(out, /^\s*Total:\s+12$/m, shown);
    assert.match(out, /^\s*Passed:\s+7$/m, shown);
    assert.is(out.match(/^\s*Total:/gm)?.length, 1, 'only the suite prints its totals');
    const failed = /^failed: (.*)$/m.exec(out)?.[1].split(', ').sort();
    assert.equal(failed?.slice(0, 4), ['a-fails', 'c-exits', 'e-never-ends', 'g-throws-later'].map((f) => `test/fixtures/runner/${f}.test.ts`));
    assert.match(failed?.[4] ?? '', /^the process that ran \d+ quick file\(s\) \(the last: test\/fixtures\/runner\/i-leaves-interval\.test\.ts\)$/);
    assert.is(failed?.length, 5);
    for (const f of ['b-passes', 'd-passes', 'f-passes', 'h-child-stderr']) assert.match(out, new RegExp(`\\(test/fixtures/runner/${f}\\.test\\.ts: [\\d.]+ s\\)`), `${f} ran`);
    assert.match(out, /c-exits\.test\.ts: its process ended \(code 3\) without its totals/);
    assert.match(out, /e-never-ends\.test\.ts: its process ended \(code 1\) without its totals/);
    assert.match(out, /g-throws-later\.test\.ts: its process ended \(code 1\) after its tests/);
    // A file's output is printed whole, before the line with its time (no other file's time between):
    // its stderr, and its child's.
    assert.match(out, /d-passes wrote this to stderr\n(?:(?!\(test\/)[^])*\(test\/fixtures\/runner\/d-passes\.test\.ts:/);
    assert.match(out, /h-child-stderr: its child wrote this\n(?:(?!\(test\/)[^])*\(test\/fixtures\/runner\/h-child-stderr\.test\.ts:/);
  });
}

test.run();
