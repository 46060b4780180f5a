/**
 * The graduated outcome of a host: finer than its run's status, in words and a colour class, with what
 * to do next where there is something to do.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Outcome, adviceFor, outcomeClass, outcomeOf } from '../../src/console/outcome.js';
import type { StepResult } from '../../src/engine/types.js';

const step = (status: StepResult['status'], actions: string[]): StepResult =>
  ({ id: 's', kind: 'k', status, summary: '', changes: actions.map((action) => ({ target: 't', field: 'f', before: null, after: 1, action })), output: null, roundTrips: 0, pollRoundTrips: 0, retries: 0 }) as StepResult;

test('a succeeded run that changed values is "changed"; one that changed nothing (or only ran exports) is "already compliant"', () => {
  assert.is(outcomeOf({ status: 'succeeded', steps: [step('succeeded', ['run']), step('succeeded', ['create'])] }), Outcome.changed);
  assert.is(outcomeOf({ status: 'succeeded', steps: [step('succeeded', ['run']), step('skipped', ['create'])] }), Outcome.compliant);
});

test('a rolled-back run is "failed and rolled back" after a failure, "rolled back on request" after an operator\'s rollback', () => {
  assert.is(outcomeOf({ status: 'rolled-back', steps: [] }, 'failure'), Outcome.rolledBack);
  assert.is(outcomeOf({ status: 'rolled-back', steps: [] }, 'operator'), Outcome.onRequest);
  assert.is(outcomeClass(Outcome.onRequest), 'undone');
});

test('a waiting run says what it waits for; a failed rollback, an unreachable host and a damaged journal each say what to do', () => {
  assert.is(outcomeOf({ status: 'awaiting-resume', awaiting: 'restart-window', steps: [] }), Outcome.restartWindow);
  assert.is(outcomeOf({ status: 'awaiting-resume', awaiting: 'interrupted', steps: [] }), Outcome.interrupted);
  assert.match(adviceFor(Outcome.restartWindow, 'r1')!, /runbook resume r1 --allow-restart/);
  assert.match(adviceFor(Outcome.rollbackFailed, 'r1')!, /undo\.reg or undo\.ps1/);
  assert.match(adviceFor(Outcome.unreachable, 'r1')!, /Nothing was changed/);
  assert.match(adviceFor(Outcome.damaged, 'r1')!, /cannot be resumed safely/);
  assert.is(adviceFor(Outcome.changed, 'r1'), null);
  assert.is(outcomeClass(Outcome.rollbackFailed), 'bad');
  assert.is(outcomeClass(Outcome.unreachable), 'down');
});

test.run();
