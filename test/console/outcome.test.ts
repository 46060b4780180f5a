/**
 * What the console adds to a host's outcome: the engine's outcome and words (one table, the CLI's and
 * the reports'), two states a page needs, and what to do next where there is something to do.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OUTCOMES } from '../../src/engine/outcome.js';
import { Outcome } from '../../src/engine/types.js';
import { adviceFor, labelOf, RELAUNCHED, runLabel, toneOf, toneOfLabel } from '../../src/console/outcome.js';

test("an outcome reads in the engine's words and tone: the ones the CLI and the reports use", () => {
  for (const o of Object.values(Outcome)) {
    assert.is(labelOf(o), OUTCOMES[o].label);
    assert.is(toneOf(o), OUTCOMES[o].tone);
  }
  assert.is(labelOf(Outcome.changesPending), 'changes pending');
  assert.is(labelOf(Outcome.rollbackFailed), 'ROLLBACK FAILED — an operator is needed');
  assert.is(labelOf(Outcome.skipped), 'skipped (not started)');
  assert.is(toneOfLabel('rolled back on request'), 'ok');
});

test('a host not yet started, one an interrupted fleet did not start, and a journal that cannot be read are the only states of the page alone', () => {
  assert.is(labelOf('pending'), 'not yet started');
  assert.is(labelOf('not-started'), 'not started (awaiting resume)');
  assert.is(labelOf('damaged'), 'journal damaged');
  assert.is(toneOf('damaged'), 'bad');
  assert.not.ok(Object.values(OUTCOMES).some((x) => x.label === labelOf('pending') || x.label === labelOf('damaged') || x.label === labelOf('not-started')));
});

test("a failed plan's words are the plan's (nothing changed, nothing rolled back), in the tone of its outcome; a run whose driver died reads as `runbook status` lists it", () => {
  assert.is(runLabel({ outcome: Outcome.rolledBack, status: 'rolled-back', checkMode: true }), 'plan failed (nothing changed)');
  assert.is(toneOfLabel('plan failed (nothing changed)'), 'bad');
  assert.is(runLabel({ outcome: Outcome.running, status: 'running', checkMode: false }, true), 'interrupted (lease expired)');
  assert.match(adviceFor(Outcome.rolledBack, 'r1', undefined, { checkMode: true })!, /nothing was changed.*plan again/);
  assert.match(adviceFor(Outcome.interrupted, 'r1', undefined, { leaseExpired: true })!, /lease expired.*`runbook resume r1`/);
});

test('a relaunch takes again the hosts that failed (the engine counts them against the budget), never one rolled back on request', () => {
  for (const o of RELAUNCHED) assert.ok(OUTCOMES[o].failure, o);
  assert.not.ok(RELAUNCHED.includes(Outcome.rolledBackOnRequest));
  assert.not.ok(RELAUNCHED.includes(Outcome.rollbackFailed), 'a half-undone host is for a person to look at');
});

test('a waiting run says what it waits for; a failed rollback, an unreachable host and a damaged journal each say what to do', () => {
  assert.match(adviceFor(Outcome.awaitingRestartWindow, 'r1')!, /runbook resume r1 --allow-restart/);
  assert.match(adviceFor(Outcome.interrupted, 'r1')!, /runbook resume r1`/);
  assert.match(adviceFor(Outcome.interrupted, 'r1', 'target-restart')!, /start-up task resumes/);
  assert.match(adviceFor(Outcome.rollbackFailed, 'r1')!, /undo\.reg or undo\.ps1/);
  assert.match(adviceFor(Outcome.unreachable, 'r1')!, /Nothing was changed/);
  assert.match(adviceFor('damaged', 'r1')!, /cannot be resumed safely/);
  assert.is(adviceFor(Outcome.changed, 'r1'), null);
});

test.run();
