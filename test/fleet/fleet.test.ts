/**
 * Fleets through the library: waves in order, the concurrency, the failure budget (later hosts never
 * touched), bad input refused before any host is contacted, and the reports (junit.xml read back).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { createSimulatedExecutor, loadRunbook, readHost as readHostFile, ValidationError, VirtualClock, type SimHostState } from '../../src/index.js';
import { loadInventory, checkInventory, limitInventory, unmatchedLimitPatterns, MAX_INVENTORY_BYTES } from '../../src/fleet/inventory.js';
import { startFleet, budgetOf, fleetRecordOf, refusedForInput, resumeFleet, fleetResultOf, type FleetRecord, type FleetResult, type HostOutcome } from '../../src/fleet/fleet.js';
import { kinds, makeHost, newRunner, registryText, restartRefused, tempDir, withWinrmDefaultPorts } from '../helpers.js';
import { LeaseError } from '../../src/errors.js';
import { machineKeyOf } from '../../src/engine/target-machine.js';
import type { Executor } from '../../src/executors/types.js';
import { readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { STALE_TEMPORARY_FILE_MS, injectWriteFault } from '../../src/util/write-atomic.js';
import { fileStore } from '../../src/store/file-store.js';
import { replay, resultOf } from '../../src/engine/replay.js';
import { changedValues } from '../../src/engine/outcome.js';
import { mkdir } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';

/** N hosts (the first `failing` of them refuse their restart) and an inventory: a canary wave, then the rest. */
async function fleetOf(count: number, failing = 0): Promise<{ file: string; hosts: string[] }> {
  const dir = await tempDir('rbe-fleet-');
  const hosts: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = join(dir, `h${i}.json`);
    await copyFile(await makeHost('server-2016', i < failing ? restartRefused : undefined), file);
    hosts.push(file);
  }
  const inventory = {
    defaults: { params: { pollIntervalMs: 10 } },
    hosts: hosts.map((_, i) => ({ name: `h${i}`, target: `sim:h${i}.json`, groups: [i === 0 ? 'canary' : 'servers'] })),
    waves: [{ name: 'canary', groups: ['canary'] }, { name: 'rest', groups: ['servers'] }],
  };
  const file = join(dir, 'inventory.yaml');
  await writeFile(file, stringify(inventory));
  return { file, hosts };
}

async function run(file: string, options: { concurrency?: number; maxFailures?: number | string; checkMode?: boolean } = {}) {
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const fleet = startFleet({
    runner: newRunner(stateDir, clock),
    kinds,
    runbook: await loadRunbook('orchestrator-tls12', kinds),
    inventory: await loadInventory(file),
    connect: (target) => createSimulatedExecutor(target.slice(4), { clock }),
    ...options,
  });
  const order: string[] = [];
  let running = 0;
  let peak = 0;
  fleet.events.on('wave:start', (e) => order.push(`wave ${e.wave}`));
  fleet.events.on('host:start', (e) => {
    order.push(`start ${e.host}`);
    peak = Math.max(peak, ++running);
  });
  fleet.events.on('host:end', (e) => {
    order.push(`end ${e.host} ${e.status}`);
    running -= 1;
  });
  const result: FleetResult = await fleet.result;
  return { result, order, peak };
}

const hostsOf = (r: FleetResult) => Object.fromEntries(r.waves.flatMap((w) => w.hosts.map((h) => [h.host, h.status])));

test('waves run in order, each host its own run, no more than the concurrency at once', async () => {
  const { file } = await fleetOf(5);
  const { result, order, peak } = await run(file, { concurrency: 2 });
  assert.is(result.status, 'succeeded');
  assert.equal(hostsOf(result), { h0: 'succeeded', h1: 'succeeded', h2: 'succeeded', h3: 'succeeded', h4: 'succeeded' });
  assert.equal(order.slice(0, 4), ['wave canary', 'start h0', 'end h0 succeeded', 'wave rest'], 'the canary ends before the next wave starts');
  assert.is(peak, 2);
  const runIds = new Set(result.waves.flatMap((w) => w.hosts.map((h) => h.runId)));
  assert.is(runIds.size, 5);
});

test('a failing canary spends the budget: no later host is touched, each reported as skipped', async () => {
  const { file, hosts } = await fleetOf(4, 1);
  const before = await Promise.all(hosts.slice(1).map((h) => readFile(h, 'utf8')));
  const { result } = await run(file);
  assert.is(result.status, 'failed');
  assert.equal(hostsOf(result), { h0: 'rolled-back', h1: 'skipped', h2: 'skipped', h3: 'skipped' });
  assert.equal(result.budget, { maxFailures: 0, failures: 1, spent: true });
  assert.equal(await Promise.all(hosts.slice(1).map((h) => readFile(h, 'utf8'))), before, 'the skipped hosts were never contacted');
});

test('a budget of 25% of four hosts lets one failure pass; a second stops the fleet', async () => {
  assert.is(budgetOf('25%', 4), 1);
  assert.is(budgetOf(2, 10), 2);
  assert.throws(() => budgetOf('many', 4), /whole number or a percentage/);
  const one = await run((await fleetOf(4, 1)).file, { maxFailures: '25%' });
  assert.equal(hostsOf(one.result), { h0: 'rolled-back', h1: 'succeeded', h2: 'succeeded', h3: 'succeeded' });
  assert.equal(one.result.budget.spent, false);
  const two = await run((await fleetOf(4, 3)).file, { maxFailures: 1, concurrency: 1 });
  // The canary fails (1 of 1 tolerated), then the first of the rest fails too: nothing more starts.
  assert.equal(hostsOf(two.result), { h0: 'rolled-back', h1: 'rolled-back', h2: 'skipped', h3: 'skipped' });
});

test('reports: report.json is the result, report.md a table of every host, junit.xml one test case per host', async () => {
  const { result } = await run((await fleetOf(3, 1)).file, { maxFailures: 0 });
  assert.equal(JSON.parse(await readFile(join(result.dir, 'report.json'), 'utf8')), JSON.parse(JSON.stringify(result)));
  const md = await readFile(join(result.dir, 'report.md'), 'utf8');
  assert.match(md, /\| canary \| h0 \| failed and rolled back \| 0 \| \d+ \| [\w.-]+\.h0 \|/);
  assert.match(md, /\| rest \| h2 \| skipped \(not started\) \| 0 \| 0 \| - \|/);
  assert.match(md, /- status: \*\*failed\*\* \(exit 1\) — 1 failed and rolled back, 2 skipped \(not started\)/);
  const junit = await readFile(join(result.dir, 'junit.xml'), 'utf8');
  const cases = [...junit.matchAll(/<testcase classname="([^"]+)" name="([^"]+)" time="[\d.]+">([\s\S]*?)<\/testcase>/g)].map((m) => ({ suite: m[1], host: m[2], body: m[3] }));
  assert.equal(cases.map((c) => c.host), ['h0', 'h1', 'h2']);
  assert.match(cases[0].body, /<failure message="failed and rolled back: [^"]*" type="[A-Z_]+">/);
  assert.match(cases[1].body, /<skipped message="skipped \(not started\): the failure budget was spent"\/>/);
  assert.match(junit, /<testsuites name="orchestrator-tls12 fleet [^"]+" tests="3" failures="1" skipped="2">/);
  // Well formed: every element opened is closed, in order.
  const stack: string[] = [];
  for (const m of junit.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
    if (m[3] === '/') continue;
    if (m[1] === '/') assert.is(stack.pop(), m[2]);
    else stack.push(m[2]);
  }
  assert.equal(stack, []);
});

test('the plan of a fleet changes nothing and reports each host as planned', async () => {
  const { file, hosts } = await fleetOf(2);
  const before = await Promise.all(hosts.map((h) => readFile(h, 'utf8')));
  const { result } = await run(file, { checkMode: true });
  assert.is(result.status, 'planned');
  assert.equal(hostsOf(result), { h0: 'planned', h1: 'planned' });
  assert.equal(result.waves.flatMap((w) => w.hosts.map((h) => h.outcome)), ['changes-pending', 'changes-pending'], 'a plan counts no host as "succeeded"');
  assert.is(result.counts['changes-pending'], 2);
  assert.ok(result.waves[0].hosts[0].changes > 0);
  assert.equal(await Promise.all(hosts.map((h) => readFile(h, 'utf8'))), before);
});

test('a canary awaiting its restart window holds the next wave back: the fleet awaits its resume (exit 75), the rest untouched; a resume without the window waits again, one with it restarts the canary, then the rest', async () => {
  const { file, hosts } = await fleetOf(3);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const options = { kinds, connect: (target: string) => createSimulatedExecutor(target.slice(4), { clock }) };
  const waves: string[] = [];
  const fleet = startFleet({ ...options, runner: newRunner(stateDir, clock), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file), params: { allowRestart: false } });
  fleet.events.on('wave:start', (e) => waves.push(e.wave));
  const stopped = await fleet.result;
  assert.equal(hostsOf(stopped), { h0: 'awaiting-resume', h1: 'skipped', h2: 'skipped' });
  assert.equal(waves, ['canary'], 'the next wave never started');
  assert.is(stopped.waves[0].hosts[0].outcome, 'awaiting-restart-window');
  assert.equal([stopped.status, stopped.exitCode, stopped.awaitingRestart], ['awaiting-resume', 75, ['h0']]);
  assert.equal(stopped.budget, { maxFailures: 0, failures: 0, spent: false });
  assert.match(await readFile(join(stopped.dir, 'report.md'), 'utf8'), /- awaiting a restart window: h0 — a wave restarts \(and checks\) its hosts before the next starts/);
  const untouched = await Promise.all(hosts.slice(1).map((h) => readFile(h, 'utf8')));
  // Still outside the window: the canary waits again, the rest stays untouched.
  const again = await (await resumeFleet({ ...options, runner: newRunner(stateDir, clock), fleetId: fleet.id })).result;
  assert.equal(hostsOf(again), { h0: 'awaiting-resume', h1: 'skipped', h2: 'skipped' });
  assert.equal(await Promise.all(hosts.slice(1).map((h) => readFile(h, 'utf8'))), untouched, 'no host of the next wave was contacted');
  // In the window: the canary restarts and proves the change, then the next wave goes (in the window too).
  const done = await (await resumeFleet({ ...options, runner: newRunner(stateDir, clock), fleetId: fleet.id, overrides: { allowRestart: true } })).result;
  assert.equal(hostsOf(done), { h0: 'succeeded', h1: 'succeeded', h2: 'succeeded' });
  assert.is(done.awaitingRestart, undefined);
  for (const h of hosts) assert.is((await readHostFile(h)).restarts, 1);
  // A plan restarts nothing: its waves go on.
  const plan = await startFleet({ ...options, runner: newRunner(await tempDir(), clock), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory((await fleetOf(2)).file), params: { allowRestart: false }, checkMode: true }).result;
  assert.equal(hostsOf(plan), { h0: 'planned', h1: 'planned' });
});

test('a fleet plan spends no failure budget: an unreachable canary does not hide the other hosts', async () => {
  const { file, hosts } = await fleetOf(3);
  await rm(hosts[0]);
  const { result } = await run(file, { checkMode: true, maxFailures: 0 });
  assert.equal(Object.fromEntries(result.waves.flatMap((w) => w.hosts.map((h) => [h.host, h.outcome]))), { h0: 'unreachable', h1: 'changes-pending', h2: 'changes-pending' });
  assert.is(result.budget.spent, false);
  assert.is(result.exitCode, 69);
});

test('a fleet with a host whose rollback failed exits 3 (an operator is needed), whatever else failed', async () => {
  const record = { fleetId: 'f', runbook: { name: 'rb', steps: [] }, checkMode: false, startedAt: new Date().toISOString() } as unknown as FleetRecord;
  const host = (name: string, outcome: HostOutcome['outcome']): HostOutcome => ({ host: name, wave: 'w', target: 'sim:x', status: 'rolled-back', outcome, changes: 0, roundTrips: 0 });
  const waves = [{ name: 'w', hosts: [host('a', 'rolled-back'), host('b', 'rollback-failed'), host('c', 'changed')] }];
  const result = fleetResultOf(record, waves, { maxFailures: 5, failures: 2, spent: false }, '/tmp/x');
  assert.is(result.exitCode, 3);
  assert.is(result.status, 'failed');
  assert.is(result.counts['rollback-failed'], 1);
  const onRequest = fleetResultOf(record, [{ name: 'w', hosts: [host('a', 'rolled-back-on-request'), host('c', 'compliant')] }], { maxFailures: 0, failures: 0, spent: false }, '/tmp/x');
  assert.is(onRequest.exitCode, 0, 'a rollback on request is no failure');
  assert.is(onRequest.status, 'succeeded');
});

test('a bad parameter of one host refuses the whole fleet before any host is contacted', async () => {
  const { file, hosts } = await fleetOf(2);
  const before = await Promise.all(hosts.map((h) => readFile(h, 'utf8')));
  const text = (await readFile(file, 'utf8')).replace('target: sim:h1.json', 'target: sim:h1.json\n    params:\n      restartTimeoutSeconds: -5');
  await writeFile(file, text);
  const stateDir = await tempDir();
  assert.throws(
    () => startFleet({ runner: newRunner(stateDir), kinds, runbook: { definition: { name: 'x', steps: [] } } as never, inventory: checkInventory({ hosts: [{ name: 'a', target: 'sim:x', params: { nope: 1 } }] }, file), connect: async () => assert.unreachable() as never }),
    /host a of .*: /,
  );
  const runbook = await loadRunbook('orchestrator-tls12', kinds);
  const doc = parse(text);
  assert.throws(() => startFleet({ runner: newRunner(stateDir), kinds, runbook, inventory: checkInventory(doc, file), connect: async () => assert.unreachable() as never }), /host h1 of .*\(id restart\)\.with\.timeoutSeconds/s);
  assert.equal(await Promise.all(hosts.map((h) => readFile(h, 'utf8'))), before);
});

test('a fleet id too long for its hosts\' run ids (<fleet-id>.<host>, at most 255 characters) is refused before anything is stored or contacted, saying how long it may be', async () => {
  const { file, hosts } = await fleetOf(2);
  const before = await Promise.all(hosts.map((h) => readFile(h, 'utf8')));
  const stateDir = await tempDir();
  const runbook = await loadRunbook('orchestrator-tls12', kinds);
  const inventory = await loadInventory(file);
  const start = (fleetId: string) => startFleet({ runner: newRunner(stateDir), kinds, runbook, inventory, fleetId, connect: async () => assert.unreachable() as never });
  // 252 + '.' + 'h0' = 255: fits; one more character does not.
  assert.throws(() => start('f'.repeat(253)), (e: unknown) => e instanceof ValidationError && /fleet id "f+…" \(253 characters\) is too long for the run ids of its hosts: host h0 of .*inventory\.yaml would run as "<fleet id>\.h0", 256 characters.*at most 255/s.test(e.message) && /→ give a fleet id of at most 252 characters .*nothing was stored or contacted/.test(e.message));
  assert.throws(() => start('../x'), (e: unknown) => e instanceof ValidationError && /invalid fleet id: "\.\.\/x" is not a fleet id/.test(e.message));
  assert.equal(await readdir(stateDir), [], 'nothing stored');
  assert.equal(await Promise.all(hosts.map((h) => readFile(h, 'utf8'))), before);
  assert.is(fleetRecordOf({ kinds, runbook, inventory, fleetId: 'f'.repeat(252) }).fleetId.length, 252, 'the longest that fits is taken');
});

test('parameters named constructor, toString or __proto__ in an inventory are refused before any host is contacted, not dropped', async () => {
  const runbook = await loadRunbook('orchestrator-tls12', kinds);
  const stateDir = await tempDir();
  const inventory = checkInventory({ defaults: { params: { constructor: '1' } }, hosts: [{ name: 'a', target: 'sim:x', params: { toString: 'x' } }] }, '/x/inventory.yaml');
  assert.throws(
    () => startFleet({ runner: newRunner(stateDir), kinds, runbook, inventory, connect: async () => assert.unreachable() as never }),
    (e: Error) => /constructor: unknown parameter/.test(e.message) && /toString: unknown parameter/.test(e.message),
  );
  const file = join(await tempDir(), 'inventory.yaml');
  await writeFile(file, 'defaults:\n  params:\n    __proto__: 1\nhosts:\n  - name: a\n    target: local\n    params: {__proto__: x}\n');
  const error = await loadInventory(file).then(
    () => assert.unreachable('accepted') as never,
    (e: Error) => e.message,
  );
  assert.ok(error.includes('defaults.params.__proto__: not a parameter of any runbook (a runbook cannot declare that name); remove it'), error);
  assert.ok(error.includes('hosts[0] (a).params.__proto__: not a parameter of any runbook'), error);
});

test('an inventory that is a folder, a named pipe, a device, too large, nested too deeply, or starts with a byte order mark: refused in plain words (or read as without the mark)', async () => {
  const dir = await tempDir();
  const message = (file: string) =>
    loadInventory(file).then(
      () => assert.unreachable('accepted') as never,
      (e: Error) => e.message,
    );
  assert.match(await message(join(dir, 'nope.yaml')), /^cannot read the inventory: there is no such file \(.*\)\n  → check the path; a relative one starts from .*; `runbook sim fleet` writes an inventory to start from$/);
  assert.match(await message(dir), /^cannot read the inventory: it is a folder, not a file/);
  const fifo = join(dir, 'inventory.fifo');
  spawnSync('mkfifo', [fifo]);
  assert.match(await message(fifo), /^cannot read the inventory: it is a named pipe, not a file/);
  assert.match(await message('/dev/zero'), /^cannot read the inventory: it is a device, not a file/);
  const big = join(dir, 'big.yaml');
  await writeFile(big, `#${' '.repeat(MAX_INVENTORY_BYTES)}\n`);
  assert.match(await message(big), new RegExp(`^cannot read the inventory: it holds ${MAX_INVENTORY_BYTES + 2} bytes, more than 16 MiB, the cap on inventory files \\(`));
  const deep = join(dir, 'deep.yaml');
  await writeFile(deep, `hosts: ${'['.repeat(5000)}${']'.repeat(5000)}\n`);
  const deepMessage = await message(deep);
  assert.match(deepMessage, /^the inventory is not valid YAML\n  - the document nests too deeply to be read \(at line 1, column \d+\): lists or mappings within each other thousands of levels deep, which an inventory never needs/);
  assert.not.match(deepMessage, /call stack/);
  const bom = join(dir, 'bom.json');
  await writeFile(bom, `\uFEFF${JSON.stringify({ hosts: [{ name: 'a', target: 'local' }] })}`);
  assert.equal((await loadInventory(bom)).hosts.map((h) => h.name), ['a']);
});

test('inventory errors name the file, the host and the field', () => {
  const error = (doc: unknown) => {
    try {
      checkInventory(doc, '/x/inventory.yaml');
    } catch (e) {
      return (e as Error).message;
    }
    return assert.unreachable('accepted') as never;
  };
  assert.match(error({ hosts: [{ name: 'orch01', target: 'sim:a.json', grups: ['x'] }] }), /hosts\[0\] \(orch01\): Unrecognized key: "grups"; known here: name, target, groups, params \(\/x\/inventory\.yaml\)/);
  assert.match(error({ hosts: [{ name: 'orch01' }] }), /hosts\[0\] \(orch01\)\.target/);
  assert.match(error({ hosts: [{ name: 'a', target: 'local' }, { name: 'a', target: 'local' }] }), /hosts\[1\] \(a\)\.name: another host has this name/);
  assert.match(error({ hosts: [{ name: 'a', target: 'local', groups: ['web'] }], waves: [{ name: 'w', groups: ['sql'] }] }), /waves\[0\] \(w\)\.groups: no host is in group "sql"[\s\S]*hosts\[0\] \(a\)\.groups: in no wave/);
  const inv = checkInventory({ hosts: [{ name: 'orch01', target: 'sim:h.json' }, { name: 'sql01', target: 'local' }] }, '/x/inventory.yaml');
  assert.is(inv.hosts[0].target, 'sim:/x/h.json', 'a simulated host is found beside the inventory');
  assert.equal(limitInventory(inv, 'orch*').hosts.map((h) => h.name), ['orch01']);
  assert.throws(() => limitInventory(inv, 'web*'), /selects no host/);
});

const inventoryErrors = (doc: unknown): string => {
  try {
    checkInventory(doc, '/x/inventory.yaml');
  } catch (e) {
    assert.instance(e, ValidationError);
    return (e as Error).message;
  }
  return assert.unreachable('accepted') as never;
};

test('a group named like a host, or a host or group named all, is refused: --limit could not tell them apart', () => {
  const message = inventoryErrors({
    hosts: [
      { name: 'host-1', target: 'sim:h1.json', groups: ['host-2'] },
      { name: 'host-2', target: 'sim:h2.json' },
      { name: 'all', target: 'sim:h3.json', groups: ['all', 'web'] },
    ],
  });
  assert.match(message, /hosts\[0\] \(host-1\)\.groups: group "host-2" has the name of host hosts\[1\] \(host-2\).*rename the group/);
  assert.match(message, /hosts\[2\] \(all\)\.name: "all" is reserved .*rename the host/);
  assert.match(message, /hosts\[2\] \(all\)\.groups: "all" is reserved .*remove it/);
});

test('a wave that gets no host, and two waves of one name, are refused; wave errors come with the schema errors, in one path format, with hints', () => {
  const hosts = [{ name: 'a', target: 'sim:a.json', groups: ['web'] }];
  assert.match(inventoryErrors({ hosts, waves: [{ name: 'w1', groups: ['all'] }, { name: 'w2', groups: ['web'] }] }), /waves\[1\] \(w2\): no host left for it — each host of its groups \(web\) goes in an earlier wave/);
  const many = inventoryErrors({
    foo: 1,
    hosts: [{ name: 'a', target: 'sim:a.json', groups: ['web'] }, { target: 3 }],
    waves: [{ name: 'w', groups: ['web'] }, { name: 'w', groups: ['typo'] }],
  });
  assert.match(many, /\(document\): Unrecognized key: "foo"; known here: defaults, hosts, waves/);
  assert.match(many, /hosts\[1\]\.name: missing; name: letters, digits/);
  assert.match(many, /hosts\[1\]\.target: .*; target: sim:<file>, local, ssh:/);
  assert.match(many, /waves\[1\] \(w\)\.name: another wave has this name \(waves\[0\] \(w\)\)/, 'the wave checks run whatever the schema says');
  assert.match(many, /waves\[1\] \(w\)\.groups: no host is in group "typo"/);
  assert.not.match(many, /waves\.\d|hosts \(/, 'one path format: hosts[i] (name).field, waves[i] (name).field');
  assert.match(many, /→ the format is in docs\/fleets\.md/);
  assert.match(inventoryErrors({ hosts: [{ name: 'a', target: 'local' }], waves: [{ name: 'x y', groups: ['web'] }] }), /waves\[0\] \(x y\)\.name: "x y" is not a name: use letters/);
});

test('--limit as Ansible: names and wildcards, groups, comma and colon lists, !exclusions, &intersections, @refs', () => {
  const inv = checkInventory(
    {
      hosts: [
        { name: 'web01', target: 'sim:w1.json', groups: ['web', 'canary'] },
        { name: 'web02', target: 'sim:w2.json', groups: ['web'] },
        { name: 'web03', target: 'sim:w3.json', groups: ['web'] },
        { name: 'sql01', target: 'sim:s1.json', groups: ['sql'] },
      ],
      waves: [{ name: 'canary', groups: ['canary'] }, { name: 'rest', groups: ['all'] }],
    },
    '/x/inventory.yaml',
  );
  const names = (pattern: string, refs?: Record<string, string[]>) => limitInventory(inv, pattern, refs).hosts.map((h) => h.name);
  assert.equal(names('web'), ['web01', 'web02', 'web03'], 'a group');
  assert.equal(names('web02,sql01'), ['web02', 'sql01'], 'a comma list');
  assert.equal(names('web:!web03'), ['web01', 'web02'], 'a group but one host');
  assert.equal(names('!sql*'), ['web01', 'web02', 'web03'], 'an exclusion alone: every other host');
  assert.equal(names('all:&canary'), ['web01'], 'an intersection');
  assert.equal(names('@f1', { '@f1': ['web03', 'sql01'] }), ['web03', 'sql01'], "an earlier fleet's failed hosts");
  assert.equal(limitInventory(inv, 'web:!web01').waves.map((w) => w.hosts.map((h) => h.name)), [[], ['web02', 'web03']], 'each host stays in its wave');
  assert.throws(() => names('@f2'), /--limit @f2: nothing is known of it/);
  assert.equal(unmatchedLimitPatterns(inv, 'web*,!web03x,sql99,&web,@f1', { '@f1': [] }), ['!web03x', 'sql99', '@f1'], 'the patterns that match no host, as written');
  assert.equal(unmatchedLimitPatterns(inv, 'web:!web03'), []);
});

/** Hosts in one wave (those of `failing` — the first n, or the indexes listed — refuse their restart). */
async function oneWave(count: number, failing: number | number[]): Promise<{ file: string; hosts: string[] }> {
  const dir = await tempDir('rbe-fleet-');
  const hosts: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = join(dir, `h${i}.json`);
    const fails = Array.isArray(failing) ? failing.includes(i) : i < failing;
    await copyFile(await makeHost('server-2016', fails ? restartRefused : undefined), file);
    hosts.push(file);
  }
  const file = join(dir, 'inventory.yaml');
  await writeFile(file, stringify({ defaults: { params: { pollIntervalMs: 10 } }, hosts: hosts.map((_, i) => ({ name: `h${i}`, target: `sim:h${i}.json` })) }));
  return { file, hosts };
}

test('a resumed fleet whose budget was spent leaves its skipped hosts skipped and untouched', async () => {
  // One host at a time: h0 succeeds, h1 and h2 fail, h3 is skipped. Resumed two at a time (the record
  // says so below), a resume that recounted the budget as it read the hosts would read h0 and h1
  // first, find one failure, and start h3.
  const { file, hosts } = await oneWave(4, [1, 2]);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const options = { kinds, connect: (target: string) => createSimulatedExecutor(target.slice(4), { clock }) };
  const first = await startFleet({ ...options, runner: newRunner(stateDir, clock), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file), concurrency: 1, maxFailures: 1 }).result;
  assert.equal(hostsOf(first), { h0: 'succeeded', h1: 'rolled-back', h2: 'rolled-back', h3: 'skipped' });
  const recordFile = join(stateDir, 'fleets', first.fleetId, 'fleet.json');
  await writeFile(recordFile, JSON.stringify({ ...JSON.parse(await readFile(recordFile, 'utf8')), concurrency: 2 }));
  const untouched = await readFile(hosts[3], 'utf8');
  const again = await (await resumeFleet({ ...options, runner: newRunner(stateDir, clock), fleetId: first.fleetId })).result;
  assert.equal(hostsOf(again), hostsOf(first), 'the budget is a recorded decision');
  assert.ok(again.budget.spent);
  assert.is(await readFile(hosts[3], 'utf8'), untouched, 'the skipped host was never contacted');
});

test("a resumed fleet removes the temporary files a stopped controller left in its folder (report.json.<pid>-….tmp), not a running process's nor one younger than a minute", async () => {
  const { file } = await oneWave(1, 0);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const options = { kinds, connect: (target: string) => createSimulatedExecutor(target.slice(4), { clock }) };
  const first = await startFleet({ ...options, runner: newRunner(stateDir, clock), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file) }).result;
  // A process that has ended: its pid no longer runs.
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  const stale = [`report.json.${gone}-0123abcd-7.tmp`, `junit.xml.${gone}-0123abcd-8.tmp`];
  const live = `report.md.${process.ppid}-89abcdef-1.tmp`; // the test runner's parent runs
  const young = `report.json.${gone}-0123abcd-9.tmp`; // a write in flight seen from another machine
  for (const name of [...stale, live, young]) await writeFile(join(first.dir, name), '{"partial');
  const old = new Date(Date.now() - 2 * STALE_TEMPORARY_FILE_MS);
  for (const name of [...stale, live]) await utimes(join(first.dir, name), old, old);
  await (await resumeFleet({ ...options, runner: newRunner(stateDir, clock), fleetId: first.fleetId })).result;
  const left = await readdir(first.dir);
  for (const name of stale) assert.not.ok(left.includes(name), `${name} removed`);
  assert.ok(left.includes(live), "a running process's temporary file is left alone");
  assert.ok(left.includes(young), 'a temporary file younger than a minute is left alone, whatever its process id');
  assert.ok(left.includes('report.json'));
});

test('an interrupted fleet stops its running hosts at a safe point, starts no other, awaits its resume, and the resume ends every host', async () => {
  const { file } = await oneWave(4, 0);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const options = { kinds, connect: (target: string) => createSimulatedExecutor(target.slice(4), { clock }) };
  const fleet = startFleet({ ...options, runner: newRunner(stateDir, clock), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file), concurrency: 2 });
  fleet.events.once('host:start', () => fleet.interrupt());
  const stopped = await fleet.result;
  assert.is(stopped.status, 'awaiting-resume');
  assert.ok(stopped.interrupted);
  const statuses = Object.values(hostsOf(stopped));
  assert.ok(statuses.every((s) => s === 'awaiting-resume' || s === 'skipped'), statuses.join(' '));
  assert.ok(statuses.includes('skipped'), 'no host started after the signal');
  const done = await (await resumeFleet({ ...options, runner: newRunner(stateDir, clock), fleetId: stopped.fleetId })).result;
  assert.is(done.status, 'succeeded');
});

test('a fleet host run records a runbook that loads again, so that it resumes by its own run id', async () => {
  const { file } = await oneWave(2, 0);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const runner = newRunner(stateDir, clock);
  const fleet = await startFleet({ kinds, runner, connect: (t) => createSimulatedExecutor(t.slice(4), { clock }), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file), params: { allowRestart: false } }).result;
  assert.is(fleet.status, 'awaiting-resume');
  const runId = fleet.waves[0].hosts[0].runId!;
  const started = await runner.startedRecord(runId);
  assert.is(started.source, 'orchestrator-tls12');
  const runbook = await loadRunbook(started.source, kinds);
  const done = await (await newRunner(stateDir, clock).resume(runId, { executor: await createSimulatedExecutor(started.target.replace(/^sim:/, ''), { clock }), runbook, overrides: { allowRestart: true } })).result;
  assert.is(done.status, 'succeeded');
});

test('a failure budget or a concurrency that does not fit is a ValidationError that names its field', async () => {
  const file = (await fleetOf(2)).file;
  const options = { kinds, runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file) };
  const cases: [() => unknown, RegExp][] = [
    [() => budgetOf('many', 4), /^maxFailures: a whole number or a percentage .*got "many"$/],
    [() => budgetOf('150%', 4), /^maxFailures: a percentage is at most 100%, got "150%"$/],
    [() => fleetRecordOf({ ...options, concurrency: 0 }), /^concurrency: a whole number of at least 1, got 0$/],
  ];
  for (const [call, issue] of cases) {
    try {
      call();
      assert.unreachable('expected a ValidationError');
    } catch (error) {
      assert.instance(error, ValidationError);
      assert.match((error as ValidationError).issues.join('\n'), issue);
    }
  }
});

test('budgets above 100% or below zero are refused', () => {
  assert.throws(() => budgetOf('150%', 4), /at most 100%/);
  assert.throws(() => budgetOf('-1', 4), /whole number or a percentage/);
  assert.throws(() => budgetOf('-5%', 4), /whole number or a percentage/);
  assert.is(budgetOf('100%', 4), 4);
});

test('an inventory with one target twice, or a host name too long for a file name, is refused with every error at once', () => {
  let message = '';
  try {
    checkInventory(
      {
        hosts: [
          { name: 'a', target: 'sim:h.json' },
          { name: 'b', target: 'sim:./h.json' },
          { name: 'c', target: 'ssh://admin@Web01:22' },
          { name: 'd', target: 'ssh://other@web01:22' },
          { name: 'x'.repeat(240), target: 'local' },
          { name: 'e', target: 'local', grups: [] },
        ],
      },
      '/x/inventory.yaml',
    );
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /hosts\[1\] \(b\)\.target: one machine listed twice: "sim:\.\/h\.json" and hosts\[0\] \(a\)'s "sim:h\.json" are both sim:\/x\/h\.json/);
  assert.match(message, /hosts\[3\] \(d\)\.target: one machine listed twice: "ssh:\/\/other@web01:22" and hosts\[2\] \(c\)'s "ssh:\/\/admin@Web01:22" are both web01 /);
  assert.match(message, /hosts\[4\]\.name: 240 characters; a host name has at most 200/);
  assert.match(message, /hosts\[5\] \(e\)\.target: one machine listed twice: "local" and hosts\[4\] \(x+\)'s "local"/);
  assert.match(message, /Unrecognized key: "grups"/, 'the schema errors come with the others');
});

test('one machine written two ways (a default port written out, a name in capitals, another transport, another port of it) is one machine twice', () => {
  let message = '';
  try {
    checkInventory(
      {
        hosts: [
          { name: 'a', target: 'ssh://admin@ORCH01' },
          { name: 'b', target: 'ssh://admin@orch01:22' },
          { name: 'c', target: 'pwsh+ssh://admin@orch01' },
          { name: 'd', target: 'winrm://sql01' },
          { name: 'e', target: 'winrm://SQL01:5985' },
          { name: 'f', target: 'winrm+https://sql01:5986' },
          { name: 'g', target: 'winrm+https://sql01' },
          { name: 'h', target: 'ssh://admin@orch01:2222' },
        ],
      },
      '/x/inventory.yaml',
    );
  } catch (e) {
    message = (e as Error).message;
  }
  // The machine lease's key (docs/engine.md: two listeners of one host are one machine): a pair this
  // check let through would be refused mid-fleet, every time, by that lease.
  assert.match(message, /hosts\[1\] \(b\)\.target: one machine listed twice: .* and hosts\[0\] \(a\)'s .* are both orch01 /);
  assert.match(message, /hosts\[2\] \(c\)\.target: one machine listed twice: .* and hosts\[0\] \(a\)'s /);
  assert.match(message, /hosts\[4\] \(e\)\.target: one machine listed twice: .* and hosts\[3\] \(d\)'s .* are both sql01 /);
  assert.match(message, /hosts\[5\] \(f\)\.target: one machine listed twice: .* and hosts\[3\] \(d\)'s /, 'WinRM over HTTPS is another listener of the same machine');
  assert.match(message, /hosts\[6\] \(g\)\.target: one machine listed twice: .* and hosts\[3\] \(d\)'s /);
  assert.match(message, /hosts\[7\] \(h\)\.target: one machine listed twice: .* and hosts\[0\] \(a\)'s /, 'another port of one host name is that machine');
  for (const [a, b] of [['ssh://admin@ORCH01', 'ssh://admin@orch01:2222'], ['winrm://sql01', 'winrm+https://sql01:5986']]) assert.is(machineKeyOf(a), machineKeyOf(b), 'the lease takes them as one machine too');
});

test('the inventory refuses what the machine lease takes as one machine: two listeners of one address, a trailing-dot FQDN — naming both entries and their lines (exit 2), before any host is contacted', async () => {
  const dir = await tempDir('rbe-inv-');
  const file = join(dir, 'inventory.yaml');
  await writeFile(
    file,
    ['hosts:', '  - name: http', '    target: winrm://127.0.0.1:15985', '  - name: web', '    target: ssh://admin@web01.invalid', '  - name: https', '    target: winrm+https://127.0.0.1:15986', '  - name: web-fqdn', '    target: winrm://WEB01.invalid.', ''].join('\n'),
  );
  const error = await loadInventory(file).then(
    () => assert.unreachable('the inventory was accepted') as never,
    (e: unknown) => e as ValidationError,
  );
  assert.instance(error, ValidationError, 'an input error: exit 2');
  const issues = error.issues.join('\n');
  assert.match(issues, `hosts[2] (https).target: one machine listed twice: "winrm+https://127.0.0.1:15986" (line 6) and hosts[0] (http)'s "winrm://127.0.0.1:15985" (line 2) are both 127.0.0.1 `);
  assert.match(issues, `hosts[3] (web-fqdn).target: one machine listed twice: "winrm://WEB01.invalid." (line 8) and hosts[1] (web)'s "ssh://admin@web01.invalid" (line 4) are both web01.invalid `);
  // One key for both checks: what the inventory refuses is what the lease would have refused mid-fleet.
  assert.is(machineKeyOf('winrm://127.0.0.1:15985'), machineKeyOf('winrm+https://127.0.0.1:15986'));
  assert.is(machineKeyOf('winrm://WEB01.invalid.'), machineKeyOf('ssh://admin@web01.invalid'));
  assert.is.not(machineKeyOf('winrm://web01.invalid..'), machineKeyOf('winrm://web01.invalid'), 'one trailing dot, not any number');
});

test("an inventory's WinRM targets are one machine per host name whatever ports the fact winrm.default-ports gives", () => {
  const hosts = [
    { name: 'a', target: 'winrm://sql01' },
    { name: 'b', target: 'winrm://sql01:15985' },
    { name: 'c', target: 'winrm+https://sql01' },
    { name: 'd', target: 'winrm+https://sql01:15986' },
    { name: 'e', target: 'winrm://sql01:5985' },
  ];
  const error = withWinrmDefaultPorts({ http: 15985, https: 15986 }, () => {
    try {
      checkInventory({ hosts }, '/x/inventory.yaml');
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  });
  for (const [i, name] of [[1, 'b'], [2, 'c'], [3, 'd'], [4, 'e']] as const) {
    assert.match(error, new RegExp(`hosts\\[${i}\\] \\(${name}\\)\\.target: one machine listed twice: .* and hosts\\[0\\] \\(a\\)'s "winrm://sql01" are both sql01 `));
  }
});

test('a target of no known form is named with the inventory\'s other errors, in one reading', () => {
  let message = '';
  try {
    checkInventory({ hosts: [{ name: 'a', target: 'ftp://x' }, { name: 'b', target: 'orch01' }, { name: 'c', target: 'local' }, { name: 'c', target: 'sim:h.json' }] }, '/x/inventory.yaml');
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /hosts\[0\] \(a\)\.target: "ftp:\/\/x" is not a target form this engine knows/);
  assert.match(message, /hosts\[1\] \(b\)\.target: "orch01" is not a target form/);
  assert.match(message, /hosts\[3\] \(c\)\.name: another host has this name/);
  assert.match(message, /ssh:\/\/user@host/, 'the accepted forms are listed');
});

test('a damaged fleet record is refused naming its fields, before any host is contacted', async () => {
  const { file, hosts } = await oneWave(1, 0);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const options = { kinds, connect: (target: string) => createSimulatedExecutor(target.slice(4), { clock }) };
  const first = await startFleet({ ...options, runner: newRunner(stateDir, clock), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file), params: { allowRestart: false } }).result;
  const recordFile = join(stateDir, 'fleets', first.fleetId, 'fleet.json');
  await writeFile(recordFile, JSON.stringify({ ...JSON.parse(await readFile(recordFile, 'utf8')), concurrency: 'many', inventory: { hosts: [] } }));
  const before = await readFile(hosts[0], 'utf8');
  const error = await resumeFleet({ ...options, runner: newRunner(stateDir, clock), fleetId: first.fleetId }).then(
    () => null,
    (e: Error) => e,
  );
  assert.match(String(error?.message), /record is damaged[\s\S]*inventory: expected[\s\S]*concurrency: expected a whole number/);
  assert.is(await readFile(hosts[0], 'utf8'), before);
});

test('a host whose journal the disk refused waits for the fleet\'s resume (not "unreachable"), and the resume ends it', async () => {
  const { injectJournalFault } = await import('../../src/engine/crash-hook.js');
  const { file, hosts } = await oneWave(1, 0);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const options = { kinds, connect: (target: string) => createSimulatedExecutor(target.slice(4), { clock }) };
  injectJournalFault({ at: 12, code: 'ENOSPC', on: 'write' });
  let stopped;
  try {
    stopped = await startFleet({ ...options, runner: newRunner(stateDir, clock), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file) }).result;
  } finally {
    injectJournalFault(null);
  }
  assert.equal(hostsOf(stopped), { h0: 'awaiting-resume' });
  assert.match(stopped.waves[0].hosts[0].error?.message ?? '', /could not be written durably \(ENOSPC/);
  const done = await (await resumeFleet({ ...options, runner: newRunner(stateDir, clock), fleetId: stopped.fleetId })).result;
  assert.equal(hostsOf(done), { h0: 'succeeded' });
  assert.is((await readHostFile(hosts[0])).restarts, 1);
});

/** Connects as `createSimulatedExecutor` does; the host named `gated` holds its first restart request until `open()`. */
function gatedConnect(clock: VirtualClock, gated: string) {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let reached!: () => void;
  const held = new Promise<void>((r) => (reached = r));
  const connect = async (target: string): Promise<Executor> => {
    const executor = await createSimulatedExecutor(target.slice(4), { clock });
    if (!target.endsWith(`/${gated}`) && target !== `sim:${gated}`) return executor;
    let waited = false;
    return Object.assign(Object.create(executor) as Executor, {
      async run(batch: Parameters<Executor['run']>[0], options?: Parameters<Executor['run']>[1]) {
        if (!waited && batch.some((op) => op.op === 'restart')) {
          waited = true;
          reached();
          await gate;
        }
        return executor.run(batch, options);
      },
      close: () => executor.close(),
    });
  };
  return { connect, open: () => open(), held };
}

test('a host whose journal is damaged is not driven on the fleet\'s resume: its error names the file and what to do, no failure counted, not "unreachable", the next wave not started; restored, the resume goes on', async () => {
  const { file, hosts } = await fleetOf(3);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const options = { kinds, connect: (target: string) => createSimulatedExecutor(target.slice(4), { clock }) };
  const fleet = startFleet({ ...options, runner: newRunner(stateDir, clock), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file), concurrency: 2 });
  fleet.events.once('host:start', () => fleet.interrupt());
  assert.equal(hostsOf(await fleet.result), { h0: 'awaiting-resume', h1: 'skipped', h2: 'skipped' });
  // A record of the canary's journal damaged after it was written.
  const journal = join(stateDir, 'runs', `${fleet.id}.h0`, 'journal.jsonl');
  const good = await readFile(journal, 'utf8');
  const lines = good.split('\n');
  lines[2] = lines[2].replace('"at":"2', '"at":"1');
  assert.not.equal(lines.join('\n'), good, 'a record changed');
  await writeFile(journal, lines.join('\n'));
  const before = await Promise.all(hosts.map((h) => readFile(h, 'utf8')));
  const again = await (await resumeFleet({ ...options, runner: newRunner(stateDir, clock), fleetId: fleet.id })).result;
  assert.equal(hostsOf(again), { h0: 'awaiting-resume', h1: 'skipped', h2: 'skipped' }, 'the next wave never started');
  const h0 = again.waves[0].hosts[0];
  assert.equal([h0.outcome, h0.error?.code], ['interrupted', 'JOURNAL_CORRUPT']);
  assert.ok(h0.error?.message.includes(`the journal of host h0's run is damaged: corrupt journal record (its checksum does not match) (${journal}:3)`), h0.error?.message);
  assert.match(h0.error?.message ?? '', /→ the run cannot be resumed safely; inspect the file, restore it from a backup/);
  assert.ok(h0.error?.message.includes(`→ nothing was sent to h0 and no failure was counted; once its journal is fixed, \`runbook resume ${fleet.id}\` goes on with it`), h0.error?.message);
  assert.equal(again.budget, { maxFailures: 0, failures: 0, spent: false }, 'the target is not to blame');
  assert.equal([again.status, again.exitCode, again.refused], ['awaiting-resume', 2, ['h0']]);
  assert.equal(await newRunner(stateDir, clock).store.unreachableHosts(fleet.id), {});
  assert.equal(await Promise.all(hosts.map((h) => readFile(h, 'utf8'))), before, 'no host was contacted');
  assert.is(await readFile(journal, 'utf8'), lines.join('\n'), 'the damaged journal is left as it was, not replaced by a new run');
  assert.match(await readFile(join(stateDir, 'fleets', fleet.id, 'report.md'), 'utf8'), /- not driven: h0 \(input to fix first, see Failures\)/);
  // Restored from a backup, the fleet goes on.
  await writeFile(journal, good);
  const done = await (await resumeFleet({ ...options, runner: newRunner(stateDir, clock), fleetId: fleet.id })).result;
  assert.equal(hostsOf(done), { h0: 'succeeded', h1: 'succeeded', h2: 'succeeded' });
  assert.is(done.refused, undefined);
});

test('a second driver of a fleet is refused while one drives it: LEASE_HELD naming the holder, no host contacted, nothing counted, the first ends as uninterrupted', async () => {
  const { file } = await oneWave(3, 0);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const contacted: string[] = [];
  const options = { kinds, connect: (target: string) => createSimulatedExecutor(target.slice(4), { clock }) };
  const first = startFleet({ ...options, runner: newRunner(stateDir, clock), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file), concurrency: 1 });
  const refused = new Promise<unknown>((resolve) => {
    first.events.once('host:start', () => {
      resumeFleet({ kinds, runner: newRunner(stateDir, clock), fleetId: first.id, connect: (target: string) => (contacted.push(target), createSimulatedExecutor(target.slice(4), { clock })) })
        .then((second) => {
          second.events.on('host:start', (e) => contacted.push(e.host));
          return second.result;
        })
        .then(() => resolve(null), resolve);
    });
  });
  const error = (await refused) as LeaseError;
  assert.instance(error, LeaseError);
  assert.is(error.code, 'LEASE_HELD');
  assert.match(error.message, new RegExp(`fleet ${first.id} is being driven by pid ${process.pid} on .+ \\(lease generation 1, until `));
  assert.equal(contacted, [], 'the second driver contacted no host');
  const result = await first.result;
  assert.equal(hostsOf(result), { h0: 'succeeded', h1: 'succeeded', h2: 'succeeded' });
  assert.equal(result.budget, { maxFailures: 0, failures: 0, spent: false });
  assert.equal(await readdir(join(stateDir, 'fleets', first.id)).then((f) => f.filter((n) => n.startsWith('unreachable'))), [], 'no host recorded unreachable');
  // Once the first has let go of it, the fleet is anyone's: a resume finds every host ended.
  const again = await (await resumeFleet({ ...options, runner: newRunner(stateDir, clock), fleetId: first.id })).result;
  assert.equal(hostsOf(again), hostsOf(result));
});

test('two resumes of a stopped fleet at once: one drives it, the other is refused before it reads or contacts anything', async () => {
  const { file, hosts } = await oneWave(2, 0);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const options = { kinds, connect: (target: string) => createSimulatedExecutor(target.slice(4), { clock }) };
  const fleet = startFleet({ ...options, runner: newRunner(stateDir, clock), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file), concurrency: 1 });
  fleet.events.once('host:start', () => fleet.interrupt());
  assert.is((await fleet.result).status, 'awaiting-resume');
  const both = await Promise.allSettled([0, 1].map(async () => (await resumeFleet({ ...options, runner: newRunner(stateDir, clock), fleetId: fleet.id })).result));
  const done = both.filter((b) => b.status === 'fulfilled').map((b) => (b as PromiseFulfilledResult<FleetResult>).value);
  const refused = both.filter((b) => b.status === 'rejected').map((b) => (b as PromiseRejectedResult).reason as LeaseError);
  assert.is(done.length, 1);
  assert.equal(refused.map((e) => e.code), ['LEASE_HELD']);
  assert.equal(hostsOf(done[0]), { h0: 'succeeded', h1: 'succeeded' });
  for (const h of hosts) assert.is((await readHostFile(h)).restarts, 1);
});

test('a host whose run another driver holds is "driven elsewhere": awaiting resume, neither failed nor unreachable, no budget spent', async () => {
  const { file } = await oneWave(2, 0);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const options = { kinds, connect: (target: string) => createSimulatedExecutor(target.slice(4), { clock }) };
  const fleet = startFleet({ ...options, runner: newRunner(stateDir, clock), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file), concurrency: 2 });
  fleet.events.once('host:start', () => fleet.interrupt());
  await fleet.result;
  // Another process (a `resume <run-id>`) holds h0's run.
  const runner = newRunner(stateDir, clock);
  const held = await runner.store.lease(`${fleet.id}.h0`);
  try {
    const again = await (await resumeFleet({ ...options, runner, fleetId: fleet.id })).result;
    const h0 = again.waves[0].hosts[0];
    assert.equal([h0.status, h0.outcome, h0.error?.code], ['awaiting-resume', 'interrupted', 'LEASE_HELD']);
    assert.equal(again.budget, { maxFailures: 0, failures: 0, spent: false });
    assert.is(again.status, 'awaiting-resume');
    assert.equal(await runner.store.unreachableHosts(fleet.id), {});
  } finally {
    await held.release();
  }
});

test('a wave that leaves a host driven elsewhere stops the fleet before the next wave: awaiting resume (exit 75), its next wave untouched, and a resume goes on once that run is free', async () => {
  const { file, hosts } = await fleetOf(3);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const options = { kinds, connect: (target: string) => createSimulatedExecutor(target.slice(4), { clock }) };
  const fleet = startFleet({ ...options, runner: newRunner(stateDir, clock), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file), concurrency: 2 });
  fleet.events.once('host:start', () => fleet.interrupt());
  assert.equal(hostsOf(await fleet.result), { h0: 'awaiting-resume', h1: 'skipped', h2: 'skipped' });
  const untouched = await Promise.all(hosts.slice(1).map((h) => readFile(h, 'utf8')));
  // Another process (a `resume <run-id>` of the canary) holds h0's run: whether it fails is not known yet.
  const runner = newRunner(stateDir, clock);
  const held = await runner.store.lease(`${fleet.id}.h0`);
  const started: string[] = [];
  try {
    const again = await resumeFleet({ ...options, runner, fleetId: fleet.id });
    again.events.on('wave:start', (e) => started.push(e.wave));
    const stopped = await again.result;
    assert.equal(hostsOf(stopped), { h0: 'awaiting-resume', h1: 'skipped', h2: 'skipped' });
    assert.equal(started, ['canary'], 'the next wave never started');
    assert.equal([stopped.status, stopped.exitCode, stopped.drivenElsewhere], ['awaiting-resume', 75, ['h0']]);
    assert.equal(stopped.budget, { maxFailures: 0, failures: 0, spent: false });
    assert.equal(await Promise.all(hosts.slice(1).map((h) => readFile(h, 'utf8'))), untouched, 'no host of the next wave was contacted');
    assert.match(await readFile(join(stateDir, 'fleets', fleet.id, 'report.md'), 'utf8'), /driven elsewhere: h0 .*stopped after its wave/);
  } finally {
    await held.release();
  }
  // That run is free again: the fleet goes on, the canary first.
  const done = await (await resumeFleet({ ...options, runner: newRunner(stateDir, clock), fleetId: fleet.id })).result;
  assert.equal(hostsOf(done), { h0: 'succeeded', h1: 'succeeded', h2: 'succeeded' });
  assert.is(done.drivenElsewhere, undefined);
});

test('a fleet resumed after its budget was spent drives its runs under way to their end (as uninterrupted), and starts no new host', async () => {
  // h0 and h1 together: h1 holds its restart until h0 has failed (budget 0: spent), then the fleet is
  // interrupted, so h1 stops with its changes made and its restart owed; h2 never starts.
  const { file, hosts } = await oneWave(3, [0]);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const gated = gatedConnect(clock, 'h1.json');
  const fleet = startFleet({ kinds, connect: gated.connect, runner: newRunner(stateDir, clock), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file), concurrency: 2 });
  fleet.events.on('host:end', (e) => {
    if (e.host !== 'h0') return;
    fleet.interrupt();
    gated.open();
  });
  const stopped = await fleet.result;
  assert.equal(hostsOf(stopped), { h0: 'rolled-back', h1: 'awaiting-resume', h2: 'skipped' });
  assert.ok(stopped.waves[0].hosts[1].changes > 0, 'h1 stopped half-changed');
  assert.ok(stopped.budget.spent);
  const untouched = await readFile(hosts[2], 'utf8');
  const options = { kinds, connect: (target: string) => createSimulatedExecutor(target.slice(4), { clock }) };
  const resumed = await (await resumeFleet({ ...options, runner: newRunner(stateDir, clock), fleetId: fleet.id })).result;
  assert.equal(hostsOf(resumed), { h0: 'rolled-back', h1: 'succeeded', h2: 'skipped' });
  assert.ok(resumed.budget.spent);
  assert.is(resumed.status, 'failed');
  assert.is(await readFile(hosts[2], 'utf8'), untouched, 'the host never started is still untouched');
  // h1 as an uninterrupted run leaves a host of its kind.
  const reference = await oneWave(1, 0);
  const alone = await startFleet({ ...options, runner: newRunner(await tempDir(), clock), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(reference.file) }).result;
  assert.equal(hostsOf(alone), { h0: 'succeeded' });
  assert.is(await registryText(hosts[1]), await registryText(reference.hosts[0]));
  assert.is((await readHostFile(hosts[1])).restarts, 1, 'restarted once');
});

test('a state directory that refuses a host run\'s first write stops the fleet awaiting its resume (exit 75): the host is not "unreachable", no failure counted, no empty run folder left', async () => {
  const { file, hosts } = await fleetOf(3);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const base = fileStore(stateDir);
  // As the file store does on a full disk: h1's run folder made, its lease file refused.
  const full: typeof base = {
    ...base,
    async lease(runId, options) {
      if (!runId.endsWith('.h1')) return base.lease(runId, options);
      await mkdir(base.runDir(runId), { recursive: true });
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: join(base.runDir(runId), 'lease.1.json') });
    },
  };
  const options = { kinds, connect: (target: string) => createSimulatedExecutor(target.slice(4), { clock }) };
  const stopped = await startFleet({ ...options, runner: newRunner(stateDir, clock, full), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file), concurrency: 1 }).result;
  assert.equal(hostsOf(stopped), { h0: 'succeeded', h1: 'awaiting-resume', h2: 'skipped' }, 'no host starts after the state directory refused a write');
  assert.is(stopped.status, 'awaiting-resume');
  assert.is(stopped.exitCode, 75);
  assert.is(stopped.budget.failures, 0, 'the target is not to blame: nothing of the budget is spent');
  assert.equal(stopped.stateDir, { host: 'h1', file: join(base.runDir(`${stopped.fleetId}.h1`), 'lease.1.json'), errno: 'ENOSPC' });
  assert.is(stopped.waves[1].hosts[0].error?.code, 'NOT_DURABLE');
  assert.equal(await base.unreachableHosts(stopped.fleetId), {});
  assert.equal((await readdir(join(stateDir, 'runs'))).sort(), [`${stopped.fleetId}.h0`], 'no empty run folder for h1');
  assert.is((await readHostFile(hosts[1])).restarts, 0, 'h1 untouched');
  const done = await (await resumeFleet({ ...options, runner: newRunner(stateDir, clock), fleetId: stopped.fleetId })).result;
  assert.equal(hostsOf(done), { h0: 'succeeded', h1: 'succeeded', h2: 'succeeded' });
  assert.is(done.exitCode, 0);
});

test('a ValidationError from a host\'s lease (a bad lease record) carries its own reason, not "unreachable": no failure counted, nothing sent to the host, the next wave not started, exit 2; fixed, the resume goes on', async () => {
  const { file, hosts } = await fleetOf(3);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const base = fileStore(stateDir);
  const where = (runId: string) => join(base.runDir(runId), 'lease.1.json');
  const bad: typeof base = {
    ...base,
    async lease(runId, options) {
      if (!runId.endsWith('.h0')) return base.lease(runId, options);
      throw new ValidationError(`the lease record of run ${runId} is not valid`, ['pid: expected a number'], { where: where(runId), hint: 'remove the file once no process drives the run' });
    },
  };
  const options = { kinds, connect: (target: string) => createSimulatedExecutor(target.slice(4), { clock }) };
  const before = await Promise.all(hosts.map((h) => readFile(h, 'utf8')));
  const stopped = await startFleet({ ...options, runner: newRunner(stateDir, clock, bad), runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file), concurrency: 1 }).result;
  assert.equal(hostsOf(stopped), { h0: 'awaiting-resume', h1: 'skipped', h2: 'skipped' }, 'the next wave never started');
  const h0 = stopped.waves[0].hosts[0];
  assert.equal([h0.outcome, h0.error?.code], ['interrupted', 'VALIDATION']);
  assert.ok(h0.error?.message.startsWith(`the lease record of run ${stopped.fleetId}.h0 is not valid\n  - pid: expected a number (${where(`${stopped.fleetId}.h0`)})\n  → remove the file once no process drives the run`), h0.error?.message);
  assert.ok(h0.error?.message.includes(`→ nothing was sent to h0 and no failure was counted; once this is fixed, \`runbook resume ${stopped.fleetId}\` goes on with it`), h0.error?.message);
  assert.equal(stopped.budget, { maxFailures: 0, failures: 0, spent: false });
  assert.equal([stopped.status, stopped.exitCode, stopped.refused], ['awaiting-resume', 2, ['h0']]);
  assert.equal(await base.unreachableHosts(stopped.fleetId), {});
  // The store keeps it with its reason (it has no run): status <fleet-id> and the console say refused.
  const kept = (await base.heldHosts(stopped.fleetId)).h0;
  assert.equal([kept?.error.code, kept?.error.message], ['VALIDATION', h0.error?.message]);
  assert.ok(refusedForInput(kept!.error));
  assert.equal(await Promise.all(hosts.map((h) => readFile(h, 'utf8'))), before, 'no host was contacted');
  const done = await (await resumeFleet({ ...options, runner: newRunner(stateDir, clock), fleetId: stopped.fleetId })).result;
  assert.equal(hostsOf(done), { h0: 'succeeded', h1: 'succeeded', h2: 'succeeded' });
  assert.is(done.exitCode, 0);
});

test('a host whose journal the disk refused mid-run reports the changes its journal holds (not 0), and the fleet stops there', async () => {
  const { injectJournalFault } = await import('../../src/engine/crash-hook.js');
  const { file } = await oneWave(2, 0);
  const clock = new VirtualClock();
  const stateDir = await tempDir();
  const runner = newRunner(stateDir, clock);
  // At its 20th journal batch the run has changed the host's .NET and SCHANNEL values (41 changes).
  injectJournalFault({ at: 20, code: 'ENOSPC', on: 'write' });
  let stopped: FleetResult;
  try {
    stopped = await startFleet({ kinds, connect: (target) => createSimulatedExecutor(target.slice(4), { clock }), runner, runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(file), concurrency: 1 }).result;
  } finally {
    injectJournalFault(null);
  }
  assert.equal(hostsOf(stopped), { h0: 'awaiting-resume', h1: 'skipped' });
  const h0 = stopped.waves[0].hosts[0];
  const journal = resultOf(replay(await runner.store.readJournal(h0.runId!)), stateDir);
  assert.ok(changedValues(journal) > 0, 'the run changed the host before the disk refused its journal');
  assert.is(h0.changes, changedValues(journal));
  assert.is(stopped.stateDir?.errno, 'ENOSPC');
  assert.is(stopped.exitCode, 75);
});

test('fleet reports the disk refuses at the fleet\'s end are noted as unwritten; the fleet\'s outcome and exit code stand', async () => {
  const { file } = await oneWave(1, 0);
  injectWriteFault({ suffixes: ['report.md', 'junit.xml'], code: 'ENOSPC' });
  let r: Awaited<ReturnType<typeof run>>;
  try {
    r = await run(file);
  } finally {
    injectWriteFault(null);
  }
  assert.is(r.result.status, 'succeeded');
  assert.is(r.result.exitCode, 0);
  assert.equal(r.result.unwritten?.map((u) => [u.file, u.errno]), [[join(r.result.dir, 'report.md'), 'ENOSPC'], [join(r.result.dir, 'junit.xml'), 'ENOSPC']]);
  assert.equal((await readdir(r.result.dir)).filter((f) => f.startsWith('report') || f.endsWith('.xml') || f.endsWith('.tmp')).sort(), ['report.json'], 'the others written, no temporary file left');
});

test.run();
