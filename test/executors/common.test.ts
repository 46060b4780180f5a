import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { boundedCall, callTimeout, DEFAULT_CALL_TIMEOUT_MS } from '../../src/executors/common.js';
import type { ExecutorError } from '../../src/index.js';

test('a call that takes too long is stopped and ends as a timeout; the first outcome wins', async () => {
  let stopped = 0;
  let late: ((v: string) => void) | undefined;
  const error = await boundedCall<string>('t', { timeoutMs: 5 }, undefined, (resolve, _reject, onStop) => {
    late = resolve;
    onStop(() => (stopped += 1));
  }).catch((e: ExecutorError) => e);
  assert.is((error as ExecutorError).kind, 'timeout');
  assert.match((error as Error).message, /did not answer within 5 ms/);
  assert.is(stopped, 1);
  late!('too late'); // ignored
});

test('a cancelled call is stopped and says so; an answer in time is the result', async () => {
  const controller = new AbortController();
  let stopped = false;
  const pending = boundedCall<string>('t', { signal: controller.signal }, 60_000, (_resolve, _reject, onStop) => onStop(() => (stopped = true)));
  controller.abort();
  const error = (await pending.catch((e) => e)) as ExecutorError;
  assert.is(error.kind, 'permanent');
  assert.match(error.message, /cancelled/);
  assert.ok(stopped);
  assert.is(await boundedCall<string>('t', {}, 60_000, (resolve) => resolve('ok')), 'ok');
});

test('the timeout is the call\'s, else the executor\'s, else the documented default', () => {
  assert.is(callTimeout({ timeoutMs: 1 }, 2), 1);
  assert.is(callTimeout({}, 2), 2);
  assert.is(callTimeout({}), DEFAULT_CALL_TIMEOUT_MS);
  assert.is(DEFAULT_CALL_TIMEOUT_MS, 120_000);
});

test.run();
