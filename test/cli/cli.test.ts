/**
 * The built CLI (dist/cli/main.js, made by `npm run build`, which `npm test` runs first) as a child process.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeHost, registryText, restartRefused, tempDir } from '../helpers.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const FAST = ['--param', 'pollIntervalMs=10'];

test('the CLI was built', () => {
  assert.ok(existsSync(CLI), `missing ${CLI}: run npm run build`);
});

test('run: a full run exits 0 and writes report.json and report.md', async () => {
  const host = await makeHost('server-2016');
  const state = await tempDir();
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST]);
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /Result: changed/);
  const [runId] = await readdir(join(state, 'runs'));
  const report = JSON.parse(await readFile(join(state, 'runs', runId, 'report.json'), 'utf8'));
  assert.is(report.status, 'succeeded');
  assert.is(report.steps.length, 10);
  const md = await readFile(join(state, 'runs', runId, 'report.md'), 'utf8');
  assert.match(md, /\| HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1\.2\\Server \(64-bit view\) \| Enabled \| \(absent\) \| 0x00000001 \(1\) \| REG_DWORD \| create \|/);
});

test('plan: prints the exact diff and whether a restart is owed, and changes nothing', async () => {
  const host = await makeHost('server-2016');
  const before = await readFile(host, 'utf8');
  const r = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', await tempDir()]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /Result: changes pending/);
  assert.match(r.stdout, /\+ HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1\.0\\Server \(64-bit view\) Enabled: \(absent\) → 0x00000000 \(0\)  \[REG_DWORD\]/);
  assert.match(r.stdout, /SOFTWARE\\Microsoft\\\.NETFramework\\v4\.0\.30319 \(32-bit view\) SystemDefaultTlsVersions/);
  assert.match(r.stdout, /restart owed: yes/);
  const counted = /(\d+) change\(s\) planned \((\d+) value\(s\)/.exec(r.stdout)!;
  assert.is(Number(counted[2]), 26, 'each value once: 20 SCHANNEL + 6 .NET (current revision), the Integration Pack value not twice');
  assert.is(Number(counted[1]), r.stdout.split('\n').filter((l) => /^ {4}[+~-] /.test(l)).length, 'the count is of the lines below it');
  assert.not.match(r.stdout, /(accepted|refused) → (accepted|refused)/, 'a plan shows the baseline alone');
  assert.is(await readFile(host, 'utf8'), before);
});

test('plan --detailed-exitcode exits as Terraform: 2 changes pending, 0 nothing to do, 1 an error', async () => {
  const host = await makeHost('server-2016');
  const state = await tempDir();
  const pending = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, '--detailed-exitcode']);
  assert.is(pending.code, 2, pending.stderr);
  assert.is((await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST])).code, 0);
  const none = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, '--detailed-exitcode']);
  assert.is(none.code, 0, none.stderr);
  assert.match(none.stdout, /Result: already compliant/);
  assert.is((await cli(['plan', 'orchestrator-tls12', '--target', 'ftp://x', '--state-dir', state, '--detailed-exitcode'])).code, 1, 'a usage error is 1, never 2');
  assert.is((await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, '--detailed-exitcode'])).code, 2, 'run refuses it as a usage error');
});

test('a bad --param tlsEndpoints is refused before the target is contacted: exit 2, no run', async () => {
  const host = await makeHost('server-2016');
  const before = await readFile(host, 'utf8');
  const state = await tempDir();
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, '--param', 'tlsEndpoints=notaport']);
  assert.is(r.code, 2, r.stderr + r.stdout);
  assert.match(r.stderr, /id tls-baseline\)\.with\.endpoints: each endpoint is host:port/);
  assert.is(await readFile(host, 'utf8'), before, 'nothing changed on the host');
  assert.not.ok(existsSync(join(state, 'runs')) && (await readdir(join(state, 'runs'))).length > 0, 'no run was started');
});

test('a failing run exits 1 and rolls back exactly', async () => {
  const host = await makeHost('server-2016', restartRefused);
  const before = await registryText(host);
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', await tempDir(), ...FAST]);
  assert.is(r.code, 1);
  assert.match(r.stdout, /failed and rolled back/);
  assert.match(r.stdout, /fault on restart/);
  assert.match(r.stdout, /41 registry item\(s\) restored/, '26 values and the 15 keys the run created');
  assert.is(await registryText(host), before);
});

test('a bad runbook file exits 2, names the file and the field, and writes nothing', async () => {
  const host = await makeHost('server-2016');
  const before = await readFile(host, 'utf8');
  const dir = await tempDir();
  const file = join(dir, 'bad.yaml');
  await writeFile(file, 'name: bad\nsteps:\n  - id: s\n    uses: windows/schannel\n    with: { mode: sometimes }\n');
  const state = join(dir, 'state');
  const r = await cli(['run', file, '--target', `sim:${host}`, '--state-dir', state]);
  assert.is(r.code, 2);
  assert.ok(r.stderr.includes(file), r.stderr);
  assert.match(r.stderr, /steps\[0\] \(id s\)\.with\.mode/);
  assert.not.ok(existsSync(state), 'no run was journaled');
  assert.is(await readFile(host, 'utf8'), before);
});

test('status reads only: a state directory that does not exist is listed as empty and not created', async () => {
  const state = join(await tempDir(), 'none');
  const r = await cli(['status', '--state-dir', state]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /no runs in .*\(no such folder: check --state-dir/);
  assert.not.ok(existsSync(state), 'nothing was written');
  // An empty one that exists is just empty.
  await mkdir(state);
  const empty = await cli(['status', '--state-dir', state]);
  assert.match(empty.stdout, /no runs in/);
  assert.not.match(empty.stdout, /no such folder/);
});

test('usage errors exit 2: an unknown target lists the accepted forms; a bad parameter names it', async () => {
  const host = await makeHost('server-2016');
  const t = await cli(['run', 'orchestrator-tls12', '--target', 'ftp://x', '--state-dir', await tempDir()]);
  assert.is(t.code, 2);
  assert.match(t.stderr, /target "ftp:\/\/x" is not understood/);
  assert.match(t.stderr, /ssh:\/\/user@host\[:port\]/);
  const p = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--param', 'mode=tls13', '--state-dir', await tempDir()]);
  assert.is(p.code, 2);
  assert.match(p.stderr, /mode: "tls13" is not one of "tls12-only", "tls12-incoming-only"/);
  const missing = await cli(['run', 'orchestrator-tls12', '--target', 'sim:/nonexistent.json', '--state-dir', await tempDir()]);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /cannot read the simulated host file/);
});

test('resume continues a run whose process was killed mid-run', async () => {
  const host = await makeHost('server-2016');
  const state = await tempDir();
  const killed = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST], { RUNBOOK_CRASH_AFTER: '25' });
  assert.is(killed.signal, 'SIGKILL');
  const status = await cli(['status', '--state-dir', state, '--json']);
  const [run] = JSON.parse(status.stdout);
  assert.is(run.status, 'running');
  assert.is(run.outcome, 'interrupted', 'its driver died: not "running" forever');
  assert.is(run.leaseExpired, true);
  assert.match((await cli(['status', '--state-dir', state])).stdout, new RegExp(`${run.runId}\\s+interrupted \\(lease expired\\)`));
  const resumed = await cli(['resume', run.runId, '--state-dir', state]);
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
  assert.match(resumed.stdout, /Resuming orchestrator-tls12/);
  assert.match(resumed.stdout, /Result: changed/);
});

test('--json prints one JSON event per line and a final summary object', async () => {
  const host = await makeHost('server-2016');
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', await tempDir(), '--json', ...FAST]);
  assert.is(r.code, 0);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.is(lines[0].event, 'run:start');
  const settled = lines.filter((l) => l.event === 'step:settled').map((l) => l.stepId);
  assert.equal(settled, ['preflight', 'tls-baseline', 'backup', 'dotnet', 'schannel', 'winhttp', 'hotfix', 'restart', 'ip-verify', 'tls-verify']);
  const summary = lines[lines.length - 1];
  assert.is(summary.event, 'summary');
  assert.is(summary.status, 'succeeded');
  assert.is(summary.outcome, 'changed');
  assert.ok(summary.roundTrips <= 8);
  // Each step's round trips in its event are those report.json counts; every event has its time.
  const events = lines.filter((l) => l.event === 'step:settled');
  assert.equal(events.map((e) => e.roundTrips), summary.steps.map((s: { roundTrips: number }) => s.roundTrips));
  assert.ok(events.some((e) => e.roundTrips > 0));
  assert.ok(lines.slice(0, -1).every((l) => typeof l.at === 'string' && !Number.isNaN(Date.parse(l.at))), 'every event carries a timestamp');
});

test('on the target itself: exit 75 awaiting resume, then the resume command completes', async () => {
  const host = await makeHost('server-2016', (h) => {
    h.onTarget = true;
  });
  const state = await tempDir();
  const first = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST]);
  assert.is(first.code, 75, first.stderr + first.stdout);
  const hostDoc = JSON.parse(await readFile(host, 'utf8'));
  const [command] = Object.values(hostDoc.startupTasks) as string[][];
  // SYSTEM's PATH is not the user's: the start-up task names node and the CLI by absolute path.
  assert.equal(command.slice(0, 3), [process.execPath, CLI, 'resume']);
  await new Promise((r) => setTimeout(r, 80));
  const second = await cli([...command.slice(2)]);
  assert.is(second.code, 0, second.stderr + second.stdout);
  assert.equal(JSON.parse(await readFile(host, 'utf8')).startupTasks, {});
});

test('--target local runs the agent in this machine\'s PowerShell (here with a simulated-host registry)', async () => {
  const { PWSH } = await import('../pwsh.js');
  if (!PWSH) {
    if (process.env.CI) assert.unreachable('PowerShell is required in CI');
    return;
  }
  const host = await makeHost('server-2016');
  const state = await tempDir();
  const env = { RUNBOOK_PWSH: PWSH, RUNBOOK_AGENT_HOST_FILE: host };
  const first = await cli(['run', 'orchestrator-tls12', '--target', 'local', '--state-dir', state, ...FAST], env);
  assert.ok([0, 75].includes(first.code!), first.stderr + first.stdout);
  if (first.code === 75) {
    const [runId] = await readdir(join(state, 'runs'));
    const second = await cli(['resume', runId, '--state-dir', state], env);
    assert.is(second.code, 0, second.stderr + second.stdout);
  }
  const doc = JSON.parse(await readFile(host, 'utf8'));
  assert.is(doc.restarts, 1);
  assert.equal(doc.registry['SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v4.0.30319'].SystemDefaultTlsVersions, { type: 'REG_DWORD', data: 1 });
});

test('a second Ctrl-C aborts at once and ends the agent it started with everything under it (PowerShell\'s launcher and runtime), checked by PID', async () => {
  const { PWSH } = await import('../pwsh.js');
  if (!PWSH) {
    if (process.env.CI) assert.unreachable('PowerShell is required in CI');
    return;
  }
  const { agentProcesses, descendants, killAll, untilGone } = await import('../processes.js');
  // Every call answers late: a call is in flight when the signals come.
  const host = await makeHost('server-2016', (h) => {
    h.latencyMs = 30_000;
  });
  const state = await tempDir();
  const child = spawn(process.execPath, [CLI, 'run', 'orchestrator-tls12', '--target', 'local', '--state-dir', state, ...FAST], {
    env: { ...process.env, NO_COLOR: '1', RUNBOOK_PWSH: PWSH, RUNBOOK_AGENT_HOST_FILE: host },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const seen = new Set<number>();
  try {
    // The agent and its runtime (a launcher's child), once the runtime has started.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      for (const agent of agentProcesses(child.pid!)) for (const pid of [agent, ...descendants(agent)]) seen.add(pid);
      // Two with a launcher (its child the runtime); one PowerShell alone is given a few seconds.
      if (seen.size >= 2 || (seen.size === 1 && Date.now() > deadline - 55_000)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1000));
    for (const agent of agentProcesses(child.pid!)) for (const pid of [agent, ...descendants(agent)]) seen.add(pid);
    assert.ok(seen.size >= 1, 'the agent was seen running');
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    assert.is(await exited, 130, stderr);
    await untilGone([...seen], 5000);
  } finally {
    child.kill('SIGKILL');
    killAll(seen);
  }
});

test.run();
