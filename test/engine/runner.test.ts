/**
 * The runner's contract with library users: typed events in order, XState inspection passed through,
 * results that survive JSON, and the preflight's check of the executor's own TLS.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import { Runner, StepKindRegistry, ValidationError, createSimulatedExecutor, defineStepKind, loadRunbook, readJournal, validateRunbook, type Executor, type RunbookDefinition } from '../../src/index.js';
import { FAST, kinds, makeHost, runToEnd, tempDir } from '../helpers.js';

test('events arrive in order: run:start, transitions, settled steps, run:end', async () => {
  const file = await makeHost('server-2019');
  const runner = new Runner({ stateDir: await tempDir(), kinds });
  const run = runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(file), params: FAST });
  const seen: string[] = [];
  run.events.on('run:start', () => seen.push('run:start'));
  run.events.on('step:transition', (e) => {
    if (e.stepId === 'schannel') seen.push(`schannel:${e.to}`);
  });
  run.events.on('step:settled', (e) => seen.push(`settled:${e.stepId}`));
  run.events.on('run:end', (r) => seen.push(`run:end:${r.status}`));
  await run.result;
  assert.equal(seen.filter((s) => s.startsWith('schannel:')), [
    'schannel:probing',
    'schannel:planning',
    'schannel:capturing',
    'schannel:apply',
    'schannel:verifying',
    'schannel:succeeded',
  ]);
  assert.is(seen[0], 'run:start');
  assert.is(seen[seen.length - 1], 'run:end:succeeded');
  assert.equal(seen.filter((s) => s.startsWith('settled:')).length, 10);
});

test("XState's inspect sees the step actors", async () => {
  const file = await makeHost('server-2016');
  const types = new Set<string>();
  const runner = new Runner({ stateDir: await tempDir(), kinds, inspect: (e) => types.add(e.type) });
  await runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(file), params: FAST }).result;
  assert.ok(types.has('@xstate.actor'));
  assert.ok(types.has('@xstate.snapshot'));
});

test('the result, built in memory, survives a JSON round trip and equals the run rebuilt from its journal on disk', async () => {
  const file = await makeHost('server-2016');
  const { result, runner } = await runToEnd(file);
  // Built from the records as they were appended in memory (not parsed back): a value JSON cannot
  // carry (undefined in an array, a Date, a Map, NaN) would differ here.
  assert.equal(JSON.parse(JSON.stringify(result)), result);
  const { records } = await readJournal(`${runner.runDir(result.runId)}/journal.jsonl`);
  assert.ok(records.length > 40);
  const { replay, resultOf } = await import('../../src/engine/replay.js');
  // undoFiles is what the runner wrote beside the journal, filesAt where the store keeps the run's files: not part of it.
  assert.is(result.filesAt, runner.runDir(result.runId));
  const { undoFiles: _files, filesAt: _at, ...told } = result;
  assert.equal(resultOf(replay(records), result.stateDir), told, 'the journal on disk tells the same run');
});

test('preflight refuses when the executor reaches the target over a TLS older than 1.2', async () => {
  const file = await makeHost('server-2016');
  const sim = await createSimulatedExecutor(file);
  const overOldTls: Executor = {
    name: sim.name,
    target: sim.target,
    onTarget: false,
    get roundTrips() {
      return sim.roundTrips;
    },
    run: (batch, options) => sim.run(batch, options),
    transportTls: async () => 'TLSv1',
    close: () => sim.close(),
  };
  const { result } = await runToEnd(file, { executor: overOldTls });
  assert.is(result.status, 'rolled-back');
  assert.match(result.error!.message, /transport-tls: this run's own connection to the target negotiated TLSv1 \(observed by the transport, not a Windows fact\): the procedure turns the server side of TLSv1 off — make the connection work over TLS 1\.2 before older protocols are disabled/);
});

test('a step kind whose check of its parameters quotes the value it refuses does not show a secret parameter\'s value when the run is refused', async () => {
  const SECRET = 'hunter2-Secr3t';
  const quotes = defineStepKind({
    kind: 'test/quotes-input',
    description: 'refuses a token that is not a bearer token, quoting it',
    params: z.object({ token: z.string().refine((v) => v === 'x' || v.startsWith('Bearer '), { error: (issue) => `not a bearer token: ${String(issue.input)}` }) }),
    probe: async () => null,
    plan: () => ({ changes: [], summary: 'nothing' }),
    phases: [],
    verify: async () => ({ ok: true, summary: 'ok', output: null }),
  });
  const registry = new StepKindRegistry().register(quotes);
  // The document's check (secrets unknown, an empty placeholder: "x") passes; the run's, with the secret, does not.
  const runbook: RunbookDefinition = {
    name: 'quotes',
    parameters: { token: { type: 'string', secret: true, env: 'RBE_TEST_TOKEN' } },
    steps: [{ id: 'q', uses: 'test/quotes-input', with: { token: 'x${{ params.token }}' } }],
  };
  process.env.RBE_TEST_TOKEN = SECRET;
  try {
    const executor = await createSimulatedExecutor(await makeHost('server-2016'));
    const error = (() => {
      try {
        new Runner({ stateDir: '/nonexistent-never-made', kinds: registry }).start(validateRunbook(runbook, registry, 'inline'), { executor });
      } catch (e) {
        return e;
      }
    })();
    assert.instance(error, ValidationError);
    const text = `${(error as Error).message}\n${(error as ValidationError).issues.join('\n')}`;
    assert.match(text, /not a bearer token: x\*\*\*/);
    assert.not.ok(text.includes(SECRET), text);
    assert.is(executor.roundTrips, 0);
  } finally {
    delete process.env.RBE_TEST_TOKEN;
  }
});

test.run();
