/**
 * Resume: refused when the runbook changed (unless forced), stops after three resumes without
 * progress, and leaves no secret in the journal.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import {
  Runner,
  StepKindRegistry,
  createSimulatedExecutor,
  defineStepKind,
  loadRunbookFile,
  type RunResult,
} from '../../src/index.js';
import { bundledRunbooksDir } from '../../src/engine/bundled.js';
import { driveChild, kinds, makeHost, newRunner, tempDir } from '../helpers.js';

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

test.run();
