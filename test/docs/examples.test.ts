/**
 * Every TypeScript example in the README and docs/ compiles against the package's public API (as a
 * library user imports it: `from 'runbook-engine'`), and the custom step-kind example of
 * docs/runbooks.md rolls back exactly when run.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { hostOf, makeHost, registryText } from '../helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** How the examples are checked: strict, as a library user's ESM project on Node. */
const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  skipLibCheck: true,
  types: ['node'],
};
const OUT = join(ROOT, 'test', '.examples');

/**
 * The examples' own diagnostics (syntax and types). Only their files are checked: the checker looks
 * into the package's sources only as far as the examples use them, instead of checking all of them.
 */
function diagnosticsOf(program: ts.Program, examples: Map<string, string>): readonly ts.Diagnostic[] {
  return program
    .getSourceFiles()
    .filter((sf) => examples.has(sf.fileName))
    .flatMap((sf) => [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]);
}

/** The ```ts blocks of a Markdown file, with the line each starts on. */
function blocks(text: string): { code: string; line: number }[] {
  const out: { code: string; line: number }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```ts') continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && lines[j].trim() !== '```') j++;
    out.push({ code: lines.slice(start, j).join('\n'), line: start + 1 });
    i = j;
  }
  return out;
}

async function markdownFiles(): Promise<string[]> {
  const docs = await readdir(join(ROOT, 'docs'), { recursive: true });
  return [join(ROOT, 'README.md'), ...docs.filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f))];
}

/** Writes each example as its own module, importing the package's source under its published name. */
async function writeExamples(): Promise<Map<string, string>> {
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  const where = new Map<string, string>();
  for (const file of await markdownFiles()) {
    for (const [n, b] of blocks(await readFile(file, 'utf8')).entries()) {
      const name = join(OUT, `${relative(ROOT, file).replace(/[^A-Za-z0-9]+/g, '-')}-${n}.ts`);
      await writeFile(name, `${b.code.replace(/from 'runbook-engine'/g, "from '../../src/index.js'")}\nexport {};\n`);
      where.set(name, `${relative(ROOT, file)}:${b.line}`);
    }
  }
  return where;
}

let parsedSources: ts.Program | undefined;

/** The package's sources parsed once, for both type checks of the examples to reuse. */
async function sourcesProgram(): Promise<ts.Program> {
  const sources = (await readdir(join(ROOT, 'src'), { recursive: true })).filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, 'src', f));
  return (parsedSources ??= ts.createProgram(sources, COMPILER_OPTIONS));
}

test('every TypeScript example in the README and docs/ compiles', async () => {
  const { program, docs } = await examplesProgram();
  assert.ok(docs.size >= 4, `found ${docs.size} examples`);
  const problems = diagnosticsOf(program, docs)
    .map((d) => {
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      return `${docs.get(d.file!.fileName)} (+${line}): ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  assert.equal(problems, []);
});

/** The ```ts blocks of the TSDoc `@example` tags of a source file, with their lines. */
function tsdocExamples(text: string): { code: string; line: number }[] {
  const out: { code: string; line: number }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\*\s*@example/.test(lines[i])) continue;
    let j = i + 1;
    while (j < lines.length && !/^\s*\*\s*```ts/.test(lines[j])) j++;
    const start = j + 1;
    let k = start;
    while (k < lines.length && !/^\s*\*\s*```\s*$/.test(lines[k])) k++;
    out.push({ code: lines.slice(start, k).map((l) => l.replace(/^\s*\* ?/, '')).join('\n'), line: start + 1 });
    i = k;
  }
  return out;
}

/**
 * Names an example may use without defining them: what a reader has at hand where such an example
 * applies (a run, an executor, the step kinds, a runbook definition, a step kind of their own).
 */
const STAND_INS: Record<string, string> = {
  executor: 'Executor',
  run: 'Run',
  kinds: 'StepKindRegistry',
  definition: 'RunbookDefinition',
  myStepKind: 'StepKind<unknown>',
};

/** Stand-ins for the names an example uses without declaring them. */
function standIns(code: string): string {
  return Object.entries(STAND_INS)
    .filter(([name]) => new RegExp(`\\b${name}\\b`).test(code) && !new RegExp(`\\b(const|let|var|function)\\s+${name}\\b`).test(code))
    .map(([name, type]) => `declare const ${name}: import('../../../src/index.js').${type};`)
    .join('\n');
}

/** Writes each TSDoc example as its own module, with its source file's exports and the public API imported. */
async function writeTsdocExamples(): Promise<Map<string, string>> {
  await rm(join(OUT, 'tsdoc'), { recursive: true, force: true });
  await mkdir(join(OUT, 'tsdoc'), { recursive: true });
  // The names each source file exports, and the public API's, for the examples' imports.
  const base = await sourcesProgram();
  const checker = base.getTypeChecker();
  const exportsOf = (file: string) => {
    const sf = base.getSourceFile(file);
    const symbol = sf && checker.getSymbolAtLocation(sf);
    return symbol ? checker.getExportsOfModule(symbol).map((e) => e.name).filter((n) => n !== 'default') : [];
  };
  const api = new Set(exportsOf(join(ROOT, 'src', 'index.ts')));
  const where = new Map<string, string>();
  for (const file of base.getRootFileNames()) {
    const found = tsdocExamples(await readFile(file, 'utf8'));
    if (found.length === 0) continue;
    const own = exportsOf(file);
    const fromApi = [...api].filter((n) => !own.includes(n));
    const rel = relative(join(ROOT, 'test', '.examples', 'tsdoc'), file).replace(/\.ts$/, '.js');
    for (const [n, ex] of found.entries()) {
      const name = join(OUT, 'tsdoc', `${relative(ROOT, file).replace(/[^A-Za-z0-9]+/g, '-')}-${n}.ts`);
      const prelude = [
        own.length ? `import { ${own.join(', ')} } from '${rel.startsWith('.') ? rel : `./${rel}`}';` : '',
        `import { ${fromApi.join(', ')} } from '../../../src/index.js';`,
        "import { z } from 'zod';",
        standIns(ex.code),
      ].join('\n');
      await writeFile(name, `${prelude}\n${ex.code}\nexport {};\n`);
      where.set(name, `${relative(ROOT, file)}:${ex.line}`);
    }
  }
  return where;
}

let checked: Promise<{ program: ts.Program; docs: Map<string, string>; tsdoc: Map<string, string> }> | undefined;

/**
 * Both kinds of examples in one program over the sources as `sourcesProgram` parsed them: one type
 * checker looks into the package's types for all of them (a checker's first look is the costly part).
 */
function examplesProgram(): Promise<{ program: ts.Program; docs: Map<string, string>; tsdoc: Map<string, string> }> {
  return (checked ??= (async () => {
    const docs = await writeExamples();
    const tsdoc = await writeTsdocExamples();
    const program = ts.createProgram([...docs.keys(), ...tsdoc.keys()], COMPILER_OPTIONS, undefined, await sourcesProgram());
    return { program, docs, tsdoc };
  })());
}

test('every TSDoc @example in src/ compiles, with its own module and the public API in scope', async () => {
  const { program, tsdoc: where } = await examplesProgram();
  assert.ok(where.size >= 20, `found ${where.size} examples`);
  const problems = diagnosticsOf(program, where)
    // An example need not use everything its prelude imports.
    .filter((d) => d.code !== 6133 && d.code !== 6192)
    .map((d) => {
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      return `${where.get(d.file!.fileName)} (prelude line ${line}): ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  assert.equal(problems, []);
});

test('the custom step-kind example of docs/runbooks.md rolls back exactly', async () => {
  const { docs: where } = await examplesProgram();
  const sources = await Promise.all([...where.keys()].map(async (f) => ({ f, text: await readFile(f, 'utf8') })));
  const example = sources.find(({ f, text }) => where.get(f)!.startsWith('docs/runbooks.md') && text.includes('defineRegistryStep('))?.f;
  assert.ok(example, 'docs/runbooks.md has the step-kind example');
  const { flagStep, kinds } = (await import(example!)) as { flagStep: { kind: string }; kinds: import('../../src/index.js').StepKindRegistry };
  assert.is(flagStep.kind, 'example/flag');
  // A server whose database runs on a SQL Server Orchestrator does not support: the preflight after the
  // flag refuses it, and the saga undoes the flag.
  const host = await makeHost('server-2016-sql2008r2');
  const before = await registryText(host);
  const runbook = {
    name: 'flag-then-preflight',
    steps: [
      { id: 'flag', uses: 'example/flag', with: { value: 7 } },
      { id: 'preflight', uses: 'orchestrator/preflight' },
    ],
  };
  const { Runner, createSimulatedExecutor, validateRunbook } = await import('../../src/index.js');
  const { tempDir } = await import('../helpers.js');
  const runner = new Runner({ stateDir: await tempDir(), kinds, retry: { minTimeout: 5, maxTimeout: 20, randomize: false } });
  const result = await runner.start(validateRunbook(runbook, kinds, 'inline'), { executor: await createSimulatedExecutor(host) }).result;
  assert.is(result.status, 'rolled-back', JSON.stringify(result.error));
  assert.is(result.steps[0].compensation?.status, 'compensated');
  assert.is(await registryText(host), before, 'the value is gone and so is the key the step created');
  assert.not.ok('SOFTWARE\\Example' in (await hostOf(host)).registry);
});

test.run();
