/**
 * `test/run.mjs`, whose totals `.ci/run` turns into its closing line: it runs the sample files of
 * test/fixtures/runner (`RBE_TEST_DIR`), which fail in each way a test file can — a failing test, a
 * process that exits, a test that never ends — beside files that pass. Every failure must be counted,
 * every failing file named, the files after a dead process still run, and the exit code say so.
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
      env: { ...process.env, RBE_TEST_DIR: join(ROOT, 'test', 'fixtures', 'runner'), RBE_LANES: lanes },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out: out.replace(/\x1b\[[0-9;]*m/g, '') }));
  });
}

for (const lanes of ['2', '3']) {
  test(`with ${lanes} lanes, each way a file fails is counted, and the files after a dead process still run`, async () => {
    const { code, out } = await runSamples(lanes);
    assert.is(code, 1, out);
    // a-fails: 2 tests, 1 passed; c-exits and e-never-ends: 1 failure each; b, d, f: 1 passed each.
    assert.match(out, /^\s*Total:\s+7$/m, out);
    assert.match(out, /^\s*Passed:\s+4$/m, out);
    assert.is(out.match(/^\s*Total:/gm)?.length, 1, 'only the suite prints its totals');
    const failed = /^failed: (.*)$/m.exec(out)?.[1].split(', ').sort();
    assert.equal(failed, ['a-fails', 'c-exits', 'e-never-ends'].map((f) => `test/fixtures/runner/${f}.test.ts`));
    for (const f of ['b-passes', 'd-passes', 'f-passes']) assert.match(out, new RegExp(`\\(test/fixtures/runner/${f}\\.test\\.ts: [\\d.]+ s\\)`), `${f} ran`);
    assert.match(out, /c-exits\.test\.ts: its process ended \(code 3\) without its totals/);
    assert.match(out, /e-never-ends\.test\.ts: its process ended \(code 1\) without its totals/);
    // A file's output is printed whole, before the line with its time: stderr included.
    assert.match(out, /d-passes wrote this to stderr\n[^]*?\(test\/fixtures\/runner\/d-passes\.test\.ts:/);
  });
}

test.run();
