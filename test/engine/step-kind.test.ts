/**
 * Defining a step kind: phase names that would clash with the machine's own states are refused as
 * input, naming the phase; a machine driven outside a Runner says so as an internal error.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, waitFor } from 'xstate';
import { z } from 'zod';
import { ValidationError } from '../../src/errors.js';
import { defineStepKind } from '../../src/index.js';

const kindWith = (phases: string[]) =>
  defineStepKind({
    kind: 'test/phases',
    description: 'phases',
    params: z.object({}),
    probe: async () => null,
    plan: () => ({ changes: [], summary: 'nothing' }),
    phases: phases.map((name) => ({ name, run: async () => null })),
    verify: async () => ({ ok: true, summary: 'ok', output: null }),
  });

test('a phase named after a state of every step is refused as input, naming the phase', () => {
  try {
    kindWith(['apply', 'verifying']);
    assert.unreachable('refused');
  } catch (error) {
    assert.instance(error, ValidationError);
    assert.equal((error as ValidationError).issues, ['phases[1].name: "verifying" is the name of a state of every step (probing, planning, capturing, acting, verifying); choose another']);
    assert.match((error as Error).message, /step kind test\/phases/);
  }
});

test('a phase name given twice is refused, naming both places', () => {
  try {
    kindWith(['apply', 'restart', 'apply']);
    assert.unreachable('refused');
  } catch (error) {
    assert.instance(error, ValidationError);
    assert.equal((error as ValidationError).issues, ['phases[2].name: "apply" is also phases[0]\'s name; each phase needs its own']);
  }
});

test("a kind's machine driven outside a Runner fails with an internal error that says how to drive it", async () => {
  const actor = createActor(kindWith(['apply']).machine, { input: { stepId: 's', index: 0, checkMode: false, params: {} } as never }).start();
  const done = await waitFor(actor, (s) => s.value === 'failed');
  assert.is(done.context.error?.name, 'InternalError');
  assert.match(done.context.error!.message, /step actor is not bound to a run[\s\S]*drive step machines through a Runner/);
  actor.stop();
});

test.run();
