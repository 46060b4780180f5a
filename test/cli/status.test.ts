/**
 * `runbook status` as a job view over a state directory: what it lists when part of it is damaged.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { sim } from './sim-in-process.js';
import { tempDir } from '../helpers.js';

test('status with one fleet record damaged still lists the other fleets and every run, that fleet marked damaged with why; outcomes read as the fleet lines say them, --json keeps their keys', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet')]);
  const state = join(dir, 'state');
  for (let i = 0; i < 2; i++) assert.is((await cli(['plan', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state])).code, 0);
  const [damaged, whole] = (await readdir(join(state, 'fleets'))).sort();
  await writeFile(join(state, 'fleets', damaged, 'fleet.json'), '{"format": 1, "fleetId": ');
  const r = await cli(['status', '--state-dir', state]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`${damaged} +- +\\?: damaged — fleet ${damaged} cannot be read`));
  assert.match(r.stdout, new RegExp(`${whole} +orchestrator-tls12 +2: 2 changes pending`));
  const runRows = r.stdout.split('\n').filter((l) => l.includes('.host-'));
  assert.is(runRows.length, 4, 'every run is listed');
  for (const row of runRows) assert.is(row.split(/ {2,}/)[1], 'changes pending', `an outcome in the words of the fleet lines, not its key: ${row}`);
  assert.not.match(r.stdout, /changes-pending/);
  assert.is((await cli(['status', '--state-dir', state, '--fleet', whole])).code, 0);
  const matrix = await cli(['status', whole, '--state-dir', state]);
  assert.match(matrix.stdout, /: 2 changes pending\n/);
  assert.match(matrix.stdout, /\n\S+ +host-1 +changes pending +/, 'the matrix says it in the same words');
  assert.not.match(matrix.stdout, /changes-pending/);
  const json = JSON.parse((await cli(['status', '--state-dir', state, '--json'])).stdout) as { outcome: string }[];
  assert.equal([...new Set(json.map((j) => j.outcome))], ['changes-pending'], '--json keeps the keys');
  assert.is((await cli(['status', '--state-dir', state, '--status', 'changes-pending'])).code, 0, '--status filters by key');
  const one = await cli(['status', '--state-dir', state, damaged]);
  assert.is(one.code, 2, 'the damaged fleet itself is refused, naming its file');
  assert.match(one.stderr, /fleet\.json/);
});

test('a run whose driver died is listed as interrupted (lease expired) with no end time: it never ended', async () => {
  const dir = await tempDir();
  await sim(['create', '--preset', 'server-2016', '--out', join(dir, 'host.json')]);
  const state = join(dir, 'state');
  const killed = await cli(['run', 'orchestrator-tls12', '--target', `sim:${join(dir, 'host.json')}`, '--state-dir', state, '--param', 'pollIntervalMs=10'], { RUNBOOK_CRASH_AFTER: '20' });
  assert.is(killed.code, null, 'killed');
  const list = await cli(['status', '--state-dir', state]);
  assert.is(list.code, 0, list.stderr);
  const row = list.stdout.split('\n').find((l) => l.includes('orchestrator-tls12-'))!;
  const cells = row.split(/ {2,}/);
  assert.is(cells[1], 'interrupted (lease expired)', row);
  assert.match(cells[3], /^\d{4}-\d\d-\d\dT/, 'started');
  assert.is(cells[4], '-', `no end time: ${row}`);
});

test('status of a run whose rollback failed says what is still changed, where its undo files are and the command that retries: a fleet sends the operator there', async () => {
  const dir = await tempDir();
  const host = join(dir, 'host.json');
  await sim(['create', '--preset', 'server-2016', '--out', host]);
  // The restart is refused for good (the run fails after its writes) and so is every SCHANNEL undo (each deletes what the run created).
  const doc = JSON.parse(await readFile(host, 'utf8'));
  doc.faults = [
    { op: 'restart', kind: 'permanent', times: 1000 },
    ...['registry.deleteValue', 'registry.deleteKey'].map((op) => ({ op, keyContains: 'SCHANNEL', kind: 'permanent', times: 1000 })),
  ];
  await writeFile(host, JSON.stringify(doc));
  const state = join(dir, 'state');
  const ran = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, '--param', 'pollIntervalMs=10']);
  assert.is(ran.code, 3, ran.stderr);
  const runId = /\(run (\S+)\)/.exec(ran.stdout)![1];
  const left = /still changed on the target \((\d+)\)/.exec(ran.stdout)![1];
  const one = await cli(['status', runId, '--state-dir', state]);
  assert.is(one.code, 0, one.stderr);
  assert.match(one.stdout, `still changed on the target (${left}):`);
  assert.match(one.stdout, /\+ HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1\.0\\Server \(64-bit view\) Enabled: \(absent\) → 0x00000000 \(0\)/);
  const runDir = join(state, 'runs', runId);
  assert.match(one.stdout, `to undo on the target's console: ${join(runDir, 'undo.reg')} (reg import) or ${join(runDir, 'undo.ps1')}, then restart`);
  assert.match(one.stdout, `runbook rollback ${runId} --state-dir ${state} retries the undos that failed`);
});

test('status of an interrupted run says what it changed so far and how to go on or undo it', async () => {
  const dir = await tempDir();
  const host = join(dir, 'host.json');
  await sim(['create', '--preset', 'server-2016', '--out', host]);
  const state = join(dir, 'state');
  // A restart window: the run writes its values, then waits for `resume --allow-restart`.
  const ran = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, '--param', 'allowRestart=false']);
  assert.is(ran.code, 75, ran.stderr);
  const runId = /\(run (\S+)\)/.exec(ran.stdout)![1];
  const one = await cli(['status', runId, '--state-dir', state]);
  assert.match(one.stdout, /still changed on the target \(\d+\):/);
  assert.match(one.stdout, `continue with: runbook resume ${runId} --allow-restart --state-dir ${state}`);
  assert.match(one.stdout, `or undo it:    runbook rollback ${runId} --state-dir ${state}`);
});

/** `dir` seen read-only at a new path (a read-only bind mount: root only; as root, file modes stop nothing). */
function readOnlyView(dir: string, at: string): boolean {
  mkdirSync(at, { recursive: true });
  try {
    execFileSync('mount', ['--bind', dir, at], { stdio: 'pipe' });
    execFileSync('mount', ['-o', 'remount,bind,ro', at], { stdio: 'pipe' });
    return true;
  } catch (error) {
    const why = `cannot bind-mount read-only (${String((error as { stderr?: Buffer }).stderr ?? error).trim()}): needs root`;
    if (process.env.CI === 'true') throw new Error(`${why}; CI runs as root and must run it`);
    console.log(`  skipped: ${why}`);
    return false;
  }
}

test('status on a read-only state directory: the list, a run and a fleet matrix, columns aligned with a long step id, the matrix\'s step headers distinct', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet')]);
  const state = join(dir, 'state');
  const long = 'a-step-whose-id-is-longer-than-any-column-header';
  await writeFile(join(dir, 'long.yaml'), `name: long-ids\nsteps:\n  - id: ${long}\n    uses: tls/handshakes\n    with: { role: baseline }\n  - id: b\n    uses: tls/handshakes\n    with: { role: baseline }\n`);
  assert.is((await cli(['run', join(dir, 'long.yaml'), '--target', `sim:${join(dir, 'fleet', 'host-1.json')}`, '--state-dir', state])).code, 0);
  assert.is((await cli(['plan', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state])).code, 0);
  const ro = join(dir, 'ro');
  if (!readOnlyView(state, ro)) return;
  try {
    const list = await cli(['status', '--state-dir', ro]);
    assert.is(list.code, 0, list.stderr);
    const lines = list.stdout.split('\n');
    const head = lines.findIndex((l) => l.startsWith('RUN '));
    const at = (l: string, word: string) => l.indexOf(word);
    for (const row of lines.slice(head + 1).filter(Boolean)) assert.is(at(row, 'sim:'), at(lines[head], 'TARGET'), `aligned: ${row}`);
    const [runId] = (await readdir(join(ro, 'runs'))).filter((r) => r.includes('long-ids'));
    const one = await cli(['status', runId, '--state-dir', ro]);
    assert.is(one.code, 0, one.stderr);
    const steps = one.stdout.split('\n').filter((l) => /^  (a-step|b ) ?/.test(l));
    assert.is(steps.length, 2);
    assert.is(steps[0].indexOf('succeeded'), steps[1].indexOf('succeeded'), 'the status column stays aligned after a long step id');
    const [fleetId] = await readdir(join(ro, 'fleets'));
    const matrix = await cli(['status', fleetId, '--state-dir', ro]);
    assert.is(matrix.code, 0, matrix.stderr);
    const header = matrix.stdout.split('\n').find((l) => l.startsWith('wave'))!.trim().split(/\s+/).slice(3);
    assert.is(new Set(header).size, header.length, `distinct step headers: ${header.join(' ')}`);
    assert.match(matrix.stdout, /steps: 1 preflight, 2 tls-baseline, 3 backup/);
  } finally {
    execFileSync('umount', [ro]);
  }
});

test('an id made only of dots is refused by status, resume and rollback with what an id is and where the ids are listed, no stack', async () => {
  const state = join(await tempDir(), 'state');
  for (const args of [['status', '..'], ['status', '.'], ['resume', '--', '..'], ['rollback', '--', '...']]) {
    const r = await cli([args[0], '--state-dir', state, ...args.slice(1)]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error: "\.+" is not a run id: an id is made of letters, digits, "\.", "_" and "-", with at least one letter or digit\n  → `runbook status` lists the runs and their ids\n$/, args.join(' '));
  }
});

test.run();
