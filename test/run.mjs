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
/** The quick files not yet given to a process (one that dies before starting its file gives it back). */
const quickQueue = files.filter((f) => slowIndex(f) < 0);
const jobs = ORDER.flatMap((s) =>
  s === QUICK
    ? Array.from({ length: Math.min(QUICK_PROCESSES, quickQueue.length) }, () => QUICK)
    : files.filter((f) => ORDER[slowIndex(f)] === s),
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

/** A file's time limit (`RBE_FILE_TIMEOUT_MS` sets another: test/ci/runner.test.ts's samples). */
const FILE_TIMEOUT_MS = Number(process.env.RBE_FILE_TIMEOUT_MS) || 15 * 60_000;
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
 * Counts a file's tests from uvu's totals in its output (the last ones: a test may print another run's)
 * and prints the output whole, without those totals (the suite's are the only ones printed). A file
 * that failed without a failing test (it crashed, or refused to skip in CI) counts as one failure; so
 * does one that ended without its totals (its event loop emptied while a test still awaited, or its
 * process died).
 */
function account(name, output, ok, seconds, ending = '', died = false) {
  let out = output;
  const text = strip(out);
  const num = (label) => Number([...text.matchAll(new RegExp(`^\\s*${label}:\\s*(\\d+)`, 'gm'))].at(-1)?.[1] ?? 0);
  const t = num('Total');
  const p = num('Passed');
  total += t;
  passed += p;
  skipped += num('Skipped');
  const hasTotals = /^\s*Total:/m.test(text);
  if (!hasTotals) out += `\n${name}: ${ending || 'ended'} without its totals: a test never finished\n`;
  else if (died) out += `\n${name}: ${ending} after its tests\n`;
  if (!ok || !hasTotals) {
    failedFiles.push(name);
    if (t === p) total += 1;
  }
  process.stdout.write(`${out.replace(/^\s*(Total|Passed|Skipped|Duration):.*$\n?/gm, '')}  (${name}: ${seconds.toFixed(1)} s)\n\n`);
}

/** One more failure, for a file already counted: what its process did after its tests ended. */
function failAfter(name, why, output) {
  failedFiles.push(name);
  total += 1;
  process.stdout.write(`${output}\n${name}: ${why}\n\n`);
}

const stopped = `no end after ${FILE_TIMEOUT_MS / 1000} s; stopped`;

/**
 * Starts a test process in a process group of its own (numbered by its PID: ending a hung process ends
 * what it started too — a PostgreSQL cluster, an sshd, workers — and only that). `limit(onTimeout)`
 * (re)arms its time limit: once FILE_TIMEOUT_MS pass without another call, the group is ended and
 * `onTimeout` says what it was running, so that the suite always ends. On POSIX its standard error is
 * its standard output (one pipe, in the order written: a file's output stays with the file, whatever
 * wrote it, a child process included).
 */
function startProcess(args, ipc) {
  const argv = [process.execPath, '--import', 'tsx', ...args];
  const merged = ipc && process.platform !== 'win32';
  const child = spawn(merged ? '/bin/sh' : argv[0], merged ? ['-c', 'exec "$0" "$@" 2>&1', ...argv] : argv.slice(1), {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])],
    detached: true,
  });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  groups.add(child.pid);
  let timer;
  child.on('close', () => {
    clearTimeout(timer);
    groups.delete(child.pid);
  });
  const limit = (onTimeout) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      onTimeout();
      endGroup(child.pid);
    }, FILE_TIMEOUT_MS);
  };
  return { child, limit };
}

/** A slow file, in a process of its own. */
function runOne(file) {
  const name = relative(root, file);
  return new Promise((resolve) => {
    const began = Date.now();
    let out = '';
    const { child, limit } = startProcess([join(root, 'node_modules', 'uvu', 'bin.js'), testRoot, patternOf(file)], false);
    limit(() => (out += `\n${name}: ${stopped}\n`));
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      account(name, out, code === 0, (Date.now() - began) / 1000, `ended (code ${code})`);
      resolve();
    });
  });
}

/**
 * A process of quick files (test/quick-files.mjs). Each time it asks, it is given the next quick file;
 * it writes a line starting with MARK + 'start ' before it loads the file and one starting with
 * MARK + 'end ' after the file's tests, and each file is counted and printed as it ends. Each file has
 * FILE_TIMEOUT_MS. When the process dies:
 * - in a file (started, not ended): that file failed;
 * - between files, or after its last without ending cleanly (a timer or a rejection a file left
 *   behind, an exit code, a signal): the file that ended last failed after its tests;
 * - a file given to it and not started goes back to the queue, for the next process;
 * - one that does not end within FILE_TIMEOUT_MS once it has no file left (a file left its event loop
 *   alive: an interval, a socket, a child, and which one cannot be told): one failure, named by the
 *   number of files it ran and the last of them.
 */
const MARK = '\u001erbe-file ';
function runQuick() {
  if (quickQueue.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const { child, limit } = startProcess([join(root, 'test', 'quick-files.mjs'), MARK], true);
    /** The file given and not started, the file under way (and when it began), the file that ended last. */
    let given;
    let current;
    let began = 0;
    let ended;
    let files = 0;
    let done = false;
    let hung = false;
    let buffer = '';
    let stderr = '';
    child.on('message', (message) => {
      if (!message?.next) return;
      given = quickQueue.shift();
      done = !given;
      limit(() => (hung = true));
      child.send(given ? { file: given, name: relative(testRoot, given) } : {});
    });
    child.stdout.on('data', (d) => {
      buffer += d;
      for (let at = buffer.indexOf(MARK); at >= 0; at = buffer.indexOf(MARK)) {
        const lineEnd = buffer.indexOf('\n', at);
        if (lineEnd < 0) break;
        const [what, status, ...path] = buffer.slice(at + MARK.length, lineEnd).split(' ');
        const before = buffer.slice(0, at);
        buffer = buffer.slice(lineEnd + 1);
        if (what === 'start') {
          // What came before a file's start is the process's own, or what the last file left behind.
          if (before.trim()) process.stdout.write(`${before}\n`);
          current = [status, ...path].join(' ');
          given = undefined;
          began = Date.now();
        } else {
          account(relative(root, current), before, status === 'passed', (Date.now() - began) / 1000);
          ended = current;
          current = undefined;
          files += 1;
        }
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    // IPC errors (the process gone as it is answered) are seen as its end.
    child.on('error', () => {});
    child.on('close', (code, signal) => {
      const rest = buffer + stderr;
      const exit = `its process ended (${signal ? `signal ${signal}` : `code ${code}`})`;
      const how = hung ? stopped : exit;
      // A file given and not started goes back to the queue — unless the process never started one:
      // then the file is charged, so that a process that cannot start is not started again forever.
      if (given && (ended || current)) quickQueue.unshift(given);
      else if (given) account(relative(root, given), rest, false, 0, `${exit} before the file started`);
      if (current) account(relative(root, current), rest, false, (Date.now() - began) / 1000, how, true);
      else if (done && hung && ended) {
        // It had no file left and did not end: one of its files left its event loop alive (an
        // interval, a socket, a child), and which one cannot be told.
        failAfter(`the process that ran ${files} quick file(s) (the last: ${relative(root, ended)})`, `${how}: a file it ran left its event loop alive (an interval, a socket, a child)`, rest);
      } else if (!done || code !== 0 || signal || hung) {
        if (ended) failAfter(relative(root, ended), `${how} after its tests had ended: something it left behind (a timer, a rejection) failed`, rest);
        else if (!given) failAfter('a process of quick files', `${how} before its first file`, rest);
      } else if (rest.trim()) process.stdout.write(`${rest}\n`);
      resolve();
    });
  });
}

/** How many test processes run at a time: one more than the cores (`RBE_LANES=N` sets another number). */
const width = Number(process.env.RBE_LANES) || Math.max(2, availableParallelism() + 1);
await Promise.all(
  Array.from({ length: width }, async () => {
    while (next < jobs.length || quickQueue.length > 0) {
      const job = next < jobs.length ? jobs[next++] : QUICK;
      await (job === QUICK ? runQuick() : runOne(job));
    }
  }),
);
if (failedFiles.length > 0) process.stdout.write(`failed: ${failedFiles.join(', ')}\n`);
process.stdout.write(`\n  Total:     ${total}\n  Passed:    ${passed}\n  Skipped:   ${skipped}\n  Duration:  ${Date.now() - started}ms\n\n`);
removeTmpdir();
process.exitCode = failedFiles.length > 0 ? 1 : 0;
