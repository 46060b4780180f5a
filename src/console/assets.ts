/**
 * The page's files: `dist/console/app.js` and `app.css`, bundled by the build (tsup.config.ts) from
 * `src/console/ui/`; they ship in the package, and nothing is fetched from the network. Run from the
 * sources (tsx) before a build, the script is bundled here once, with esbuild (a development
 * dependency, the build's own bundler).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';

export type Assets = { js: string; css: string; html: string };

/** The console's one page: a shell the script fills in (no inline script or style: the CSP forbids both). */
const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>runbook console</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
</head>
<body>
<header><a class="brand" href="#/">runbook console</a><span id="live" class="live">connecting…</span><span id="store" class="store"></span></header>
<main id="main"><p>Loading…</p></main>
</body>
</html>
`;

let cached: Promise<Assets> | undefined;

export function loadAssets(): Promise<Assets> {
  cached ??= (async () => {
    const root = packageRoot();
    const dist = join(root, 'dist', 'console');
    try {
      const [js, css] = await Promise.all([readFile(join(dist, 'app.js'), 'utf8'), readFile(join(dist, 'app.css'), 'utf8')]);
      return { js, css, html: HTML };
    } catch {
      // Not a literal: the CLI's bundle must not take esbuild in (a built package has dist/console).
      const bundler: string = 'esbuild';
      const esbuild = (await import(bundler)) as typeof import('esbuild');
      const out = await esbuild.build({ entryPoints: [join(root, 'src', 'console', 'ui', 'app.ts')], bundle: true, write: false, format: 'iife', target: 'es2020', platform: 'browser' });
      return { js: out.outputFiles[0].text, css: await readFile(join(root, 'src', 'console', 'ui', 'app.css'), 'utf8'), html: HTML };
    }
  })();
  return cached;
}
