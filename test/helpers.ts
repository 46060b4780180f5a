/**
 * Shared test fixtures: temporary simulated hosts and a runner with fast retries.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { build, type Plugin } from 'esbuild';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Runner,
  bundledStepKinds,
  createPreset,
  createSimulatedExecutor,
  loadRunbook,
  readHost,
  serveEndpoints,
  writeHost,
  type Executor,
  type LoadedRunbook,
  type RunbookDefinition,
  type RunResult,
  type Store,
  type SimHostState,
  VirtualClock,
  type Clock,
} from '../src/index.js';
import { WINRM_DEFAULT_PORTS } from '../src/windows/facts/winrm-service.js';

export const kinds = bundledStepKinds();

/**
 * Runs `fn` with the fact `winrm.default-ports` saying other ports, then puts the fact back: a decision
 * that follows the fact follows the change, one that carries its own 5985/5986 does not.
 */
export function withWinrmDefaultPorts<T>(ports: { http: number; https: number }, fn: () => T): T {
  const stated = WINRM_DEFAULT_PORTS.value;
  WINRM_DEFAULT_PORTS.value = ports;
  try {
    return fn();
  } finally {
    WINRM_DEFAULT_PORTS.value = stated;
  }
}

/** The temporary folders this test process made: removed when it exits (`RUNBOOK_TEST_KEEP=1` keeps them). */
const made: string[] = [];

/** A new folder under the system's temporary folder, removed with everything in it when the test process exits. */
export async function tempDir(prefix = 'rbe-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  if (made.length === 0 && !process.env.RUNBOOK_TEST_KEEP) process.once('exit', () => made.forEach((d) => rmSync(d, { recursive: true, force: true, maxRetries: 2 })));
  made.push(dir);
  return dir;
}

/** A host file from a preset, with a short restart and any tweaks. */
export async function makeHost(preset: string, tweak?: (host: SimHostState) => void): Promise<string> {
  const dir = await tempDir('rbe-host-');
  const file = join(dir, 'host.json');
  const host = createPreset(preset);
  host.downtimeMs = 40;
  tweak?.(host);
  await writeHost(file, host);
  return file;
}

export async function hostOf(file: string): Promise<SimHostState> {
  return readHost(file);
}

/** The registry part of a host file exactly as stored, for byte-for-byte comparison. */
export async function registryText(file: string): Promise<string> {
  return JSON.stringify(JSON.parse(await readFile(file, 'utf8')).registry);
}

/** A runner with fast retries; give it the clock of the simulated host it drives. */
export function newRunner(stateDir: string, clock?: Clock, store?: Store): Runner {
  return new Runner({ stateDir, kinds, retry: { minTimeout: 5, maxTimeout: 20, randomize: false }, clock, store });
}

export const FAST = { pollIntervalMs: 10 };

/**
 * A run that fails after it changed the target: the restart command is refused for good, so the
 * SCHANNEL and .NET values are written and then rolled back.
 */
export function restartRefused(host: SimHostState): void {
  host.faults.push({ op: 'restart', kind: 'permanent', times: 1000 });
}

/** Runs a runbook to its end (no resume), returning the result and the executor used. */
export async function runToEnd(
  file: string,
  options: { runbook?: LoadedRunbook | RunbookDefinition; params?: Record<string, unknown>; checkMode?: boolean; stateDir?: string; store?: Store; executor?: Executor } = {},
): Promise<{ result: RunResult; runner: Runner; executor: Executor; clock: VirtualClock | undefined }> {
  // A simulated host made here shares a virtual clock with the runner: its restarts take no real time.
  // A given executor (a real transport, whose host keeps real time) runs on the system clock.
  const clock = options.executor ? undefined : new VirtualClock();
  const runner = newRunner(options.stateDir ?? (await tempDir()), clock, options.store);
  const executor = options.executor ?? (await createSimulatedExecutor(file, { clock }));
  const runbook = options.runbook ?? (await loadRunbook('orchestrator-tls12', kinds));
  const defaults = options.runbook ? {} : FAST;
  const run = runner.start(runbook, { executor, params: { ...defaults, ...(options.params ?? {}) }, checkMode: options.checkMode });
  const result = await run.result;
  return { result, runner, executor, clock };
}

/** A one-step runbook around a bundled step kind. */
export function single(uses: string, withValue: Record<string, unknown> = {}): RunbookDefinition {
  return { name: 'single', steps: [{ id: 'only', uses, with: withValue as never }] };
}

/**
 * Runs a bundled runbook (orchestrator-tls12 unless named) through `executor` (whose target is `hostFile`) and through the simulated
 * executor on `simFile` (a copy of the same host made beforehand); both must succeed and leave the same
 * registry, with one restart. Returns the result of the run through `executor`.
 */
export async function expectSameAsSimulated(executor: Executor, hostFile: string, simFile: string, runbookName = 'orchestrator-tls12'): Promise<RunResult> {
  const assert = await import('uvu/assert');
  const runner = newRunner(await tempDir());
  const runbook = await loadRunbook(runbookName, kinds);
  let result = await runner.start(runbook, { executor, params: FAST }).result;
  // An executor on the target ends the drive awaiting resume when the restart takes it down.
  if (result.status === 'awaiting-resume') result = await (await runner.resume(result.runId, { executor })).result;
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  const sim = await runner.start(runbook, { executor: await createSimulatedExecutor(simFile), params: FAST }).result;
  assert.is(sim.status, 'succeeded');
  assert.is(await registryText(hostFile), await registryText(simFile));
  assert.is((await hostOf(hostFile)).restarts, 1);
  return result;
}

const DRIVE_CHILD = join(import.meta.dirname, 'fixtures', 'drive-child.mjs');
const BUILT = join(import.meta.dirname, '..', 'dist', 'index.js');
let childSnapshot: Promise<string> | undefined;

/**
 * `node:tls`, `node:http` and `node:https` as modules whose members load them when first used: Node 20
 * cannot put these loaded modules in a startup snapshot (building one aborts), and the child needs them
 * only once it runs (the package's index also exports the simulated WinRM listener, which serves HTTP).
 */
const LAZY_BUILTINS = ['tls', 'http', 'https'];
const builtinsOnFirstUse: Plugin = {
  name: 'builtins-on-first-use',
  setup(build) {
    const require = createRequire(import.meta.url);
    build.onResolve({ filter: /^(node:)?(tls|https?)$/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      return args.namespace === 'on-first-use' ? { path: `node:${name}`, external: true } : { path: name, namespace: 'on-first-use' };
    });
    build.onLoad({ filter: /.*/, namespace: 'on-first-use' }, (args) => {
      if (!LAZY_BUILTINS.includes(args.path)) return undefined;
      const id = JSON.stringify(`node:${args.path}`);
      const members = Object.keys(require(`node:${args.path}`) as object);
      return {
        loader: 'js',
        contents: `let m;\n${members.map((k) => `Object.defineProperty(exports, ${JSON.stringify(k)}, { enumerable: true, get: () => (m ??= require(${id}))[${JSON.stringify(k)}] });`).join('\n')}`,
      };
    });
  },
};

/**
 * The child as a V8 startup snapshot (`node --build-snapshot`): each child process starts with the engine
 * loaded, its modules evaluated and its code compiled by a warm-up run (drive-child.mjs) instead of
 * doing all that itself — the crash sweep starts 200 of them. The child is bundled into one script first (esbuild; a snapshot holds one script), inside the
 * package (the engine finds its bundled runbooks from there: `import.meta.url` is set to that place),
 * one folder per test process, removed at exit.
 */
function snapshotChild(): Promise<string> {
  return (childSnapshot ??= makeSnapshotChild());
}

async function makeSnapshotChild(): Promise<string> {
  const dir = join(import.meta.dirname, '..', 'node_modules', '.cache', 'runbook-engine-test', `drive-child-${process.pid}`);
  const script = join(dir, 'drive-child.cjs');
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  // The simulated endpoints' certificate, made here (and kept in TMPDIR, which the children share) so
  // that no child has to make it: a script started from a snapshot cannot `import()`, and node-forge,
  // which makes it, stays out of the snapshot.
  await (await serveEndpoints(async () => createPreset('server-2016'))).close();
  await build({
    entryPoints: [DRIVE_CHILD],
    outfile: script,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    plugins: [builtinsOnFirstUse],
    // Transports the child never uses stay out (ssh2 has native parts), and two libraries it needs
    // only if ever: node-forge (see above) and yaml (the child takes the bundled runbook's checked
    // copy). Each child then starts from a smaller snapshot: 6.4 MB instead of 8.1.
    external: ['ssh2', 'execa', 'cpu-features', 'pg', 'pg-boss', 'node-forge', 'yaml'],
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(script).href) },
    logLevel: 'error',
  });
  const blob = join(dir, 'drive-child.blob');
  await promisify(execFile)(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', script], { cwd: dir });
  return blob;
}

/**
 * Starts or resumes a run of the bundled runbook in a child process (the built package), optionally
 * killing itself with SIGKILL right after the `crashAfter`-th durable journal record.
 */
export async function driveChild(args: string[], crashAfter?: number): Promise<{ signal: string | null; result?: RunResult }> {
  if (!existsSync(BUILT)) throw new Error('the child process runs the built package: run `npm run build` first (npm test does)');
  const snapshot = await snapshotChild();
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.RUNBOOK_CRASH_AFTER;
    if (crashAfter !== undefined) env.RUNBOOK_CRASH_AFTER = String(crashAfter);
    execFile(process.execPath, ['--snapshot-blob', snapshot, ...args], { env, timeout: 60_000 }, (error, stdout) => {
      const line = stdout.trim().split('\n').pop();
      let result: RunResult | undefined;
      try {
        result = line ? (JSON.parse(line) as RunResult) : undefined;
      } catch {
        result = undefined;
      }
      resolve({ signal: error ? ((error as { signal?: string }).signal ?? null) : null, result });
    });
  });
}

/**
 * Turns a preset into a 32-bit Windows 10 workstation without Orchestrator (one registry view, no
 * Wow6432Node): a host that exists, for the tests of the registry model and of single steps. No
 * Orchestrator server role runs on it (fact `orchestrator.x64-only`), so no preset is one.
 */
export function thirtyTwoBit(host: SimHostState): void {
  host.os = { caption: 'Microsoft Windows 10 Pro', version: '10.0.19045', build: 19045, architecture: '32-bit', productType: 'workstation', servicePack: 0 };
  host.orchestrator = { installed: false, release: null, updateRollup: -1, version: null };
  for (const key of Object.keys(host.registry)) if (/^SOFTWARE\\Wow6432Node(\\|$)/i.test(key)) delete host.registry[key];
  host.registry['SOFTWARE\\Microsoft\\.NETFramework'].InstallRoot = { type: 'REG_SZ', data: 'C:\\Windows\\Microsoft.NET\\Framework\\' };
  host.dotnet35.file = 'C:\\Windows\\Microsoft.NET\\Framework\\v2.0.50727\\System.dll';
}

/** A file's text: UTF-16LE when it begins with that byte order mark (undo.reg, .reg backups), else UTF-8. */
export function textOf(bytes: Buffer): string {
  return bytes[0] === 0xff && bytes[1] === 0xfe ? bytes.subarray(2).toString('utf16le') : bytes.toString('utf8');
}

/** An `undo.reg` as text: UTF-16LE after its byte order mark (fails when the file is not so). */
export async function readRegFile(file: string): Promise<string> {
  const bytes = await readFile(file);
  if (bytes[0] !== 0xff || bytes[1] !== 0xfe) throw new Error(`${file} does not begin with the UTF-16LE byte order mark`);
  return bytes.subarray(2).toString('utf16le');
}

/**
 * Mounts a tmpfs of `size` at `dir` (made if missing; root only) for `what` (the cases that need a real
 * small or read-only file system): true once mounted — the caller unmounts it. Where it cannot mount,
 * CI counts that as a failure (it runs as root and must run them); elsewhere the case is skipped, said.
 */
export function mountTmpfs(dir: string, size: string, what: string): boolean {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch (error) {
    const why = `cannot mount a tmpfs (${String((error as { stderr?: Buffer }).stderr ?? error).trim().split('\n')[0]}): ${what} needs root`;
    if (process.env.CI) throw new Error(`${why}; CI runs as root and must run it`);
    console.log(`  (skipped: ${why})`);
    return false;
  }
}
