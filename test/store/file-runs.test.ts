import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listRuns, runDirOf } from '../../src/store/file-runs.js';
import { fleetDirOf, isFleet } from '../../src/store/fleet-dir.js';
import { mkdir } from 'node:fs/promises';
import { Runner, bundledStepKinds, createSimulatedExecutor, type JournalError } from '../../src/index.js';
import { readdir } from 'node:fs/promises';
import { kinds, makeHost, newRunner, runToEnd, tempDir } from '../helpers.js';
import { loadRunbook } from '../../src/index.js';

test('status reads the summary kept beside a journal only while the journal is as it was', async () => {
  const stateDir = await tempDir();
  const { result } = await runToEnd(await makeHost('server-2016'), { stateDir });
  const dir = join(stateDir, 'runs', result.runId);
  const file = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'));
  assert.is(file.summary.status, 'succeeded');
  // A summary that says something else is believed while the journal is unchanged…
  await writeFile(join(dir, 'summary.json'), JSON.stringify({ ...file, summary: { ...file.summary, status: 'planned' } }));
  assert.is((await listRuns(stateDir))[0].status, 'planned');
  // …and not once the journal changed (here: a damaged tail), which is then replayed.
  await appendFile(join(dir, 'journal.jsonl'), '{"type":"run.ended"');
  assert.is((await listRuns(stateDir))[0].status, 'succeeded');
});

test('a run without a summary (a crashed drive) is replayed; a damaged one is listed as damaged', async () => {
  const stateDir = await tempDir();
  const { result } = await runToEnd(await makeHost('server-2016'), { stateDir });
  const journal = join(stateDir, 'runs', result.runId, 'journal.jsonl');
  const lines = (await readFile(journal, 'utf8')).split('\n');
  await writeFile(journal, lines.map((l, i) => (i === 3 ? l.replace('"type"', '"typo"') : l)).join('\n'));
  const [run] = await listRuns(stateDir);
  assert.is(run.status, 'damaged');
  assert.match(run.error!, /corrupt journal record .*journal\.jsonl:4\)/);
});

test('a journal cut shorter than its summary says is damaged, and refused by a resume or a rollback', async () => {
  const stateDir = await tempDir();
  const host = await makeHost('server-2016');
  const { result } = await runToEnd(host, { stateDir });
  const journal = join(stateDir, 'runs', result.runId, 'journal.jsonl');
  const text = await readFile(journal, 'utf8');
  // Whole lines kept (a clean cut: nothing torn to give it away), the last steps' records gone.
  await writeFile(journal, `${text.split('\n').slice(0, 20).join('\n')}\n`);
  const [run] = await listRuns(stateDir);
  assert.is(run.status, 'damaged');
  assert.match(run.error!, /the journal is \d+ bytes, shorter than the \d+ it had when its run last ended a drive \(summary\.json\): it was cut/);
  const before = await readFile(host, 'utf8');
  const runner = new Runner({ stateDir, kinds: bundledStepKinds() });
  const executor = await createSimulatedExecutor(host);
  for (const drive of [() => runner.rollback(result.runId, { executor }), () => runner.resume(result.runId, { executor })]) {
    let code = '';
    try {
      await (await drive()).result;
    } catch (error) {
      code = (error as JournalError).code;
    }
    assert.is(code, 'JOURNAL_CORRUPT');
  }
  await executor.close();
  assert.is(await readFile(host, 'utf8'), before, 'nothing on the target changed');
});

test("a plan's journal shorter than its summary is not damaged: a plan flushes its journal only as it closes, after its summary", async () => {
  const stateDir = await tempDir();
  const { result } = await runToEnd(await makeHost('server-2016'), { stateDir, checkMode: true });
  const journal = join(stateDir, 'runs', result.runId, 'journal.jsonl');
  const text = await readFile(journal, 'utf8');
  await writeFile(journal, `${text.split('\n').slice(0, 20).join('\n')}\n`);
  const [run] = await listRuns(stateDir);
  assert.is.not(run.status, 'damaged', run.error);
});

test('an id made only of dots names no run and no fleet: ".", ".." and "..." are refused (".." would be the state directory itself); a folder so named is no run', async () => {
  const stateDir = await tempDir();
  for (const id of ['.', '..', '...', '_', '-.-']) {
    assert.throws(() => runDirOf(stateDir, id), (e: Error) => /is not a run id: an id is made of letters, digits, "\.", "_" and "-", with at least one letter or digit/.test(e.message), `run ${id}`);
    assert.throws(() => fleetDirOf(stateDir, id), /is not a fleet id/, `fleet ${id}`);
    assert.is(isFleet(stateDir, id), false);
  }
  // Ids of runs and fleets as the engine makes them are still ids.
  assert.is(runDirOf(stateDir, '20260101-000000-orchestrator-tls12-abc123.host-1'), join(stateDir, 'runs', '20260101-000000-orchestrator-tls12-abc123.host-1'));
  assert.is(fleetDirOf(stateDir, 'x.1_-'), join(stateDir, 'fleets', 'x.1_-'));
  // A stray folder whose name is no id does not stop the listing of the runs.
  const { result } = await runToEnd(await makeHost('server-2016'), { stateDir });
  await mkdir(join(stateDir, 'runs', '...'));
  assert.equal((await listRuns(stateDir)).map((r) => r.runId), [result.runId]);
});

test('an id longer than a folder\'s name can be (255 bytes) names no run and no fleet: a run started with one is refused in words, before its folder or anything on the target is made', async () => {
  const stateDir = await tempDir();
  const long = `r${'x'.repeat(255)}`;
  assert.throws(() => runDirOf(stateDir, long), /^"rx+… \(256 characters\)" is not a run id: it names a folder, whose name holds at most 255 characters\n/);
  assert.throws(() => fleetDirOf(stateDir, long), /is not a fleet id: it names a folder, whose name holds at most 255 characters/);
  assert.is(runDirOf(stateDir, long.slice(0, 255)), join(stateDir, 'runs', long.slice(0, 255)));
  const host = await makeHost('server-2016');
  const before = await readFile(host);
  const executor = await createSimulatedExecutor(host);
  try {
    const refused = await (async () => newRunner(stateDir).start(await loadRunbook('orchestrator-tls12', kinds), { executor, runId: long }).result)().then(
      () => null,
      (e: Error) => e,
    );
    assert.match(refused?.message ?? 'it ran', /is not a run id: it names a folder, whose name holds at most 255 characters/);
    assert.not.match(refused?.message ?? '', /ENAMETOOLONG|state directory/);
  } finally {
    await executor.close();
  }
  assert.equal(await readdir(join(stateDir, 'runs')).catch(() => []), [], 'a run was made');
  assert.ok((await readFile(host)).equals(before), 'the host changed');
});

test.run();
