/**
 * The shared store, measured in one invocation against a throw-away PostgreSQL cluster on loopback
 * (started here, stopped by its PID):
 *
 * - host runs per second: a fleet of N simulated Server 2016 hosts (a 500 ms restart, no TLS
 *   endpoints) queued with `run --no-wait`, driven by one `runbook worker` process (4 runs at a time), then a new fleet by
 *   two; the ratio two : one.
 * - journal records per second, one run appending and awaiting each record, then 20 runs at once
 *   (group commit), on the file store (the baseline) and on PostgreSQL; the ratios to the baseline.
 *
 * Its temporary folders go when it ends (test/helpers.ts's `tempDir`).
 *
 *   node --import tsx bench/workers.ts [hosts]      (npm run build first: the workers are the built CLI)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createPreset, fileStore, writeHost, type RunStore } from '../src/index.js';
import { postgresStore } from '../src/store/postgres.js';
import { tempDir } from '../test/helpers.js';
import { startPostgres } from '../test/postgres.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const count = Number(process.argv[2] ?? 32);
// Each worker drives this many host runs at once: a second worker is a second such share.
const PER_WORKER = 4;
const server = await startPostgres();
Object.assign(process.env, server.env);

async function fleetDir(n: number): Promise<string> {
  const dir = await tempDir('rbe-bench-workers-');
  const hosts = [];
  for (let i = 1; i <= n; i++) {
    const h = createPreset('server-2016');
    h.downtimeMs = 500;
    h.endpoints = [];
    await writeHost(join(dir, `h${i}.json`), h);
    hosts.push({ name: `h${i}`, target: `sim:h${i}.json`, groups: ['all'] });
  }
  await writeFile(join(dir, 'inventory.yaml'), stringify({ hosts, waves: [{ name: 'all', groups: ['all'] }] }));
  return dir;
}

function run(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
}

async function fleetWith(workers: number): Promise<number> {
  const url = await server.freshDatabase();
  const dir = await fleetDir(count);
  const state = await tempDir('rbe-bench-state-');
  const env = { RUNBOOK_STORE: url };
  const store = await postgresStore(url, { stateDir: state });
  const workerStates = await Promise.all(Array.from({ length: workers }, () => tempDir('rbe-bench-wstate-')));
  const procs = workerStates.map((workerState) => run(['worker', '--concurrency', String(PER_WORKER), '--poll-ms', '50', '--state-dir', workerState], env));
  const t0 = performance.now();
  const queued = run(['run', 'orchestrator-tls12', '--inventory', join(dir, 'inventory.yaml'), '--no-wait', '--concurrency', String(count), '--param', 'pollIntervalMs=100', '--state-dir', state], env);
  await new Promise((r) => queued.once('exit', r));
  for (;;) {
    const { rows } = await store.query<{ open: string }>(`SELECT count(*) AS open FROM rbe_fleet_hosts WHERE state <> 'ended'`);
    const { rows: all } = await store.query<{ n: string }>('SELECT count(*) AS n FROM rbe_fleet_hosts');
    if (Number(all[0].n) === count && Number(rows[0].open) === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - t0) / 1000;
  const { rows } = await store.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM rbe_fleet_hosts GROUP BY status');
  if (rows.length !== 1 || rows[0].status !== 'succeeded') throw new Error(`not every host succeeded: ${JSON.stringify(rows)}`);
  for (const p of procs) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode === null ? p.once('exit', r) : r(null)))));
  await store.close();
  return count / seconds;
}

async function journalRate(store: RunStore, runs: number, each: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: runs }, async (_, r) => {
      const id = `bench-${runs}-${r}`;
      const lease = await store.lease(id, { renew: false });
      const journal = await store.openJournal(id, lease);
      for (let i = 0; i < each; i++) await journal.append({ type: 'note', i, text: 'x'.repeat(200) } as never);
      await journal.close();
      await lease.release();
    }),
  );
  return (runs * each) / ((performance.now() - t0) / 1000);
}

try {
  const one = await fleetWith(1);
  const two = await fleetWith(2);
  const files = fileStore(await tempDir('rbe-bench-files-'));
  const pg = await postgresStore(await server.freshDatabase(), { stateDir: await tempDir('rbe-bench-pgstate-') });
  const fileOne = await journalRate(files, 1, 500);
  const fileMany = await journalRate(files, 20, 100);
  const pgOne = await journalRate(pg, 1, 500);
  const pgMany = await journalRate(pg, 20, 100);
  await pg.close();
  const r = (x: number) => x.toFixed(1);
  console.log(`host runs per second, ${count} hosts (500 ms restart):  1 worker ${r(one)}  ·  2 workers ${r(two)}  (×${(two / one).toFixed(2)})`);
  console.log(`journal records per second, one run:   files ${r(fileOne)} (baseline)  ·  PostgreSQL ${r(pgOne)} (×${(pgOne / fileOne).toFixed(2)})`);
  console.log(`journal records per second, 20 runs:   files ${r(fileMany)} (×${(fileMany / fileOne).toFixed(2)})  ·  PostgreSQL ${r(pgMany)} (×${(pgMany / fileOne).toFixed(2)})`);
} finally {
  await server.stop();
}
