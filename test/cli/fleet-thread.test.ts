/**
 * The CLI spreads a fleet over worker threads (src/cli/fleet-thread.ts): the built CLI with
 * $RUNBOOK_FLEET_THREADS=2 ends every host as one thread does, some of them driven by the worker,
 * refuses a count that is not a number before any host is contacted, and its second Ctrl-C ends the
 * PowerShell a worker thread started.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CLI, cli } from './run-cli.js';
import { sim } from './sim-in-process.js';
import { makeHost, mountTmpfs, tempDir } from '../helpers.js';
import { killAll, untilGone } from '../processes.js';

test('a fleet run with RUNBOOK_FLEET_THREADS=2 ends every host, some driven by a worker thread', async () => {
  const dir = await tempDir();
  const state = join(dir, 'state');
  assert.is((await sim(['fleet', '--preset', 'server-2016', '--count', '4', '--out', join(dir, 'fleet'), '--downtime-ms', '40'])).code, 0);
  const r = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--param', 'pollIntervalMs=10', '--yes'], { RUNBOOK_FLEET_THREADS: '2' });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /4 changed/);
  const threads: number[] = [];
  for (const run of await readdir(join(state, 'runs'))) {
    const lease = (await readdir(join(state, 'runs', run))).find((n) => /^lease\.\d+\.json$/.test(n)) as string;
    threads.push((JSON.parse(await readFile(join(state, 'runs', run, lease), 'utf8')) as { thread?: number }).thread ?? 0);
  }
  assert.is(threads.length, 4);
  assert.ok(threads.includes(0) && threads.some((t) => t !== 0), `hosts in the main thread and in a worker (${threads.join(' ')})`);
});

test('resume <fleet-id> across worker threads refuses a simulated host whose file went read-only since (VALIDATION, naming the file) as the main thread does, instead of meeting it mid-run', async () => {
  const dir = await tempDir();
  const state = join(dir, 'state');
  await sim(['fleet', '--preset', 'server-2016', '--count', '3', '--out', dir, '--downtime-ms', '40']);
  const mount = join(dir, 'ro');
  if (!mountTmpfs(mount, '4m', 'the read-only case')) return;
  try {
    // The later wave's hosts live on a file system that goes read-only after the first wave.
    const inv = join(dir, 'inventory.yaml');
    let text = await readFile(inv, 'utf8');
    for (const h of ['host-2', 'host-3']) {
      await writeFile(join(mount, `${h}.json`), await readFile(join(dir, `${h}.json`)));
      text = text.replace(`sim:${h}.json`, `sim:ro/${h}.json`);
    }
    await writeFile(inv, text);
    const first = await cli(['run', 'orchestrator-tls12', '--inventory', inv, '--state-dir', state, '--yes', '--param', 'pollIntervalMs=10', '--param', 'allowRestart=false']);
    assert.is(first.code, 75, first.stderr + first.stdout);
    execFileSync('mount', ['-o', 'remount,ro', mount]);
    const [fleetId] = await readdir(join(state, 'fleets'));
    const r = await cli(['resume', fleetId, '--state-dir', state, '--allow-restart'], { RUNBOOK_FLEET_THREADS: '2' });
    assert.is(r.code, 2, r.stderr + r.stdout);
    for (const h of ['host-2', 'host-3']) {
      assert.ok(r.stderr.includes(`cannot write the simulated host file ${join(mount, `${h}.json`)}: it is not writable (EROFS: a read-only file system)`), `${h}: ${r.stderr}`);
    }
    assert.not.match(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
    // status <fleet-id>: each refused host with its reason, not "not started".
    const status = await cli(['status', fleetId, '--state-dir', state, '--json']);
    const rows = (JSON.parse(status.stdout) as { hosts: { host: string; status: string; error?: string }[] }).hosts;
    for (const h of ['host-2', 'host-3']) {
      const row = rows.find((x) => x.host === h);
      assert.is(row?.status, 'refused', JSON.stringify(row));
      assert.ok(row?.error?.includes('cannot write the simulated host file'), JSON.stringify(row));
    }
  } finally {
    execFileSync('umount', [mount]);
  }
});

test('RUNBOOK_FLEET_THREADS that is not a whole number is a usage error, and no host is contacted', async () => {
  const dir = await tempDir();
  assert.is((await sim(['fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet'), '--downtime-ms', '40'])).code, 0);
  const r = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', join(dir, 'state'), '--yes'], { RUNBOOK_FLEET_THREADS: 'two' });
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /RUNBOOK_FLEET_THREADS is a whole number of at least 1 \(e\.g\. 2\), got "two"/);
});

test('a second Ctrl-C ends the PowerShell a worker thread started (checked by PID), not only the main thread\'s', async () => {
  const dir = await tempDir();
  // A "PowerShell" that records its PID and never answers: the agent is under way when the signals come.
  const pids = join(dir, 'pwsh.pids');
  const pwsh = join(dir, 'pwsh.sh');
  await writeFile(pwsh, `#!/bin/sh\necho $$ >> '${pids}'\nexec sleep 300\n`);
  await chmod(pwsh, 0o755);
  // host-a (simulated, every call slow) goes to the main thread, the first lane; host-b, `local`, to the worker.
  const host = await makeHost('server-2016', (h) => {
    h.latencyMs = 30_000;
  });
  await writeFile(join(dir, 'inventory.yaml'), stringify({ hosts: [{ name: 'host-a', target: `sim:${host}` }, { name: 'host-b', target: 'local' }] }));
  const child = spawn(process.execPath, [CLI, 'run', 'orchestrator-tls12', '--inventory', join(dir, 'inventory.yaml'), '--state-dir', join(dir, 'state'), '--yes'], {
    env: { ...process.env, NO_COLOR: '1', RUNBOOK_PWSH: pwsh, RUNBOOK_FLEET_THREADS: '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const started: number[] = [];
  try {
    // The stub's PID, once it runs; then the first SIGINT, and the second once the first was heard.
    const deadline = Date.now() + 60_000;
    while (started.length === 0 && Date.now() < deadline) {
      started.push(...(await readFile(pids, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number));
      if (started.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(started.length > 0, `the worker thread started PowerShell: ${stderr}`);
    const heard = new Promise<void>((resolve) =>
      child.stderr.on('data', (d) => {
        stderr += d;
        if (stderr.includes('SIGINT: stopping the fleet')) resolve();
      }),
    );
    child.kill('SIGINT');
    await heard;
    child.kill('SIGINT');
    assert.is(await exited, 130, stderr);
    await untilGone(started, 5000).catch((e: Error) => assert.unreachable(`${e.message}\n${stderr}`));
  } finally {
    child.kill('SIGKILL');
    killAll(started);
  }
});

test.run();
