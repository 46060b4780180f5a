/**
 * What the built CLI loads for a command (issue #10's "fast start"): every module a process loads is
 * recorded (test/fixtures/record-loads.mjs), and the libraries bundled into those files are read from
 * the `// node_modules/<package>/…` lines the bundler leaves before each one.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeHost, tempDir } from '../helpers.js';
import { cli } from './run-cli.js';

const RECORDER = join(import.meta.dirname, '..', 'fixtures', 'record-loads.mjs');
const SEGMENTERS = join(import.meta.dirname, '..', 'fixtures', 'count-segmenters.mjs');

/** The modules a command loaded, and the library files bundled into them (`zod/v4/mini/schemas.js`, …). */
async function loads(args: string[]): Promise<{ urls: string[]; bundled: string[] }> {
  const file = join(await tempDir('rbe-loads-'), 'loads.txt');
  const r = await cli(args, { RECORD_LOADS: file }, ['--import', RECORDER]);
  assert.is(r.code, 0, r.stderr);
  const urls = [...new Set((await readFile(file, 'utf8')).split('\n').filter(Boolean))];
  const bundled = new Set<string>();
  for (const url of urls.filter((u) => u.startsWith('file:') && u.includes('/dist/'))) {
    for (const m of (await readFile(fileURLToPath(url), 'utf8')).matchAll(/^\/\/ (?:\S*\/)?node_modules\/(\S+)$/gm)) bundled.add(m[1]);
  }
  return { urls, bundled: [...bundled] };
}

const packageOf = (path: string) => path.split('/').slice(0, path.startsWith('@') ? 2 : 1).join('/');

test('plan on a simulated host loads no transport, no YAML parser, and only the functional build of zod', async () => {
  const host = await makeHost('server-2016');
  const state = await tempDir();
  const args = ['plan', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state];
  // Once first: the simulated host's TLS certificate is made once and kept (with node-forge).
  assert.is((await cli(args)).code, 0);
  const { urls, bundled } = await loads(args);
  assert.equal(urls.filter((u) => u.includes('/node_modules/')), [], 'every library it uses is bundled into the CLI');
  // The CLI's files that the same commands load are one file (scripts/regroup-cli-chunks.ts): each costs
  // the process about a millisecond, whatever its size; esbuild's split alone made it 58.
  const files = urls.filter((u) => u.includes('/dist/'));
  assert.ok(files.length <= 12, `${files.length} files of the CLI loaded:\n${files.join('\n')}`);
  // string-width (and its three small helpers) pads a pipe's columns by the columns a wide character
  // takes: bundled, and evaluated only for a text beyond ASCII (below); the terminal's libraries
  // (log-update, cli-truncate) are loaded only on a terminal.
  assert.equal([...new Set(bundled.map(packageOf))].sort(), ['ansi-regex', 'commander', 'eventemitter3', 'get-east-asian-width', 'is-network-error', 'p-retry', 'string-width', 'strip-ansi', 'xstate', 'zod']);
  const zod = bundled.filter((b) => b.startsWith('zod/'));
  assert.ok(zod.some((b) => b.startsWith('zod/v4/mini/')), zod.join(', '));
  assert.equal(zod.filter((b) => !/^zod\/v4\/(core|mini)\//.test(b) && b !== 'zod/v4/locales/en.js'), [], 'not zod/v4/classic, no other language');
});

test('plan in a pipe evaluates string-width only for a name beyond ASCII, and then from its bundled copy', async () => {
  const dir = await tempDir('rbe-width-');
  const ascii = await makeHost('server-2016');
  const wide = join(dir, '東京-web.json');
  await copyFile(ascii, wide);
  const counted = async (host: string) => {
    const file = join(dir, 'segmenters.txt');
    const r = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', join(dir, 'state')], { RECORD_SEGMENTERS: file }, ['--import', SEGMENTERS]);
    assert.is(r.code, 0, r.stderr);
    return { made: Number(await readFile(file, 'utf8')), lines: r.stdout.split('\n').filter((l) => / (ok|would-change) /.test(l)) };
  };
  // Its module makes a grapheme segmenter as it loads (a tenth of the command's start): not for ASCII.
  assert.is((await counted(ascii)).made, 0, 'string-width evaluated for an ASCII host and ASCII step ids');
  // A host named in CJK: the built CLI's lazy `require` reaches the copy bundled into it (a require the
  // bundler left to run time would throw), and every step's line is printed. That its count matches
  // string-width's is test/cli/text-width.test.ts's.
  const { made, lines } = await counted(wide);
  assert.ok(made > 0, 'string-width evaluated for a host named in CJK');
  assert.ok(lines.length >= 8 && lines.every((l) => l.startsWith('東京-web  ')), lines.join('\n'));
});

test('a step parameter out of range gets zod\'s English message from the functional build', async () => {
  // zod sets English for its messages itself; zod/mini leaves it to the program (src/util/zod.ts).
  const host = await makeHost('server-2016');
  const r = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', await tempDir(), '--param', 'pollIntervalMs=1']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /steps\[7\] \(id restart\)\.with\.pollIntervalMs: Too small: expected number to be >=10/);
});

test('status loads neither the engine\'s machines nor a schema library, in a few files', async () => {
  const { urls, bundled } = await loads(['status', '--state-dir', await tempDir()]);
  assert.equal(bundled.filter((b) => /^(xstate|zod)\//.test(b)), []);
  // 28 as esbuild split them: the entry, and what status loads beside it regrouped.
  const files = urls.filter((u) => u.includes('/dist/'));
  assert.ok(files.length <= 4, `${files.length} files of the CLI loaded:\n${files.join('\n')}`);
});

test.run();
