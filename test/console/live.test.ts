/**
 * Live changes of a file store, batched: however many journal records land, at most one batch per
 * interval, each naming every run and fleet that changed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileStore } from '../../src/index.js';
import { watchStore, type Changes } from '../../src/console/live.js';
import { tempDir } from '../helpers.js';

test('a hundred appends to fifty journals arrive in one batch per interval, never one per record, naming all fifty', async () => {
  const state = await tempDir();
  const ids = Array.from({ length: 50 }, (_, i) => `run-${i}`);
  for (const id of ids) {
    await mkdir(join(state, 'runs', id), { recursive: true });
    await writeFile(join(state, 'runs', id, 'journal.jsonl'), '');
  }
  const batches: Changes[] = [];
  let wake: () => void = () => undefined;
  const live = watchStore({
    store: fileStore(state),
    stateDir: state,
    intervalMs: 400,
    onBatch: (c) => {
      batches.push(c);
      wake();
    },
  });
  try {
    assert.is(live.mode, 'watch');
    // The watches are set by the first scan; a batch of nothing is never sent.
    await live.ready;
    const all = () => new Set(batches.flatMap((b) => [...b.runs]));
    const t0 = Date.now();
    for (let round = 0; round < 2; round++) for (const id of ids) await appendFile(join(state, 'runs', id, 'journal.jsonl'), '{"x":1}\n');
    const elapsed = Date.now() - t0;
    while (all().size < ids.length) await new Promise<void>((r) => (wake = r));
    assert.equal([...all()].sort(), [...ids].sort());
    // One batch per interval at most (never one per record): 100 appends within 400 ms are one batch.
    assert.ok(batches.length <= Math.ceil(elapsed / 400) + 1, `${batches.length} batches in ${elapsed} ms`);
  } finally {
    live.close();
  }
});

test('a store an application made itself (neither files nor the PostgreSQL store) is polled', async () => {
  const store = { ...fileStore('/nonexistent'), kind: 'postgres' as const, listRuns: async () => [] };
  const live = watchStore({ store, stateDir: '/nonexistent', onBatch: () => undefined, pollMs: 60_000 });
  assert.is(live.mode, 'poll');
  await live.ready;
  live.close();
});

test.run();
