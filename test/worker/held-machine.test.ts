/**
 * A worker that takes a queued host whose machine another run drives (the machine's lease,
 * `RunStore.leaseTarget`): it does not requeue the host on every loop while that run holds on, but
 * waits (the host's next try is put off, longer each time), says what it waits for (`status`), and
 * drives the host once the machine is free. A real PostgreSQL server on loopback, started for this
 * file; the worker runs in this process. Its loop rounds are counted (each one asks the queue for
 * orphans), so the bound is a number of rounds, not a time.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { postgresStore } from '../../src/store/postgres.js';
import { machineKeyOf } from '../../src/engine/target-machine.js';
import { hostRunId } from '../../src/fleet/fleet.js';
import { startWorker } from '../../src/worker/worker.js';
import { WorkQueue } from '../../src/worker/queue.js';
import { Runner, bundledStepKinds, createSimulatedExecutor } from '../../src/index.js';
import { tempDir } from '../helpers.js';
import { ConsoleReader } from '../../src/console/reader.js';
import { cli } from '../cli/run-cli.js';
import { postgresForFile } from '../postgres.js';
import { until } from '../processes.js';

const { server, stores } = postgresForFile(test);

test('a queued host whose machine another run holds: tried again only after a growing delay, not on every loop; status says what it waits for; driven once the machine is free', async () => {
  const url = await server.freshDatabase();
  const dir = await tempDir('rbe-held-');
  const made = await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '1', '--out', dir, '--downtime-ms', '100']);
  assert.is(made.code, 0, made.stderr);
  const inventory = join(dir, 'inventory.yaml');
  const target = (parseYaml(await readFile(inventory, 'utf8')) as { hosts: { name: string; target: string }[] }).hosts[0];
  const stateDir = await tempDir('rbe-held-state-');
  const store = await postgresStore(url, { stateDir });
  stores.push(store);
  // Another run drives the machine (a live lease of another id, not renewed: it holds for an hour).
  const other = await store.leaseTarget(machineKeyOf(`sim:${resolve(dir, target.target.slice(4))}`), 'another-run', { ttlMs: 3_600_000, renew: false });
  const queued = await cli(['run', 'orchestrator-tls12', '--inventory', inventory, '--no-wait', '--json', '--state-dir', stateDir, '--param', 'pollIntervalMs=20'], { RUNBOOK_STORE: url });
  assert.is(queued.code, 0, queued.stderr);
  const fleetId = (JSON.parse(queued.stdout.trim().split('\n').pop()!) as { fleetId: string }).fleetId;
  const runId = hostRunId(fleetId, target.name);

  // The worker's loop rounds, counted where each begins (the queue's look for orphans).
  let rounds = 0;
  const requeue = WorkQueue.prototype.requeueOrphans;
  WorkQueue.prototype.requeueOrphans = function (this: WorkQueue) {
    rounds += 1;
    return requeue.call(this);
  };
  const runner = new Runner({ stateDir, store, kinds: bundledStepKinds() });
  // The first wait long (an hour): no loop round may hand the host out within it, however fast the rounds.
  const w = await startWorker({ store, runner, connect: (t) => createSimulatedExecutor(t.slice('sim:'.length)), pollMs: 10, queue: { heldRetryMs: 3_600_000, heldRetryMaxMs: 7_200_000 } });
  const held: string[] = [];
  const ends: string[] = [];
  w.events.on('host:held', (e) => held.push(e.runId));
  w.events.on('host:end', (e) => ends.push(e.status));
  try {
    await until('the worker to meet the held machine', () => held.length > 0);
    const first = rounds;
    await until('100 more loop rounds', () => rounds >= first + 100);
    // Every round within the first delay: the host was not handed out again.
    assert.is(held.length, 1, `the host was tried ${held.length} times in ${rounds} loop rounds`);
    const { rows: wait } = await store.query<{ tries: number; later: boolean }>(`SELECT tries, retry_at > now() + interval '59 minutes' AS later FROM rbe_fleet_hosts WHERE run_id = $1`, [runId]);
    assert.equal(wait, [{ tries: 1, later: true }]);
    // What it waits for, in the fleet's matrix and in its host's row.
    const status = await cli(['status', fleetId, '--json', '--store', url, '--state-dir', stateDir]);
    assert.is(status.code, 0, status.stderr);
    const host = (JSON.parse(status.stdout) as { hosts: { host: string; status: string; waiting?: string }[] }).hosts[0];
    assert.is(host.status, 'waiting');
    assert.match(host.waiting ?? '', /^target sim:.* is being driven by run another-run; tried again after \d{4}-\d\d-\d\dT/);
    const text = await cli(['status', fleetId, '--store', url, '--state-dir', stateDir]);
    assert.match(text.stdout, new RegExp(`${target.name}: waiting: target sim:.* is being driven by run another-run`));
    // The console's fleet view says the same of the host.
    const view = await new ConsoleReader(store, stateDir).fleet(fleetId);
    const row = view.waves.flatMap((wv) => wv.hosts).find((h) => h.name === target.name)!;
    assert.is(row.outcomeId, 'pending');
    assert.match(row.why ?? '', /^waiting: target sim:.* is being driven by run another-run; tried again after /);
    // Its delay passed (its time set to now, in the database's clock, as if the hour had gone by): tried
    // again while the machine is still held, it waits twice as long.
    await store.query('UPDATE rbe_fleet_hosts SET retry_at = now() WHERE run_id = $1', [runId]);
    await until('the second try', () => held.length === 2);
    const { rows: again } = await store.query<{ tries: number; later: boolean }>(`SELECT tries, retry_at > now() + interval '119 minutes' AS later FROM rbe_fleet_hosts WHERE run_id = $1`, [runId]);
    assert.equal(again, [{ tries: 2, later: true }]);
    // The machine is let go of: the host is driven at its next try.
    await other.release({ unfinished: false });
    await store.query('UPDATE rbe_fleet_hosts SET retry_at = now() WHERE run_id = $1', [runId]);
    await until('the host to end', () => ends.length > 0);
    assert.equal(ends, ['succeeded']);
    // The fleet moves on once its run ended: the host is ended there, and waits no more.
    const place = async () => (await store.query<{ state: string; status: string; waiting: unknown }>('SELECT state, status, waiting FROM rbe_fleet_hosts WHERE run_id = $1', [runId])).rows;
    await until('the host ended in its fleet', async () => (await place())[0]?.state === 'ended');
    assert.equal(await place(), [{ state: 'ended', status: 'succeeded', waiting: null }]);
  } finally {
    WorkQueue.prototype.requeueOrphans = requeue;
    await w.stop();
  }
});

test.run();
