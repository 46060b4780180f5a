/**
 * Crash-point sweep: the engine runs in a real child process that SIGKILLs itself right after the k-th
 * durable journal record, for every k; new processes then resume the run until it ends. Every k must
 * end in the same host state and status as the uninterrupted run, with every backup present. A rollback
 * retried after its undos failed is swept the same way: the child is the retry, killed after each
 * record it appends, and the run is rolled back again until it ends.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { RunResult, SimHostState } from '../../src/index.js';
import { createSimulatedExecutor, loadRunbook, writeHost } from '../../src/index.js';
import { FAST, driveChild as child, hostOf, kinds, makeHost, newRunner, restartRefused, tempDir } from '../helpers.js';

interface Outcome {
  status: string;
  registry: string;
  restarts: number;
  inEffect: string;
  startupTasks: string;
  backups: number;
  remaining: string;
  crashed: boolean;
}

async function outcome(hostFile: string, result: RunResult, crashed: boolean, runDir: string): Promise<Outcome> {
  const host = await hostOf(hostFile);
  // Each by its name among the run's files, in the run's folder.
  for (const b of result.backups) assert.ok(existsSync(join(runDir, b)), `backup ${b} present`);
  return {
    status: result.status,
    registry: JSON.stringify(host.registry),
    restarts: host.restarts,
    inEffect: JSON.stringify(host.inEffect),
    startupTasks: JSON.stringify(host.startupTasks),
    backups: result.backups.length,
    remaining: JSON.stringify(result.remaining ?? []),
    crashed,
  };
}

/**
 * What the swept process does: start the run, or (`retry`) roll back again a run whose rollback failed —
 * the run, its rollback with the SCHANNEL and .NETFramework undos refused, and the faults' removal are
 * made first, in this process and uncrashed.
 */
type Swept = 'run' | 'retry';

/** Permanent faults on every registry write under SCHANNEL and .NETFramework: the undos there fail. */
function undosRefused(host: SimHostState): void {
  for (const keyContains of ['SCHANNEL', '.NETFramework']) for (const op of ['registry.set', 'registry.deleteValue', 'registry.deleteKey'] as const) host.faults.push({ op, keyContains, kind: 'permanent', times: 1000 });
}

/** The run succeeded, then its rollback failed on the refused undos; the faults are then removed. */
async function rollbackFailed(stateDir: string, hostFile: string, runId: string, runbook: string): Promise<void> {
  const executor = await createSimulatedExecutor(hostFile);
  const runner = newRunner(stateDir);
  const ran = await runner.start(await loadRunbook(runbook, kinds), { executor, runId, params: FAST }).result;
  assert.is(ran.status, 'succeeded');
  const faulted = await hostOf(hostFile);
  undosRefused(faulted);
  await writeHost(hostFile, faulted);
  const failed = await (await runner.rollback(runId, { executor })).result;
  assert.is(failed.status, 'rollback-failed');
  const fixed = await hostOf(hostFile);
  fixed.faults = [];
  await writeHost(hostFile, fixed);
  await executor.close();
}

/**
 * One crash point: a child process starts the run (or retries its rollback) and kills itself after
 * record k of its own; the run is then resumed from its journal until it ends (here, by a new runner:
 * a resume reads only the journal and the host, so it needs no process of its own). A retried rollback
 * cut short is rolled back again, as an operator would. `records` counts the records the swept process
 * appends when uninterrupted.
 */
async function sweepPoint(preset: string, k: number | undefined, tweak?: (host: SimHostState) => void, runbook = 'orchestrator-tls12', swept: Swept = 'run'): Promise<{ outcome: Outcome; records: number; original: string }> {
  const hostFile = await makeHost(preset, (host) => {
    // One TLS endpoint of the preset's two: the handshake steps only read, and the sweep is about what
    // is durable when a process dies; each endpoint costs every child its handshakes.
    host.endpoints = host.endpoints?.slice(0, 1);
    tweak?.(host);
  });
  const original = JSON.stringify((await hostOf(hostFile)).registry);
  const stateDir = await tempDir('rbe-sweep-');
  const runId = `sweep-${k ?? 'none'}`;
  const journalFile = join(stateDir, 'runs', runId, 'journal.jsonl');
  const lines = async () => (await readFile(journalFile, 'utf8')).trim().split('\n').length;
  if (swept === 'retry') await rollbackFailed(stateDir, hostFile, runId, runbook);
  const before = swept === 'retry' ? await lines() : 0;
  const started = await child(swept === 'retry' ? ['rollback', stateDir, hostFile, runId] : ['start', stateDir, hostFile, runId, runbook], k);
  const crashed = started.signal === 'SIGKILL';
  let result = started.result;
  for (let attempt = 0; attempt < 6 && (!result || ['running', 'awaiting-resume'].includes(result.status)); attempt++) {
    const runner = newRunner(stateDir);
    const executor = await createSimulatedExecutor(hostFile);
    result = await (swept === 'retry' ? await runner.rollback(runId, { executor }) : await runner.resume(runId, { executor })).result;
    await executor.close();
  }
  assert.ok(result, `crash point ${k}: the run produced a result`);
  return { outcome: await outcome(hostFile, result!, crashed, join(stateDir, 'runs', runId)), records: (await lines()) - before, original };
}

async function pool<T>(items: number[], width: number, fn: (k: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/** The Orchestrator Runbook service does not start again after the restart: the run fails after it. */
const serviceStaysDown = (host: SimHostState) => {
  host.services.orunbook.startType = 'manual';
};

// The second bundled runbook is swept once, over its successful run (its steps are the same kinds).
// The last row sweeps only the retry of a failed rollback (the records it appends), not the run before it.
for (const [label, preset, expected, tweak, runbook, swept] of [
  ['a successful run', 'server-2016', 'succeeded', undefined, undefined, 'run'],
  ['a run that fails and rolls back', 'server-2016', 'rolled-back', restartRefused, undefined, 'run'],
  ['a run that fails after the restart (a service does not come back)', 'server-2016', 'rolled-back', serviceStaysDown, undefined, 'run'],
  ['a successful orchestrator-tls13 run', 'server-2025', 'succeeded', undefined, 'orchestrator-tls13', 'run'],
  ['a rollback retried after its SCHANNEL and .NETFramework undos failed', 'server-2016', 'rolled-back', undefined, undefined, 'retry'],
] as const) {
  test(`every crash point of ${label} ends as the uninterrupted run does`, async () => {
    const baseline = await sweepPoint(preset, undefined, tweak, runbook, swept);
    assert.is(baseline.outcome.status, expected);
    if (tweak === serviceStaysDown) assert.is(baseline.outcome.restarts, 2, 'restarted, then restarted again by the rollback');
    if (swept === 'retry') {
      // The run's restart and the retry's, for the values it restored: never a third, never only one.
      assert.is(baseline.outcome.restarts, 2, 'restarted by the run, then once by the retry');
      assert.is(baseline.outcome.registry, baseline.original, 'the registry as it was before the run');
      assert.is(baseline.outcome.remaining, '[]');
    }
    const points = Array.from({ length: baseline.records }, (_, i) => i + 1);
    const results = await pool(points, availableParallelism() + 1, (k) => sweepPoint(preset, k, tweak, runbook, swept));
    const { crashed: _c, ...want } = baseline.outcome;
    const ends = results.map((r) => {
      const { crashed: _d, ...got } = r.outcome;
      return got;
    });
    // Every point that ends otherwise is named, with its status and restarts, before the first is shown whole.
    const wrong = points.filter((_, i) => JSON.stringify(ends[i]) !== JSON.stringify(want));
    const which = wrong.map((k) => `${k} (${ends[k - 1].status}, ${ends[k - 1].restarts} restarts)`).join(', ');
    if (wrong.length > 0) assert.equal(ends[wrong[0] - 1], want, `crash points ending otherwise: ${which}; crash point ${wrong[0]}`);
    assert.is(results.filter((r) => r.outcome.crashed).length, points.length, 'the process really died at every point');
    console.log(`  swept ${points.length} crash points of ${label} (${baseline.records} journal records)`);
  });
}

test.run();
