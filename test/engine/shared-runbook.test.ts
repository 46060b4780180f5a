/**
 * The runs of one process whose journals record the same runbook drive one frozen copy of it, made
 * from what the journals say: never a caller's runbook object, which could change after it was
 * journaled.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { Runner, VirtualClock, createSimulatedExecutor, loadRunbook, readJournal, type RunbookDefinition } from '../../src/index.js';
import { replay } from '../../src/engine/replay.js';
import { sharedRunbook } from '../../src/engine/runbook.js';
import { FAST, kinds, makeHost, runToEnd, tempDir } from '../helpers.js';

const copyOf = (d: RunbookDefinition) => JSON.parse(JSON.stringify(d)) as RunbookDefinition;

test('copies of the same runbook become one frozen copy of their own; another runbook, another', async () => {
  const { definition } = await loadRunbook('orchestrator-tls12', kinds);
  const first = copyOf(definition);
  const shared = sharedRunbook(first);
  assert.is(sharedRunbook(copyOf(definition)), shared, 'a second copy of the same JSON: the first one made');
  assert.is.not(shared, first, 'a copy of its own, not the object given');
  assert.not.ok(Object.isFrozen(first), 'the object given is left as it was');
  assert.equal(shared, definition);
  assert.ok(Object.isFrozen(shared) && Object.isFrozen(shared.steps) && shared.steps.every((s) => Object.isFrozen(s) && (s.with === undefined || Object.isFrozen(s.with))), 'frozen all through');
  assert.throws(() => {
    (shared.steps[0] as { id: string }).id = 'changed';
  }, TypeError);
  const other = copyOf(definition);
  other.steps[0].name = `${other.steps[0].name} (changed)`;
  assert.is.not(sharedRunbook(other), shared, 'a runbook that differs anywhere is another');
  assert.is(sharedRunbook(definition), shared, "the caller's own object is read, never kept");
  assert.not.ok(Object.isFrozen(definition));
});

test("two runs' replays drive one runbook; a runbook changed by its caller after the start changes nothing in the run", async () => {
  const loaded = await loadRunbook('orchestrator-tls12', kinds);
  const lastId = loaded.definition.steps.at(-1)!.id;
  const runs = [];
  for (const host of ['server-2016', 'server-2019']) {
    const { result, runner } = await runToEnd(await makeHost(host), { runbook: loaded, params: FAST });
    assert.is(result.status, 'succeeded');
    runs.push((await readJournal(join(runner.runDir(result.runId), 'journal.jsonl'))).records);
  }
  const [a, b] = runs.map((records) => replay(records, sharedRunbook).started.runbook);
  for (const [i, step] of a.steps.entries()) assert.is(b.steps[i], step, `step ${i}: one object for both runs`);
  const own = runs.map((records) => replay(records).started.runbook);
  assert.is.not(own[0].steps[0], own[1].steps[0], "without it, each replay holds its journal's copy");
  // The caller changes its runbook while a run is under way: the run drives what its journal says.
  const changing = await loadRunbook('orchestrator-tls12', kinds);
  const clock = new VirtualClock();
  const runner = new Runner({ stateDir: await tempDir(), kinds, clock });
  const run = runner.start(changing, { executor: await createSimulatedExecutor(await makeHost('server-2016'), { clock }), params: FAST });
  run.events.once('step:settled', () => {
    (changing.definition.steps.at(-1) as { id: string }).id = 'CHANGED';
  });
  const result = await run.result;
  assert.is(result.status, 'succeeded');
  assert.is(result.steps.at(-1)!.id, lastId, 'the last step is the journaled one');
});

test.run();
