/**
 * A fleet of simulated Server 2016 hosts in one process, through the library: N hosts (default 1,000)
 * at concurrency N, 50 ms per round trip, a 2 s restart. Prints, in one invocation, the wall time of
 * one host's run alone (the baseline), the fleet's wall time and its ratio to the baseline (budget
 * ≤ 1.5×), the CPU per host run, the CPU XState alone takes for the same step machines (the floor under
 * that budget), and the peak RSS (budget ≤ 400 MB). The hosts serve no TLS endpoints
 * here: the handshakes are measured by their own tests, not multiplied by a thousand.
 *
 *   node --import tsx bench/fleet.ts [hosts]
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { createActor, fromPromise } from 'xstate';
import { stringify } from 'yaml';
import { stepMachine } from '../src/engine/step-kind.js';
import type { Compensation, Json, StepMachineContext, StepPlan, Verification } from '../src/engine/types.js';
import { Runner, bundledStepKinds, createPreset, createSimulatedExecutor, loadInventory, loadRunbook, startFleet, writeHost } from '../src/index.js';
import { tempDir } from '../test/helpers.js';
import { describeCounts } from '../src/engine/outcome.js';

const count = Number(process.argv[2] ?? 1000);
const kinds = bundledStepKinds();
const runbook = await loadRunbook('orchestrator-tls12', kinds);
// Removed when the bench ends (test/helpers.ts's `tempDir`).
const dir = await tempDir('rbe-bench-fleet-');
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

/**
 * The floor XState alone sets under the budget: the runbook's own step machines, one actor per step of
 * every host, all hosts at once, each step through its whole lifecycle (probe, plan, capture, every
 * phase, verify), with handlers that answer at once — no engine, no journal, no host. CPU ms per host run.
 */
async function xstateFloor(hosts: number): Promise<number> {
  const plan = { changes: [{ target: 'x', field: 'y', before: null, after: 1, action: 'update' as const }], summary: 'one change' };
  const answers = {
    probe: fromPromise<Json, StepMachineContext>(async () => null),
    plan: fromPromise<StepPlan, StepMachineContext>(async () => plan),
    capture: fromPromise<Json, StepMachineContext>(async () => null),
    phase: fromPromise<Json, StepMachineContext>(async () => null),
    verify: fromPromise<Verification, StepMachineContext>(async () => ({ ok: true, summary: 'done', output: null })),
    compensate: fromPromise<Compensation, StepMachineContext>(async () => ({ detail: 'undone', changes: [] })),
  };
  const machines = runbook.definition.steps.map((s) => stepMachine(kinds.get(s.uses), answers));
  const c0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: hosts }, async () => {
      for (const [index, machine] of machines.entries()) {
        const actor = createActor(machine, { input: { stepId: `s${index}`, index, params: {}, checkMode: false } }).start();
        // A settled step waits for COMPENSATE: the run ends it, as the engine does when a run ends.
        await new Promise<void>((done) => actor.subscribe((snap) => snap.hasTag('settled') && done()));
        actor.stop();
      }
    }),
  );
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / hosts;
}
const floor = await xstateFloor(count);

const ms = (x: number) => `${(x / 1000).toFixed(2)} s`;
console.log(`hosts: ${count}, 50 ms per round trip, 2 s restart, concurrency ${count}, one process`);
console.log(`one host alone:  ${ms(base)}`);
console.log(`the fleet:       ${ms(wall)}  → ratio ${(wall / base).toFixed(2)}× one host alone (budget ≤ 1.5×)`);
console.log(`CPU per host run: ${((cpu.user + cpu.system) / 1000 / count).toFixed(1)} ms (all threads; the event loop was busy ${(elu.utilization * 100).toFixed(0)} % of the fleet's time)`);
console.log(`XState alone:    ${floor.toFixed(1)} ms of CPU per host run (the step machines with handlers that answer at once, ${count} hosts at once); the budget leaves ${((1.5 * base) / count).toFixed(1)} ms of CPU per host run for everything on one thread, ${((1.5 * base * availableParallelism()) / count).toFixed(1)} ms with all ${availableParallelism()} cores busy`);
console.log(`peak RSS:        ${(peakRss / 2 ** 20).toFixed(0)} MB (one host alone: ${(rssAlone / 2 ** 20).toFixed(0)} MB; budget ≤ 400 MB); peak heap used ${(peakHeap / 2 ** 20).toFixed(0)} MB`);
console.log(`outcome:         ${result.status} — ${describeCounts(result.counts)}`);
