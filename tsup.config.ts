import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { defineConfig } from 'tsup';
import { parse } from 'yaml';

/**
 * The bundled runbooks, parsed: `dist/runbooks/<name>.json` holds each YAML runbook's document and the
 * SHA-256 of the text it came from (`CompiledRunbook` in src/engine/bundled.ts), so that a command does
 * not load the YAML parser for a bundled runbook. Loading still validates the document, and falls back
 * to the YAML when the hash does not match.
 */
async function compileBundledRunbooks(): Promise<void> {
  await mkdir('dist/runbooks', { recursive: true });
  for (const file of await readdir('runbooks')) {
    const name = file.match(/^(.*)\.ya?ml$/)?.[1];
    if (!name) continue;
    const text = await readFile(`runbooks/${file}`, 'utf8');
    const compiled = { sourceSha256: createHash('sha256').update(text).digest('hex'), document: parse(text) };
    await writeFile(`dist/runbooks/${name}.json`, `${JSON.stringify(compiled)}\n`);
  }
}

export default defineConfig([
  // The library: its dependencies stay external, so that an application shares them (one xstate).
  {
    entry: ['src/index.ts'],
    format: ['esm'],
    target: 'node20',
    dts: { entry: 'src/index.ts' },
    clean: true,
    splitting: true,
    sourcemap: false,
  },
  // The CLI: its pure-JS dependencies are bundled in, so that a command resolves and loads a handful of
  // files instead of hundreds (yaml alone is some forty CommonJS modules): `plan` starts in about half
  // the time. ssh2 stays external (optional native parts). Transports and commands stay in chunks of
  // their own, loaded on demand.
  {
    entry: { 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    target: 'node20',
    splitting: true,
    sourcemap: false,
    noExternal: [/^(?!ssh2$).*/],
    onSuccess: compileBundledRunbooks,
    banner: { js: "import { createRequire as __rbeCreateRequire } from 'node:module'; const require = __rbeCreateRequire(import.meta.url);" },
  },
]);
