/**
 * `resume` and `rollback` of a run already rolled back: nothing to do, said in the same words by both,
 * the target not contacted, and the same exit code from both — the run's outcome's (docs/cli.md): 0
 * for a run rolled back on request, 1 for one that failed and was rolled back.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeHost, restartRefused, tempDir } from '../helpers.js';
import { CLI, cli } from './run-cli.js';

test('the CLI was built', () => {
  assert.ok(existsSync(CLI), `missing ${CLI}: run npm run build`);
});

/** `resume` and `rollback` of the run, each twice, once its host is gone: each exit code and what it printed. */
async function askAgain(runId: string, state: string, host: string) {
  // Gone: a command that contacted the target would fail on it.
  await rm(host);
  const out = [];
  for (const command of ['rollback', 'resume', 'rollback', 'resume']) out.push({ command, ...(await cli([command, runId, '--state-dir', state])) });
  return out;
}

test('a run rolled back on request: resume and rollback both say it is already rolled back and exit 0', async () => {
  const host = await makeHost('server-2016', (h) => void (h.downtimeMs = 0));
  const state = await tempDir();
  assert.is((await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state])).code, 0);
  const [runId] = await readdir(join(state, 'runs'));
  const first = await cli(['rollback', runId, '--state-dir', state]);
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stdout, /Result: rolled back on request/);
  for (const r of await askAgain(runId, state, host)) {
    assert.is(r.code, 0, `${r.command}: ${r.stdout}${r.stderr}`);
    assert.is(r.stderr, '', r.command);
    assert.match(r.stdout, new RegExp(`^run ${runId} is already rolled back \\(rolled back on request\\): nothing to do — the target is not contacted`), r.command);
    assert.match(r.stdout, /Result: rolled back on request/, r.command);
  }
});

test('a run that failed and was rolled back: resume and rollback both say so and exit 1, as the run did', async () => {
  const host = await makeHost('server-2016', restartRefused);
  const state = await tempDir();
  const run = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, '--retries', '0']);
  assert.is(run.code, 1, run.stdout + run.stderr);
  const [runId] = await readdir(join(state, 'runs'));
  for (const r of await askAgain(runId, state, host)) {
    assert.is(r.code, 1, `${r.command}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^run ${runId} is already rolled back \\(failed and rolled back\\): nothing to do`), r.command);
    assert.match(r.stdout, /Result: failed and rolled back/, r.command);
  }
});

test('with --json the note is a log event before the summary, whose outcome is the run\'s', async () => {
  const host = await makeHost('server-2016', restartRefused);
  const state = await tempDir();
  await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, '--retries', '0']);
  const [runId] = await readdir(join(state, 'runs'));
  const r = await cli(['rollback', runId, '--state-dir', state, '--json']);
  assert.is(r.code, 1, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; level?: string; message?: string; outcome?: string });
  assert.equal([lines[0].event, lines[0].level], ['log', 'info']);
  assert.match(lines[0].message!, /is already rolled back \(failed and rolled back\): nothing to do/);
  assert.equal([lines.at(-1)!.event, lines.at(-1)!.outcome], ['summary', 'rolled-back']);
});

test.run();
