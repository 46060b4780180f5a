/**
 * Runs every test file (test/**\/*.test.ts) with uvu, a few processes at a time, and prints each
 * file's output whole as it ends, then the totals in uvu's own format (the last "Total:" and
 * "Passed:" lines are the whole suite's). The slow files (real processes: PowerShell, sshd, PostgreSQL,
 * child runs, the CLI) run each in its own process, first; the quick ones are handed one at a time to
 * a few processes that ask for the next as they end one (test/quick-files.mjs), so that Node, tsx and
 * the sources load a few times for them instead of once per file (~25 CPU-s less for the suite), and
 * no lane stands idle while another still has a share of them to run.
 * A quick file must leave nothing behind that another could trip on (environment, global state).
 * Much of the suite waits on real processes, so they overlap well even on two cores.
 *
 *   node test/run.mjs [pattern]    (npm test builds first)
 *
 * `RBE_TEST_DIR=<dir>` runs the test files under that folder instead of test/ (test/ci/runner.test.ts
 * runs samples that fail in each way this runner must count); the walk of test/ skips `fixtures`.
 */
import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';

const root = join(import.meta.dirname, '..');
const testRoot = process.env.RBE_TEST_DIR ? resolve(process.env.RBE_TEST_DIR) : join(root, 'test');
const pattern = new RegExp(process.argv[2] ?? '\\.test\\.ts$');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) name !== 'fixtures' && walk(path);
    else if (/\.test\.ts$/.test(name) && pattern.test(relative(root, path))) files.push(path);
  }
})(testRoot);

/**
 * The slow files (they start real processes), longest first so that none starts last; `QUICK` marks
 * where the processes of the quick files (the rest) go in that order.
 */
const QUICK = Symbol('the quick files');
const ORDER = ['crash-sweep', 'workers', 'local', 'ssh', 'powershell-remoting', 'examples', QUICK, 'edges', 'cli/store', 'cli.test', 'cli/fleet', 'agent-syntax'];
const slowIndex = (f) => ORDER.findIndex((s) => s !== QUICK && f.includes(s));

/**
 * The jobs: one per slow file and, where `QUICK` stands, QUICK_PROCESSES processes that take the quick
 * files one at a time as they become free (test/quick-files.mjs). A lane that finds no job left
 * starts one more such process while quick files remain, so that the suite's last minute is spread
 * over every lane rather than run by one process through a share dealt out at the start.
 */
const QUICK_PROCESSES = 2;
const quickFiles = files.filter((f) => slowIndex(f) < 0);
const jobs = ORDER.flatMap((s) =>
  s === QUICK
    ? Array.from({ length: Math.min(QUICK_PROCESSES, quickFiles.length) }, () => QUICK)
    : files.filter((f) => ORDER[slowIndex(f)] === s),
);
let nextQuick = 0;

/**
 * The test processes' temporary folder: one of this run's own in memory (`/dev/shm`, tmpfs) when the
 * machine has it and the caller did not set TMPDIR, removed when the run ends — with whatever the
 * processes the tests killed left there (.NET's debug pipes of a killed PowerShell). The suite makes
 * tens of thousands of journal writes and fsyncs; the crash and resume tests kill processes, not the
 * machine, so a disk adds nothing to what they prove (measured: ~5 % less CPU for the suite).
 */
function memoryTmpdir() {
  if (process.env.TMPDIR) return undefined;
  try {
    accessSync('/dev/shm', constants.W_OK);
    const dir = mkdtempSync('/dev/shm/runbook-engine-test-');
    // Open to every user, sticky, as /tmp is: PostgreSQL's tools run as their own user.
    chmodSync(dir, 0o1777);
    return dir;
  } catch {
    return undefined;
  }
}
const tmpdir = memoryTmpdir();
const env = { ...process.env, ...(tmpdir ? { TMPDIR: tmpdir } : {}) };
// An extra CA bundle (this project's machines set NODE_EXTRA_CA_CERTS to the system's ~140 roots) is
// parsed by every Node process when it starts: ~80 ms of CPU each (`node -e 0` 38 ms without it, 115 ms
// with), and the suite starts hundreds. No test verifies a certificate against a public CA (the
// handshake prober takes any certificate; PostgreSQL and sshd listen on loopback), so the test
// processes go without it.
delete env.NODE_EXTRA_CA_CERTS;
// The PowerShell that `.ci/setup-test-deps` (npm test's pretest) installs, for the test processes and
// whatever they start, unless the caller named one: no one has to export RUNBOOK_PWSH by hand.
const toolsPwsh = join(root, '.tools', 'pwsh', 'pwsh');
if (!env.RUNBOOK_PWSH && executable(toolsPwsh)) env.RUNBOOK_PWSH = toolsPwsh;
function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
const removeTmpdir = () => tmpdir && rmSync(tmpdir, { recursive: true, force: true, maxRetries: 2 });

const FILE_TIMEOUT_MS = 15 * 60_000;
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
const started = Date.now();
let total = 0;
let passed = 0;
let skipped = 0;
let failedFiles = [];
let next = 0;

/** The process groups of the test files running now. */
const groups = new Set();

function endGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

// Ctrl-C reaches this process only (the files have groups of their own): it ends theirs, then itself.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const pid of groups) endGroup(pid);
    removeTmpdir();
    process.exit(130);
  });
}

/** uvu's pattern for exactly this file, by its path under test/. */
const patternOf = (file) => `^${relative(testRoot, file).replace(/\./g, '\\.')}$`;

/**
 * Counts a file's tests from uvu's totals in its output and prints the output whole, without those
 * totals (the suite's are the only ones printed). A file that failed without a failing test (it
 * crashed, or refused to skip in CI) counts as one failure; so does one that ended without its totals
 * (its event loop emptied while a test still awaited, or its process died).
 */
function account(name, output, ok, seconds, ending = '') {
  let out = output;
  const text = strip(out);
  const num = (label) => Number(new RegExp(`^\\s*${label}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const t = num('Total');
  const p = num('Passed');
  total += t;
  passed += p;
  skipped += num('Skipped');
  const hasTotals = /^\s*Total:/m.test(text);
  if (!hasTotals) out += `\n${name}: ${ending || 'ended'} without its totals: a test never finished\n`;
  if (!ok || !hasTotals) {
    failedFiles.push(name);
    if (t === p) total += 1;
  }
  process.stdout.write(`${out.replace(/^\s*(Total|Passed|Skipped|Duration):.*$\n?/gm, '')}  (${name}: ${seconds.toFixed(1)} s)\n\n`);
}

/**
 * Starts a test process in a process group of its own (numbered by its PID: ending a hung process ends
 * what it started too — a PostgreSQL cluster, an sshd, workers — and only that); one that does not end
 * within FILE_TIMEOUT_MS is ended, and what it was running counts as failed, so that the suite always ends.
 */
function startProcess(args, ipc, onTimeout) {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])],
    detached: true,
  });
  groups.add(child.pid);
  const limit = setTimeout(() => {
    onTimeout(`no end after ${FILE_TIMEOUT_MS / 60_000} minutes; stopped`);
    endGroup(child.pid);
  }, FILE_TIMEOUT_MS);
  child.on('close', () => {
    clearTimeout(limit);
    groups.delete(child.pid);
  });
  return child;
}

/** A slow file, in a process of its own. */
function runOne(file) {
  const name = relative(root, file);
  return new Promise((resolve) => {
    const began = Date.now();
    let out = '';
    const child = startProcess([join(root, 'node_modules', 'uvu', 'bin.js'), testRoot, patternOf(file)], false, (why) => (out += `\n${name}: ${why}\n`));
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      account(name, out, code === 0, (Date.now() - began) / 1000, `ended (code ${code})`);
      resolve();
    });
  });
}

/**
 * A process of quick files (test/quick-files.mjs): it is given the next quick file each time it asks,
 * ends each file's output with a line that starts with FILE_END, and each file is counted and printed as
 * it ends. A file it was given and did not end (the process died or hung in it) counts as failed.
 */
const FILE_END = '\u001erbe-file-end ';
function runQuick() {
  if (nextQuick >= quickFiles.length) return Promise.resolve();
  return new Promise((resolve) => {
    /** The files given to the process and not ended yet, with when each was given. */
    const given = new Map();
    let buffer = '';
    let stderr = '';
    let stopped = '';
    const child = startProcess([join(root, 'test', 'quick-files.mjs'), FILE_END], true, (why) => (stopped = why));
    child.on('message', () => {
      if (nextQuick < quickFiles.length) {
        const file = quickFiles[nextQuick++];
        given.set(file, Date.now());
        child.send({ file, name: relative(testRoot, file) });
      } else child.send({});
    });
    child.stdout.on('data', (d) => {
      buffer += d;
      for (let at = buffer.indexOf(FILE_END); at >= 0; at = buffer.indexOf(FILE_END)) {
        const lineEnd = buffer.indexOf('\n', at);
        if (lineEnd < 0) break;
        const [status, ...path] = buffer.slice(at + FILE_END.length, lineEnd).split(' ');
        const file = path.join(' ');
        account(relative(root, file), buffer.slice(0, at), status === 'passed', (Date.now() - given.get(file)) / 1000);
        given.delete(file);
        buffer = buffer.slice(lineEnd + 1);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    // IPC errors (the process gone as it is answered) are seen as its end.
    child.on('error', () => {});
    child.on('close', (code) => {
      const rest = buffer + stderr;
      if (given.size === 0 && rest.trim()) process.stdout.write(`${rest}\n`);
      for (const [file, at] of given) account(relative(root, file), rest, false, (Date.now() - at) / 1000, stopped || `its process ended (code ${code})`);
      resolve();
    });
  });
}

/** How many test processes run at a time: one more than the cores (`RBE_LANES=N` sets another number). */
const width = Number(process.env.RBE_LANES) || Math.max(2, availableParallelism() + 1);
await Promise.all(
  Array.from({ length: width }, async () => {
    while (next < jobs.length || nextQuick < quickFiles.length) {
      const job = next < jobs.length ? jobs[next++] : QUICK;
      await (job === QUICK ? runQuick() : runOne(job));
    }
  }),
);
if (failedFiles.length > 0) process.stdout.write(`failed: ${failedFiles.join(', ')}\n`);
process.stdout.write(`\n  Total:     ${total}\n  Passed:    ${passed}\n  Skipped:   ${skipped}\n  Duration:  ${Date.now() - started}ms\n\n`);
removeTmpdir();
process.exitCode = failedFiles.length > 0 ? 1 : 0;
