import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ExecutorError, StepError, DEFAULT_RETRY_POLICY, Runner } from '../../src/index.js';
import { createSimulatedExecutor } from '../../src/index.js';
import { kinds, makeHost, tempDir } from '../helpers.js';
import { resolvePolicy, retryPolicySchema, withRetry, type AttemptInfo } from '../../src/engine/retry.js';

const fast = resolvePolicy(DEFAULT_RETRY_POLICY, { minTimeout: 1, maxTimeout: 2, randomize: false });

test('a transient error is retried as the policy says, and every failed attempt is reported', async () => {
  const seen: AttemptInfo[] = [];
  let calls = 0;
  const value = await withRetry(
    async () => {
      calls += 1;
      if (calls < 3) throw new ExecutorError('reset', 'connection reset');
      return 'ok';
    },
    fast,
    (info) => void seen.push(info),
  );
  assert.is(value, 'ok');
  assert.equal(seen.map((s) => [s.attempt, s.willRetry]), [[1, true], [2, true]]);
});

test('a permanent error is not retried; the last transient one says it will not be', async () => {
  const seen: AttemptInfo[] = [];
  await withRetry(async () => {
    throw new StepError('FAILED', 'bad');
  }, fast, (i) => void seen.push(i)).catch(() => undefined);
  assert.equal(seen.map((s) => s.willRetry), [false]);
  const transient: AttemptInfo[] = [];
  await withRetry(async () => {
    throw new ExecutorError('unreachable', 'down');
  }, resolvePolicy(fast, { retries: 2 }), (i) => void transient.push(i)).catch(() => undefined);
  assert.equal(transient.map((s) => [s.attempt, s.willRetry]), [[1, true], [2, true], [3, false]]);
});

test('a policy is validated data: defaults documented, a wrong field named', () => {
  assert.equal({ ...DEFAULT_RETRY_POLICY }, { retries: 3, factor: 2, minTimeout: 1000, maxTimeout: 10000, randomize: true });
  const bad = retryPolicySchema().safeParse({ retries: -1 });
  assert.not.ok(bad.success);
  assert.equal(bad.error!.issues[0].path, ['retries']);
});

test("a runner's retries win over the runbook's and the step's own", async () => {
  // The preflight's reads fail transiently twice: the runbook would retry 5 times, the step 4.
  const host = await makeHost('server-2016', (h) => void h.faults.push({ op: 'os.info', kind: 'transient', times: 2 }));
  const runbook = { name: 'r', retry: { retries: 5, minTimeout: 1, maxTimeout: 2 }, steps: [{ id: 'pre', uses: 'orchestrator/preflight', retry: { retries: 4 } }] };
  const runner = new Runner({ stateDir: await tempDir(), kinds, retries: 0 });
  const result = await runner.start(runbook as never, { executor: await createSimulatedExecutor(host) }).result;
  assert.is(result.retries, 0);
  assert.is(result.status, 'unreachable', 'given up at the first failure');
  const patient = new Runner({ stateDir: await tempDir(), kinds });
  const again = await patient.start(runbook as never, { executor: await createSimulatedExecutor(await makeHost('server-2016', (h) => void h.faults.push({ op: 'os.info', kind: 'transient', times: 2 }))) }).result;
  assert.is(again.retries, 2, "without it, the step's own policy retries");
});

test.run();
