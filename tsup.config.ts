import { defineConfig } from 'tsup';

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
    banner: { js: "import { createRequire as __rbeCreateRequire } from 'node:module'; const require = __rbeCreateRequire(import.meta.url);" },
  },
]);
