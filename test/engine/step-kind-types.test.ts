/**
 * A step kind's data is typed from the handler that makes it to every handler that reads it: what the
 * probe read, the plan's data and what capture saved. The `@ts-expect-error` lines are the proof:
 * `npx tsc --noEmit` (which checks this file) fails if any of them compiles, i.e. if the compiler
 * stopped catching a step that reads a field its probe, plan or capture never returned. The run at the
 * end shows the same kind, erased for the engine, drives and rolls back through the journal.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import { Runner, StepKindRegistry, createSimulatedExecutor, defineStepKind, readBatch, validateRunbook, type RunbookDefinition } from '../../src/index.js';
import { makeHost, tempDir } from '../helpers.js';

/** What the probe reads, by name; the plan's data and the capture are the kind's own. */
const typedStep = defineStepKind({
  kind: 'test/typed',
  description: 'reads the boot time and a value, plans from them, captures the value',
  params: z.object({ fail: z.boolean().default(false) }),
  probe: async ({ rt }) => {
    const read = await readBatch(rt, { boot: { op: 'boot.time' }, flag: { op: 'registry.get', view: '64', key: 'SOFTWARE\\typed', name: 'Flag' } });
    // @ts-expect-error a boot.time answer has no registry value
    void read.boot.value;
    return { bootTime: read.boot.bootTime, flag: read.flag.value };
  },
  plan: ({ observed }) => {
    // @ts-expect-error the probe never returned a `marker`
    void observed.marker;
    return {
      changes: [{ target: 'HKLM\\SOFTWARE\\typed', field: 'Flag', before: observed.flag === null ? null : 'set', after: 1, action: 'create' as const }],
      summary: `booted ${observed.bootTime}`,
      data: { bootTime: observed.bootTime },
    };
  },
  capture: async ({ observed, plan }) => {
    // @ts-expect-error the plan's data has no `reason`
    void plan.data.reason;
    return { flag: observed.flag, bootTime: plan.data.bootTime };
  },
  phases: [
    {
      name: 'apply',
      run: async ({ rt, priors, params }) => {
        // @ts-expect-error capture saved no `deadline`
        void priors.deadline;
        const [set] = await rt.exec([{ op: 'registry.set', view: '64', key: 'SOFTWARE\\typed', name: 'Flag', value: { type: 'REG_DWORD', data: 1 } }]);
        if (params.fail) throw new Error('failing after the write, as asked');
        return { changed: set.op === 'registry.set' && set.changed, before: priors.flag };
      },
    },
  ],
  verify: async ({ plan, priors }) => {
    // Without `verifyWhenUnchanged` verify follows the capture, but the type says when it may not have run.
    // @ts-expect-error priors may be null
    void priors.flag;
    return { ok: true, summary: `verified since ${plan.data.bootTime}`, output: { bootTime: plan.data.bootTime } };
  },
  compensate: async ({ rt, priors }) => {
    const undo = priors.flag === null ? { op: 'registry.deleteValue' as const, view: '64' as const, key: 'SOFTWARE\\typed', name: 'Flag' } : { op: 'registry.set' as const, view: '64' as const, key: 'SOFTWARE\\typed', name: 'Flag', value: priors.flag };
    await rt.exec([undo]);
    return { detail: `restored Flag to ${priors.flag === null ? 'absent' : 'its value'}`, changes: [] };
  },
});

// A probe must return JSON: what the journal and the machine's context keep.
defineStepKind({
  kind: 'test/not-json',
  description: 'returns a Date from its probe',
  params: z.object({}),
  // @ts-expect-error a Date is not JSON
  probe: async () => ({ at: new Date() }),
  plan: () => ({ changes: [], summary: 'nothing' }),
  phases: [],
  verify: async () => ({ ok: true, summary: 'nothing', output: null }),
});

async function runTyped(fail: boolean) {
  const kinds = new StepKindRegistry().register(typedStep);
  const runbook: RunbookDefinition = { name: 'typed', steps: [{ id: 'typed', uses: 'test/typed', with: { fail } }] };
  const runner = new Runner({ stateDir: await tempDir(), kinds, retry: { minTimeout: 5, maxTimeout: 10, randomize: false } });
  const executor = await createSimulatedExecutor(await makeHost('server-2016'));
  return runner.start(validateRunbook(runbook, kinds, 'inline'), { executor }).result;
}

test('a typed kind runs through the engine with its data as its handlers made it', async () => {
  const result = await runTyped(false);
  assert.is(result.status, 'succeeded');
  assert.match(result.steps[0].summary, /^verified since \d{4}-/);
  assert.equal(Object.keys(result.steps[0].output as object), ['bootTime']);
});

test('a typed kind that fails after its write is undone from what its capture saved', async () => {
  const result = await runTyped(true);
  assert.is(result.status, 'rolled-back');
  assert.is(result.steps[0].compensation?.detail, 'restored Flag to absent');
});

test.run();
