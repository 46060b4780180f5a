/**
 * Resume: refused when the runbook changed (unless forced), stops after three resumes without
 * progress, and leaves no secret in the journal.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { basename, join } from 'node:path';
import { z } from 'zod';
import {
  Runner,
  StepKindRegistry,
  createSimulatedExecutor,
  defineStepKind,
  loadRunbook,
  loadRunbookFile,
  writeHost,
  VirtualClock,
  type RunResult,
  type SimHostState,
} from '../../src/index.js';
import { bundledRunbooksDir } from '../../src/engine/bundled.js';
import { driveChild, hostOf, kinds, makeHost, newRunner, registryText, tempDir } from '../helpers.js';

async function child(args: string[], crashAfter?: number): Promise<RunResult | null> {
  return (await driveChild(args, crashAfter)).result ?? null;
}

test('a run resumed three times at the same point without progress needs an operator', async () => {
  const host = await makeHost('server-2016');
  const stateDir = await tempDir();
  assert.is(await child(['start', stateDir, host, 'stuck'], 12), null, 'killed mid-run');
  for (let i = 0; i < 3; i++) assert.is(await child(['resume', stateDir, host, 'stuck'], 1), null, `resume ${i + 1} killed at once`);
  const result = await child(['resume', stateDir, host, 'stuck']);
  assert.is(result?.status, 'rollback-failed');
  assert.is(result?.error?.code, 'NO_PROGRESS');
  assert.match(result!.reason!, /resumed 3 times at the same point/);
});

test('resume refuses a runbook that changed since the run started, unless forced', async () => {
  const dir = await tempDir();
  const file = join(dir, 'tls.yaml');
  await copyFile(join(bundledRunbooksDir(), 'orchestrator-tls12.yaml'), file);
  const host = await makeHost('server-2016');
  const runner = newRunner(await tempDir());
  const executor = await createSimulatedExecutor(host);
  const first = await runner.start(await loadRunbookFile(file, kinds), { executor, params: { allowRestart: false, pollIntervalMs: 10 } }).result;
  assert.is(first.status, 'awaiting-resume');
  await writeFile(file, (await readFile(file, 'utf8')).replace('default: 600', 'default: 900'));
  const changed = await loadRunbookFile(file, kinds);
  try {
    await runner.resume(first.runId, { executor, runbook: changed });
    assert.unreachable();
  } catch (error) {
    assert.is((error as { code: string }).code, 'FINGERPRINT_MISMATCH');
    assert.match((error as Error).message, /changed since run/);
  }
  const forced = await (await runner.resume(first.runId, { executor, runbook: changed, force: true, overrides: { allowRestart: true } })).result;
  assert.is(forced.status, 'succeeded');
});

/**
 * How many times `fn` opens a file named journal.jsonl to read it (fs/promises' `readFile`, or `open`
 * for reading), counted by patching node:fs for its duration — every module's import sees the patch.
 */
async function journalReads<T>(fn: () => Promise<T>): Promise<{ reads: number; value: T }> {
  const promises = fs.promises;
  const { readFile: realRead, open: realOpen } = promises;
  let reads = 0;
  const isJournal = (file: unknown) => basename(String(file)) === 'journal.jsonl';
  promises.readFile = ((file: Parameters<typeof realRead>[0], ...rest: [never]) => {
    if (isJournal(file)) reads += 1;
    return realRead(file, ...rest);
  }) as typeof realRead;
  promises.open = ((file: Parameters<typeof realOpen>[0], flags?: string | number, ...rest: [never]) => {
    if (isJournal(file) && (flags === undefined || flags === 'r')) reads += 1;
    return realOpen(file, flags, ...rest);
  }) as typeof realOpen;
  syncBuiltinESMExports();
  try {
    return { value: await fn(), reads };
  } finally {
    promises.readFile = realRead;
    promises.open = realOpen;
    syncBuiltinESMExports();
  }
}

test('a resume reads the run\'s journal once: the start it recorded, the fingerprint and the records the drive goes on from', async () => {
  const host = await makeHost('server-2016');
  const runner = newRunner(await tempDir());
  const executor = await createSimulatedExecutor(host);
  const runbook = await loadRunbook('orchestrator-tls12', kinds);
  const first = await runner.start(runbook, { executor, params: { allowRestart: false, pollIntervalMs: 10 } }).result;
  assert.is(first.status, 'awaiting-resume');
  const { reads, value: run } = await journalReads(() => runner.resume(first.runId, { executor, runbook, overrides: { allowRestart: true } }));
  const { reads: whileDriven, value: done } = await journalReads(() => run.result);
  assert.is(done.status, 'succeeded');
  assert.is(reads + whileDriven, 1);
});

test('a resume given a connect function reaches the target the run recorded, after its checks, and closes what it connected', async () => {
  const host = await makeHost('server-2016');
  const runner = newRunner(await tempDir());
  const executor = await createSimulatedExecutor(host);
  const first = await runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: { allowRestart: false, pollIntervalMs: 10 }, target: `sim:${host}` }).result;
  assert.is(first.status, 'awaiting-resume');
  const asked: string[] = [];
  let closed = 0;
  const connect = async (target: string) => {
    asked.push(target);
    const e = await createSimulatedExecutor(target.slice('sim:'.length));
    return Object.assign(e, { close: async () => void (closed += 1) });
  };
  // A runbook that changed is refused before anything is contacted.
  const changed = await loadRunbook('orchestrator-tls12', kinds);
  changed.fingerprint = 'not-the-recorded-one';
  await runner.resume(first.runId, { connect, runbook: changed }).then(
    () => assert.unreachable('resumed'),
    (error: { code: string }) => assert.is(error.code, 'FINGERPRINT_MISMATCH'),
  );
  assert.equal(asked, []);
  const done = await (await runner.resume(first.runId, { connect, runbook: 'reload', overrides: { allowRestart: true } })).result;
  assert.is(done.status, 'succeeded');
  assert.equal(asked, [`sim:${host}`]);
  assert.is(closed, 1);
});

test('an operator\'s rollback interrupted after the run ended is resumed against the target, and undoes it all', async () => {
  const host = await makeHost('server-2016');
  const before = await registryText(host);
  const runner = newRunner(await tempDir());
  const connect = (target: string) => createSimulatedExecutor(target.slice('sim:'.length));
  const executor = await createSimulatedExecutor(host);
  const first = await runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: { pollIntervalMs: 10 }, target: `sim:${host}` }).result;
  assert.is(first.status, 'succeeded');
  // The rollback stops at its first safe point after a step was undone: the journal holds the forward
  // run's run.ended, then the saga's records, and no end of its own.
  const rollback = await runner.rollback(first.runId, { connect });
  rollback.events.on('step:compensation', () => rollback.interrupt());
  assert.is((await rollback.result).status, 'awaiting-resume');
  assert.is.not(await registryText(host), before, 'the rollback stopped with changes left');
  const resumed = await (await runner.resume(first.runId, { connect, overrides: { allowRestart: true } })).result;
  assert.is(resumed.status, 'rolled-back', JSON.stringify(resumed.steps.map((s) => s.compensation?.detail)));
  assert.is(await registryText(host), before);
});

test('a resume that finds its run driven by another closes the connection it made for it', async () => {
  const host = await makeHost('server-2016');
  const runner = newRunner(await tempDir());
  const executor = await createSimulatedExecutor(host);
  const first = await runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: { allowRestart: false, pollIntervalMs: 10 }, target: `sim:${host}` }).result;
  const held = await runner.store.lease(first.runId, { renew: false });
  let closed = 0;
  const connect = async (target: string) => Object.assign(await createSimulatedExecutor(target.slice('sim:'.length)), { close: async () => void (closed += 1) });
  try {
    const run = await runner.resume(first.runId, { connect });
    await run.result.then(
      () => assert.unreachable('driven'),
      (error: { code: string }) => assert.is(error.code, 'LEASE_HELD'),
    );
    assert.is(closed, 1);
  } finally {
    await held.release();
  }
});

test('secret parameters never reach the journal, and a resume reads them again from the environment', async () => {
  const seen: string[] = [];
  const tokenStep = defineStepKind({
    kind: 'test/token',
    description: 'uses a token',
    params: z.object({ token: z.string(), pause: z.boolean().default(false) }),
    probe: async () => null,
    plan: () => ({ changes: [{ target: 'service', field: 'token', before: null, after: '(set)', action: 'run' }], summary: 'use the token' }),
    phases: [
      {
        name: 'apply',
        run: async ({ params, rt }) => {
          if (params.pause && rt.overrides.go !== true) rt.suspend('waiting for go');
          seen.push(params.token);
          return null;
        },
      },
    ],
    verify: async () => ({ ok: true, summary: 'done', output: null }),
  });
  const registry = new StepKindRegistry().register(tokenStep);
  const stateDir = await tempDir();
  const runner = new Runner({ stateDir, kinds: registry });
  const runbook = {
    name: 'secret-demo',
    parameters: { token: { type: 'string' as const, secret: true, env: 'DEMO_TOKEN' } },
    steps: [{ id: 'use', uses: 'test/token', with: { token: '${{ params.token }}', pause: true } }],
  };
  const executor = await createSimulatedExecutor(await makeHost('server-2016'));
  process.env.DEMO_TOKEN = 's3cr3t-value';
  try {
    const first = await runner.start(runbook, { executor }).result;
    assert.is(first.status, 'awaiting-resume');
    const done = await (await runner.resume(first.runId, { executor, overrides: { go: true } })).result;
    assert.is(done.status, 'succeeded');
    assert.equal(seen, ['s3cr3t-value']);
    const journal = await readFile(join(runner.runDir(first.runId), 'journal.jsonl'), 'utf8');
    assert.not.ok(journal.includes('s3cr3t-value'));
    assert.ok(journal.includes('"$secret":"token"'));
  } finally {
    delete process.env.DEMO_TOKEN;
  }
});

test('one runner drives many runs at once, each with its own journal', async () => {
  const stateDir = await tempDir();
  const runner = newRunner(stateDir);
  const { loadRunbook } = await import('../../src/index.js');
  const runbook = await loadRunbook('orchestrator-tls12', kinds);
  const hosts = await Promise.all(['server-2016', 'server-2019', 'server-2012r2', 'server-2016-sql2008r2', 'server-2025'].map((p) => makeHost(p)));
  const runs = await Promise.all(hosts.map(async (h) => runner.start(runbook, { executor: await createSimulatedExecutor(h), params: { pollIntervalMs: 10 } })));
  const results = await Promise.all(runs.map((r) => r.result));
  assert.equal(results.map((r) => r.status), ['succeeded', 'succeeded', 'succeeded', 'rolled-back', 'succeeded']);
  assert.is(new Set(results.map((r) => r.runId)).size, 5);
  const listed = await runner.list();
  assert.is(listed.length, 5);
});

/** Where the restart marker lives on the simulated host. */
function markerOf(host: Awaited<ReturnType<typeof hostOf>>): unknown {
  return JSON.stringify(host.registry).includes('RestartOwed');
}

/*
 * The last records from the restart step's start: of a successful run, and of a run that fails after
 * its restart (its rollback restarts the host again). A rolled-back run cut inside its forward
 * restart's records, before the boot it came back to was journaled, finds a host that restarted twice:
 * the System log's shutdown events (restart.shutdown-event) tell that the rollback's restart happened.
 */
for (const [label, tweak, expected, first] of [
  ['a successful run', undefined, 'succeeded', '"stepId":"restart"'],
  ['a run that fails after its restart and rolls back', (h: SimHostState) => (h.services.orunbook.startType = 'manual'), 'rolled-back', '"stepId":"restart"'],
] as const) {
  test(`a journal of ${label} cut inside any of its last records resumes without repeating a side effect: no second restart, marker cleared, status truthful`, async () => {
    const clock = new VirtualClock();
    const base = await makeHost('server-2016', (h) => {
      h.endpoints = h.endpoints?.slice(0, 1);
      tweak?.(h);
    });
    const baseDir = await tempDir();
    const done = await newRunner(baseDir, clock).start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(base, { clock }), params: { pollIntervalMs: 10 }, runId: 'cut' }).result;
    assert.is(done.status, expected);
    const full = await readFile(join(baseDir, 'runs', 'cut', 'journal.jsonl'), 'utf8');
    const after = await hostOf(base);
    const lines = full.split('\n').filter(Boolean);
    const wrong: string[] = [];
    const from = lines.findIndex((l) => (l.includes('"type":"step.started"') || l.includes('"type":"saga.started"')) && l.includes(first)) + 1;
    assert.ok(from > 0);
    for (let k = from; k <= lines.length; k++) {
      // The host as the run left it; the journal ends inside record k (its first half kept).
      const host = await makeHost('server-2016');
      await writeHost(host, after);
      const dir = await tempDir();
      await mkdir(join(dir, 'runs', 'cut'), { recursive: true });
      const head = lines.slice(0, k - 1).join('\n') + '\n' + lines[k - 1].slice(0, lines[k - 1].length >> 1);
      await writeFile(join(dir, 'runs', 'cut', 'journal.jsonl'), head);
      let result: RunResult | undefined;
      for (let attempt = 0; attempt < 4 && (!result || ['running', 'awaiting-resume'].includes(result.status)); attempt++) {
        result = await (await newRunner(dir, clock).resume('cut', { executor: await createSimulatedExecutor(host, { clock }) })).result;
      }
      const now = await hostOf(host);
      const type = JSON.parse(lines[k - 1].replace(/,"sum":"[0-9a-f]+"}$/, '}')).type as string;
      const problems = [
        now.restarts !== after.restarts ? `restarted ${now.restarts - after.restarts} more time(s)` : '',
        markerOf(now) ? 'RestartOwed left' : '',
        result?.status !== expected ? `ended ${result?.status}` : '',
        JSON.stringify(now.registry) !== JSON.stringify(after.registry) ? 'registry differs' : '',
      ].filter(Boolean);
      if (problems.length > 0) wrong.push(`cut in record ${k} (${type}): ${problems.join(', ')}`);
    }
    assert.equal(wrong, [], wrong.join('\n'));
    console.log(`  cut each of the last ${lines.length - from + 1} records of ${label}`);
  });
}

for (const [label, unreadable] of [
  ['whose System log cannot be read', (h: SimHostState) => (h.shutdownEvents = null)],
  ['that fails the read of its System log', (h: SimHostState) => h.faults.push({ op: 'restart.history', kind: 'permanent', times: 1000 })],
] as const) {
test(`a rolled-back run cut inside its forward restart's records, on a host ${label}, restarts again rather than leave restored values unapplied`, async () => {
  const clock = new VirtualClock();
  const base = await makeHost('server-2016', (h) => {
    h.endpoints = h.endpoints?.slice(0, 1);
    h.services.orunbook.startType = 'manual';
  });
  const baseDir = await tempDir();
  const done = await newRunner(baseDir, clock).start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(base, { clock }), params: { pollIntervalMs: 10 }, runId: 'cut' }).result;
  assert.is(done.status, 'rolled-back');
  const lines = (await readFile(join(baseDir, 'runs', 'cut', 'journal.jsonl'), 'utf8')).split('\n').filter(Boolean);
  const after = await hostOf(base);
  assert.is(after.shutdownEvents?.length, 2, 'the forward restart and the rollback\'s, logged with their comment');
  // Cut inside the restart step's capture: the record after its start.
  const k = lines.findIndex((l) => l.includes('"type":"step.started"') && l.includes('"stepId":"restart"')) + 2;
  const host = await makeHost('server-2016');
  const broken = structuredClone(after);
  unreadable(broken);
  await writeHost(host, broken);
  const dir = await tempDir();
  await mkdir(join(dir, 'runs', 'cut'), { recursive: true });
  await writeFile(join(dir, 'runs', 'cut', 'journal.jsonl'), lines.slice(0, k - 1).join('\n') + '\n' + lines[k - 1].slice(0, lines[k - 1].length >> 1));
  let result: RunResult | undefined;
  for (let attempt = 0; attempt < 4 && (!result || ['running', 'awaiting-resume'].includes(result.status)); attempt++) {
    result = await (await newRunner(dir, clock).resume('cut', { executor: await createSimulatedExecutor(host, { clock }) })).result;
  }
  const now = await hostOf(host);
  assert.is(result?.status, 'rolled-back');
  assert.is(now.restarts, after.restarts + 1, 'an unreadable log proves nothing: restarted again');
  assert.not.ok(markerOf(now), 'marker cleared');
  assert.equal(now.registry, after.registry);
});
}

test.run();
