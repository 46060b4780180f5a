/**
 * The built library (dist/index.js, made by `npm run build`, which `npm test` runs first), as an
 * application imports it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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

test.run();
