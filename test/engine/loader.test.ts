import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { compiledDocument, runbookTextHash } from '../../src/engine/bundled.js';
import { ValidationError, fingerprint, loadRunbook, loadRunbookFile, resolveParameters } from '../../src/index.js';
import { packageRoot } from '../../src/util/package-root.js';
import { kinds, tempDir } from '../helpers.js';

async function docFile(text: string, ext = 'yaml'): Promise<string> {
  const file = join(await tempDir(), `rb.${ext}`);
  await writeFile(file, text);
  return file;
}

async function issuesOf(file: string): Promise<ValidationError> {
  try {
    await loadRunbookFile(file, kinds);
  } catch (error) {
    assert.instance(error, ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

test('the bundled runbook loads: the seven steps of the procedure in order, between two handshake proofs', async () => {
  const rb = await loadRunbook('orchestrator-tls12', kinds);
  assert.equal(rb.definition.steps.map((s) => s.id), ['preflight', 'tls-baseline', 'backup', 'schannel', 'dotnet', 'hotfix', 'restart', 'ip-verify', 'tls-verify']);
  assert.match(rb.fingerprint, /^sha256:[0-9a-f]{64}$/);
});

test("the build's parsed copy of a bundled runbook is its YAML's document, and is used only while the YAML is unchanged", async () => {
  const yaml = await readFile(join(packageRoot(), 'runbooks', 'orchestrator-tls12.yaml'), 'utf8');
  const built = join(packageRoot(), 'dist', 'runbooks', 'orchestrator-tls12.json');
  assert.equal(await compiledDocument(built, yaml), parse(yaml), 'the build (npm test builds first) copied the current YAML');
  const copy = join(await tempDir(), 'copy.json');
  await writeFile(copy, JSON.stringify({ sourceSha256: runbookTextHash(yaml), document: { name: 'from-the-copy' } }));
  assert.equal(await compiledDocument(copy, yaml), { name: 'from-the-copy' });
  assert.is(await compiledDocument(copy, `${yaml}# edited\n`), undefined, 'an edited runbook is parsed again');
  assert.is(await compiledDocument(join(await tempDir(), 'none.json'), yaml), undefined);
  const fromFile = await loadRunbookFile(join(packageRoot(), 'runbooks', 'orchestrator-tls12.yaml'), kinds);
  assert.equal((await loadRunbook('orchestrator-tls12', kinds)).definition, fromFile.definition);
});

test('an error names the file, the step and the field', async () => {
  const file = await docFile(`name: demo
steps:
  - id: one
    uses: windows/schannel
    with:
      mode: tls13-only
  - id: two
    uses: windows/nothing
`);
  const error = await issuesOf(file);
  assert.ok(error.message.includes(file));
  assert.ok(error.issues.some((i) => i.startsWith('steps[0] (id one).with.mode:')), error.issues.join('\n'));
  assert.ok(error.issues.some((i) => i.startsWith('steps[1] (id two).uses: unknown step kind "windows/nothing"')));
});

test('bad documents: YAML syntax, unknown fields, duplicate ids, retry policies', async () => {
  assert.match((await issuesOf(await docFile('name: [unclosed'))).message, /not valid YAML/);
  assert.match((await issuesOf(await docFile('{"name": "x", "steps": []}', 'json'))).issues.join(), /at least one step/);
  const dup = await issuesOf(await docFile('name: x\nsteps:\n  - {id: a, uses: windows/schannel}\n  - {id: a, uses: windows/schannel}\n'));
  assert.ok(dup.issues.some((i) => i.includes('duplicate step id "a"')));
  const extra = await issuesOf(await docFile('name: x\nsteps:\n  - {id: a, uses: windows/schannel, run: rm}\n'));
  assert.ok(extra.issues.some((i) => i.startsWith('steps[0] (id a):') && i.includes('run')), extra.issues.join());
  const retry = await issuesOf(await docFile('name: x\nretry: {minTimeout: 5000, maxTimeout: 10}\nsteps:\n  - {id: a, uses: windows/schannel}\n'));
  assert.ok(retry.issues.some((i) => i.startsWith('retry.minTimeout')), retry.issues.join());
});

test('parameters: unknown, wrong type, not in enum, strings from a command line converted', () => {
  const def = {
    name: 'p',
    parameters: {
      mode: { type: 'string' as const, default: 'a', enum: ['a', 'b'] },
      n: { type: 'number' as const, default: 1 },
      flag: { type: 'boolean' as const, default: false },
    },
    steps: [{ id: 's', uses: 'windows/schannel' }],
  };
  assert.equal(resolveParameters(def, { n: '5', flag: 'true' }).params, { mode: 'a', n: 5, flag: true });
  try {
    resolveParameters(def, { mode: 'c', n: 'many', extra: 1 });
    assert.unreachable();
  } catch (error) {
    const issues = (error as ValidationError).issues;
    assert.ok(issues.some((i) => i.startsWith('extra: unknown parameter')));
    assert.ok(issues.some((i) => i.startsWith('mode: "c" is not one of')));
    assert.ok(issues.some((i) => i.startsWith('n: expected a number')));
  }
});

test('the fingerprint ignores key order and formatting but not content', () => {
  const a = { name: 'x', steps: [{ id: 's', uses: 'windows/schannel', with: { mode: 'tls12-only' } }] };
  const b = { steps: [{ with: { mode: 'tls12-only' }, uses: 'windows/schannel', id: 's' }], name: 'x' };
  assert.is(fingerprint(a), fingerprint(b));
  assert.is.not(fingerprint(a), fingerprint({ ...a, steps: [{ ...a.steps[0], with: { mode: 'tls12-incoming-only' } }] }));
});

test.run();
