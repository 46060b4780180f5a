/**
 * A run's live block as a pure frame: every line fits the width (wide characters counted as the two
 * columns they take), a running step says what it does in words, a restart its polls and time left.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import stringWidth from 'string-width';
import { applyStepEvent, pendingSteps } from '../../src/cli/frame.js';
import { runFrame } from '../../src/cli/run-frame.js';
import { runUnderWay, transition } from './steps-under-way.js';

process.env.NO_COLOR = '1';

test('at 40 columns no line of a run frame is wider than 40, wide characters and long summaries included', () => {
  for (const width of [40, 41, 25, 80]) {
    const lines = runFrame(runUnderWay(), { width, now: 20_000 });
    assert.is(lines.length, 5);
    for (const line of lines) assert.ok(stringWidth(line) <= width, `${stringWidth(line)} > ${width}: ${line}`);
    // One column stays free: a line that fills the last one wraps at once on some terminals.
    for (const line of lines) assert.ok(stringWidth(line) < width, `${stringWidth(line)} not < ${width}: ${line}`);
  }
});

test('a restart shows its polls and the time left before it gives up, never a state of its machine', () => {
  const [line] = runFrame(runUnderWay(), { width: 200, now: 20_000 }).filter((l) => l.includes('restart'));
  assert.match(line, /… restart +waiting +18\.4s {2}12 poll\(s\), 9m42s left: boot time still/);
  assert.not.match(line, /awaitBoot|acting/);
  const frame = runFrame(runUnderWay(), { width: 200, now: 20_000 }).join('\n');
  assert.match(frame, /✔ preflight +ok +0\.4s {2}prerequisites met/);
  assert.match(frame, /· ip-verify$/m);
});

test('a step says what it does in words: reading, planning, backing up, applying, verifying, rolling back', () => {
  const steps = pendingSteps(['backup']);
  const word = () => runFrame(steps, { width: 200, now: 0 })[0].split(/\s{2,}/)[2];
  for (const [to, expected] of [['probing', 'reading'], ['planning', 'planning'], ['capturing', 'backing up'], ['export', 'applying'], ['verifying', 'verifying']]) {
    applyStepEvent(steps, transition('backup', to), 0);
    assert.is(word(), expected, to);
  }
  applyStepEvent(steps, { name: 'step:compensation', event: { runId: 'r1', stepId: 'backup', index: 0, status: 'compensating', detail: '' } }, 0);
  assert.is(word(), 'rolling back');
  const ended = applyStepEvent(steps, { name: 'step:compensation', event: { runId: 'r1', stepId: 'backup', index: 0, status: 'compensated', detail: 'restored 3 key(s)' } }, 2500);
  assert.is(ended?.word, 'rolled back');
});

test('ended steps fold into one line when the steps do not fit the terminal rows', () => {
  const lines = runFrame(runUnderWay(), { width: 80, height: 5, now: 20_000 });
  assert.is(lines.length, 4);
  assert.match(lines[0], /2 earlier step\(s\) ended/);
  assert.match(lines[1], /restart/);
});

test.run();
