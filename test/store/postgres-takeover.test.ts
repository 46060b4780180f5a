/**
 * A run on a PostgreSQL store taken over by a worker of another machine: its first driver exported the
 * .reg backups, then stopped answering (hung on its target, its lease not renewed) before its drive
 * ended; a second driver with another state directory takes the lease over once it expires and
 * finishes the run. The backups must be in the store — made durable there when they were taken, before
 * the change they guard — byte for byte as exported, and no report may name the first driver's disk.
 * A real server on loopback, started for this file.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runner, createSimulatedExecutor, loadRunbook, type Executor, type HostOp } from '../../src/index.js';
import { postgresStore } from '../../src/store/postgres.js';
import { VirtualClock } from '../../src/util/clock.js';
import { FAST, hostOf, kinds, makeHost, tempDir } from '../helpers.js';
import { encodeRegFile } from '../../src/windows/reg-file.js';
import { postgresForFile } from '../postgres.js';

const { server, stores } = postgresForFile(test);

/** An executor that, once the backups were exported, never answers again (its driver is as good as dead). */
function hangingAfterExports(inner: Executor): { executor: Executor; exported: Map<string, string> } {
  const exported = new Map<string, string>();
  let hung = false;
  const executor: Executor = {
    name: inner.name,
    target: inner.target,
    onTarget: inner.onTarget,
    get roundTrips() {
      return inner.roundTrips;
    },
    async run(batch: readonly HostOp[], options) {
      if (hung) return new Promise(() => undefined);
      const results = await inner.run(batch, options);
      for (const r of results) {
        if (r.op !== 'registry.export') continue;
        exported.set(r.file.split('\\').pop()!, r.content);
        hung = true;
      }
      return results;
    },
    tlsEndpoints: inner.tlsEndpoints?.bind(inner),
    close: () => inner.close(),
  };
  return { executor, exported };
}

test('a run taken over by a worker with another state directory: every .reg backup is in the store as exported, and its reports name none of the first worker\'s paths', async () => {
  const url = await server.freshDatabase();
  const dirA = await tempDir('rbe-worker-a-');
  const dirB = await tempDir('rbe-worker-b-');
  const storeA = await postgresStore(url, { stateDir: dirA });
  const storeB = await postgresStore(url, { stateDir: dirB });
  stores.push(storeA, storeB);
  const hostFile = await makeHost('server-2016');
  const clock = new VirtualClock();
  const runbook = await loadRunbook('orchestrator-tls12', kinds);
  const retry = { minTimeout: 5, maxTimeout: 20, randomize: false };

  // Worker A: its lease is not renewed, so that it lapses while A hangs.
  const runnerA = new Runner({ kinds, store: storeA, stateDir: dirA, retry, clock, lease: { ttlMs: 500, renew: false } });
  const { executor, exported } = hangingAfterExports(await createSimulatedExecutor(hostFile, { clock }));
  const runA = runnerA.start(runbook, { executor, params: FAST, runId: 'taken-over' });
  runA.result.catch(() => undefined);
  const deadline = Date.now() + 20_000;
  while (exported.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(exported.size > 0, 'worker A exported the backups');
  // A's backup step journaled its files: wait until the store has A's record of it.
  while (!(await storeA.readJournal('taken-over')).some((r) => r.type === 'file.saved') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 700)); // A's lease expires

  // Worker B, on another machine as far as the run is concerned: its own state directory.
  const runnerB = new Runner({ kinds, store: storeB, stateDir: dirB, retry, clock });
  const runB = await runnerB.resume('taken-over', { connect: async () => createSimulatedExecutor(hostFile, { clock }) });
  const result = await runB.result;
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  assert.is((await hostOf(hostFile)).restarts, 1);

  // Every backup is in the store, byte for byte as exported.
  const files = await storeB.runFiles('taken-over');
  const backups = Object.keys(files).filter((n) => n.startsWith('backups/')).sort();
  assert.equal(backups, [...exported.keys()].map((f) => `backups/${f}`).sort(), 'the store keeps every backup');
  for (const [name, content] of exported) {
    assert.ok(files[`backups/${name}`].equals(encodeRegFile(content)), `${name} kept as exported`);
  }
  // What the run reports does not point at A's disk.
  assert.equal(result.backups.slice().sort(), backups);
  for (const report of ['report.json', 'report.md']) {
    const text = files[report].toString('utf8');
    assert.not.ok(text.includes(dirA), `${report} names worker A's state directory`);
    for (const name of backups) assert.ok(text.includes(name), `${report} names ${name}`);
  }
  assert.match(files['report.md'].toString('utf8'), /status taken-over --reports/);
  assert.not.ok(JSON.stringify(result).includes(dirA), "the result names worker A's state directory");
});

test('a backup is refused to a driver that lost the lease: the store keeps what the current holder saved', async () => {
  const url = await server.freshDatabase();
  const store = await postgresStore(url, { stateDir: await tempDir('rbe-worker-') });
  stores.push(store);
  const first = await store.lease('fenced', { ttlMs: 100, renew: false });
  await store.saveFile('fenced', first, 'backups/a.reg', Buffer.from('first'));
  await new Promise((r) => setTimeout(r, 150));
  const second = await store.lease('fenced', { ttlMs: 60_000, renew: false });
  await store.saveFile('fenced', second, 'backups/a.reg', Buffer.from('second'));
  const refused = await store.saveFile('fenced', first, 'backups/a.reg', Buffer.from('stale')).then(
    () => null,
    (error: unknown) => error as { code?: string },
  );
  assert.is(refused?.code, 'FENCED');
  assert.is((await store.runFiles('fenced'))['backups/a.reg'].toString(), 'second');
  await second.release();
});

test.run();
