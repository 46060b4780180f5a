import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tsImport } from 'tsx/esm/api';
import { defineConfig } from 'tsup';
import { regroupCliChunks } from './scripts/regroup-cli-chunks.js';

/**
 * The bundled runbooks, checked: `dist/runbooks/<name>.json` holds each YAML runbook validated against
 * the runbook schema and the bundled step kinds, its fingerprint and the SHA-256 of its text
 * (`CompiledRunbook` in src/engine/bundled.ts), so that a command neither loads the YAML parser nor
 * checks the whole document again for a bundled runbook; an edited YAML no longer matches its copy and
 * is read as any file. A bundled runbook that does not validate fails the build.
 */
async function compileBundledRunbooks(): Promise<void> {
  // The sources themselves, through tsx: the same code that checks any runbook at run time.
  const { compileRunbook } = (await tsImport('./src/engine/bundled.ts', import.meta.url)) as typeof import('./src/engine/bundled.js');
  const { bundledStepKinds } = (await tsImport('./src/steps/index.ts', import.meta.url)) as typeof import('./src/steps/index.js');
  await mkdir('dist/runbooks', { recursive: true });
  for (const file of await readdir('runbooks')) {
    const name = file.match(/^(.*)\.ya?ml$/)?.[1];
    if (!name) continue;
    const compiled = await compileRunbook(await readFile(`runbooks/${file}`, 'utf8'), `runbooks/${file}`, bundledStepKinds());
    await writeFile(`dist/runbooks/${name}.json`, `${JSON.stringify(compiled)}\n`);
  }
}

/**
 * The run console's page (`runbook serve`): src/console/ui/app.ts bundled for the browser into
 * dist/console/app.js, with its stylesheet beside it; both ship in the package (nothing is fetched from
 * the network) and the server reads them from there.
 */
async function bundleConsole(): Promise<void> {
  const { build } = await import('esbuild');
  await build({ entryPoints: ['src/console/ui/app.ts'], bundle: true, format: 'iife', target: 'es2020', platform: 'browser', minify: true, outfile: 'dist/console/app.js', logLevel: 'warning' });
  await writeFile('dist/console/app.css', await readFile('src/console/ui/app.css', 'utf8'));
}

/** Each file of the built CLI starts with a `require` for the CommonJS code bundled in (esbuild's `__require`). */
const CLI_BANNER = "import { createRequire as __rbeCreateRequire } from 'node:module'; const require = __rbeCreateRequire(import.meta.url);";

export default defineConfig([
  // The library: its dependencies stay external, so that an application shares them (one xstate) —
  // but zod's functional build and core, which the library's own schemas use: unbundled, zod loads
  // some ninety files (every language of its messages among them) and `import('runbook-engine')` took
  // 207 ms against 146 with them bundled (node -e 0: 62). The engine takes an application's zod 4
  // schemas all the same: it parses them through their own `_zod` internals.
  {
    entry: ['src/index.ts'],
    format: ['esm'],
    target: 'node20',
    dts: { entry: 'src/index.ts' },
    noExternal: ['zod'],
    clean: true,
    splitting: true,
    sourcemap: false,
  },
  // The CLI: its pure-JS dependencies are bundled in, so that a command resolves and loads a handful of
  // files instead of hundreds (yaml alone is some forty CommonJS modules): `plan` starts in about half
  // the time. ssh2 stays external (optional native parts). Transports and commands stay in chunks of
  // their own, loaded on demand; then the chunks that the same commands load are merged into one file
  // (scripts/regroup-cli-chunks.ts: `plan` loads 11 files instead of 58, `status` 3 instead of 28).
  {
    // dist/fleet-thread.js: what each worker thread of a large fleet runs (src/cli/fleet-thread.ts), found
    // beside the chunks (dist/) that start it.
    entry: { 'cli/main': 'src/cli/main.ts', 'fleet-thread': 'src/cli/fleet-thread.ts' },
    format: ['esm'],
    target: 'node20',
    splitting: true,
    sourcemap: false,
    noExternal: [/^(?!ssh2$).*/],
    onSuccess: async () => {
      await Promise.all([compileBundledRunbooks(), bundleConsole()]);
      // Last: it runs the built CLI's commands, which read the bundled runbooks compiled above.
      await regroupCliChunks('dist', CLI_BANNER);
    },
    banner: { js: CLI_BANNER },
  },
]);
