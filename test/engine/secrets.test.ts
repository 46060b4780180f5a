/**
 * The secret mask: every form of a secret in every string — inside longer strings, URL-encoded,
 * JSON-escaped, base64 at any alignment — and short secrets only as whole words, so that what is not
 * secret stays readable; and validation errors that name a secret field without its value.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMasker, maskRecord } from '../../src/engine/secrets.js';
import { resolveParameters, validateRunbook } from '../../src/engine/loader.js';
import { bundledStepKinds } from '../../src/steps/index.js';
import { fingerprint, type RunbookDefinition } from '../../src/engine/runbook.js';

const SECRET = 'p@ss/w:rd"x1';

test('a secret is masked inside longer strings and in its URL-encoded, JSON-escaped and base64 forms', () => {
  const m = createMasker({ token: SECRET });
  for (const [label, text] of [
    ['inside a longer string', `Authorization: ${SECRET}!`],
    ['URL-encoded', `postgres://rbe:${encodeURIComponent(SECRET)}@db/runs`],
    ['JSON-escaped', JSON.stringify({ password: `a ${SECRET} b` })],
    ...[0, 1, 2].map((k) => [`base64 after ${k} byte(s)`, `Basic ${Buffer.from(`${'u'.repeat(k + 3)}:${SECRET}`).toString('base64')}`]),
    ['base64url', Buffer.from(`x:${SECRET}??>>`).toString('base64url')],
  ]) {
    const masked = m.text(text);
    assert.ok(masked.includes('***'), `${label}: ${masked}`);
    assert.not.ok(masked.includes(SECRET), label);
    assert.not.ok(masked.includes(encodeURIComponent(SECRET)), label);
    assert.not.ok(masked.includes(JSON.stringify(SECRET).slice(1, -1)), label);
    for (const k of [0, 1, 2]) {
      const core = Buffer.concat([Buffer.alloc(k), Buffer.from(SECRET)]).toString('base64').slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + SECRET.length)) / 6));
      assert.not.ok(masked.includes(core), `${label}: base64 core at ${k}`);
    }
  }
});

test('a short secret is masked where it stands as a word, and leaves other words alone', () => {
  const m = createMasker({ pin: '12', code: 'ab' });
  assert.is(m.text('pin 12, build 12345, table ab.'), 'pin ***, build 12345, table ***.');
  assert.is(m.mask({ note: 'tablet 120' }).note, 'tablet 120');
});

test('the journal keeps the runbook as it is (its fingerprint still matches) while its data is masked', () => {
  const runbook: RunbookDefinition = { name: 'secretive', description: 'touches the p@ss/w:rd"x1 store', steps: [] };
  const record = maskRecord({ type: 'run.started', runbook, fingerprint: fingerprint(runbook), params: { note: `x${SECRET}` } }, createMasker({ t: SECRET }));
  assert.is(fingerprint(record.runbook), record.fingerprint);
  assert.is(record.params.note, 'x***');
});

test('a secret parameter of the wrong type or value is named, never shown', () => {
  const definition: RunbookDefinition = {
    name: 's',
    parameters: { pin: { type: 'number', secret: true, env: 'RBE_PIN' }, mode: { type: 'string', secret: true, env: 'RBE_MODE', enum: ['a', 'b'] } },
    steps: [],
  };
  let message = '';
  try {
    resolveParameters(definition, {}, { RBE_PIN: 'hunter2-not-a-number', RBE_MODE: 'hunter3-secret' });
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /pin: expected a number, got a string: the value of \$RBE_PIN \(not shown: it is secret\)/);
  assert.match(message, /mode: the value of \$RBE_MODE \(not shown: it is secret\) is not one of the values the runbook allows/);
  assert.not.ok(message.includes('hunter2'));
  assert.not.ok(message.includes('hunter3'));
});

test('a secret parameter is text: a runbook declaring a number secret is refused where it says so', () => {
  const definition = { name: 's', parameters: { pin: { type: 'number', secret: true, env: 'RBE_PIN' } }, steps: [] };
  assert.throws(() => validateRunbook(definition, bundledStepKinds(), 'inline'), (e: Error) => /parameters\.pin\.type: a secret parameter must be of type string/.test(JSON.stringify(e) + e.message));
});

test('a secret shorter than four characters is refused, never shown: masked as a word it would change the journal\'s text', () => {
  const definition: RunbookDefinition = { name: 's', parameters: { token: { type: 'string', secret: true, env: 'RBE_TOKEN' } }, steps: [] };
  let message = '';
  try {
    resolveParameters(definition, {}, { RBE_TOKEN: 'x9Q' });
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /token: the value of \$RBE_TOKEN is shorter than 4 characters \(not shown: it is secret\)/);
  assert.not.ok(message.includes('x9Q'));
  assert.equal(resolveParameters(definition, {}, { RBE_TOKEN: 'x9Qz' }).params, { token: 'x9Qz' });
  // A run started before the rule goes on with the secret it started with (resume, rollback).
  assert.equal(resolveParameters(definition, {}, { RBE_TOKEN: 'x9Q' }, { shortSecrets: true }).params, { token: 'x9Q' });
});

test.run();
