/**
 * The built CLI's files regrouped by the commands that load them (the build's last stage, from
 * tsup.config.ts). esbuild splits the CLI into one file per set of dynamic imports that reach a piece
 * of code: `plan` loaded 58 files and `status` 28, and each file costs a process about a millisecond
 * to resolve, read, compile and link whatever its size. Here the built CLI runs the usual commands
 * (below) against a simulated host with every module load recorded (test/fixtures/record-loads.mjs),
 * and rollup merges the files that exactly the same of those commands load into one: each of them
 * still loads exactly the code it loaded before (`plan` no transport, `status` no engine), in a
 * handful of files. A file none of them loads (a transport, PostgreSQL, the console's server) stays
 * as esbuild made it; a command not listed may load a little more than it needs, never less.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rollup } from 'rollup';

// Paths from the package's folder, where the build runs (tsup bundles this file elsewhere to load it).
const RECORDER = pathToFileURL(resolve('test', 'fixtures', 'record-loads.mjs')).href;

/** The commands whose loads decide the groups: what operators and the test suite run most. */
function commands(dir: string): [name: string, args: string[]][] {
  const host = `sim:${join(dir, 'host.json')}`;
  const state = ['--state-dir', join(dir, 'state')];
  // The run's own folder, so that its id is the only one rollback can be given.
  const ran = ['--state-dir', join(dir, 'ran')];
  return [
    ['help', ['--help']],
    ['sim-create', ['sim', 'create', '--preset', 'server-2016', '--out', join(dir, 'host.json')]],
    ['status-empty', ['status', ...state]],
    ['plan', ['plan', 'orchestrator-tls12', '--target', host, ...state]],
    ['run', ['run', 'orchestrator-tls12', '--target', host, ...ran, '--param', 'pollIntervalMs=10']],
    ['status', ['status', ...ran]],
    ['rollback', ['rollback', '<run>', ...ran]],
    ['resume', ['resume', '--all', ...ran]],
    ['inspect', ['inspect', '--target', host]],
    ['list', ['list']],
    ['validate', ['validate', join('runbooks', 'orchestrator-tls12.yaml')]],
    ['sim-fleet', ['sim', 'fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet')]],
    ['fleet-plan', ['plan', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), ...state]],
  ];
}

/** For each file of the built CLI, the commands that loaded it. */
async function loadedBy(cli: string, dir: string): Promise<Map<string, string[]>> {
  const by = new Map<string, string[]>();
  // Only what the commands are given: no store or setting of the machine that builds, and a temporary
  // folder of their own, so that the simulated host's TLS certificate, kept there once made, is made
  // by the first plan of every build alike.
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('RUNBOOK_'))), TMPDIR: dir, TEMP: dir, TMP: dir };
  for (const [name, args] of commands(dir)) {
    if (args.includes('<run>')) args[args.indexOf('<run>')] = (await readdir(join(dir, 'ran', 'runs')))[0];
    const file = join(dir, `${name}.loads`);
    const r = spawnSync(process.execPath, ['--import', RECORDER, cli, ...args], { env: { ...env, RECORD_LOADS: file }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`regrouping the CLI's files: \`runbook ${args.join(' ')}\` exited ${r.status}:\n${r.stderr}`);
    for (const url of new Set((await readFile(file, 'utf8')).split('\n'))) {
      if (url.startsWith('file:')) by.set(fileURLToPath(url), [...(by.get(fileURLToPath(url)) ?? []), name]);
    }
  }
  return by;
}

/** A file's text without the banner (after the entry's `#!` line), if nothing else in it says `require`. */
function withoutUnusedBanner(code: string, banner: string): string | null {
  const at = code.startsWith('#!') ? code.indexOf('\n') + 1 : 0;
  if (!code.startsWith(banner, at) || /\brequire\b/.test(code.slice(at + banner.length))) return null;
  return code.slice(0, at) + code.slice(at + banner.length);
}

/**
 * Regroups the CLI that esbuild wrote into `dist` (`dist/cli/main.js`, `dist/fleet-thread.js` and
 * their chunks), in place; the library's files beside them are left alone. `banner` is the line
 * esbuild put at the top of each file (a `require` for the CommonJS code bundled in): a file that does
 * not use it loses it, so that a group makes one `require` per file that needs one, not one per file
 * it merged.
 */
export async function regroupCliChunks(dist: string, banner: string): Promise<void> {
  const cli = resolve(dist, 'cli', 'main.js');
  const dir = await mkdtemp(join(tmpdir(), 'rbe-chunks-'));
  try {
    const by = await loadedBy(cli, dir);
    const bundle = await rollup({
      input: { 'cli/main': cli, 'fleet-thread': resolve(dist, 'fleet-thread.js') },
      // Node's modules and ssh2 (left out of the bundle) stay imports.
      external: (id) => !id.startsWith('.') && !isAbsolute(id),
      // Merging only: esbuild shook the trees already.
      treeshake: false,
      plugins: [{ name: 'unused-require', transform: (code) => withoutUnusedBanner(code, banner) }],
      onwarn: (warning) => {
        // An import esbuild kept from a Node module that a chunk no longer uses is harmless.
        if (warning.code === 'UNUSED_EXTERNAL_IMPORT') return;
        throw new Error(`regrouping the CLI's files: ${warning.message}`);
      },
    });
    // The files esbuild wrote for the CLI give way to the groups (a file left as it was is written again).
    await Promise.all(bundle.watchFiles.filter((file) => file.startsWith(resolve(dist))).map((file) => rm(file)));
    await bundle.write({
      dir: dist,
      format: 'es',
      entryFileNames: '[name].js',
      chunkFileNames: '[name].js',
      // The entry stays alone (`runbook --version` loads nothing else); the files loaded by the same
      // commands make one group, named after them.
      manualChunks: (id) => {
        const names = id === cli ? undefined : by.get(id);
        return names && `cli-${createHash('sha256').update(names.join(' ')).digest('hex').slice(0, 8)}`;
      },
    });
    await bundle.close();
    await chmod(cli, 0o755);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
