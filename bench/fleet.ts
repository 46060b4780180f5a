/**
 * A fleet of simulated Server 2016 hosts in one process, through the library: N hosts (default 1,000)
 * at concurrency N, 50 ms per round trip, a 2 s restart. Prints, in one invocation, the wall time of
 * one host's run alone (the baseline), the fleet's wall time and its ratio to the baseline (budget
 * ≤ 1.5×), the CPU per host run, and the peak RSS (budget ≤ 400 MB). The hosts serve no TLS endpoints
 * here: the handshakes are measured by their own tests, not multiplied by a thousand.
 *
 *   node --import tsx bench/fleet.ts [hosts]
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Runner, bundledStepKinds, createPreset, createSimulatedExecutor, loadInventory, loadRunbook, startFleet, writeHost } from '../src/index.js';

const count = Number(process.argv[2] ?? 1000);
const kinds = bundledStepKinds();
const runbook = await loadRunbook('orchestrator-tls12', kinds);
const dir = await mkdtemp(join(tmpdir(), 'rbe-bench-fleet-'));
const POLL = 200;

async function host(name: string): Promise<string> {
  const h = createPreset('server-2016');
  h.latencyMs = 50;
  h.downtimeMs = 2000;
  h.endpoints = [];
  const file = join(dir, `${name}.json`);
  await writeHost(file, h);
  return file;
}

let peakRss = 0;
let peakHeap = 0;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
}, 50);

// Baseline: one host's run alone.
const alone = await host('alone');
const t0 = performance.now();
const single = await new Runner({ kinds, stateDir: join(dir, 'state-alone') }).start(runbook, { executor: await createSimulatedExecutor(alone), params: { pollIntervalMs: POLL } }).result;
const base = performance.now() - t0;
if (single.status !== 'succeeded') throw new Error(`the baseline run ${single.status}`);
const rssAlone = process.memoryUsage().rss;

const names = Array.from({ length: count }, (_, i) => `h${String(i).padStart(4, '0')}`);
for (const n of names) await host(n);
const inventoryFile = join(dir, 'inventory.yaml');
await writeFile(inventoryFile, stringify({ defaults: { params: { pollIntervalMs: POLL } }, hosts: names.map((name) => ({ name, target: `sim:${name}.json` })) }));

const cpu0 = process.cpuUsage();
const elu0 = performance.eventLoopUtilization();
const t1 = performance.now();
const fleet = startFleet({
  runner: new Runner({ kinds, stateDir: join(dir, 'state') }),
  kinds,
  runbook,
  inventory: await loadInventory(inventoryFile),
  connect: (target) => createSimulatedExecutor(target.slice('sim:'.length)),
  concurrency: count,
});
const result = await fleet.result;
const wall = performance.now() - t1;
const cpu = process.cpuUsage(cpu0);
const elu = performance.eventLoopUtilization(elu0);
clearInterval(sampler);

const ms = (x: number) => `${(x / 1000).toFixed(2)} s`;
console.log(`hosts: ${count}, 50 ms per round trip, 2 s restart, concurrency ${count}, one process`);
console.log(`one host alone:  ${ms(base)}`);
console.log(`the fleet:       ${ms(wall)}  → ratio ${(wall / base).toFixed(2)}× one host alone (budget ≤ 1.5×)`);
console.log(`CPU per host run: ${((cpu.user + cpu.system) / 1000 / count).toFixed(1)} ms (all threads; the event loop was busy ${(elu.utilization * 100).toFixed(0)} % of the fleet's time)`);
console.log(`peak RSS:        ${(peakRss / 2 ** 20).toFixed(0)} MB (one host alone: ${(rssAlone / 2 ** 20).toFixed(0)} MB; budget ≤ 400 MB); peak heap used ${(peakHeap / 2 ** 20).toFixed(0)} MB`);
console.log(`outcome:         ${result.status} — ${result.counts.succeeded} succeeded, ${result.counts.failed + result.counts.rolledBack} failed`);
