/**
 * A run's live block as a pure frame: every line fits the width (wide characters counted as the two
 * columns they take), a running step says what it does in words, a restart its polls and time left.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import stringWidth from 'string-width';
import { applyStepEvent, duration, endUnsettled, outcomeLine, pad, pendingSteps, stepOutcome, type StepLive } from '../../src/cli/frame.js';
import { fitLine } from '../../src/cli/fit.js';
import { runFrame } from '../../src/cli/run-frame.js';
import type { HostStepEvent } from '../../src/fleet/types.js';

process.env.NO_COLOR = '1';

const transition = (stepId: string, to: string): HostStepEvent => ({ name: 'step:transition', event: { runId: 'r1', stepId, index: 0, from: null, to } });
const settled = (stepId: string, status: 'succeeded' | 'skipped' | 'failed' | 'planned', summary: string, changes = 0): HostStepEvent => ({
  name: 'step:settled',
  event: { runId: 'r1', stepId, index: 0, status, summary, changes: Array.from({ length: changes }, () => ({ target: 'HKLM\\X', field: 'Enabled', before: null, after: 0, action: 'create' as const })), roundTrips: 1 },
});
const wait = (stepId: string, polls: number, deadline: number, waitingFor: string): HostStepEvent => ({ name: 'step:wait', event: { runId: 'r1', stepId, index: 0, polls, deadline: new Date(deadline).toISOString(), waitingFor } });

/** A run under way: two steps ended (one with a long summary in Japanese), one restarting, two to come. */
function runUnderWay(): StepLive[] {
  const steps = pendingSteps(['preflight', 'schannel-東京サーバー設定', 'restart', 'ip-verify', 'tls-verify']);
  applyStepEvent(steps, transition('preflight', 'probing'), 0);
  applyStepEvent(steps, settled('preflight', 'succeeded', 'prerequisites met: Microsoft Windows Server 2016 Datacenter (64-bit), Orchestrator 2016, .NET release 394802'), 400);
  applyStepEvent(steps, transition('schannel-東京サーバー設定', 'probing'), 400);
  applyStepEvent(steps, transition('schannel-東京サーバー設定', 'apply'), 500);
  applyStepEvent(steps, settled('schannel-東京サーバー設定', 'succeeded', 'SCHANNEL プロトコル: 19 個の値を変更しました 🚀 TLS 1.3 は変更なし', 19), 1600);
  applyStepEvent(steps, transition('restart', 'restart'), 1600);
  applyStepEvent(steps, transition('restart', 'awaitBoot'), 2000);
  applyStepEvent(steps, wait('restart', 12, 2000 + 600_000, 'boot time still 2026-12-03T20:57:30.385Z; Windows still starting (LogonUI has not reached the logon prompt)'), 14_000);
  return steps;
}

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

test('a step ends with an Ansible word: changed, ok, would change, failed', () => {
  assert.equal(
    [stepOutcome('succeeded', 3), stepOutcome('succeeded', 0), stepOutcome('skipped', 0), stepOutcome('planned', 2), stepOutcome('failed', 0), stepOutcome('compensation-failed', 0)].map((o) => o.word),
    ['changed', 'ok', 'ok', 'would change', 'failed', 'rollback failed'],
  );
});

test('ended steps fold into one line when the steps do not fit the terminal rows', () => {
  const lines = runFrame(runUnderWay(), { width: 80, height: 5, now: 20_000 });
  assert.is(lines.length, 4);
  assert.match(lines[0], /2 earlier step\(s\) ended/);
  assert.match(lines[1], /restart/);
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
  assert.is(line, `東京-db01   schannel-東京サーバー設定   changed         1.2s  SCHANNEL プロトコル: 19 個の値を変更しました 🚀 TLS 1.3 は変更なし`);
  const [stopped] = endUnsettled(steps, 'interrupted (awaiting resume)', 30_000);
  assert.match(outcomeLine('h', stopped, 30_000), /^h {13}restart {9}interrupted \(awaiting resume\) +28\.4s/);
});

test.run();
