/**
 * One run drives a machine at a time (the lease of its target, in the store): two `run`s on one
 * simulated host started together, a fleet and a single run on one of its hosts, a new run on a host
 * whose run was interrupted mid-drive (not one awaiting only its restart window). The run that comes second is refused with exit 2 before it sends anything
 * to the host, and the host ends as one uninterrupted run leaves it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, cli } from './run-cli.js';
import { sim } from './sim-in-process.js';
import { registryText, tempDir } from '../helpers.js';
import { until } from '../processes.js';

/** How many machine leases the state directory holds (`targets/<key>/lease.N.json`). */
async function machineLeases(state: string): Promise<number> {
  const keys = await readdir(join(state, 'targets')).catch(() => [] as string[]);
  let n = 0;
  for (const k of keys) n += (await readdir(join(state, 'targets', k)).catch(() => [] as string[])).filter((f) => /^lease\.\d+\.json$/.test(f)).length;
  return n;
}

/** A fresh copy of a simulated fleet's host-1, driven once alone: the registry one uninterrupted run leaves. */
async function referenceRegistry(): Promise<string> {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '1', '--out', join(dir, 'ref'), '--downtime-ms', '40']);
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${join(dir, 'ref', 'host-1.json')}`, '--state-dir', join(dir, 'state'), '--param', 'pollIntervalMs=10']);
  assert.is(r.code, 0, r.stderr);
  return registryText(join(dir, 'ref', 'host-1.json'));
}

/** A simulated fleet of `count` hosts in a new folder (`tw/`): its host-1, and a state directory beside it. */
async function simulatedFleet(count: number, options: string[] = []): Promise<{ dir: string; host: string; state: string }> {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', String(count), '--out', join(dir, 'tw'), ...options]);
  return { dir, host: join(dir, 'tw', 'host-1.json'), state: join(dir, 'st') };
}

const noStack = (text: string) => assert.not.match(text, /\n\s+at [\w.<]+ \(|^\s+at /m, 'no stack trace');

test('two runs on one simulated host, the second started once the first holds the machine: the second is refused (exit 2) naming the run that drives it, and sends nothing; the host is as one run leaves it', async () => {
  // The host stays down 8 s in its restart, so the first run still drives it when the second starts.
  const { host, state } = await simulatedFleet(1, ['--downtime-ms', '8000']);
  const args = ['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state];
  const first = cli(args);
  // The second starts once the first holds the machine's lease (not after a guessed head start).
  await until('the first run holds the machine lease', async () => (await machineLeases(state)) > 0);
  const second = await cli(args);
  const one = await first;
  assert.is(one.code, 0, one.stderr);
  assert.is(second.code, 2, second.stderr);
  const [runId] = await readdir(join(state, 'runs'));
  assert.match(second.stderr, `error: target sim:${host} is being driven by run ${runId} (pid `);
  assert.match(second.stderr, /nothing was sent to it/);
  assert.match(second.stderr, `wait for run ${runId} to end`);
  noStack(second.stderr);
  assert.equal(await readdir(join(state, 'runs')), [runId], 'the refused run left no run behind');
  assert.is(await registryText(host), await referenceRegistry());
});

test('a fleet and a single run on one of its hosts at once: one of them drives the host, the other is refused naming it; the host is as one run leaves it', async () => {
  const { dir, host, state } = await simulatedFleet(2);
  const fleet = cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'tw', 'inventory.yaml'), '--state-dir', state]);
  await until('the fleet holds a machine lease', async () => (await machineLeases(state)) > 0);
  const single = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state]);
  const f = await fleet;
  const [fleetId] = await readdir(join(state, 'fleets'));
  if (single.code === 2) {
    // The fleet had the host: the single run is refused, the fleet goes on.
    assert.match(single.stderr, `error: target sim:${host} is being driven by run ${fleetId}.host-1 (pid `);
    noStack(single.stderr);
    assert.is(f.code, 0, f.stdout + f.stderr);
  } else {
    // The single run had it first: the fleet's host-1 waits for a resume, saying who drives it.
    assert.is(single.code, 0, single.stderr);
    assert.is(f.code, 75, f.stdout + f.stderr);
    assert.match(f.stdout, /host-1 .*interrupted .*target sim:\S+host-1\.json is being driven by run \S+-orchestrator-tls12-\w+ \(pid /);
  }
  assert.is(await registryText(host), await referenceRegistry());
});

test('a new run on a host whose fleet run was interrupted mid-drive is refused (exit 2) naming that run and how to finish it; a plan is not; after the fleet\'s resume it runs, as it does after a run awaiting only its restart window', async () => {
  const { dir, host, state } = await simulatedFleet(2);
  // Interrupted (SIGINT) while host-1, the canary, waits out its restart.
  const child = spawn(process.execPath, [CLI, 'run', 'orchestrator-tls12', '--inventory', join(dir, 'tw', 'inventory.yaml'), '--state-dir', state], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let sent = false;
  child.stdout.on('data', (d) => {
    out += d;
    // Once: a second SIGINT aborts at once, and one after the command's end meets no handler of it.
    if (!sent && /host-1 +backup +changed/.test(out)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.is(code, 75, out); // stopped at a safe point by its SIGINT: awaiting its resume
  const [fleetId] = await readdir(join(state, 'fleets'));
  const args = ['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, '--param', 'pollIntervalMs=10'];
  const refused = await cli(args);
  assert.is(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, `error: target sim:${host} holds unfinished run ${fleetId}.host-1 (interrupted mid-drive, awaiting its resume)`);
  assert.match(refused.stderr, `runbook resume ${fleetId}.host-1 --state-dir ${state}`);
  assert.match(refused.stderr, `runbook rollback ${fleetId}.host-1 --state-dir ${state}`);
  noStack(refused.stderr);
  const plan = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state]);
  assert.is(plan.code, 0, plan.stderr);
  const resumed = await cli(['resume', fleetId, '--state-dir', state]);
  assert.is(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.is((await cli(args)).code, 0);
  // A host whose run awaits only its restart window (every change made, its RestartOwed marker left): the next run pays the restart.
  await sim(['fleet', '--preset', 'server-2016', '--count', '1', '--out', join(dir, 'other'), '--downtime-ms', '40']);
  const owing = join(dir, 'other', 'host-1.json');
  const waits = await cli(['run', 'orchestrator-tls12', '--target', `sim:${owing}`, '--state-dir', state, '--param', 'allowRestart=false', '--param', 'pollIntervalMs=10']);
  assert.is(waits.code, 75, waits.stderr);
  const pays = await cli(['run', 'orchestrator-tls12', '--target', `sim:${owing}`, '--state-dir', state, '--param', 'pollIntervalMs=10']);
  assert.is(pays.code, 0, pays.stderr);
});

test.run();
