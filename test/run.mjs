/**
 * Runs every test file (test/**\/*.test.ts) with uvu, a few processes at a time, and prints each
 * process's output whole as it ends, then the totals in uvu's own format (the last "Total:" and
 * "Passed:" lines are the whole suite's). The slow files (real processes: PowerShell, sshd, PostgreSQL,
 * child runs, the CLI) run each in its own process, first; the quick ones share two processes, so that Node,
 * tsx and the sources load twice for them instead of once per file (~25 CPU-s less for the suite).
 * A quick file must leave nothing behind that another could trip on (environment, global state).
 * Much of the suite waits on real processes, so they overlap well even on two cores.
 *
 *   node test/run.mjs [pattern]    (npm test builds first)
 */
import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const pattern = new RegExp(process.argv[2] ?? '\\.test\\.ts$');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.test\.ts$/.test(name) && pattern.test(relative(root, path))) files.push(path);
  }
})(join(root, 'test'));

/**
 * The slow files (they start real processes), longest first so that none starts last; `QUICK` marks
 * where the processes of the quick files (the rest) go in that order.
 */
const QUICK = Symbol('the quick files');
const ORDER = ['crash-sweep', 'workers', 'local', 'ssh', 'powershell-remoting', 'examples', QUICK, 'edges', 'cli/store', 'cli.test', 'cli/fleet', 'agent-syntax'];
const slowIndex = (f) => ORDER.findIndex((s) => s !== QUICK && f.includes(s));

/** The jobs: one per slow file, and the quick files dealt into QUICK_PROCESSES processes. */
const QUICK_PROCESSES = 2;
const quick = files.filter((f) => slowIndex(f) < 0);
const jobs = ORDER.flatMap((s) =>
  s === QUICK
    ? Array.from({ length: QUICK_PROCESSES }, (_, i) => quick.filter((_, j) => j % QUICK_PROCESSES === i)).filter((g) => g.length > 0)
    : files.filter((f) => ORDER[slowIndex(f)] === s).map((f) => [f]),
);

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

/** uvu's pattern for exactly these files, by their paths under test/. */
const patternOf = (job) => `^(${job.map((f) => relative(join(root, 'test'), f).replace(/\./g, '\\.')).join('|')})$`;

function runOne(job) {
  const name = job.length === 1 ? relative(root, job[0]) : `${job.length} quick files`;
  return new Promise((resolve) => {
    const began = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'node_modules', 'uvu', 'bin.js'), 'test', patternOf(job)], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group (numbered by its PID): ending a hung file ends what it started too
      // (a PostgreSQL cluster, an sshd, workers), and only that.
      detached: true,
    });
    groups.add(child.pid);
    let out = '';
    // A process that hangs is ended (its process group, by the PID that numbers it) and counted as failed,
    // so that the suite always ends.
    const limit = setTimeout(() => {
      out += `\n${name}: no end after ${FILE_TIMEOUT_MS / 60_000} minutes; stopped\n`;
      endGroup(child.pid);
    }, FILE_TIMEOUT_MS);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      clearTimeout(limit);
      groups.delete(child.pid);
      const text = strip(out);
      const num = (label) => Number(new RegExp(`^\\s*${label}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? 0);
      const t = num('Total');
      const p = num('Passed');
      total += t;
      passed += p;
      skipped += num('Skipped');
      // A file that failed without a failing test (it crashed, or refused to skip in CI) counts as one;
      // so does one that ended without its totals (its event loop emptied while a test still awaited).
      if (!/^\s*Total:/m.test(text)) out += `\n${name}: ended (code ${code}) without its totals: a test never finished\n`;
      if (code !== 0 || code === null || !/^\s*Total:/m.test(text)) {
        failedFiles.push(name);
        if (t === p) total += 1;
      }
      // Each file's own totals are left out, so that the suite's are the only ones.
      process.stdout.write(`${out.replace(/^\s*(Total|Passed|Skipped|Duration):.*$\n?/gm, '')}  (${name}: ${((Date.now() - began) / 1000).toFixed(1)} s)\n\n`);
      resolve();
    });
  });
}

const width = Math.max(2, availableParallelism() + 1);
await Promise.all(
  Array.from({ length: width }, async () => {
    while (next < jobs.length) await runOne(jobs[next++]);
  }),
);
if (failedFiles.length > 0) process.stdout.write(`failed: ${failedFiles.join(', ')}\n`);
process.stdout.write(`\n  Total:     ${total}\n  Passed:    ${passed}\n  Skipped:   ${skipped}\n  Duration:  ${Date.now() - started}ms\n\n`);
removeTmpdir();
process.exitCode = failedFiles.length > 0 ? 1 : 0;
