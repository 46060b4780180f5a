/**
 * The runtime's reads: what a step kind declares it reads (`reads`) goes with the drive's first read
 * batch, so that a later step finds it in the read cache — no kind reads on behalf of another, and no
 * round trip is added.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import { Runner, StepKindRegistry, bundledStepKinds, createSimulatedExecutor, defineStepKind, type Executor, type HostOp, type RunbookDefinition } from '../../src/index.js';
import { makeHost, tempDir } from '../helpers.js';

const flag = (name: string): HostOp => ({ op: 'registry.get', view: '64', key: 'SOFTWARE\\ReadAhead', name });

/** A kind that reads the OS and nothing it declares: it sends the drive's first read batch. */
const first = defineStepKind({
  kind: 'test/first',
  description: 'reads the OS',
  params: z.object({}),
  probe: async ({ rt }) => ({ build: (await rt.read([{ op: 'os.info' }]))[0].op }),
  plan: () => ({ changes: [], summary: 'read the OS' }),
  phases: [],
  verify: async () => ({ ok: true, summary: 'ok', output: null }),
});

/** A kind that declares the value it reads, named by its parameters. */
const reader = defineStepKind({
  kind: 'test/reader',
  description: 'reads one registry value, declared',
  params: z.object({ name: z.string() }),
  reads: ({ params }) => [flag(params.name)],
  probe: async ({ params, rt }) => ({ keyExists: (await rt.read([flag(params.name)]))[0].op === 'registry.get' }),
  plan: () => ({ changes: [], summary: 'read the value' }),
  phases: [],
  verify: async () => ({ ok: true, summary: 'ok', output: null }),
});

const kinds = new StepKindRegistry().register(...bundledStepKinds().list(), first, reader);
const runner = async () => new Runner({ stateDir: await tempDir(), kinds, retry: { minTimeout: 5, maxTimeout: 20, randomize: false } });

/** The simulated executor, with every batch it is sent kept in order. */
async function recording(file: string): Promise<{ executor: Executor; batches: HostOp[][] }> {
  const sim = await createSimulatedExecutor(file);
  const batches: HostOp[][] = [];
  const executor: Executor = {
    name: sim.name,
    target: sim.target,
    onTarget: sim.onTarget,
    get roundTrips() {
      return sim.roundTrips;
    },
    run: (ops, options) => {
      batches.push([...ops]);
      return sim.run(ops, options);
    },
    close: () => sim.close(),
  };
  return { executor, batches };
}

const runbook: RunbookDefinition = {
  name: 'read-ahead',
  parameters: { flavour: { type: 'string', default: 'plain', enum: ['plain', 'other'] } },
  steps: [
    { id: 'first', uses: 'test/first' },
    { id: 'reader', uses: 'test/reader', with: { name: 'Declared' } },
    { id: 'skipped', uses: 'test/reader', when: { flavour: 'other' }, with: { name: 'NotRun' } },
  ],
};

test("the drive's first read batch carries a later step's declared read, and that step costs no round trip", async () => {
  const { executor, batches } = await recording(await makeHost('server-2016'));
  const result = await (await runner()).start(runbook, { executor, params: {} }).result;
  assert.is(result.status, 'succeeded', result.error?.message);
  assert.is(batches.length, 1, 'one round trip for the whole run');
  assert.equal(batches[0], [{ op: 'os.info' }, flag('Declared')], 'what the first step asked, then what the later one declared');
  assert.equal(result.steps.map((s) => s.roundTrips), [1, 0]);
});

test('a step whose when: does not hold declares nothing: its read is not sent', async () => {
  const { executor, batches } = await recording(await makeHost('server-2016'));
  const result = await (await runner()).start(runbook, { executor, params: { flavour: 'other' } }).result;
  assert.is(result.status, 'succeeded', result.error?.message);
  assert.equal(batches[0], [{ op: 'os.info' }, flag('Declared'), flag('NotRun')], 'with flavour=other the step runs, and its read goes along');
  const { executor: plain, batches: sent } = await recording(await makeHost('server-2016'));
  await (await runner()).start(runbook, { executor: plain, params: {} }).result;
  assert.not.ok(sent.flat().some((op) => op.op === 'registry.get' && op.name === 'NotRun'));
});

test.run();
