import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock, systemClock } from '../../src/index.js';

test('a virtual pause moves the time ahead at once', async () => {
  const clock = new VirtualClock(1_000);
  const wall = Date.now();
  await clock.sleep(60_000);
  assert.is(clock.now(), 61_000);
  clock.advance(500);
  assert.is(clock.now(), 61_500);
  assert.ok(Date.now() - wall < 1_000, 'no real minute passed');
});

test('the system clock ends a pause when its signal aborts', async () => {
  const controller = new AbortController();
  const pause = systemClock.sleep(60_000, controller.signal);
  controller.abort();
  await pause;
  assert.ok(true);
});

test.run();
