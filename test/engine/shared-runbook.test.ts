/**
 * The runs one process starts from one runbook share that runbook in memory: the drive takes the
 * runbook it was given for the copy its journal gives back, when the two are the same document — and
 * only then, so that a run always drives what its journal says.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadRunbook, readJournal, type RunbookDefinition } from '../../src/index.js';
import { replay } from '../../src/engine/replay.js';
import { sharedRunbook } from '../../src/engine/runbook.js';
import { FAST, kinds, makeHost, runToEnd } from '../helpers.js';

const copyOf = (d: RunbookDefinition) => JSON.parse(JSON.stringify(d)) as RunbookDefinition;

test('the runbook held is taken for a copy of the same document, and only for one', async () => {
  const { definition } = await loadRunbook('orchestrator-tls12', kinds);
  assert.is(sharedRunbook(definition, copyOf(definition)), definition);
  // A copy that differs anywhere (as one whose text a secret's mask changed would) is kept.
  const changed = copyOf(definition);
  changed.steps[0].name = `${changed.steps[0].name} (changed)`;
  assert.is(sharedRunbook(definition, changed), changed);
  // Nothing held: the copy.
  const copy = copyOf(definition);
  assert.is(sharedRunbook(undefined, copy), copy);
  // A runbook that JSON does not give back as it is (here a field JSON drops) is never taken for a copy.
  const withUndefined = { ...copyOf(definition), description: undefined } as unknown as RunbookDefinition;
  const itsCopy = copyOf(withUndefined);
  assert.is(sharedRunbook(withUndefined, itsCopy), itsCopy);
});

test("a run's replay drives the runbook it was started with, its steps the very same objects, when its journal records that runbook", async () => {
  const loaded = await loadRunbook('orchestrator-tls12', kinds);
  const { result, runner } = await runToEnd(await makeHost('server-2016'), { runbook: loaded, params: FAST });
  assert.is(result.status, 'succeeded');
  const { records } = await readJournal(join(runner.runDir(result.runId), 'journal.jsonl'));
  const shared = replay(records, loaded.definition).started.runbook;
  const own = replay(records).started.runbook;
  assert.equal(own, shared, 'the same document either way');
  for (const [i, step] of shared.steps.entries()) assert.ok(loaded.definition.steps.includes(step), `step ${i} is the loaded runbook's own`);
  assert.not.ok(own.steps.some((step) => loaded.definition.steps.includes(step)), 'without it, the journal\'s copy');
  // Another runbook (a changed file resumed with --force) is not taken for the recorded one.
  const other = copyOf(loaded.definition);
  other.description = 'changed since the run started';
  assert.not.ok(replay(records, other).started.runbook.steps.some((step) => other.steps.includes(step)));
});

test.run();
