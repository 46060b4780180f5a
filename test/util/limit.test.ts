import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { concurrencyLimit } from '../../src/util/limit.js';

/** A task that ends when the test says so. */
function gate<T>(value: T) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, task: async () => (await opened, value) };
}

test('no more than max run at once; the others start in order as running ones end', async () => {
  const limit = concurrencyLimit(2);
  const gates = [gate('a'), gate('b'), gate('c'), gate('d')];
  const started: string[] = [];
  const results = gates.map((g, i) =>
    limit.run(() => {
      started.push('abcd'[i]);
      return g.task();
    }),
  );
  await Promise.resolve();
  assert.equal(started, ['a', 'b']);
  gates[1].open();
  await results[1];
  await new Promise((r) => setImmediate(r));
  assert.equal(started, ['a', 'b', 'c']);
  gates[0].open();
  gates[2].open();
  gates[3].open();
  assert.equal(await Promise.all(results), ['a', 'b', 'c', 'd']);
});

test('a task that fails frees its place', async () => {
  const limit = concurrencyLimit(1);
  await limit.run(async () => Promise.reject(new Error('no'))).catch(() => undefined);
  assert.is(await limit.run(async () => 'next'), 'next');
});

test.run();
