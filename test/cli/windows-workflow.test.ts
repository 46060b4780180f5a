/**
 * The sequence .github/workflows/windows.yml runs on real Windows — plan, run awaiting a restart
 * window (75), rollback, the touched keys identical — here against a simulated host, so that the
 * workflow's own logic is proven before a Windows runner runs it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { hostOf, makeHost, registryText, tempDir } from '../helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const RUNBOOK = join(ROOT, '.github', 'runbooks', 'tls12-on-a-runner.yaml');

function cli(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the Windows workflow\'s sequence: plan, run awaiting a restart window, rollback restores every touched key', async () => {
  const host = await makeHost('server-2022');
  const state = await tempDir();
  const before = await registryText(host);
  const target = ['--target', `sim:${host}`, '--state-dir', state];
  assert.is(cli(['plan', RUNBOOK, ...target]).code, 0);
  assert.is(await registryText(host), before, 'the plan changed nothing');
  const run = cli(['run', RUNBOOK, ...target]);
  assert.is(run.code, 75, run.stderr + run.stdout);
  const after = await hostOf(host);
  assert.equal(after.registry['SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Server'].Enabled, { type: 'REG_DWORD', data: 0 });
  assert.ok(after.registry['SOFTWARE\\runbook-engine'].RestartOwed, 'the restart marker is there');
  // The waiting run (the plan is a run too, started the same second).
  const status = (JSON.parse(cli(['status', '--state-dir', state, '--json']).stdout) as { runId: string; status: string }[]).find((r) => r.status === 'awaiting-resume')!;
  const rolled = cli(['rollback', status.runId, '--state-dir', state]);
  assert.is(rolled.code, 0, rolled.stderr + rolled.stdout);
  assert.is(await registryText(host), before, 'every touched key as before, the marker key gone');
  assert.ok((await readFile(join(state, 'runs', status.runId, 'report.md'), 'utf8')).includes('rolled back on request'));
});

type Step = { name?: string; run?: string };
const WORKFLOW = join(ROOT, '.github', 'workflows', 'windows.yml');

test('the workflow runs on runner images that exist: windows-2022 and windows-2025 (windows-2019 was retired on 2025-06-30), each with 5.1 and 7', async () => {
  const doc = parse(await readFile(WORKFLOW, 'utf8')) as { jobs: Record<string, { strategy: { matrix: { os: string[]; shell: string[] } } }> };
  const { matrix } = doc.jobs['real-windows'].strategy;
  assert.equal(matrix.os, ['windows-2022', 'windows-2025']);
  assert.equal(matrix.shell, ['powershell.exe', 'pwsh']);
});

test('the workflow runs the read-only self-check on the runner before the plan, and proves it changed no key', async () => {
  const doc = parse(await readFile(WORKFLOW, 'utf8')) as { jobs: Record<string, { steps: Step[] }> };
  const steps = doc.jobs['real-windows'].steps;
  const at = (pattern: RegExp) => steps.findIndex((s) => pattern.test(s.run ?? ''));
  const inspect = at(/main\.js inspect --target local --json/);
  assert.ok(inspect > 0, 'a step runs `runbook inspect --target local --json`');
  assert.ok(at(/before\\protocols\.reg/) < inspect && inspect < at(/main\.js plan /), 'after the keys are exported, before the plan');
  assert.match(steps[inspect].run!, /differs after inspect/);
});

test.run();
