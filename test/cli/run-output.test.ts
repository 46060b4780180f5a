/**
 * A run's output in a pipe (the built CLI, stdout piped: `npm run build` first): one line per step
 * outcome — host, step, outcome, time, summary — between the heading and the summary; no state of a
 * step's machine, no line twice. On a terminal: the live block (see live.test.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli } from './run-cli.js';
import { writeFile } from 'node:fs/promises';
import { hostOf, makeHost, restartRefused, tempDir } from '../helpers.js';
import { hostLabel } from '../../src/cli/run-output.js';

const FAST = ['--param', 'pollIntervalMs=10'];
const STEPS = ['preflight', 'tls-baseline', 'backup', 'dotnet', 'schannel', 'winhttp', 'hotfix', 'restart', 'ip-verify', 'tls-verify'];

/** The lines between the heading ("Running …") and the summary's blank line. */
const stepLines = (stdout: string) => stdout.split('\n\n')[0].split('\n').slice(1);

test('piped, a run prints exactly one line per step outcome: host, step, outcome, time, summary', async () => {
  const host = await makeHost('server-2016');
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', await tempDir(), ...FAST]);
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^Running orchestrator-tls12 → sim:/);
  const lines = stepLines(r.stdout);
  assert.equal(lines.map((l) => l.split(/\s+/)[1]), STEPS, lines.join('\n'));
  for (const line of lines) assert.match(line, /^host +[a-z-]+ +(changed|ok) +\d+\.\ds {2}\S/, line);
  assert.match(lines[4], /^host +schannel +changed +\d+\.\ds {2}SCHANNEL protocols: 20 value\(s\) changed/);
  assert.match(lines[7], /^host +restart +changed +\d+\.\ds {2}restarted: booted .* ready after \d+ poll\(s\)/);
  assert.not.match(r.stdout, /probing|planning|verifying|awaitBoot|step \w+:/, 'no state of a step machine');
  assert.match(r.stdout, /\nResult: changed\n/);
});

test('piped, a failing run prints the failed step with why it failed, then one line per step it rolled back', async () => {
  const host = await makeHost('server-2016', restartRefused);
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', await tempDir(), ...FAST]);
  assert.is(r.code, 1, r.stderr + r.stdout);
  const lines = stepLines(r.stdout);
  const failed = lines.findIndex((l) => / restart +failed /.test(l));
  assert.ok(failed > 0, lines.join('\n'));
  // The failed step's line says why it failed (its error, as under "Result:"), not what it had planned.
  assert.match(lines[failed], /restart +failed +\d+\.\ds {2}injected permanent fault on restart/);
  assert.match(r.stdout, /Error: injected permanent fault on restart/);
  const undone = lines.slice(failed + 1);
  assert.ok(undone.length > 0 && undone.every((l) => /^host +[a-z-]+ +rolled-back +\d+\.\ds/.test(l)), undone.join('\n'));
  assert.is(new Set(lines).size, lines.length, 'no line twice');
  assert.match(r.stdout, /Result: failed and rolled back/);
});

test('piped, a rollback that fails keeps the columns: the outcome is one field and the fourth is the time', async () => {
  const host = await makeHost('server-2016');
  const state = await tempDir();
  const ran = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, '--json', ...FAST]);
  assert.is(ran.code, 0, ran.stderr + ran.stdout);
  const runId = JSON.parse(ran.stdout.trim().split('\n').at(-1)!).runId as string;
  // The undos under SCHANNEL and .NETFramework are refused: those steps end `rollback failed`.
  const faulted = await hostOf(host);
  for (const keyContains of ['SCHANNEL', '.NETFramework']) for (const op of ['registry.set', 'registry.deleteValue', 'registry.deleteKey'] as const) faulted.faults.push({ op, keyContains, kind: 'permanent', times: 1000 });
  await writeFile(host, JSON.stringify(faulted));
  const r = await cli(['rollback', runId, '--state-dir', state]);
  assert.is(r.code, 3, r.stderr + r.stdout);
  const lines = stepLines(r.stdout);
  assert.ok(lines.some((l) => / schannel +rollback-failed /.test(l)), lines.join('\n'));
  for (const line of lines) {
    const fields = line.split(/\s+/);
    assert.match(fields[2], /^(rolled-back|rollback-failed)$/, line);
    assert.match(fields[3], /^\d+\.\ds$/, line);
  }
});

test('a rollback whose target is gone warns once per step with how many undos failed and why, not once per value; the journal keeps each attempt', async () => {
  // The host goes down for its restart and never comes back: the run fails, and every undo with it.
  const host = await makeHost('server-2016', (h) => {
    h.downtimeMs = 1e12;
  });
  const state = await tempDir();
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST, '--param', 'restartTimeoutSeconds=1']);
  assert.is(r.code, 3, r.stderr + r.stdout);
  const warnings = r.stderr.split('\n').filter((l) => / failed \(/.test(l) && !/, retrying$/.test(l));
  const steps = warnings.map((l) => l.split(/\s+/)[1]);
  assert.is(new Set(steps).size, steps.length, `one line per step:\n${warnings.join('\n')}`);
  const schannel = warnings.find((l) => / schannel: /.test(l));
  assert.match(schannel!, /^host schannel: \d+ undo attempts failed \(the host does not answer \(it is restarting\)[^\n]*\); each is in the journal$/);
  const n = Number(schannel!.match(/(\d+) undo attempts/)![1]);
  assert.ok(n > 20, schannel);
  const { readFile, readdir } = await import('node:fs/promises');
  const [runId] = await readdir(`${state}/runs`);
  const journal = await readFile(`${state}/runs/${runId}/journal.jsonl`, 'utf8');
  const attempts = journal.split('\n').filter((l) => l.includes('"step.attempt"') && l.includes('"stepId":"schannel"') && l.includes('"willRetry":false'));
  assert.is(attempts.length, n, 'each attempt is in the journal');
});

test('a pipe line names a target by its host, a simulated host by its file', () => {
  assert.is(hostLabel('winrm+https://admin@web01.corp:5986'), 'web01.corp');
  assert.is(hostLabel('ssh://admin@[fe80::1]:22'), 'fe80::1');
  assert.is(hostLabel('sim:/tmp/hosts/host-1.json'), 'host-1');
  assert.is(hostLabel('local'), 'local');
});

test.run();
