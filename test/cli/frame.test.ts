/**
 * A run's steps as live views and pipes show them: their outcome words, columns padded by the columns
 * wide characters take, a pipe's line never cut.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import stringWidth from 'string-width';
import { duration, endUnsettled, outcomeLine, pad, pipeField, stepOutcome } from '../../src/cli/frame.js';
import { fitLine } from '../../src/cli/fit.js';
import { runUnderWay } from './steps-under-way.js';

process.env.NO_COLOR = '1';

test('a step ends with an Ansible word: changed, ok, would change, failed', () => {
  assert.equal(
    [stepOutcome('succeeded', 3), stepOutcome('succeeded', 0), stepOutcome('skipped', 0), stepOutcome('planned', 2), stepOutcome('failed', 0), stepOutcome('compensation-failed', 0)].map((o) => o.word),
    ['changed', 'ok', 'ok', 'would change', 'failed', 'rollback failed'],
  );
});

test('wide characters pad to the columns they take, so that columns line up', () => {
  assert.is(stringWidth(pad('東京-db', 10)), 10);
  assert.is(pad('東京', 6), '東京  ');
  assert.is(stringWidth(fitLine('東京東京東京東京東京東京', 10)), 9);
  assert.is(duration(125_000), '2m05s');
});

test('a pipe line names host, step, outcome, time and summary, and is never cut', () => {
  const steps = runUnderWay();
  const line = outcomeLine('東京-db01', steps[1], 20_000, { host: 10, step: 26 });
  assert.is(line, `東京-db01   schannel-東京サーバー設定   changed            1.2s  SCHANNEL プロトコル: 19 個の値を変更しました 🚀 TLS 1.3 は変更なし`);
  const [stopped] = endUnsettled(steps, 'interrupted (awaiting resume)', 30_000);
  assert.match(outcomeLine('h', stopped, 30_000), /^h {13}restart {9}interrupted-awaiting-resume +28\.4s/);
});

test('a pipe line is the same fields on every line: host, step, outcome and time are one word each', () => {
  const words = ['changed', 'ok', 'would change', 'failed', 'rolled back', 'rollback failed', 'interrupted (awaiting resume)', 'ROLLBACK FAILED — an operator is needed'];
  assert.equal(words.map(pipeField), ['changed', 'ok', 'would-change', 'failed', 'rolled-back', 'rollback-failed', 'interrupted-awaiting-resume', 'ROLLBACK-FAILED-an-operator-is-needed']);
  assert.is(pipeField(''), '-');
  const steps = runUnderWay();
  const [stopped] = endUnsettled(steps, 'rollback failed', 30_000);
  for (const host of ['web03', 'my host']) {
    const fields = outcomeLine(host, stopped, 30_000).split(/\s+/);
    assert.is(fields[2], 'rollback-failed', fields.join('|'));
    assert.match(fields[3], /^\d+\.\ds$/, fields.join('|'));
  }
  // An outcome up to `rollback-failed` keeps the time's column where it is.
  const a = outcomeLine('web03', endUnsettled(runUnderWay(), 'rollback failed', 30_000)[0], 30_000);
  const b = outcomeLine('web03', endUnsettled(runUnderWay(), 'ok', 30_000)[0], 30_000);
  assert.is(a.indexOf('s  '), b.indexOf('s  '));
});

test.run();
