/**
 * The built library (dist/index.js, made by `npm run build`, which `npm test` runs first), as an
 * application imports it; and the package as npm packs it, installed into an application without the
 * network: its dependencies linked from this project's node_modules, its optional peers (pg, pg-boss)
 * and @types/pg left out, as an application that keeps its runs in files has it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { tempDir } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const LIBRARY = pathToFileURL(join(ROOT, 'dist', 'index.js')).href;
const RECORDER = join(ROOT, 'test', 'fixtures', 'record-loads.mjs');

/** Runs an ES module's text in a Node process started in the package's folder (where `zod` resolves). */
function script(code: string, env: Record<string, string> = {}, nodeArgs: string[] = []): string {
  const r = spawnSync(process.execPath, [...nodeArgs, '--input-type=module', '-e', code], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return r.stdout;
}

test('importing the library loads its own copy of zod\'s functional build, not zod\'s ninety files', async () => {
  const file = join(await tempDir('rbe-loads-'), 'loads.txt');
  script(`await import(${JSON.stringify(LIBRARY)});`, { RECORD_LOADS: file }, ['--import', RECORDER]);
  const loaded = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  assert.ok(loaded.some((u) => u === LIBRARY), 'the recorder saw the library load');
  assert.equal(loaded.filter((u) => u.includes('/node_modules/zod/')), []);
});

test('a step kind of an application, written with zod, is checked by the library as the sources check it', () => {
  const out = script(`
    import { z } from 'zod';
    import { bundledStepKinds, defineStepKind, validateRunbook } from ${JSON.stringify(LIBRARY)};
    const echo = defineStepKind({
      kind: 'app/echo', description: 'publishes its number', phases: [],
      params: z.object({ n: z.number().int().min(1) }), outputs: z.object({ n: z.number() }),
      probe: async () => null, plan: () => ({ changes: [], summary: 'nothing to do' }), verify: async () => ({ ok: true, summary: 'ok' }),
    });
    const kinds = bundledStepKinds().register(echo);
    const step = (id, n) => ({ id, uses: 'app/echo', with: { n } });
    const loaded = validateRunbook({ name: 'app', steps: [step('a', 2), step('b', '\${{ steps.a.outputs.n }}')] }, kinds, 'inline');
    let issues;
    try { validateRunbook({ name: 'app', steps: [step('a', 0), step('b', '\${{ steps.a.outputs.m }}')] }, kinds, 'inline'); } catch (error) { issues = error.issues; }
    console.log(JSON.stringify({ steps: loaded.definition.steps.length, issues }));
  `);
  const { steps, issues } = JSON.parse(out) as { steps: number; issues: string[] };
  assert.is(steps, 2);
  assert.ok(issues.some((i) => /steps\[0\] \(id a\)\.with\.n: Too small: expected number to be >=1/.test(i)), issues.join('\n'));
  assert.ok(issues.some((i) => /has no output "m"; it declares: n/.test(i)), issues.join('\n'));
});

/** What `npm pack` puts in the package, and the application folder it is installed into. */
interface Installed {
  /** The application's folder: package.json, node_modules/runbook-engine and its dependencies. */
  app: string;
  /** The packed files' paths, as npm lists them. */
  files: string[];
  /** The packed package.json. */
  manifest: { dependencies?: Record<string, string>; peerDependencies?: Record<string, string>; peerDependenciesMeta?: Record<string, { optional?: boolean }>; [key: string]: unknown };
}

let installed: Promise<Installed> | undefined;

/**
 * Packs the package (`npm pack`, without its prepack build: `npm test` built dist already) and installs
 * the tarball as npm would, by hand: unpacked into node_modules/runbook-engine, each of its
 * `dependencies` linked from this project's node_modules (no registry is asked), and @types/node, which a
 * Node application has of its own. Neither pg, pg-boss nor @types/pg is there. Once per process.
 */
function install(): Promise<Installed> {
  return (installed ??= (async () => {
    const app = await tempDir('rbe-app-');
    const packed = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', app], { cwd: ROOT, encoding: 'utf8' });
    assert.is(packed.status, 0, packed.stderr);
    const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
    const target = join(app, 'node_modules', 'runbook-engine');
    await mkdir(target, { recursive: true });
    const untar = spawnSync('tar', ['-xzf', join(app, filename), '-C', target, '--strip-components=1'], { encoding: 'utf8' });
    assert.is(untar.status, 0, untar.stderr);
    const manifest = JSON.parse(await readFile(join(target, 'package.json'), 'utf8')) as Installed['manifest'];
    for (const name of [...Object.keys(manifest.dependencies ?? {}), '@types/node']) {
      await mkdir(dirname(join(app, 'node_modules', name)), { recursive: true });
      await symlink(join(ROOT, 'node_modules', name), join(app, 'node_modules', name), 'dir');
    }
    await writeFile(join(app, 'package.json'), `${JSON.stringify({ name: 'app', private: true, type: 'module' })}\n`);
    return { app, files: files.map((f) => f.path), manifest };
  })());
}

/** Runs `node` with these arguments in the application's folder. */
function inApp(app: string, args: string[]) {
  const { FORCE_COLOR, NODE_OPTIONS, ...env } = process.env;
  return spawnSync(process.execPath, args, { cwd: app, encoding: 'utf8', env: { ...env, NO_COLOR: '1' } });
}

test('a TypeScript application type-checks strictly against the installed package, without pg or @types/pg', async () => {
  const { app } = await install();
  await writeFile(
    join(app, 'app.ts'),
    `import { Runner, bundledStepKinds, createPreset, postgresStore, type PostgresStore, type RunStore } from 'runbook-engine';

const runner = new Runner({ kinds: bundledStepKinds(), stateDir: '.runbook' });
const host = createPreset('server-2016');
export async function shared(url: string): Promise<RunStore> {
  const store: PostgresStore = await postgresStore(url, { stateDir: '.runbook' });
  return store;
}
console.log(typeof runner.start, host.os.caption);
`,
  );
  // tsc's checks as an application runs them, in this process (TypeScript's API, not its CLI): --strict,
  // Node's ESM resolution, from the application's folder (its own @types only), and no skipLibCheck for
  // the package's declarations, so that an import in them that does not resolve is an error. Only the
  // application's file and the package's declarations are checked whole (its dependencies' types, as far
  // as those use them): the same errors as `tsc --strict app.ts`, in a fifth of the time.
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
    typeRoots: [join(app, 'node_modules', '@types')],
  };
  const host = ts.createCompilerHost(options);
  host.getCurrentDirectory = () => app;
  const program = ts.createProgram([join(app, 'app.ts')], options, host);
  const checked = [join(app, 'app.ts'), join(app, 'node_modules', 'runbook-engine', 'dist', 'index.d.ts')].map((f) => program.getSourceFile(f));
  assert.ok(checked.every(Boolean), 'the application and the package\'s declarations are in the program');
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...checked.flatMap((sf) => [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]),
  ];
  const text = ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => app, getNewLine: () => '\n' });
  assert.is(text, '');
});

test('the library loads without pg and pg-boss; postgresStore and startWorker say how to install them', async () => {
  const { app, manifest } = await install();
  await writeFile(
    join(app, 'shared.mjs'),
    `import { postgresStore, startWorker, fileStore } from 'runbook-engine';
const out = { file: fileStore('.runbook').kind };
for (const [name, open] of [['postgresStore', () => postgresStore('postgres://runbook@127.0.0.1:1/runbook', { stateDir: '.runbook' })], ['startWorker', () => startWorker({})]]) {
  try { await open(); out[name] = 'opened'; } catch (error) { out[name] = { name: error.name, code: error.code, message: error.message }; }
}
console.log(JSON.stringify(out));
`,
  );
  const r = inApp(app, ['shared.mjs']);
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, { name: string; code: string; message: string } | string>;
  assert.is(out.file, 'file');
  for (const name of ['postgresStore', 'startWorker']) {
    const error = out[name] as { name: string; code: string; message: string };
    assert.is(error.code, 'STORE_UNAVAILABLE', JSON.stringify(error));
    assert.match(error.message, /the PostgreSQL store needs the package pg(-boss)?, which is not installed/);
    assert.ok(error.message.includes('npm install pg@8 pg-boss@10'), error.message);
  }
  // The command told matches the package's own ranges for them.
  assert.equal(manifest.peerDependencies, { pg: '^8.23.1', 'pg-boss': '^10.4.2' });
});

test('pg and pg-boss are optional peer dependencies; the package has its LICENSE, a repository, and says it is ESM only', async () => {
  const { files, manifest } = await install();
  assert.not.ok('pg' in (manifest.dependencies ?? {}) || 'pg-boss' in (manifest.dependencies ?? {}), 'pg and pg-boss are not installed for every user');
  assert.equal(manifest.peerDependenciesMeta, { pg: { optional: true }, 'pg-boss': { optional: true } });
  assert.ok(files.includes('LICENSE'), files.join(', '));
  assert.match(await readFile(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) \d{4} runbook-engine contributors\n/);
  assert.is(manifest.license, 'MIT');
  assert.equal(manifest.repository, { type: 'git', url: 'runbook-engine' });
  assert.is(manifest.type, 'module');
  assert.match(String(manifest.description), /ESM only/);
  assert.equal(manifest.exports, { '.': { types: './dist/index.d.ts', import: './dist/index.js' } });
  // The form `npm pkg fix` leaves (publishing otherwise warns that it corrected the bin path).
  assert.equal(manifest.bin, { runbook: 'dist/cli/main.js' });
  assert.match(await readFile(join(ROOT, 'README.md'), 'utf8'), /ESM only/);
});

test("the README's library example runs verbatim in an application that installed the package", async () => {
  const { app } = await install();
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const example = /## As a library\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(example, 'the README has a ```ts block under "As a library"');
  const js = ts.transpileModule(example, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  await writeFile(join(app, 'readme-example.mjs'), js);
  const r = inApp(app, ['readme-example.mjs']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^tls-verify succeeded /m);
  assert.match(r.stdout, /^succeeded \d+$/m, r.stdout);
});

test.run();
