/**
 * A fleet spread over worker threads ends as the same fleet in one thread: the same outcome for every
 * host, the same journals, the same fleet record — and the workers did drive some of its hosts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { VirtualClock, createSimulatedExecutor, loadRunbook } from '../../src/index.js';
import { loadInventory } from '../../src/fleet/inventory.js';
import { resumeFleet, startFleet, type FleetResult } from '../../src/fleet/fleet.js';
import { threadCountOf } from '../../src/fleet/threads.js';
import { ValidationError } from '../../src/errors.js';
import { kinds, makeHost, newRunner, restartRefused, tempDir } from '../helpers.js';

const HOSTS = 8;

/**
 * HOSTS simulated hosts, the third refusing its restart (rolled back): made once, copied for each fleet.
 * They serve no TLS endpoint (each would listen on a port of its own: handshakes have their own tests).
 */
const made = Promise.all(
  Array.from({ length: HOSTS }, (_, i) =>
    makeHost('server-2016', (h) => {
      h.endpoints = [];
      if (i === 2) restartRefused(h);
    }),
  ),
);

/** A fleet of the same hosts, in two waves (`oneWave`: one). */
async function fleetDir(oneWave = false): Promise<string> {
  const dir = await tempDir('rbe-threads-');
  for (const [i, file] of (await made).entries()) await copyFile(file, join(dir, `h${i}.json`));
  const inventory = {
    defaults: { params: { pollIntervalMs: 10 } },
    hosts: Array.from({ length: HOSTS }, (_, i) => ({ name: `h${i}`, target: `sim:h${i}.json`, groups: [i === 0 ? 'canary' : 'servers'] })),
    ...(oneWave ? {} : { waves: [{ name: 'canary', groups: ['canary'] }, { name: 'rest', groups: ['servers'] }] }),
  };
  await writeFile(join(dir, 'inventory.yaml'), stringify(inventory));
  return dir;
}

const MODULE = new URL('./fleet-thread.ts', import.meta.url);

async function runFleet(threads: number, stop = false, onStep?: (host: string, name: string) => void): Promise<{ result: FleetResult; stateDir: string; hostsDir: string }> {
  const hostsDir = await fleetDir();
  const stateDir = await tempDir();
  const clock = new VirtualClock();
  const fleet = startFleet({
    runner: newRunner(stateDir, clock),
    kinds,
    runbook: await loadRunbook('orchestrator-tls12', kinds),
    inventory: await loadInventory(join(hostsDir, 'inventory.yaml')),
    connect: (target) => createSimulatedExecutor(target.slice(4), { clock }),
    concurrency: HOSTS,
    maxFailures: 1,
    fleetId: 'f',
    threads: { count: threads, module: MODULE, data: { stateDir, stop } },
  });
  if (onStep) fleet.events.on('host:step', (e) => onStep(e.host, e.name));
  return { result: await fleet.result, stateDir, hostsDir };
}

/**
 * A journal as the steps wrote it: every record without its times (deadlines too), checksum, the run's
 * own paths, and the counts of polls of a restart (the pause between polls is jittered).
 */
async function journalOf(stateDir: string, hostsDir: string, host: string): Promise<unknown[]> {
  const text = await readFile(join(stateDir, 'runs', `f.${host}`, 'journal.jsonl'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const text = line.split(hostsDir).join('<hosts>').split(stateDir).join('<state>').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z/g, '<time>').replace(/("polls":|"pollRoundTrips":|after )\d+/g, '$10');
      const { at, sum, ...rest } = JSON.parse(text) as Record<string, unknown>;
      return rest;
    });
}

/** Which thread held each host's lease (0: the main thread). */
async function threadsOf(stateDir: string): Promise<number[]> {
  const threads: number[] = [];
  for (let i = 0; i < HOSTS; i++) {
    const dir = join(stateDir, 'runs', `f.h${i}`);
    const lease = (await readdir(dir)).find((n) => /^lease\.\d+\.json$/.test(n)) as string;
    threads.push((JSON.parse(await readFile(join(dir, lease), 'utf8')) as { thread?: number }).thread ?? 0);
  }
  return threads;
}

/** Every host's outcome, without its times, the fleet's own paths as placeholders. */
const outcomes = (r: { result: FleetResult; hostsDir: string }) =>
  JSON.parse(JSON.stringify(r.result.waves.flatMap((w) => w.hosts.map(({ startedAt, endedAt, target, ...rest }) => rest))).split(r.hostsDir).join('<hosts>')) as unknown;

test('a fleet over two threads ends with the same outcomes, journals and fleet record as in one', async () => {
  const one = await runFleet(1);
  const two = await runFleet(2);
  assert.is(one.result.status, 'failed');
  assert.equal(outcomes(two), outcomes(one));
  assert.equal(two.result.counts, one.result.counts);
  assert.equal(two.result.budget, one.result.budget);
  for (let i = 0; i < HOSTS; i++) {
    const [a, b] = [await journalOf(two.stateDir, two.hostsDir, `h${i}`), await journalOf(one.stateDir, one.hostsDir, `h${i}`)];
    assert.is(a.length, b.length, `the journal of h${i}: its length`);
    a.forEach((record, k) => assert.equal(record, b[k], `the journal of h${i}, record ${k + 1}`));
  }
  const record = async (r: { stateDir: string; hostsDir: string }) => {
    const { startedAt, ...rest } = JSON.parse((await readFile(join(r.stateDir, 'fleets', 'f', 'fleet.json'), 'utf8')).split(r.hostsDir).join('<hosts>')) as Record<string, unknown>;
    return rest;
  };
  assert.equal(await record(two), await record(one));
  assert.equal(await threadsOf(one.stateDir), Array(HOSTS).fill(0), 'one thread: every host in the main thread');
  const spread = await threadsOf(two.stateDir);
  assert.ok(spread.includes(0) && spread.some((t) => t !== 0), `two threads: hosts in the main thread and in a worker (${spread.join(' ')})`);
});

test('a live view hears the steps of every host, those a worker thread drives too', async () => {
  const heard = new Map<string, Set<string>>();
  const two = await runFleet(2, false, (host, name) => heard.set(host, (heard.get(host) ?? new Set()).add(name)));
  const spread = await threadsOf(two.stateDir);
  assert.ok(spread.some((t) => t !== 0), 'a worker drove some hosts');
  const started = two.result.waves.flatMap((w) => w.hosts).filter((h) => h.status !== 'skipped').map((h) => h.host);
  assert.ok(started.length > 0);
  for (const host of started) {
    const names = heard.get(host) ?? new Set();
    assert.ok(names.has('step:transition') && names.has('step:settled'), `${host} (thread ${spread[Number(host.slice(1))]}): ${[...names].join(', ')}`);
  }
});

test('a worker thread that stops leaves its hosts awaiting a resume, the other threads carry the rest, and the resume ends them', async () => {
  // The canary goes to the main thread; then the second wave's hosts alternate, the main thread's first:
  // h2, h4 and h6 are handed to the worker, which stops as it reaches h2.
  const { result, stateDir } = await runFleet(2, true);
  const hosts = result.waves.flatMap((w) => w.hosts);
  assert.equal(
    hosts.map((h) => h.outcome),
    ['changed', 'changed', 'interrupted', 'changed', 'interrupted', 'changed', 'interrupted', 'changed'],
  );
  assert.ok(hosts.filter((h) => h.outcome === 'interrupted').every((h) => h.status === 'awaiting-resume' && h.error?.code === 'WORKER_FAILED'));
  assert.is(result.status, 'awaiting-resume');
  const clock = new VirtualClock();
  const again = await (
    await resumeFleet({ runner: newRunner(stateDir, clock), kinds, connect: (target) => createSimulatedExecutor(target.slice(4), { clock }), fleetId: 'f', threads: { count: 2, module: MODULE, data: { stateDir } } })
  ).result;
  assert.equal(
    again.waves.flatMap((w) => w.hosts.map((h) => h.outcome)),
    Array.from({ length: HOSTS }, (_, i) => (i === 2 ? 'rolled-back' : 'changed')),
  );
});

test('a fleet resumed over two threads with { allowRestart: true } restarts the hosts a worker thread drives too', async () => {
  // One wave: a canary that waits for its window would hold the next wave back.
  const hostsDir = await fleetDir(true);
  const stateDir = await tempDir();
  const clock = new VirtualClock();
  const options = { runner: newRunner(stateDir, clock), kinds, connect: (target: string) => createSimulatedExecutor(target.slice(4), { clock }), threads: { count: 2, module: MODULE, data: { stateDir } } };
  // Every host waits for its restart window (h2's restart, refused, is not tried yet).
  const waiting = await startFleet({ ...options, runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(join(hostsDir, 'inventory.yaml')), params: { allowRestart: false }, concurrency: HOSTS, maxFailures: 1, fleetId: 'f' }).result;
  assert.equal(waiting.counts['awaiting-restart-window'], HOSTS);
  const again = await (await resumeFleet({ ...options, fleetId: 'f', overrides: { allowRestart: true } })).result;
  assert.equal(
    again.waves.flatMap((w) => w.hosts.map((h) => h.outcome)),
    Array.from({ length: HOSTS }, (_, i) => (i === 2 ? 'rolled-back' : 'changed')),
  );
  assert.ok((await threadsOf(stateDir)).some((t) => t !== 0), 'a worker drove some hosts');
});

test('the threads of a fleet: 1 without the option, never more than its hosts, a bad count refused', () => {
  const module = 'x.js';
  assert.is(threadCountOf(undefined, 100), 1);
  assert.is(threadCountOf({ count: 4, module }, 3), 3);
  assert.is(threadCountOf({ count: 2, module }, 100), 2);
  assert.throws(() => threadCountOf({ count: 0, module }, 10), (e: unknown) => e instanceof ValidationError && /threads\.count: a whole number of at least 1/.test((e as ValidationError).issues.join('\n')));
});

test.run();
