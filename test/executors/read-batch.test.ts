/**
 * Reads as a typed batch: one call for the whole batch, answers by name in the order written, lists
 * answered as lists, left-out reads answered `undefined`, and an answer that does not match its
 * operation refused by name.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { batchAnswers, batchOps, defineBatch, readBatch } from '../../src/executors/read-batch.js';
import type { HostOp, HostOpResult } from '../../src/executors/types.js';
import { createSimulatedExecutor } from '../../src/index.js';
import { makeHost } from '../helpers.js';

const BATCH = defineBatch({
  os: { op: 'os.info' },
  services: [
    { op: 'service.status', name: 'W32Time' },
    { op: 'service.status', name: 'NoSuchService' },
  ],
  sql: undefined,
  boot: { op: 'boot.time' },
});

test('a batch is sent as one call, its operations in the order its names are written', async () => {
  const sent: (readonly HostOp[])[] = [];
  const executor = await createSimulatedExecutor(await makeHost('server-2016'));
  const read = await readBatch(async (ops) => {
    sent.push(ops);
    return executor.run(ops);
  }, BATCH);
  assert.is(sent.length, 1);
  assert.is(executor.roundTrips, 1);
  assert.equal(sent[0].map((op) => op.op), ['os.info', 'service.status', 'service.status', 'boot.time']);
  assert.is(read.os.productType, 'server');
  assert.equal(read.services.map((s) => s.name), ['W32Time', 'NoSuchService']);
  assert.is(read.services[1].exists, false);
  assert.is(read.sql, undefined);
  assert.match(read.boot.bootTime, /^\d{4}-/);
});

test('a reader with a read method (a step runtime) is called once', async () => {
  let calls = 0;
  const answers: HostOpResult[] = [{ op: 'boot.time', bootTime: '2026-01-01T00:00:00.000Z' }];
  const read = await readBatch({ read: async () => (calls++, answers) }, { boot: { op: 'boot.time' } });
  assert.is(calls, 1);
  assert.is(read.boot.bootTime, '2026-01-01T00:00:00.000Z');
});

test('an answer to another operation, or a missing answer, is refused', () => {
  assert.equal(batchOps({ a: { op: 'boot.time' }, b: [] }), [{ op: 'boot.time' }]);
  assert.throws(() => batchAnswers({ boot: { op: 'boot.time' } }, [{ op: 'hotfix.list', hotfixes: [] }]), /expected a result for boot.time, got hotfix.list/);
  assert.throws(() => batchAnswers({ boot: { op: 'boot.time' }, os: { op: 'os.info' } }, [{ op: 'boot.time', bootTime: 'x' }]), /expected 2 answers to the batch, got 1/);
});

test.run();
