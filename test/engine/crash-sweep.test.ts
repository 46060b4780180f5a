/**
 * Crash-point sweep: the engine runs in a real child process that SIGKILLs itself right after the k-th
 * durable journal record, for every k; new processes then resume the run until it ends. Every k must
 * end in the same host state and status as the uninterrupted run, with every backup present.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { RunResult, SimHostState } from '../../src/index.js';
import { createSimulatedExecutor } from '../../src/index.js';
import { driveChild as child, hostOf, makeHost, newRunner, restartRefused, tempDir } from '../helpers.js';

interface Outcome {
  status: string;
  registry: string;
  restarts: number;
  inEffect: string;
  startupTasks: string;
  backups: number;
  crashed: boolean;
}

async function outcome(hostFile: string, result: RunResult, crashed: boolean): Promise<Outcome> {
  const host = await hostOf(hostFile);
  for (const b of result.backups) assert.ok(existsSync(b), `backup ${b} present`);
  return {
    status: result.status,
    registry: JSON.stringify(host.registry),
    restarts: host.restarts,
    inEffect: JSON.stringify(host.inEffect),
    startupTasks: JSON.stringify(host.startupTasks),
    backups: result.backups.length,
    crashed,
  };
}

/**
 * One crash point: a child process starts the run and kills itself after record k; the run is then
 * resumed from its journal until it ends (here, by a new runner: a resume reads only the journal and
 * the host, so it needs no process of its own).
 */
async function sweepPoint(preset: string, k: number | undefined, tweak?: (host: SimHostState) => void, runbook = 'orchestrator-tls12'): Promise<{ outcome: Outcome; records: number }> {
  const hostFile = await makeHost(preset, (host) => {
    // One TLS endpoint of the preset's two: the handshake steps only read, and the sweep is about what
    // is durable when a process dies; each endpoint costs every child its handshakes.
    host.endpoints = host.endpoints?.slice(0, 1);
    tweak?.(host);
  });
  const stateDir = await tempDir('rbe-sweep-');
  const runId = `sweep-${k ?? 'none'}`;
  const started = await child(['start', stateDir, hostFile, runId, runbook], k);
  const crashed = started.signal === 'SIGKILL';
  let result = started.result;
  for (let attempt = 0; attempt < 6 && (!result || ['running', 'awaiting-resume'].includes(result.status)); attempt++) {
    result = await (await newRunner(stateDir).resume(runId, { executor: await createSimulatedExecutor(hostFile) })).result;
  }
  assert.ok(result, `crash point ${k}: the run produced a result`);
  const journal = await readFile(join(stateDir, 'runs', runId, 'journal.jsonl'), 'utf8');
  return { outcome: await outcome(hostFile, result!, crashed), records: journal.trim().split('\n').length };
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
for (const [label, preset, expected, tweak, runbook] of [
  ['a successful run', 'server-2016', 'succeeded', undefined, undefined],
  ['a run that fails and rolls back', 'server-2016', 'rolled-back', restartRefused, undefined],
  ['a run that fails after the restart (a service does not come back)', 'server-2016', 'rolled-back', serviceStaysDown, undefined],
  ['a successful orchestrator-tls13 run', 'server-2025', 'succeeded', undefined, 'orchestrator-tls13'],
] as const) {
  test(`every crash point of ${label} ends as the uninterrupted run does`, async () => {
    const baseline = await sweepPoint(preset, undefined, tweak, runbook);
    assert.is(baseline.outcome.status, expected);
    if (tweak === serviceStaysDown) assert.is(baseline.outcome.restarts, 2, 'restarted, then restarted again by the rollback');
    const points = Array.from({ length: baseline.records }, (_, i) => i + 1);
    const results = await pool(points, availableParallelism() + 1, (k) => sweepPoint(preset, k, tweak, runbook));
    let crashed = 0;
    results.forEach((r, i) => {
      const { crashed: didCrash, ...got } = r.outcome;
      const { crashed: _c, ...want } = baseline.outcome;
      if (didCrash) crashed += 1;
      assert.equal(got, want, `crash point ${points[i]}`);
    });
    assert.is(crashed, points.length, 'the process really died at every point');
    console.log(`  swept ${points.length} crash points of ${label} (${baseline.records} journal records)`);
  });
}

test.run();
