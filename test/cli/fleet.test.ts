/**
 * Fleets from the command line: `sim fleet`, then `run|plan --inventory` with waves, `--json` events
 * naming their host, `--limit`, the reports, and usage errors before anything runs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, cli } from './run-cli.js';
import { sim } from './sim-in-process.js';
import { mountTmpfs, tempDir } from '../helpers.js';

test('sim fleet writes hosts and an inventory; run --inventory drives them wave by wave and writes the fleet reports', async () => {
  const dir = await tempDir();
  const made = await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '3', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  assert.is(made.code, 0, made.stderr);
  const state = join(dir, 'state');
  const r = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--param', 'pollIntervalMs=10']);
  assert.is(r.code, 0, r.stderr);
  // Piped: one line per step outcome of each host, then the host's own line.
  assert.match(r.stdout, /wave canary: 1 host\(s\)\n(host-1 +[a-z-]+ +(ok|changed) +\d+\.\ds {2}\S.*\n){10}host-1 +\(result\) +changed +\d+\.\ds {2}41 change\(s\), 8 round trip\(s\)\n\nwave rest: 2 host\(s\)/);
  assert.match(r.stdout, /Fleet: done — 3 changed\n/);
  const [fleetId] = await readdir(join(state, 'fleets'));
  for (const f of ['fleet.json', 'report.json', 'report.md', 'junit.xml']) assert.ok(existsSync(join(state, 'fleets', fleetId, f)), f);
  assert.is((await readdir(join(state, 'runs'))).length, 3, 'each host its own run');
  const jobs = await cli(['status', '--state-dir', state]);
  assert.match(jobs.stdout, new RegExp(`^FLEET +RUNBOOK +HOSTS\\n${fleetId}  orchestrator-tls12 +3: 3 changed\\n`), 'fleets first, with their outcomes');
  assert.match(jobs.stdout, /\nRUN +OUTCOME +STEP +STARTED +ENDED +TARGET\n/);
  const filtered = await cli(['status', '--state-dir', state, '--fleet', fleetId, '--status', 'changed', '--json']);
  assert.is((JSON.parse(filtered.stdout) as unknown[]).length, 3);
  assert.is((await cli(['status', '--state-dir', state, '--fleet', 'nofleet'])).code, 2);

  const plan = await cli(['plan', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--limit', 'host-2,!host-9', '--json']);
  assert.is(plan.code, 0, plan.stderr);
  assert.match(plan.stderr, /warning: --limit !host-9 matches no host of .*inventory\.yaml: ignored/, 'a pattern that matches nothing is told, as Ansible does');
  const events = plan.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const ends = events.filter((e) => e.event === 'host:end');
  assert.equal(ends.map((e) => [e.host, e.status]), [['host-2', 'planned']], '--limit keeps one host; every event names it');
  assert.is(events.at(-1).event, 'summary');
});

test('a fleet plan prints each diff once with the hosts that share it; --detailed-exitcode is 2 when changes are pending', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '3', '--out', join(dir, 'fleet')]);
  const plan = await cli(['plan', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', join(dir, 'state'), '--detailed-exitcode']);
  assert.is(plan.code, 2, plan.stderr + plan.stdout);
  assert.is(plan.stdout.match(/would change:/g)?.length, 1, 'one diff for three identical hosts');
  assert.match(plan.stdout, /3 host\(s\) \(host-1, host-2, host-3\) would change:\n {2}backup\n/);
  assert.match(plan.stdout, /Fleet: planned \(nothing was changed\) — 3 changes pending/);
  assert.not.match(plan.stdout, /succeeded/);
});

test('a fleet plan with allowRestart=false shares one diff: the RestartOwed marker each host\'s run would write is shown with <run-id>', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet')]);
  const plan = await cli(['plan', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', join(dir, 'state'), '--param', 'allowRestart=false', '--detailed-exitcode']);
  assert.is(plan.code, 2, plan.stderr + plan.stdout);
  assert.is(plan.stdout.match(/would change:/g)?.length, 1, 'one diff for two identical hosts');
  assert.match(plan.stdout, /RestartOwed: \(absent\) → owed by run <run-id>/);
  assert.match(plan.stdout, /host restart: … → deferred \(allowRestart=false/);
});

test('fleet usage errors exit 2 before anything runs', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '1', '--out', dir]);
  const inv = join(dir, 'inventory.yaml');
  for (const [args, message] of [
    [['--inventory', inv, '--target', 'local'], /option '-t, --target <target>' cannot be used with option '-i, --inventory <file>'/],
    [['--inventory', inv, '--concurrency', '0'], /--concurrency takes a whole number of at least 1/],
    [['--inventory', inv, '--max-failures', 'some'], /--max-failures takes a whole number of hosts \(0 or more\) or a percentage/],
    [['--inventory', inv, '--max-failures', '150%'], /a percentage from 0% to 100%/],
    [['--inventory', inv, '--max-failures=-1'], /--max-failures takes a whole number of hosts \(0 or more\)/],
    // Plain decimal numbers only: not read as 2, 10 and 1.
    [['--inventory', inv, '--concurrency', '0x2'], /--concurrency takes a whole number of at least 1 \(e\.g\. 10\), got "0x2"/],
    [['--inventory', inv, '--concurrency', '1e1'], /--concurrency takes a whole number .*got "1e1"/],
    [['--inventory', inv, '--max-failures', '1.0'], /--max-failures takes a whole number of hosts .*got "1\.0"/],
    [['--inventory', inv, '--max-failures', '1e1%'], /--max-failures takes .*got "1e1%"/],
    [['--inventory', join(dir, 'missing.yaml')], /cannot read the inventory/],
    [['--target', 'local', '--limit', 'x'], /go with --inventory/],
    // An unset shell variable (`--limit "$HOSTS"`) must not widen the run to every host.
    [['--inventory', inv, '--limit', '', '--yes'], /--limit "" names no host \(an unset shell variable\?\)/],
    [['--inventory', inv, '--limit', ' , ', '--yes'], /--limit " , " names no host/],
    // `!$SKIP` with SKIP unset: a lone `!` excludes nothing and would select every host.
    [['--inventory', inv, '--limit', 'host-1,!', '--yes'], /--limit "host-1,!": "!" names no host/],
  ] as const) {
    const r = await cli(['run', 'orchestrator-tls12', '--state-dir', join(dir, 'state'), ...args]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.not.ok(existsSync(join(dir, 'state', 'fleets')), 'no fleet was started');
});

/** The built CLI on a terminal (util-linux `script`), answering `y` if it asks: its exit code and screen. */
function onTerminal(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve) => {
    const command = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (d) => {
      screen += d;
      if (screen.includes('[y/N]')) child.stdin.write('y\r');
    });
    child.on('close', (code) => resolve({ code, screen }));
  });
}

test('a bad --param or RUNBOOK_FLEET_THREADS is refused before the question and before the state directory is made; the hint names where the bad value was given', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '2', '--out', dir]);
  const inv = join(dir, 'inventory.yaml');
  const state = join(dir, 'state');
  const before = await readFile(join(dir, 'host-1.json'), 'utf8');
  const hasScript = spawnSync('script', ['--version']).status === 0;
  for (const [args, env, message] of [
    [['--param', 'mode=bogus'], {}, /mode: "bogus" is not one of[\s\S]*→ fix --param mode=… \(the fleet's params/],
    [[], { RUNBOOK_FLEET_THREADS: '0x2' }, /RUNBOOK_FLEET_THREADS is a whole number of at least 1 \(e\.g\. 2\), got "0x2"/],
  ] as const) {
    const piped = await cli(['run', 'orchestrator-tls12', '--inventory', inv, '--state-dir', state, ...args], env);
    assert.is(piped.code, 2, piped.stderr);
    assert.match(piped.stderr, message);
    assert.not.match(piped.stderr, /in the inventory;|\n\s+at /, 'the culprit named, no stack trace');
    const plan = await cli(['plan', 'orchestrator-tls12', '--inventory', inv, '--state-dir', state, ...args], env);
    assert.is(plan.code, 2, plan.stderr);
    if (hasScript) {
      const asked = await onTerminal(['run', 'orchestrator-tls12', '--inventory', inv, '--state-dir', state, ...args], env);
      assert.is(asked.code, 2, asked.screen);
      assert.not.match(asked.screen, /\[y\/N\]/, 'refused before the question');
      assert.match(asked.screen, message);
    }
    assert.not.ok(existsSync(state), 'the state directory was not created');
  }
  // The bad value in the inventory: its defaults, or one host's params.
  const text = await readFile(inv, 'utf8');
  await writeFile(inv, `${text}defaults:\n  params: { mode: bogus }\n`);
  const defaults = await cli(['run', 'orchestrator-tls12', '--inventory', inv, '--state-dir', state]);
  assert.is(defaults.code, 2, defaults.stderr);
  assert.match(defaults.stderr, /→ fix mode in the inventory's defaults\.params; no host was contacted/);
  assert.not.ok(existsSync(state));
  assert.is(await readFile(join(dir, 'host-1.json'), 'utf8'), before, 'no host was contacted');
});

test('an ambiguous inventory (a group named like a host, a wave left with no host) is refused with exit 2 before --limit picks anything', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '2', '--out', dir]);
  const inv = join(dir, 'inventory.yaml');
  await writeFile(inv, ['hosts:', '  - { name: host-1, target: sim:host-1.json, groups: [host-2] }', '  - { name: host-2, target: sim:host-2.json, groups: [b] }', 'waves:', '  - { name: w1, groups: [all] }', '  - { name: w2, groups: [b] }', ''].join('\n'));
  const r = await cli(['plan', 'orchestrator-tls12', '--inventory', inv, '--state-dir', join(dir, 'state'), '--limit', 'host-2']);
  assert.is(r.code, 2, r.stderr + r.stdout);
  assert.match(r.stderr, /hosts\[0\] \(host-1\)\.groups: group "host-2" has the name of host hosts\[1\] \(host-2\)/);
  assert.match(r.stderr, /waves\[1\] \(w2\): no host left for it/);
  assert.not.match(r.stderr, /\n\s+at /);
  assert.not.ok(existsSync(join(dir, 'state')));
});

test('rollback <fleet-id> rewrites the fleet\'s reports (report.md, report.json, junit.xml say rolled back on request, as status does); a second rollback says there is nothing to roll back', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  const state = join(dir, 'state');
  const run = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--param', 'pollIntervalMs=10']);
  assert.is(run.code, 0, run.stderr);
  const fleetId = /^Fleet (\S+):/m.exec(run.stdout)![1];
  const reports = join(state, 'fleets', fleetId);
  assert.match(await readFile(join(reports, 'report.md'), 'utf8'), /status: \*\*succeeded\*\* \(exit 0\) — 2 changed/);
  const rolled = await cli(['rollback', fleetId, '--state-dir', state, '--yes']);
  assert.is(rolled.code, 0, rolled.stderr);
  const md = await readFile(join(reports, 'report.md'), 'utf8');
  assert.match(md, /status: \*\*succeeded\*\* \(exit 0\) — 2 rolled back on request/);
  assert.match(md, /\| canary \| host-1 \| rolled back on request \|/);
  const json = JSON.parse(await readFile(join(reports, 'report.json'), 'utf8'));
  assert.equal(json.waves.flatMap((w: { hosts: { outcome: string }[] }) => w.hosts.map((h) => h.outcome)), ['rolled-back-on-request', 'rolled-back-on-request']);
  assert.match(await readFile(join(reports, 'junit.xml'), 'utf8'), /<system-out>rolled back on request<\/system-out>/);
  const status = await cli(['status', '--state-dir', state]);
  assert.match(status.stdout, new RegExp(`${fleetId} +orchestrator-tls12 +2: 2 rolled back on request`));
  const before = await readFile(join(dir, 'fleet', 'host-1.json'), 'utf8');
  const again = await cli(['rollback', fleetId, '--state-dir', state, '--yes']);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`fleet ${fleetId}: nothing to roll back — no host is left changed \\(2 rolled back on request\\); no host was contacted`));
  assert.is(await readFile(join(dir, 'fleet', 'host-1.json'), 'utf8'), before, 'no host was contacted');
  const quiet = await cli(['rollback', fleetId, '--state-dir', state, '--yes', '--json']);
  assert.equal(JSON.parse(quiet.stdout.trim()).event, 'log');
});

test('rollback <fleet-id> retries the undos of a host whose rollback failed, as rollback <run-id> does: once their cause is fixed the host is restored exactly, never "nothing to roll back"', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  const hostFile = join(dir, 'fleet', 'host-2.json');
  const pristine = JSON.parse(await readFile(hostFile, 'utf8'));
  // host-2's restart is refused for good (its run fails after its writes), and so is each SCHANNEL undo.
  await writeFile(hostFile, JSON.stringify({
    ...pristine,
    faults: [
      { op: 'restart', kind: 'permanent', times: 1000 },
      ...['registry.deleteValue', 'registry.deleteKey'].map((op) => ({ op, keyContains: 'SCHANNEL', kind: 'permanent', times: 1000 })),
    ],
  }));
  const state = join(dir, 'state');
  const run = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--param', 'pollIntervalMs=10', '--max-failures', '1']);
  assert.is(run.code, 3, run.stderr);
  const fleetId = /^Fleet (\S+):/m.exec(run.stdout)![1];
  // The cause is fixed: the undos can now be made.
  const fixed = JSON.parse(await readFile(hostFile, 'utf8'));
  await writeFile(hostFile, JSON.stringify({ ...fixed, faults: [] }));
  const rolled = await cli(['rollback', fleetId, '--state-dir', state, '--yes']);
  assert.is(rolled.code, 0, rolled.stderr + rolled.stdout);
  assert.match(rolled.stdout, /host-2 +rolled back on request/);
  assert.equal(JSON.parse(await readFile(hostFile, 'utf8')).registry, pristine.registry, 'host-2 restored exactly');
  const again = await cli(['rollback', fleetId, '--state-dir', state, '--yes']);
  assert.match(again.stdout, /nothing to roll back — no host is left changed \(2 rolled back on request\)/);
});

test('an inventory target ftp://x is a usage error (exit 2) before any host is contacted, as --target ftp://x is', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '2', '--out', dir]);
  const inv = join(dir, 'inventory.yaml');
  await writeFile(inv, (await readFile(inv, 'utf8')).replace(/target: .*host-2\.json/, 'target: ftp://x'));
  const before = await readFile(join(dir, 'host-1.json'), 'utf8');
  const r = await cli(['run', 'orchestrator-tls12', '--inventory', inv, '--state-dir', join(dir, 'state')]);
  assert.is(r.code, 2, r.stderr + r.stdout);
  assert.match(r.stderr, /hosts\[1\] \(host-2\)\.target: "ftp:\/\/x" is not a target form this engine knows/);
  assert.match(r.stderr, /inventory\.yaml/);
  assert.is(await readFile(join(dir, 'host-1.json'), 'utf8'), before, 'no host was contacted');
  assert.not.ok(existsSync(join(dir, 'state', 'fleets')));
});


test('an inventory host sim:<file> whose file is not there is a usage error (exit 2) before any host is contacted, as --target sim:<missing> is', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '2', '--out', dir]);
  const inv = join(dir, 'inventory.yaml');
  await writeFile(inv, (await readFile(inv, 'utf8')).replace('sim:host-2.json', 'sim:gone/host-2.json'));
  const before = await readFile(join(dir, 'host-1.json'), 'utf8');
  for (const command of ['run', 'plan']) {
    const r = await cli([command, 'orchestrator-tls12', '--inventory', inv, '--state-dir', join(dir, 'state'), '--retries', '0']);
    assert.is(r.code, 2, r.stderr + r.stdout);
    assert.match(r.stderr, new RegExp(`host host-2 of ${inv}: cannot read the simulated host file ${join(dir, 'gone', 'host-2.json')}`));
    assert.match(r.stderr, /no such file/);
    assert.match(r.stderr, /→ create the file \(`runbook sim create --preset server-2016 --out .*gone\/host-2\.json`\) or fix the host's target in the inventory/);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    assert.is(r.stdout, '', 'no host was driven');
    assert.is(await readFile(join(dir, 'host-1.json'), 'utf8'), before, 'no host was contacted');
    assert.not.ok(existsSync(join(dir, 'state')), 'nothing made in the state directory');
  }
  // As one host: the same words, exit 2, and no state directory made either.
  const one = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${join(dir, 'gone', 'host-2.json')}`, '--state-dir', join(dir, 'state')]);
  assert.is(one.code, 2, one.stderr);
  assert.match(one.stderr, /cannot read the simulated host file .*gone\/host-2\.json\n.*no such file/);
  assert.not.ok(existsSync(join(dir, 'state')));
});


test('an inventory host sim:<file> whose file is there but is no usable simulated host (not JSON, another format, a field the simulator would misread) is refused before any host is contacted, exit 2, as --target refuses it', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '3', '--out', dir]);
  const inv = join(dir, 'inventory.yaml');
  const file = join(dir, 'host-3.json');
  const valid = await readFile(file, 'utf8');
  const before = await readFile(join(dir, 'host-1.json'), 'utf8');
  const cases: [string, string, RegExp][] = [
    ['{bad', 'not JSON', /the simulated host file is not valid JSON: it breaks at line 1, column 2/],
    ['{"format": "something else"}', 'another format', /the file is not a simulated host \(format runbook-engine\/simulated-host@1\)/],
    [JSON.stringify({ ...JSON.parse(valid), services: 'x' }), 'a malformed field', /the simulated host file is not valid .*\n\s+- services: Invalid input: expected record/],
  ];
  for (const [text, what, wrong] of cases) {
    await writeFile(file, text);
    for (const command of ['run', 'plan']) {
      const r = await cli([command, 'orchestrator-tls12', '--inventory', inv, '--state-dir', join(dir, 'state'), '--yes']);
      assert.is(r.code, 2, `${what}, ${command}: ${r.stderr}${r.stdout}`);
      assert.ok(r.stderr.includes(`host host-3 of ${inv}: cannot use the simulated host sim:${file}`), r.stderr);
      assert.match(r.stderr, wrong);
      assert.match(r.stderr, /or fix the host's target in the inventory .*; no host was contacted, nothing was changed/);
      assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
      assert.is(r.stdout, '', 'no host was driven');
      assert.is(await readFile(join(dir, 'host-1.json'), 'utf8'), before, 'no host was contacted');
      assert.not.ok(existsSync(join(dir, 'state')), 'nothing made in the state directory');
    }
    // As one host: exit 2 for the same file, with the same cause.
    const one = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${file}`, '--state-dir', join(dir, 'state')]);
    assert.is(one.code, 2, one.stderr);
    assert.match(one.stderr, wrong);
  }
});

test('an inventory host sim:<file> on a read-only file system is refused up front by run (exit 2, naming the file) before any host is changed, as --target refuses it; plan still reads it', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '2', '--out', dir]);
  const mount = join(dir, 'ro');
  if (!mountTmpfs(mount, '4m', 'the read-only case')) return;
  try {
    const host = join(mount, 'host-2.json');
    await writeFile(host, await readFile(join(dir, 'host-2.json')));
    execFileSync('mount', ['-o', 'remount,ro', mount]);
    const inv = join(dir, 'inventory.yaml');
    await writeFile(inv, (await readFile(inv, 'utf8')).replace('sim:host-2.json', 'sim:ro/host-2.json'));
    const before = await readFile(join(dir, 'host-1.json'), 'utf8');
    const r = await cli(['run', 'orchestrator-tls12', '--inventory', inv, '--state-dir', join(dir, 'state'), '--yes', '--param', 'pollIntervalMs=10']);
    assert.is(r.code, 2, r.stderr + r.stdout);
    assert.ok(r.stderr.includes(`host host-2 of ${inv}: cannot write the simulated host file ${host}: it is not writable (EROFS: a read-only file system)`), r.stderr);
    assert.match(r.stderr, /→ make the file and its folder writable by this user \(a read-only copy can still be planned: `runbook plan … --inventory`\), or fix the host's target in the inventory .*; no host was contacted, nothing was changed/);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    assert.is(r.stdout, '', 'no host was driven');
    assert.is(await readFile(join(dir, 'host-1.json'), 'utf8'), before, 'the canary was not changed');
    assert.not.ok(existsSync(join(dir, 'state')), 'nothing made in the state directory');
    const plan = await cli(['plan', 'orchestrator-tls12', '--inventory', inv, '--state-dir', join(dir, 'state')]);
    assert.is(plan.code, 0, plan.stderr + plan.stdout);
  } finally {
    execFileSync('umount', [mount]);
  }
});

test('a budget spent when every host had already started says so, not that skipped hosts were never touched', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '4', '--out', dir, '--downtime-ms', '40']);
  for (const h of ['host-2', 'host-3']) {
    const file = join(dir, `${h}.json`);
    const doc = JSON.parse(await readFile(file, 'utf8'));
    doc.faults = [{ op: 'restart', kind: 'permanent', times: 1000 }];
    await writeFile(file, JSON.stringify(doc));
  }
  // The second wave's three hosts start together; two fail: the budget (0) is spent with no host left to start.
  const r = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'inventory.yaml'), '--state-dir', join(dir, 'state'), '--concurrency', '3', '--param', 'pollIntervalMs=10']);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stdout, /Fleet: failed — 2 changed, 2 failed and rolled back\n/);
  assert.match(r.stdout, /the failure budget \(0\) was spent after 2 failure\(s\): every host had already started/);
  assert.not.match(r.stdout, /skipped/);
});

test('a fleet host whose rollback failed: exit 3, the alert on stderr, and its line counts what is still changed, not 0', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '2', '--out', dir, '--downtime-ms', '40']);
  const file = join(dir, 'host-2.json');
  const doc = JSON.parse(await readFile(file, 'utf8'));
  doc.faults = [
    { op: 'registry.set', keyContains: 'TLS 1.1', kind: 'permanent', times: 1 },
    { op: 'registry.deleteValue', keyContains: 'TLS 1.0', kind: 'permanent', times: 1000 },
  ];
  await writeFile(file, JSON.stringify(doc));
  const r = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'inventory.yaml'), '--state-dir', join(dir, 'state'), '--param', 'pollIntervalMs=10']);
  assert.is(r.code, 3, r.stderr + r.stdout);
  assert.match(r.stderr, /ROLLBACK FAILED — an operator is needed on host-2/);
  const line = /host-2 +\(result\) +rollback-failed +\S+ +(\d+) still changed/.exec(r.stdout);
  assert.ok(line, r.stdout);
  assert.ok(Number(line![1]) > 0, 'the values its rollback could not restore are counted');
});

test('a controller killed mid-fleet: resume <fleet-id> ends every host as an uninterrupted fleet would, none restarted twice; status shows the matrix; rollback undoes every host', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '3', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  const state = join(dir, 'state');
  const inventory = join(dir, 'fleet', 'inventory.yaml');
  const killed = await new Promise<{ signal: string | null }>((resolve) => {
    // The process kills itself after its 90th durable journal record: in the middle of the second host.
    const child = spawn(process.execPath, [CLI, 'run', 'orchestrator-tls12', '--inventory', inventory, '--state-dir', state, '--concurrency', '1', '--param', 'pollIntervalMs=10'], {
      env: { ...process.env, NO_COLOR: '1', RUNBOOK_CRASH_AFTER: '90' },
      stdio: 'ignore',
    });
    child.on('close', (_code, signal) => resolve({ signal }));
  });
  assert.is(killed.signal, 'SIGKILL');
  const [fleetId] = await readdir(join(state, 'fleets'));
  const resumed = await cli(['resume', fleetId, '--state-dir', state]);
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
  assert.match(resumed.stdout, /Fleet: done — 3 changed/);
  const { readHost } = await import('../../src/index.js');
  for (const h of ['host-1', 'host-2', 'host-3']) assert.is((await readHost(join(dir, 'fleet', `${h}.json`))).restarts, 1, `${h} restarted once`);

  const status = await cli(['status', fleetId, '--state-dir', state]);
  assert.is(status.code, 0);
  assert.match(status.stdout, /canary\s+host-1\s+changed\s+ok ok ok ok/);
  assert.match(status.stdout, /rest\s+host-3\s+changed/);

  const undone = await cli(['rollback', fleetId, '--state-dir', state]);
  assert.is(undone.code, 0, undone.stderr);
  assert.match(undone.stdout, /host-3\s+rolled back[\s\S]*host-1\s+rolled back/, 'the last wave first');
  for (const h of ['host-1', 'host-2', 'host-3']) assert.is((await readHost(join(dir, 'fleet', `${h}.json`))).restarts, 2, `${h} restarted again by its rollback`);
});

test('a fleet whose hosts are all refused for a parameter (tls13=enabled on Server 2016) exits 2, nothing changed; with one host changed it exits 1', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  const inv = join(dir, 'fleet', 'inventory.yaml');
  const before = await readFile(join(dir, 'fleet', 'host-1.json'), 'utf8');
  const all = await cli(['run', 'orchestrator-tls12', '--inventory', inv, '--state-dir', join(dir, 'state'), '--max-failures', '1', '--param', 'pollIntervalMs=10', '--param', 'tls13=enabled']);
  assert.is(all.code, 2, all.stderr + all.stdout);
  assert.match(all.stdout, /host-1 +\(result\) +rolled-back +(\d+\.\ds|-) +0 change\(s\).*parameter\(s\) impossible on this host/);
  // The summary and the reports say the exit code the command ends with.
  const [fleetId] = await readdir(join(dir, 'state', 'fleets'));
  assert.match(await readFile(join(dir, 'state', 'fleets', fleetId, 'report.md'), 'utf8'), /status: \*\*failed\*\* \(exit 2\)/);
  assert.is((JSON.parse(await readFile(join(dir, 'state', 'fleets', fleetId, 'report.json'), 'utf8')) as { exitCode: number }).exitCode, 2);
  const json = await cli(['run', 'orchestrator-tls12', '--inventory', inv, '--state-dir', join(dir, 'state3'), '--max-failures', '1', '--json', '--param', 'pollIntervalMs=10', '--param', 'tls13=enabled']);
  assert.is(json.code, 2);
  assert.is((JSON.parse(json.stdout.trim().split('\n').pop()!) as { exitCode: number }).exitCode, 2, '--json summary');
  assert.is(await readFile(join(dir, 'fleet', 'host-1.json'), 'utf8'), before, 'the refused host is unchanged');
  // Only host-1 asks for TLS 1.3: it is refused, host-2 is changed, and the fleet says so (exit 1).
  await writeFile(inv, (await readFile(inv, 'utf8')).replace('    target: sim:host-1.json\n', '    target: sim:host-1.json\n    params:\n      tls13: enabled\n'));
  const one = await cli(['run', 'orchestrator-tls12', '--inventory', inv, '--state-dir', join(dir, 'state2'), '--max-failures', '1', '--param', 'pollIntervalMs=10']);
  assert.is(one.code, 1, one.stderr + one.stdout);
  assert.match(one.stdout, /host-2 +\(result\) +changed/);
});

test('a host whose target cannot be used before anything changed is unreachable: status <fleet-id> says so, not "not started"', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  // A host whose file cannot be used is refused before the fleet starts: this one is a host, whose first read fails.
  const file = join(dir, 'fleet', 'host-2.json');
  await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), faults: [{ op: 'os.info', kind: 'permanent', times: 1000 }] }));
  const state = join(dir, 'state');
  const ran = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--max-failures', '1', '--param', 'pollIntervalMs=10']);
  assert.is(ran.code, 69, `the worst host is unreachable: ${ran.stderr}${ran.stdout}`);
  assert.match(ran.stdout, /host-2 +\(result\) +unreachable +\S+ +0 change\(s\).*injected permanent fault on os\.info/);
  const [fleetId] = await readdir(join(state, 'fleets'));
  const status = await cli(['status', fleetId, '--state-dir', state]);
  assert.is(status.code, 0, status.stderr);
  assert.match(status.stdout, /host-1\s+changed/);
  assert.match(status.stdout, /host-2\s+unreachable/);
  const json = JSON.parse((await cli(['status', fleetId, '--state-dir', state, '--json'])).stdout) as { hosts: { host: string; status: string; error?: string }[] };
  assert.equal(json.hosts.map((h) => [h.host, h.status]), [['host-1', 'succeeded'], ['host-2', 'unreachable']]);
  // Relaunched on its failed hosts only (AWX's "relaunch on failed hosts"): host-2, not host-1.
  const again = await cli(['plan', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--limit', `@${fleetId}`, '--json']);
  const ends = again.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'host:end');
  assert.equal(ends.map((e) => e.host), ['host-2']);
  assert.is((await cli(['plan', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--limit', '@nofleet'])).code, 2);
});

test('on a terminal a wave is one line of counts, rewritten as hosts end', async () => {
  const { progressLine } = await import('../../src/cli/fleet.js');
  process.env.NO_COLOR = '1';
  assert.is(progressLine('rest', { done: 997, failed: 3, waiting: 0, running: 0, pending: 0 }), 'wave rest: 997 done, 3 failed, 0 waiting, 0 running, 0 pending');
});

test('resume --all after a controller killed mid-fleet also goes on with the fleet: the host under way resumes, the host never started starts, each restarted once', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '3', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  const state = join(dir, 'state');
  const killed = await new Promise<{ signal: string | null }>((resolve) => {
    // Killed after its 90th durable journal record: in the middle of host-2; host-3 never started.
    const child = spawn(process.execPath, [CLI, 'run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--concurrency', '1', '--param', 'pollIntervalMs=10'], {
      env: { ...process.env, NO_COLOR: '1', RUNBOOK_CRASH_AFTER: '90' },
      stdio: 'ignore',
    });
    child.on('close', (_code, signal) => resolve({ signal }));
  });
  assert.is(killed.signal, 'SIGKILL');
  const all = await cli(['resume', '--all', '--state-dir', state]);
  assert.is(all.code, 0, all.stderr + all.stdout);
  assert.match(all.stdout, /Fleet: done — 3 changed/);
  const { readHost } = await import('../../src/index.js');
  for (const h of ['host-1', 'host-2', 'host-3']) assert.is((await readHost(join(dir, 'fleet', `${h}.json`))).restarts, 1, `${h} restarted once`);
  const again = await cli(['resume', '--all', '--state-dir', state]);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /^no interrupted runs\n$/, 'a finished fleet is not resumed again');
});

test('fleet host runs resume by their own run id and with resume --all (files); the fleet then reads them as ended', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '3', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  const { fleetHostResumes } = await import('./fleet-resume.js');
  await fleetHostResumes(join(dir, 'fleet'), ['--state-dir', join(dir, 'state')]);
});

test('SIGINT stops a fleet at a safe point: running hosts stop, no other starts, exit 75; the resume ends every host', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '3', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  const state = join(dir, 'state');
  const stopped = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, 'run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--json', '--param', 'pollIntervalMs=10'], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!sent && stdout.includes('"event":"host:start"')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  assert.is(stopped.code, 75, stopped.stderr + stopped.stdout);
  assert.match(stopped.stderr, /SIGINT: stopping the fleet at a safe point/);
  const summary = JSON.parse(stopped.stdout.trim().split('\n').pop()!) as { status: string; fleetId: string; interrupted?: boolean; counts: { succeeded: number; skipped: number } };
  assert.is(summary.status, 'awaiting-resume');
  assert.ok(summary.interrupted);
  assert.ok(summary.counts.skipped >= 2, 'the next wave never started');
  const resumed = await cli(['resume', summary.fleetId, '--state-dir', state]);
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
  const { readHost } = await import('../../src/index.js');
  for (const h of ['host-1', 'host-2', 'host-3']) assert.is((await readHost(join(dir, 'fleet', `${h}.json`))).restarts, 1, `${h} restarted once`);
});

test('a fleet host run recorded before fleets kept their runbook\'s source (`runbook <name>`) still resumes by its run id', async () => {
  const { Runner, bundledStepKinds, createSimulatedExecutor, loadRunbook } = await import('../../src/index.js');
  const { makeHost } = await import('../helpers.js');
  const kinds = bundledStepKinds();
  const state = await tempDir();
  const host = await makeHost('server-2016');
  const runner = new Runner({ stateDir: state, kinds });
  // A bare definition: the run records `runbook orchestrator-tls12` as its source, as fleets did.
  const first = await runner.start((await loadRunbook('orchestrator-tls12', kinds)).definition, { executor: await createSimulatedExecutor(host), params: { pollIntervalMs: 10, allowRestart: false }, runId: 'old.host-1', target: `sim:${host}` }).result;
  assert.is(first.status, 'awaiting-resume');
  assert.is((await runner.startedRecord('old.host-1')).source, 'runbook orchestrator-tls12');
  const resumed = await cli(['resume', 'old.host-1', '--allow-restart', '--state-dir', state]);
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
});

/** `run --inventory … --json` as a child; `onEvent` hears each event line as it comes. */
function fleetChild(args: string[], onEvent: (event: Record<string, unknown>, child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      for (const line of lines) onEvent(JSON.parse(line) as Record<string, unknown>, child);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr, pid: child.pid! }));
  });
}

test('resume <fleet-id> or rollback <fleet-id> while the fleet is driven is refused (exit 2, naming the driver): no host contacted, nothing counted, the reports the driver\'s', async () => {
  const dir = await tempDir();
  // Restarts of 4 s: the fleet is still driven when the second command has started.
  await sim(['fleet', '--preset', 'server-2016', '--count', '3', '--out', join(dir, 'fleet'), '--downtime-ms', '4000']);
  const state = join(dir, 'state');
  let second: Promise<{ code: number | null; stdout: string; stderr: string }> | undefined;
  let third: Promise<{ code: number | null; stdout: string; stderr: string }> | undefined;
  const first = await fleetChild(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--json', '--param', 'pollIntervalMs=10'], (e) => {
    if (e.event === 'host:start' && !second) {
      second = cli(['resume', String(e.fleetId), '--state-dir', state, '--json']);
      third = cli(['rollback', String(e.fleetId), '--state-dir', state, '--json', '--yes']);
    }
  });
  const refused = await second!;
  assert.is(refused.code, 2, refused.stderr + refused.stdout);
  assert.match(refused.stderr, new RegExp(`fleet \\S+ is being driven by pid ${first.pid} on \\S+ \\(lease generation 1, until `));
  assert.not.match(refused.stdout, /host:start|host:end/, 'the second driver started no host');
  const notRolledBack = await third!;
  assert.is(notRolledBack.code, 2, notRolledBack.stderr + notRolledBack.stdout);
  assert.match(notRolledBack.stderr, new RegExp(`fleet \\S+ is being driven by pid ${first.pid} on `));
  assert.not.match(notRolledBack.stdout, /host:rollback/, 'no host was rolled back under the driver');
  assert.is(first.code, 0, first.stderr + first.stdout);
  const summary = JSON.parse(first.stdout.trim().split('\n').pop()!) as { fleetId: string; status: string; budget: { failures: number } };
  assert.equal([summary.status, summary.budget.failures], ['succeeded', 0]);
  const report = await readFile(join(state, 'fleets', summary.fleetId, 'report.md'), 'utf8');
  assert.not.match(report, /unreachable \|/);
  assert.match(report, /status: \*\*succeeded\*\* \(exit 0\)/);
  const { readHost } = await import('../../src/index.js');
  for (const h of ['host-1', 'host-2', 'host-3']) assert.is((await readHost(join(dir, 'fleet', `${h}.json`))).restarts, 1, `${h} restarted once`);
});

test('SIGINT after a failure within the budget: the fleet awaits its resume, and resume --all starts the hosts never started', async () => {
  const dir = await tempDir();
  await sim(['fleet', '--preset', 'server-2016', '--count', '4', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  const faulty = join(dir, 'fleet', 'host-2.json');
  await writeFile(faulty, JSON.stringify({ ...JSON.parse(await readFile(faulty, 'utf8')), faults: [{ op: 'restart', kind: 'permanent', times: 1000 }] }));
  const state = join(dir, 'state');
  // One host at a time: host-1 changed, host-2 failed (within a budget of 1); SIGINT as host-3 starts.
  const stopped = await fleetChild(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--json', '--concurrency', '1', '--max-failures', '1', '--param', 'pollIntervalMs=10'], (e, child) => {
    if (e.event === 'host:start' && e.host === 'host-3') child.kill('SIGINT');
  });
  assert.is(stopped.code, 1, stopped.stderr + stopped.stdout);
  const summary = JSON.parse(stopped.stdout.trim().split('\n').pop()!) as { fleetId: string; status: string; counts: Record<string, number> };
  assert.is(summary.status, 'awaiting-resume', 'a failure within the budget does not end a stopped fleet');
  assert.equal([summary.counts['rolled-back'], summary.counts.skipped], [1, 1]);
  const all = await cli(['resume', '--all', '--state-dir', state]);
  assert.is(all.code, 1, `host-2 failed: ${all.stderr}${all.stdout}`);
  assert.match(all.stdout, /Fleet: failed — 3 changed, 1 failed and rolled back/);
  const { readHost } = await import('../../src/index.js');
  for (const h of ['host-1', 'host-3', 'host-4']) assert.is((await readHost(join(dir, 'fleet', `${h}.json`))).restarts, 1, `${h} restarted once`);
  const again = await cli(['resume', '--all', '--state-dir', state]);
  assert.match(again.stdout, /^no interrupted runs\n$/, 'the fleet ended');
});

test('resume <fleet-id> --allow-restart restarts the canary that waits for its restart window, then the next wave, and rewrites the reports; --target and --force are refused for a fleet', async () => {
  const dir = await tempDir();
  await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '3', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  const state = join(dir, 'state');
  const ran = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--json', '--param', 'pollIntervalMs=10', '--param', 'allowRestart=false']);
  assert.is(ran.code, 75, ran.stderr + ran.stdout);
  const { fleetId, counts, awaitingRestart } = JSON.parse(ran.stdout.trim().split('\n').pop()!) as { fleetId: string; counts: Record<string, number>; awaitingRestart?: string[] };
  // The canary waits for its window: it has not proven the change, so the next wave waits with it.
  assert.equal([counts['awaiting-restart-window'], counts.skipped, awaitingRestart], [1, 2, ['host-1']]);
  // Options that mean nothing for a fleet are refused before anything is contacted, never dropped unsaid.
  const target = await cli(['resume', fleetId, '--target', 'sim:other.json', '--state-dir', state]);
  assert.is(target.code, 2, target.stderr + target.stdout);
  assert.match(target.stderr, new RegExp(`--target reaches one run's machine another way; fleet ${fleetId} has a target per host \\(its inventory\\): resume one host's run with \`runbook resume ${fleetId}\\.<host> --target …\`, or leave --target out`));
  const force = await cli(['resume', fleetId, '--force', '--allow-restart', '--state-dir', state]);
  assert.is(force.code, 2, force.stderr + force.stdout);
  assert.match(force.stderr, new RegExp(`--force has no meaning for fleet ${fleetId}: its hosts' runs go on with the runbook the fleet recorded`));
  const { readHost } = await import('../../src/index.js');
  for (const h of ['host-1', 'host-2', 'host-3']) assert.is((await readHost(join(dir, 'fleet', `${h}.json`))).restarts, 0, `${h} not restarted yet`);
  const resumed = await cli(['resume', fleetId, '--allow-restart', '--state-dir', state]);
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
  assert.match(resumed.stdout, /Fleet: done — 3 changed\n/);
  for (const h of ['host-1', 'host-2', 'host-3']) assert.is((await readHost(join(dir, 'fleet', `${h}.json`))).restarts, 1, `${h} restarted once`);
  const report = JSON.parse(await readFile(join(state, 'fleets', fleetId, 'report.json'), 'utf8')) as { status: string; exitCode: number };
  assert.equal([report.status, report.exitCode], ['succeeded', 0]);
});

test('resume <fleet-id> with a host whose journal is damaged: exit 2, the file and what to do on stderr, the host not driven and not "unreachable"; status <fleet-id> says damaged', async () => {
  const dir = await tempDir();
  await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  const state = join(dir, 'state');
  const ran = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--json', '--param', 'pollIntervalMs=10', '--param', 'allowRestart=false']);
  assert.is(ran.code, 75, ran.stderr + ran.stdout);
  const { fleetId } = JSON.parse(ran.stdout.trim().split('\n').pop()!) as { fleetId: string };
  const journal = join(state, 'runs', `${fleetId}.host-1`, 'journal.jsonl');
  const lines = (await readFile(journal, 'utf8')).split('\n');
  lines[2] = lines[2].replace('"at":"2', '"at":"1');
  await writeFile(journal, lines.join('\n'));
  const before = await readFile(join(dir, 'fleet', 'host-1.json'), 'utf8');
  const r = await cli(['resume', fleetId, '--allow-restart', '--state-dir', state]);
  assert.is(r.code, 2, r.stderr + r.stdout);
  assert.ok(r.stderr.includes(`error: host host-1 was not driven: the journal of host host-1's run is damaged: corrupt journal record (its checksum does not match) (${journal}:3)\n  → the run cannot be resumed safely; inspect the file, restore it from a backup`), r.stderr);
  assert.ok(r.stderr.includes(`once its journal is fixed, \`runbook resume ${fleetId}\` goes on with it`), r.stderr);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  assert.match(r.stdout, /not driven: host-1 — input to fix first/);
  assert.not.match(r.stdout, /unreachable|failure budget/);
  assert.is(await readFile(join(dir, 'fleet', 'host-1.json'), 'utf8'), before, 'nothing was sent to host-1');
  const status = JSON.parse((await cli(['status', fleetId, '--state-dir', state, '--json'])).stdout) as { hosts: { host: string; status: string; error?: string }[] };
  assert.is(status.hosts[0].status, 'damaged');
  assert.match(status.hosts[0].error ?? '', /its journal is damaged: corrupt journal record/);
});

test('resume --all with --target or --force is refused (exit 2, naming the fleet) when a fleet is among what it would resume: nothing is resumed, no option dropped unsaid', async () => {
  const dir = await tempDir();
  await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  await cli(['sim', 'create', '--preset', 'server-2016', '--out', join(dir, 'alone.json'), '--downtime-ms', '40']);
  const state = join(dir, 'state');
  const fleet = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--json', '--param', 'pollIntervalMs=10', '--param', 'allowRestart=false']);
  assert.is(fleet.code, 75, fleet.stderr + fleet.stdout);
  const { fleetId } = JSON.parse(fleet.stdout.trim().split('\n').pop()!) as { fleetId: string };
  const alone = await cli(['run', 'orchestrator-tls12', '--target', `sim:${join(dir, 'alone.json')}`, '--state-dir', state, '--param', 'pollIntervalMs=10', '--param', 'allowRestart=false']);
  assert.is(alone.code, 75, alone.stderr + alone.stdout);
  const { readHost } = await import('../../src/index.js');
  for (const [option, words] of [
    [['--target', `sim:${join(dir, 'alone.json')}`], /--target reaches one run's machine another way; a fleet has a target per host/],
    [['--force'], /--force has no meaning for a fleet: its hosts' runs go on with the runbook the fleet recorded/],
  ] as const) {
    const r = await cli(['resume', '--all', '--allow-restart', ...option, '--state-dir', state]);
    assert.is(r.code, 2, r.stderr + r.stdout);
    assert.match(r.stderr, words);
    assert.ok(r.stderr.includes(`resume --all would also resume fleet(s) ${fleetId} in ${state}; nothing was resumed`), r.stderr);
    assert.match(r.stderr, new RegExp(`\`runbook resume <run-id> ${option[0]}`));
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    for (const h of [join(dir, 'alone.json'), join(dir, 'fleet', 'host-1.json'), join(dir, 'fleet', 'host-2.json')]) assert.is((await readHost(h)).restarts, 0, `${h}: nothing was resumed`);
  }
  const all = await cli(['resume', '--all', '--allow-restart', '--state-dir', state]);
  assert.is(all.code, 0, all.stderr + all.stdout);
});

test('resume --all finishes a fleet a signal stopped with every host under way as resume <fleet-id> does: its reports are written again, and a second resume --all finds nothing', async () => {
  const dir = await tempDir();
  // Slow calls: every host of the second wave is still under way when the signal comes.
  await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '4', '--out', join(dir, 'fleet'), '--downtime-ms', '40', '--latency-ms', '200']);
  const state = join(dir, 'state');
  const started = new Set<string>();
  const stopped = await fleetChild(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--json', '--param', 'pollIntervalMs=10'], (e, child) => {
    if (e.event !== 'host:start') return;
    started.add(String(e.host));
    if (started.size === 4) child.kill('SIGINT');
  });
  assert.is(stopped.code, 75, stopped.stderr + stopped.stdout);
  const summary = JSON.parse(stopped.stdout.trim().split('\n').pop()!) as { fleetId: string; status: string; counts: Record<string, number> };
  assert.equal([summary.status, summary.counts.changed, summary.counts.interrupted], ['awaiting-resume', 1, 3], JSON.stringify(summary.counts));
  const all = await cli(['resume', '--all', '--state-dir', state]);
  assert.is(all.code, 0, all.stderr + all.stdout);
  assert.match(all.stdout, /Fleet: done — 4 changed\n/);
  const dirOf = join(state, 'fleets', summary.fleetId);
  const report = JSON.parse(await readFile(join(dirOf, 'report.json'), 'utf8')) as { status: string; exitCode: number; counts: Record<string, number> };
  assert.equal([report.status, report.exitCode, report.counts.changed, report.counts.interrupted], ['succeeded', 0, 4, 0]);
  assert.match(await readFile(join(dirOf, 'report.md'), 'utf8'), /status: \*\*succeeded\*\* \(exit 0\)/);
  const junit = await readFile(join(dirOf, 'junit.xml'), 'utf8');
  assert.is(junit.match(/<system-out>changed<\/system-out>/g)?.length, 4, junit);
  const again = await cli(['resume', '--all', '--state-dir', state]);
  assert.match(again.stdout, /^no interrupted runs\n$/, again.stderr + again.stdout);
});

test('a fleet whose reports the disk refuses at its end keeps its exit code, warns naming each file with status --reports and resume, and resume writes them', async () => {
  const dir = await tempDir();
  await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  const state = join(dir, 'state');
  const r = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--param', 'pollIntervalMs=10'], { RUNBOOK_WRITE_FAULT: 'junit.xml:ENOSPC' });
  assert.is(r.code, 0, r.stderr);
  const [fleetId] = await readdir(join(state, 'fleets'));
  const junit = join(state, 'fleets', fleetId, 'junit.xml');
  assert.ok(r.stderr.includes(`warning: ${junit} could not be written (ENOSPC: the disk is full); the fleet's outcome and exit code stand`), r.stderr);
  assert.ok(r.stderr.includes(`\`runbook status ${fleetId} --reports DIR\``), r.stderr);
  assert.ok(r.stderr.includes(`\`runbook resume ${fleetId}\` writes them here again`), r.stderr);
  assert.not.match(r.stderr, /run the command again/);
  assert.match(r.stdout, /Fleet: done — 2 changed\n {2}reports: .* — not written: junit\.xml \(ENOSPC\)\n/);
  assert.not.ok(existsSync(junit));
  const resumed = await cli(['resume', fleetId, '--state-dir', state]);
  assert.is(resumed.code, 0, resumed.stderr);
  assert.ok(existsSync(junit), 'the resume wrote the report the disk refused');
});

test('a fleet whose state directory refuses a host run\'s journal stops there awaiting its resume (exit 75): the state directory named, `runbook resume <fleet-id>`, no failure counted', async () => {
  const dir = await tempDir();
  await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '3', '--out', join(dir, 'fleet'), '--downtime-ms', '40']);
  const state = join(dir, 'state');
  // The 20th journal batch: host-1 (the canary) has changed its .NET and SCHANNEL values by then.
  const r = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--param', 'pollIntervalMs=10', '--json'], { RUNBOOK_JOURNAL_FAULT: '20:ENOSPC' });
  assert.is(r.code, 75, r.stderr);
  const [fleetId] = await readdir(join(state, 'fleets'));
  assert.ok(r.stderr.includes(`stopped: the state directory ${state} would not take a write for host host-1: ${join(state, 'runs', `${fleetId}.host-1`, 'journal.jsonl')} (ENOSPC: the disk is full); the fleet stopped there`), r.stderr);
  assert.ok(r.stderr.includes(`→ free space in ${state}, then \`runbook resume ${fleetId}\` goes on`), r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const ends = events.filter((e) => e.event === 'host:end');
  assert.equal(ends.map((e) => [e.host, e.outcome]), [['host-1', 'interrupted']], 'no host started after it');
  assert.ok(ends[0].changes > 0, 'the changes the journal holds, not 0');
  const summary = events.at(-1);
  assert.equal([summary.status, summary.exitCode, summary.budget.failures, summary.stateDir.errno], ['awaiting-resume', 75, 0, 'ENOSPC']);
  const resumed = await cli(['resume', fleetId, '--state-dir', state]);
  assert.is(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /Fleet: done — 3 changed/);
});

test.run();
