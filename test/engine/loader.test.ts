import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { compileRunbook, compiledRunbook, runbookTextHash } from '../../src/engine/bundled.js';
import { StepKindRegistry, ValidationError, fingerprint, loadRunbook, loadRunbookFile, resolveParameters } from '../../src/index.js';
import { selectSteps, type RunbookDefinition } from '../../src/engine/runbook.js';
import { MAX_RUNBOOK_BYTES, MAX_RUNBOOK_NAME } from '../../src/engine/loader.js';
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

test('the bundled runbook loads: the steps of the procedure in either revision\'s order, between two handshake proofs', async () => {
  const rb = await loadRunbook('orchestrator-tls12', kinds);
  assert.equal(rb.definition.steps.map((s) => s.id), ['preflight', 'tls-baseline', 'backup', 'dotnet', 'schannel', 'winhttp', 'dotnet', 'hotfix', 'restart', 'ip-verify', 'tls-verify']);
  assert.equal(selectSteps(rb.definition, { procedure: 'current' }).steps.map((s) => s.id), ['preflight', 'tls-baseline', 'backup', 'dotnet', 'schannel', 'winhttp', 'hotfix', 'restart', 'ip-verify', 'tls-verify']);
  assert.equal(selectSteps(rb.definition, { procedure: '2019' }).steps.map((s) => s.id), ['preflight', 'tls-baseline', 'backup', 'schannel', 'winhttp', 'dotnet', 'hotfix', 'restart', 'ip-verify', 'tls-verify']);
  assert.match(rb.fingerprint, /^sha256:[0-9a-f]{64}$/);
});

test("the build's checked copy of a bundled runbook is its YAML validated, and is used only while the YAML is unchanged", async () => {
  const file = join(packageRoot(), 'runbooks', 'orchestrator-tls12.yaml');
  const yaml = await readFile(file, 'utf8');
  const fromFile = await loadRunbookFile(file, kinds);
  const built = await compiledRunbook(join(packageRoot(), 'dist', 'runbooks', 'orchestrator-tls12.json'), yaml);
  assert.ok(built, 'the build (npm test builds first) checked the current YAML');
  assert.equal(built.definition, fromFile.definition);
  assert.is(built.fingerprint, fromFile.fingerprint);
  assert.equal(built, await compileRunbook(yaml, file, kinds));
  const copy = join(await tempDir(), 'copy.json');
  const other = { ...built, definition: { ...built.definition, name: 'from-the-copy' } };
  await writeFile(copy, JSON.stringify(other));
  assert.equal(await compiledRunbook(copy, yaml), other);
  assert.is(await compiledRunbook(copy, `${yaml}# edited\n`), undefined, 'an edited runbook is parsed again');
  assert.is(await compiledRunbook(join(await tempDir(), 'none.json'), yaml), undefined);
  await writeFile(copy, JSON.stringify({ sourceSha256: runbookTextHash(yaml), document: parse(yaml) }));
  assert.is(await compiledRunbook(copy, yaml), undefined, "an earlier build's parsed-only copy is not taken for a checked one");
  const loaded = await loadRunbook('orchestrator-tls12', kinds);
  assert.equal(loaded.definition, fromFile.definition);
  assert.is(loaded.fingerprint, fromFile.fingerprint);
});

test('a bundled runbook loaded from its checked copy is still checked against the kinds given', async () => {
  const without = new StepKindRegistry().register(...kinds.list().filter((k) => k.kind !== 'windows/dotnet-tls'));
  try {
    await loadRunbook('orchestrator-tls12', without);
    assert.unreachable('a kind the registry lacks');
  } catch (error) {
    assert.instance(error, ValidationError);
    assert.ok((error as ValidationError).issues.some((i) => /^steps\[3\] \(id dotnet\)\.uses: unknown step kind "windows\/dotnet-tls"/.test(i)), (error as ValidationError).issues.join('\n'));
  }
});

test('a bundled runbook that does not validate fails the build: compileRunbook refuses it with the validation error', async () => {
  try {
    await compileRunbook('name: broken\nsteps:\n  - id: one\n    uses: windows/schannel\n    with:\n      mode: tls13-only\n', 'runbooks/broken.yaml', kinds);
    assert.unreachable('an invalid runbook');
  } catch (error) {
    assert.instance(error, ValidationError);
    assert.ok((error as ValidationError).issues.some((i) => i.startsWith('steps[0] (id one).with.mode:')));
  }
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

test('every error of a runbook is reported at once: an unknown kind and a bad lookup together with the fields the schema refuses', async () => {
  const file = await docFile(`name: Not_Lowercase
steps:
  - id: one
    uses: windows/schannel
    with:
      mode: tls13-only
  - id: two
    uses: windows/nothing
    run: rm
  - id: three
    uses: windows/gone
  - id: four
    uses: windows/schannel
    with:
      mode: \${{ steps.missing.outputs.x }}
`);
  const error = await issuesOf(file);
  const text = error.issues.join('\n');
  assert.ok(error.message.includes(file), error.message);
  assert.ok(error.issues.some((i) => i.startsWith('name:')), text);
  assert.ok(error.issues.some((i) => i.startsWith('steps[1] (id two):') && i.includes('run')), text);
  assert.ok(error.issues.some((i) => i.startsWith('steps[1] (id two).uses: unknown step kind "windows/nothing"')), text);
  assert.ok(error.issues.some((i) => i.startsWith('steps[2] (id three).uses: unknown step kind "windows/gone"')), text);
  assert.ok(error.issues.some((i) => i.startsWith('steps[0] (id one).with.mode:')), text);
  assert.ok(error.issues.some((i) => i.startsWith('steps[3] (id four).with.mode:') && i.includes('"steps.missing" is not an earlier step')), text);
  assert.is(error.issues.length, new Set(error.issues).size, 'no issue twice');
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

test('a YAML document whose aliases expand without end is refused as invalid YAML, naming the file', async () => {
  // Nine levels of ten aliases each: a billion nodes once expanded.
  const levels = Array.from({ length: 9 }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(', ')}]`);
  const file = await docFile(['l0: &l0 [x]', ...levels, 'name: bomb', 'steps: *l9'].join('\n'));
  const error = await issuesOf(file);
  assert.match(error.message, /the runbook is not valid YAML/);
  assert.match(error.message, new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
});

test('a parameter whose default or allowed values are not of its type, or whose default is not allowed, is refused where the runbook says it', async () => {
  const error = await issuesOf(await docFile(['name: x', 'parameters:', '  n: { type: number, default: "abc" }', '  m: { type: string, default: c, enum: [a, b] }', '  k: { type: number, enum: [1, "two"] }', 'steps:', '  - {id: a, uses: windows/schannel}'].join('\n')));
  assert.equal(error.issues.filter((i) => i.startsWith('parameters.')).sort(), [
    'parameters.k.enum: each allowed value must be of the parameter\'s type',
    'parameters.m.default: the default is not one of the allowed values (enum)',
    'parameters.n.default: the default is not of the parameter\'s type',
  ]);
});

test('duplicate ids among many steps are found without comparing every pair', async () => {
  const steps = Array.from({ length: 3000 }, (_, i) => `  - {id: s${i}, uses: windows/schannel}`);
  steps.push('  - {id: s17, uses: windows/schannel}');
  const dup = await issuesOf(await docFile(`name: x\nsteps:\n${steps.join('\n')}\n`));
  assert.equal(dup.issues.filter((i) => i.includes('duplicate step id')), ['steps[3000] (id s17).id: duplicate step id "s17"; two steps may share an id only when their `when:` conditions cannot both hold']);
});

test('`when:` selects steps by parameter value; a step runs when every parameter it names has one of its values', () => {
  const def: RunbookDefinition = {
    name: 'w',
    parameters: { order: { type: 'string', default: 'new', enum: ['new', 'old', '2019'] }, strict: { type: 'boolean', default: false } },
    steps: [
      { id: 'a', uses: 'windows/schannel', when: { order: 'old' } },
      { id: 'b', uses: 'windows/dotnet-tls' },
      { id: 'a', uses: 'windows/schannel', when: { order: ['new', 2019], strict: true } },
    ],
  };
  const ids = (params: Record<string, string | boolean>) => selectSteps(def, params).steps.map((s) => `${s.id}${def.steps.indexOf(s)}`);
  assert.equal(ids({ order: 'old', strict: false }), ['a0', 'b1']);
  assert.equal(ids({ order: 'new', strict: true }), ['b1', 'a2']);
  assert.equal(ids({ order: '2019', strict: true }), ['b1', 'a2'], 'a YAML number and the string parameter are one value');
  assert.equal(ids({ order: 'new', strict: false }), ['b1']);
});

test('`when:` is checked when the document loads: declared, non-secret parameters, values they take, shared ids only under exclusive conditions', async () => {
  const head = 'name: x\nparameters:\n  order: {type: string, default: new, enum: [new, old]}\n  token: {type: string, secret: true, env: TOKEN}\nsteps:\n';
  const unknown = await issuesOf(await docFile(`${head}  - {id: a, uses: windows/schannel, when: {nothing: 1}}\n`));
  assert.ok(unknown.issues.some((i) => i.startsWith('steps[0] (id a).when.nothing: not a parameter of this runbook')), unknown.issues.join('\n'));
  const secret = await issuesOf(await docFile(`${head}  - {id: a, uses: windows/schannel, when: {token: x}}\n`));
  assert.ok(secret.issues.some((i) => i.startsWith('steps[0] (id a).when.token: a secret parameter cannot decide')), secret.issues.join('\n'));
  const value = await issuesOf(await docFile(`${head}  - {id: a, uses: windows/schannel, when: {order: newest}}\n`));
  assert.ok(value.issues.some((i) => i.startsWith('steps[0] (id a).when.order: "newest" is not a value of the parameter')), value.issues.join('\n'));
  const overlap = await issuesOf(await docFile(`${head}  - {id: a, uses: windows/schannel, when: {order: [new, old]}}\n  - {id: a, uses: windows/schannel, when: {order: old}}\n`));
  assert.ok(overlap.issues.some((i) => i.startsWith('steps[1] (id a).id: duplicate step id "a"')), overlap.issues.join('\n'));
  const ok = await loadRunbookFile(await docFile(`${head}  - {id: a, uses: windows/schannel, when: {order: new}}\n  - {id: a, uses: windows/schannel, when: {order: old}}\n`), kinds);
  assert.is(ok.definition.steps.length, 2);
});

test('a `${{` lookup left unclosed is refused when the document loads, naming the file, the step, the field and how to close it', async () => {
  const yaml = await readFile(join(packageRoot(), 'runbooks', 'orchestrator-tls12.yaml'), 'utf8');
  const text = yaml
    .replace('      mode: ${{ params.mode }}\n      tls13:', '      mode: ${{ params.mode\n      tls13:')
    .replace('      supersededBy: ${{ params.hotfixSupersededBy }}', '      supersededBy: "KB1 ${{ params.hotfixSupersededBy } KB2"');
  const file = await docFile(text);
  const error = await issuesOf(file);
  assert.match(error.message, new RegExp(`^invalid runbook ${file.replace(/[.\\/]/g, '\\$&')}\n`));
  assert.ok(error.issues.includes('steps[4] (id schannel).with.mode: "${{ params.mode" opens a ${{ lookup that is not closed with }}; write ${{ params.<name> }} or ${{ steps.<id>.outputs.<path> }} (a lookup holds no "}")'), error.issues.join('\n'));
  assert.ok(error.issues.some((i) => i.startsWith('steps[7] (id hotfix).with.supersededBy: "KB1 ${{ params.hotfixSupersededBy } KB2" opens a ${{ lookup that is not closed')), error.issues.join('\n'));
  // Named for what is wrong, not for what the kind makes of the text as typed.
  assert.not.ok(error.issues.some((i) => i.includes('Invalid option')), error.issues.join('\n'));
  assert.is(error.issues.length, 2, error.issues.join('\n'));
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

test('a runbook name longer than a run id can carry is refused when the runbook loads, saying the most; a long one within it gives a run id that is a file name', async () => {
  const long = await issuesOf(await docFile(`name: ${'a'.repeat(300)}\nsteps:\n  - {id: a, uses: windows/schannel}\n`));
  assert.equal(long.issues, [`name: too long: a runbook's name has at most ${MAX_RUNBOOK_NAME} characters (its runs' ids, and so their folders, are named after it)`]);
  const file = await docFile(`name: ${'a'.repeat(MAX_RUNBOOK_NAME)}\nsteps:\n  - {id: a, uses: windows/schannel}\n`);
  assert.is((await loadRunbookFile(file, kinds)).definition.name.length, MAX_RUNBOOK_NAME);
});

test('parameter names every object inherits (constructor, toString, __proto__) are unknown parameters, on the command line, in `when:` and in lookups', async () => {
  const def = { name: 'p', parameters: { mode: { type: 'string' as const, default: 'a' } }, steps: [{ id: 's', uses: 'windows/schannel' }] };
  const given = Object.fromEntries([['constructor', '1'], ['toString', 'x'], ['__proto__', '1'], ['hasOwnProperty', 'y']]);
  try {
    resolveParameters(def, given);
    assert.unreachable();
  } catch (error) {
    assert.instance(error, ValidationError);
    const issues = (error as ValidationError).issues;
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) assert.ok(issues.includes(`${name}: unknown parameter; this runbook takes: mode`), issues.join('\n'));
  }
  const when = await issuesOf(await docFile('name: x\nparameters:\n  mode: {type: string, default: a}\nsteps:\n  - {id: a, uses: windows/schannel, when: {constructor: a}}\n'));
  assert.ok(when.issues.some((i) => i.startsWith('steps[0] (id a).when.constructor: not a parameter of this runbook')), when.issues.join('\n'));
  const lookup = await issuesOf(await docFile('name: x\nparameters:\n  mode: {type: string, default: a}\nsteps:\n  - {id: a, uses: windows/schannel, with: {mode: "${{ params.toString }}"}}\n'));
  assert.ok(lookup.issues.some((i) => i.includes('unknown parameter "toString"')), lookup.issues.join('\n'));
  const declared = await issuesOf(await docFile('name: x\nparameters:\n  __proto__: {type: string}\nsteps:\n  - {id: a, uses: windows/schannel}\n'));
  assert.equal(declared.issues, ['parameters.__proto__: "__proto__" cannot be a name in a runbook (JavaScript reserves it); rename it']);
});

test('a JSON or YAML runbook that starts with a byte order mark (Windows PowerShell 5.1 writes one) loads as without it', async () => {
  const json = await docFile('\uFEFF{"name": "bom", "steps": [{"id": "a", "uses": "windows/schannel"}]}', 'json');
  assert.is((await loadRunbookFile(json, kinds)).definition.name, 'bom');
  const yaml = await docFile('\uFEFFname: bom\nsteps:\n  - {id: a, uses: windows/schannel}\n');
  assert.is((await loadRunbookFile(yaml, kinds)).definition.name, 'bom');
});

test('a runbook file that is missing, a folder or under a file is refused saying which and what to do; malformed JSON by line and column without quoting it; two YAML documents and nesting too deep in plain words', async () => {
  const dir = await tempDir();
  const missing = await issuesOf(join(dir, 'nope.yaml'));
  assert.match(missing.message, /^cannot read runbook file: there is no such file \(.*nope\.yaml\)\n  → check the path; a relative one starts from /);
  assert.not.match(missing.message, /ENOENT/);
  assert.match((await issuesOf(dir)).message, /^cannot read runbook file: it is a folder, not a file \(.*\)\n  → name the runbook file in it/);
  const file = await docFile('name: x\nsteps:\n  - {id: a, uses: windows/schannel}\n');
  assert.match((await issuesOf(join(file, 'x.yaml'))).message, /^cannot read runbook file: a part of its path is a file, not a folder/);
  const json = await issuesOf(await docFile('{\n  "name": "x",\n  "steps": [ Qz7secret ]\n}', 'json'));
  assert.match(json.message, /^the runbook is not valid JSON: it breaks at line 3, column 14 \(/);
  assert.match(json.message, /→ correct the file where the JSON breaks/);
  assert.not.match(json.message, /Qz7secret|position/);
  const two = await issuesOf(await docFile('name: x\nsteps: []\n---\nname: y\n'));
  assert.equal(two.issues, ['the file holds more than one YAML document: the "---" at line 3, column 1 starts another; a runbook is one document — remove that line and what follows it, or put each document in a file of its own']);
  const deepYaml = await issuesOf(await docFile(`name: x\nsteps: ${'['.repeat(5000)}${']'.repeat(5000)}\n`));
  assert.match(deepYaml.issues[0], /^the document nests too deeply to be read \(at line 2, column \d+\): lists or mappings within each other thousands of levels deep, which a runbook never needs$/);
  assert.not.match(deepYaml.message, /call stack|parseAllDocuments/);
  const deepJson = await issuesOf(await docFile(`{"name": "x", "steps": [{"id": "a", "uses": "windows/schannel", "with": {"x": ${'['.repeat(100_000)}${']'.repeat(100_000)}}}]}`, 'json'));
  assert.equal(deepJson.issues, ['steps[0] (id a).with.x[0][0]…: nests deeper than 64 levels of lists and mappings; a runbook\'s values need a few']);
});

test('a runbook named by a path that is a named pipe or a device, or a file over the cap, is refused before it is read, saying the cap', async () => {
  const dir = await tempDir();
  const fifo = join(dir, 'fifo.yaml');
  execFileSync('mkfifo', [fifo]);
  // Without the check this read waits for a writer that never comes: the test would not end.
  assert.match((await issuesOf(fifo)).message, /^cannot read runbook file: it is a named pipe, not a file \(/);
  assert.match((await issuesOf('/dev/zero')).message, /^cannot read runbook file: it is a device, not a file \(\/dev\/zero\)/);
  const text = `name: x\n#${' '.repeat(MAX_RUNBOOK_BYTES)}\nsteps:\n  - {id: a, uses: windows/schannel}\n`;
  const big = (await issuesOf(await docFile(text))).message;
  assert.ok(big.startsWith(`cannot read runbook file: it holds ${Buffer.byteLength(text)} bytes, more than 1 MiB, the cap on runbook files (`), big);
});

test('the fingerprint ignores key order and formatting but not content', () => {
  const a = { name: 'x', steps: [{ id: 's', uses: 'windows/schannel', with: { mode: 'tls12-only' } }] };
  const b = { steps: [{ with: { mode: 'tls12-only' }, uses: 'windows/schannel', id: 's' }], name: 'x' };
  assert.is(fingerprint(a), fingerprint(b));
  assert.is.not(fingerprint(a), fingerprint({ ...a, steps: [{ ...a.steps[0], with: { mode: 'tls12-incoming-only' } }] }));
});

test.run();
