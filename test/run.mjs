/**
 * Runs every test file (test/**\/*.test.ts) with uvu, each in its own process, a few at a time, and
 * prints each file's output whole as it finishes, then the totals in uvu's own format (the last
 * "Total:" and "Passed:" lines are the whole suite's). Much of the suite waits on real processes —
 * PowerShell, sshd, child runs — so files overlap well even on two cores.
 *
 *   node test/run.mjs [pattern]    (npm test builds first)
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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

// The longest first, so that they do not start last.
const SLOW = ['crash-sweep', 'workers', 'ssh', 'edges', 'local', 'powershell-remoting', 'cli.test', 'examples', 'agent-syntax'];
const weight = (f) => {
  const i = SLOW.findIndex((s) => f.includes(s));
  return i < 0 ? SLOW.length : i;
};
files.sort((a, b) => weight(a) - weight(b));

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
    process.exit(130);
  });
}

function runOne(file) {
  return new Promise((resolve) => {
    const began = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'node_modules', 'uvu', 'bin.js'), relative(root, file).replace(/[^/]+$/, ''), `^${file.split('/').pop().replace(/\./g, '\\.')}$`], {
      cwd: root,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group (numbered by its PID): ending a hung file ends what it started too
      // (a PostgreSQL cluster, an sshd, workers), and only that.
      detached: true,
    });
    groups.add(child.pid);
    let out = '';
    // A file that hangs is ended (its process group, by the PID that numbers it) and counted as failed,
    // so that the suite always ends.
    const limit = setTimeout(() => {
      out += `\n${relative(root, file)}: no end after ${FILE_TIMEOUT_MS / 60_000} minutes; stopped\n`;
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
      if (!/^\s*Total:/m.test(text)) out += `\n${relative(root, file)}: ended (code ${code}) without its totals: a test never finished\n`;
      if (code !== 0 || code === null || !/^\s*Total:/m.test(text)) {
        failedFiles.push(relative(root, file));
        if (t === p) total += 1;
      }
      // Each file's own totals are left out, so that the suite's are the only ones.
      process.stdout.write(`${out.replace(/^\s*(Total|Passed|Skipped|Duration):.*$\n?/gm, '')}  (${relative(root, file)}: ${((Date.now() - began) / 1000).toFixed(1)} s)\n\n`);
      resolve();
    });
  });
}

const width = Math.max(2, availableParallelism() + 1);
await Promise.all(
  Array.from({ length: width }, async () => {
    while (next < files.length) await runOne(files[next++]);
  }),
);
if (failedFiles.length > 0) process.stdout.write(`failed: ${failedFiles.join(', ')}\n`);
process.stdout.write(`\n  Total:     ${total}\n  Passed:    ${passed}\n  Skipped:   ${skipped}\n  Duration:  ${Date.now() - started}ms\n\n`);
process.exitCode = failedFiles.length > 0 ? 1 : 0;
