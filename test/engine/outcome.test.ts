/**
 * One outcome per run, defined once: what each run status with its changes, reason and wait becomes,
 * and the exit code of several (a fleet's hosts), the most urgent first.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OUTCOMES, changedValues, countOutcomes, describeCounts, exitCodeOf, outcomeOf } from '../../src/engine/outcome.js';
import type { StepResult } from '../../src/engine/types.js';

const step = (status: StepResult['status'], changes: number, action: 'create' | 'run' = 'create'): StepResult =>
  ({ id: 's', kind: 'k', status, summary: '', output: null, roundTrips: 0, pollRoundTrips: 0, retries: 0, changes: Array.from({ length: changes }, () => ({ target: 't', field: 'f', before: null, after: 1, action })) }) as StepResult;

test('a run that changed values or took an action (a restart) is changed; only one that did neither is already compliant', () => {
  assert.is(outcomeOf({ status: 'succeeded', steps: [step('succeeded', 3)] }), 'changed');
  // A restart owed by an earlier run, paid by this one, is a change of the target.
  assert.is(outcomeOf({ status: 'succeeded', steps: [step('skipped', 0), step('succeeded', 1, 'run')] }), 'changed');
  assert.is(outcomeOf({ status: 'succeeded', steps: [step('skipped', 0), step('succeeded', 0)] }), 'compliant');
});

test('a plan is changes pending or already compliant, never "succeeded"; an action pending alone is changes pending', () => {
  assert.is(outcomeOf({ status: 'planned', steps: [step('planned', 2)] }), 'changes-pending');
  assert.is(outcomeOf({ status: 'planned', steps: [step('skipped', 0), step('planned', 1, 'run')] }), 'changes-pending');
  assert.is(outcomeOf({ status: 'planned', steps: [step('skipped', 0)] }), 'compliant');
  assert.is(OUTCOMES['changes-pending'].label, 'changes pending');
});

test('after a failed rollback the values counted are those still changed on the target, not zero', () => {
  const remaining = step('succeeded', 3).changes.concat(step('succeeded', 1, 'run').changes);
  assert.is(changedValues({ status: 'rollback-failed', steps: [step('compensation-failed', 5)], remaining }), 3);
  assert.is(changedValues({ status: 'rolled-back', steps: [step('compensated', 5)] }), 0);
  assert.is(changedValues({ status: 'succeeded', steps: [step('succeeded', 2)] }), 2);
});

test('a rollback on request is its own outcome: not a failure, exit 0', () => {
  const o = outcomeOf({ status: 'rolled-back', steps: [], reason: 'rolled back on request' });
  assert.is(o, 'rolled-back-on-request');
  assert.is(OUTCOMES[o].failure, false);
  assert.is(OUTCOMES[o].exitCode, 0);
  assert.is(outcomeOf({ status: 'rolled-back', steps: [] }), 'rolled-back');
  assert.is(OUTCOMES['rolled-back'].exitCode, 1);
});

test('a wait says what for: a restart window or an interruption', () => {
  assert.is(outcomeOf({ status: 'awaiting-resume', steps: [], awaiting: 'restart-window' }), 'awaiting-restart-window');
  assert.is(outcomeOf({ status: 'awaiting-resume', steps: [], awaiting: 'interrupted' }), 'interrupted');
});

test('several outcomes exit as the most urgent: 3 when a rollback failed, then 1, 69, 75, else 0', () => {
  assert.is(exitCodeOf(['changed', 'rolled-back', 'rollback-failed', 'unreachable']), 3);
  assert.is(exitCodeOf(['changed', 'unreachable', 'rolled-back']), 1);
  assert.is(exitCodeOf(['compliant', 'unreachable', 'interrupted']), 69);
  assert.is(exitCodeOf(['changed', 'awaiting-restart-window']), 75);
  assert.is(exitCodeOf(['changed', 'compliant', 'rolled-back-on-request', 'skipped']), 0);
  assert.is(exitCodeOf([]), 0);
});

test('counts name only the outcomes present, in the words of the labels', () => {
  const counts = countOutcomes(['changed', 'changed', 'rollback-failed', 'compliant']);
  assert.is(counts.changed, 2);
  assert.is(counts.skipped, 0);
  assert.is(describeCounts(counts), '2 changed, 1 already compliant, 1 ROLLBACK FAILED');
});

test.run();
