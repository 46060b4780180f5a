/**
 * A reader that goes away (`runbook run … | head -5`, EPIPE): a command that drives runs stops at the
 * next safe point as one SIGINT does — exit 75, its report, undo files and summary written, a resume
 * finishes — instead of dying between a change and its record with exit 0. A command that only reads
 * still ends at once (edges.test.ts: `list | head -1`).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, cli } from './run-cli.js';
import { makeHost, tempDir } from '../helpers.js';

const FAST = ['--param', 'pollIntervalMs=10'];

/**
 * The CLI with its stdout (and, with `both`, its stderr: `2>&1 | head`) closed by the reader once a line
 * matching `after` was read, as `head` closes its end of the pipe.
 */
function closedEarly(args: string[], after: RegExp, both = false): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const limit = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (after.test(stdout) && !child.stdout.destroyed) {
        child.stdout.destroy();
        if (both) child.stderr.destroy();
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

test('run | head: the run stops at its next safe point (exit 75) with its report, undo files and summary written, and a resume finishes it', async () => {
  // Slow enough that the run is still changing the host when the reader leaves.
  const host = await makeHost('server-2016', (h) => {
    h.latencyMs = 40;
  });
  const state = await tempDir();
  const r = await closedEarly(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST], /^host +backup +changed /m);
  assert.is(r.code, 75, r.stderr + r.stdout);
  const [runId] = await readdir(join(state, 'runs'));
  assert.ok(r.stderr.includes(`stdout was closed (its reader ended): stopping at the next safe point, as one SIGINT does; further output is discarded; \`runbook resume ${runId}\` continues from the journal`), r.stderr);
  assert.not.match(r.stderr, /\n\s+at .+:\d+:\d+/);
  for (const file of ['report.json', 'report.md', 'summary.json', 'undo.reg', 'undo.ps1']) assert.ok(existsSync(join(state, 'runs', runId, file)), file);
  const status = await cli(['status', runId, '--state-dir', state, '--json']);
  assert.is(JSON.parse(status.stdout).status, 'awaiting-resume', status.stdout);
  const resumed = await cli(['resume', runId, '--state-dir', state]);
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
  assert.is(JSON.parse(await readFile(host, 'utf8')).restarts, 1);
});

test('run 2>&1 | head: stdout and stderr both closed, the run still stops at a safe point with exit 75', async () => {
  const host = await makeHost('server-2016', (h) => {
    h.latencyMs = 40;
  });
  const state = await tempDir();
  const r = await closedEarly(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST, '--json'], /"event":"step:settled"[^\n]*"stepId":"backup"/, true);
  assert.is(r.code, 75, r.stdout.slice(-500));
  assert.not.match(r.stdout, /"event":"summary"/, 'nothing read after the reader left');
  const [runId] = await readdir(join(state, 'runs'));
  const summary = JSON.parse(await readFile(join(state, 'runs', runId, 'summary.json'), 'utf8'));
  assert.is(summary.summary.status, 'awaiting-resume');
});

test('a fleet | head: the fleet stops at a safe point awaiting its resume (exit 75), and resume <fleet-id> finishes every host', async () => {
  const dir = await tempDir();
  const made = await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '3', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  assert.is(made.code, 0, made.stderr);
  const state = join(dir, 'state');
  const r = await closedEarly(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, ...FAST], /^host-1 +backup +changed /m);
  assert.is(r.code, 75, r.stderr + r.stdout);
  const [fleetId] = await readdir(join(state, 'fleets'));
  assert.ok(r.stderr.includes(`stdout was closed (its reader ended): stopping the fleet at a safe point`), r.stderr);
  assert.ok(r.stderr.includes(`\`runbook resume ${fleetId}\` goes on`), r.stderr);
  const resumed = await cli(['resume', fleetId, '--state-dir', state]);
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
  for (const n of [1, 2, 3]) assert.is(JSON.parse(await readFile(join(dir, 'fleet', `host-${n}.json`), 'utf8')).restarts, 1, `host-${n}`);
});

test('plan | head takes leases too: it stops as one SIGINT does (exit 75), never dying with its lease held', async () => {
  const host = await makeHost('server-2016', (h) => {
    h.latencyMs = 40;
  });
  const state = await tempDir();
  const r = await closedEarly(['plan', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST], /^host +preflight /m);
  assert.is(r.code, 75, r.stderr + r.stdout);
  assert.match(r.stderr, /stdout was closed \(its reader ended\): stopping at the next safe point/);
  const [runId] = await readdir(join(state, 'runs'));
  assert.ok(existsSync(join(state, 'runs', runId, 'summary.json')));
});

test.run();
