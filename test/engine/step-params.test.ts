/**
 * A step's parameters, resolved and checked by one function, and the look-ahead of planned writes as
 * a pure function of the run's steps, parameters and published outputs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../src/errors.js';
import { resolveWith, type StepDefinition } from '../../src/engine/runbook.js';
import { checkStepParams, stepsDeclaringWrites, type LookAheadInput } from '../../src/engine/step-params.js';
import type { Json } from '../../src/engine/types.js';
import { kinds } from '../helpers.js';

const steps: StepDefinition[] = [
  { id: 'preflight', uses: 'orchestrator/preflight' },
  { id: 'schannel', uses: 'windows/schannel', with: { mode: '${{ params.mode }}' } },
  { id: 'handshakes', uses: 'tls/handshakes' },
  { id: 'ip-later', uses: 'orchestrator/ip-verify', with: { services: '${{ steps.preflight.outputs.services }}' } },
  { id: 'schannel-bad', uses: 'windows/schannel', with: { mode: 'tls99' } },
  { id: 'ip-started', uses: 'orchestrator/ip-verify' },
];

const input = (over: Partial<LookAheadInput> = {}): LookAheadInput => ({
  steps,
  kinds,
  params: { mode: 'tls12-incoming-only' },
  outputs: {},
  started: [],
  ...over,
});

test('the look-ahead lists the later steps that declare writes, with their parameters as their kind parsed them', () => {
  const ahead = stepsDeclaringWrites(0, input({ started: [undefined, undefined, undefined, undefined, undefined, { services: ['oremoting'] }] }));
  assert.equal(ahead.map((s) => [s.index, s.stepId]), [[1, 'schannel'], [5, 'ip-started']]);
  assert.is((ahead[0].params as { mode: string }).mode, 'tls12-incoming-only', 'a lookup of a parameter is resolved');
  assert.equal((ahead[1].params as { services: string[] }).services, ['oremoting'], 'a step that started is looked at with the parameters it started with');
});

test('the look-ahead leaves out a step whose lookup of an output is not published yet, and takes it once it is', () => {
  assert.not.ok(stepsDeclaringWrites(0, input()).some((s) => s.stepId === 'ip-later'));
  const ahead = stepsDeclaringWrites(0, input({ outputs: { preflight: { services: ['orunbook'] } } }));
  const later = ahead.find((s) => s.stepId === 'ip-later');
  assert.equal((later?.params as { services: string[] }).services, ['orunbook']);
});

test('the look-ahead leaves out steps whose parameters fail their kind, and the steps up to the one asking', () => {
  const ahead = stepsDeclaringWrites(1, input());
  assert.not.ok(ahead.some((s) => s.stepId === 'schannel-bad'));
  assert.not.ok(ahead.some((s) => s.index <= 1));
});

test('the look-ahead is pure: the same input gives the same answer and is left as it was', () => {
  const given = input({ outputs: { preflight: { services: ['orunbook'] } } });
  const before = JSON.stringify(given, (k, v: unknown) => (k === 'kinds' ? undefined : v));
  const first = stepsDeclaringWrites(0, given);
  const second = stepsDeclaringWrites(0, given);
  assert.equal(JSON.stringify(given, (k, v: unknown) => (k === 'kinds' ? undefined : v)), before);
  assert.equal(first.map((s) => [s.index, s.params]), second.map((s) => [s.index, s.params]));
});

test('checking a step resolves its with: and names the field of each problem', () => {
  const bad = checkStepParams(kinds.get('windows/schannel'), steps[4], 4, { params: {}, steps: {} });
  assert.equal(bad, { ok: false, issues: [bad.ok ? '' : bad.issues[0]] });
  assert.match(bad.ok ? '' : bad.issues[0], /^steps\[4\] \(id schannel-bad\)\.with\.mode: /);
  const missing = checkStepParams(kinds.get('windows/schannel'), steps[1], 1, { params: {}, steps: {} });
  assert.equal(missing, { ok: false, issues: ['steps[1] (id schannel).with.mode: unknown parameter "mode"'] });
  const deferred = checkStepParams(kinds.get('orchestrator/ip-verify'), steps[3], 3, { params: {}, steps: 'deferred' });
  assert.equal(deferred.ok, true, 'a lookup of an output is judged when its step starts');
});

test('a lookup that finds nothing is a ValidationError naming the field', () => {
  const value: Json = { services: ['${{ params.nope }}'] };
  try {
    resolveWith(value, { params: {}, steps: {} }, 'steps[3] (id ip).with');
    assert.unreachable('expected a ValidationError');
  } catch (error) {
    assert.instance(error, ValidationError);
    assert.equal((error as ValidationError).issues, ['steps[3] (id ip).with.services[0]: unknown parameter "nope"']);
  }
});

test.run();
