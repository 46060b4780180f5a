/**
 * The driver's outcomes are safe and true: bad input is refused before the first write, a failure
 * mid-run always goes through the saga, an unreachable target is reported as such, restart windows
 * and interruptions wait without counting as lack of progress, and what is left is said exactly.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import {
  ExecutorError,
  Runner,
  StepKindRegistry,
  ValidationError,
  bundledStepKinds,
  createSimulatedExecutor,
  defineRegistryStep,
  defineStepKind,
  loadRunbook,
  validateRunbook,
  writeHost,
  type Executor,
  type HostOp,
  type RunbookDefinition,
  type RunStartEvent,
} from '../../src/index.js';
import { replay } from '../../src/engine/replay.js';
import { remainingOf } from '../../src/engine/undo-set.js';
import { FAST, hostOf, kinds, makeHost, newRunner, readRegFile, registryText, runToEnd, tempDir } from '../helpers.js';
import * as zm from '../../src/util/zod.js';

const SCH = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';

for (const [param, value] of [
  ['hotfixSupersededBy', '5011258'],
  ['restartTimeoutSeconds', '-5'],
  ['pollIntervalMs', '0'],
] as const) {
  test(`--param ${param}=${value} is refused before the target is contacted: no run, no write`, async () => {
    const file = await makeHost('server-2016');
    const before = await readFile(file, 'utf8');
    const stateDir = await tempDir();
    const runner = newRunner(stateDir);
    const executor = await createSimulatedExecutor(file);
    try {
      runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: { [param]: value } });
      assert.unreachable('started');
    } catch (error) {
      assert.instance(error, ValidationError);
      assert.match((error as Error).message, /steps\[\d\] \(id (hotfix|restart)\)\.with\./);
    }
    assert.is(executor.roundTrips, 0, 'the target was not contacted');
    assert.is(await readFile(file, 'utf8'), before);
    assert.not.ok(existsSync(join(stateDir, 'runs')) && (await readdir(join(stateDir, 'runs'))).length > 0, 'no run was created');
  });
}

test('a lookup of an output a step kind does not declare is refused when the document loads', () => {
  const doc = {
    name: 'refs',
    steps: [
      { id: 'schannel', uses: 'windows/schannel', with: { mode: 'tls12-only' } },
      { id: 'hotfix', uses: 'windows/hotfix-verify', with: { supersededBy: '${{ steps.schannel.outputs.nonexistent }}' } },
      { id: 'restart', uses: 'windows/restart', with: { timeoutSeconds: '${{ steps.later.outputs.x }}' } },
      { id: 'later', uses: 'windows/dotnet-tls' },
    ],
  };
  try {
    validateRunbook(doc, kinds, 'refs.yaml');
    assert.unreachable('valid');
  } catch (error) {
    const text = (error as ValidationError).issues.join('\n');
    assert.match(text, /steps\[1\] \(id hotfix\)\.with\.supersededBy: step schannel \(windows\/schannel\) has no output "nonexistent"; it declares: changed, rebootRequired, protocols/);
    assert.match(text, /steps\[2\] \(id restart\)\.with\.timeoutSeconds: "steps\.later" is not an earlier step/);
  }
});

test('a step whose parameters fail when it starts is a failed step: the saga restores what came before', async () => {
  const file = await makeHost('server-2016');
  const before = await registryText(file);
  const runbook: RunbookDefinition = {
    name: 'late-params',
    steps: [
      { id: 'schannel', uses: 'windows/schannel', with: { mode: 'tls12-only' } },
      { id: 'hotfix', uses: 'windows/hotfix-verify' },
      // Declared, so the document loads; a string where a number belongs, known only when it runs.
      { id: 'restart', uses: 'windows/restart', with: { timeoutSeconds: '${{ steps.hotfix.outputs.os }}', pollIntervalMs: 10 } },
    ],
  };
  const { result } = await runToEnd(file, { runbook });
  assert.is(result.status, 'rolled-back');
  assert.is(result.steps[2].status, 'failed');
  assert.match(result.steps[2].error!.message, /invalid parameters for step restart: .*timeoutSeconds/);
  assert.is(result.steps[0].compensation?.status, 'compensated');
  assert.is(await registryText(file), before);
});

/** An executor whose target never answers. */
function unreachable(): Executor {
  let calls = 0;
  return {
    name: 'ssh',
    target: 'ssh://admin@127.0.0.1:1',
    onTarget: false,
    get roundTrips() {
      return calls;
    },
    async run() {
      calls += 1;
      throw new ExecutorError('refused', 'connect ECONNREFUSED 127.0.0.1:1', { where: 'ssh://admin@127.0.0.1:1' });
    },
    async close() {},
  };
}

for (const checkMode of [false, true]) {
  test(`${checkMode ? 'plan' : 'run'}: a target unreachable before any change ends "unreachable", without a saga`, async () => {
    const runner = newRunner(await tempDir());
    const executor = unreachable();
    const result = await runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: FAST, checkMode }).result;
    assert.is(result.status, 'unreachable');
    assert.match(result.reason!, /ssh:\/\/admin@127\.0\.0\.1:1 could not be reached; nothing was changed/);
    assert.match(result.error!.message, /ECONNREFUSED/);
    assert.is(executor.roundTrips, 4, 'the first call and its three retries, no more');
    const journal = await readFile(join(runner.runDir(result.runId), 'journal.jsonl'), 'utf8');
    assert.not.match(journal, /saga\.started/);
  });
}

test('allowRestart=false waits for a window: resumes without permission keep it waiting, rollback undoes it', async () => {
  const file = await makeHost('server-2016');
  const before = await registryText(file);
  const stateDir = await tempDir();
  const { result, runner, executor } = await runToEnd(file, { stateDir, params: { ...FAST, allowRestart: false } });
  assert.is(result.status, 'awaiting-resume');
  assert.is(result.awaiting, 'restart-window');
  assert.match(result.reason!, /--allow-restart/);
  for (let i = 0; i < 4; i++) {
    const again = await (await runner.resume(result.runId, { executor })).result;
    assert.is(again.status, 'awaiting-resume', `resume ${i + 1} without permission`);
    assert.is(again.awaiting, 'restart-window');
  }
  const rolled = await (await runner.rollback(result.runId, { executor })).result;
  assert.is(rolled.status, 'rolled-back');
  assert.is(rolled.reason, 'rolled back on request');
  assert.is(await registryText(file), before);
  assert.is((await hostOf(file)).restarts, 0, 'never restarted: nothing was in effect to undo');
});

test('an interruption stops at a safe point, awaiting resume with a report; the resume completes', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.latencyMs = 5;
  });
  const stateDir = await tempDir();
  const runner = newRunner(stateDir);
  const executor = await createSimulatedExecutor(file);
  const run = runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: FAST });
  run.events.on('step:settled', (e) => e.stepId === 'schannel' && run.interrupt());
  const result = await run.result;
  assert.is(result.status, 'awaiting-resume');
  assert.is(result.awaiting, 'interrupted');
  assert.is(result.steps.find((s) => s.id === 'hotfix')!.status, 'pending', 'nothing after the safe point started');
  assert.ok(existsSync(join(runner.runDir(run.id), 'report.md')));
  const resumed = await runner.resume(run.id, { executor });
  const starts: RunStartEvent[] = [];
  resumed.events.on('run:start', (e) => starts.push(e));
  const done = await resumed.result;
  assert.is(done.status, 'succeeded');
  assert.is((await hostOf(file)).restarts, 1);
  // The resume tells its listeners which steps settled before it (a live view shows them as ended).
  const settled = starts[0].settled ?? [];
  const before = result.steps.filter((s) => s.status !== 'pending' && s.status !== 'running');
  assert.equal(settled.map((s) => [s.stepId, s.status, s.summary, s.changes]), before.map((s) => [s.id, s.status, s.summary, s.changes.length]));
  assert.ok(settled.some((s) => s.stepId === 'schannel' && s.changes > 0));
  assert.ok(settled.every((s) => typeof s.tookMs === 'number' && s.tookMs >= 0), JSON.stringify(settled));
});

test('a run stopped at the safe point right after a step wrote its values says they were written, not that they may have been: what the end of the drive records is what its journal holds', async () => {
  const file = await makeHost('server-2016');
  const stateDir = await tempDir();
  const runner = newRunner(stateDir);
  const inner = await createSimulatedExecutor(file);
  let stop = () => {};
  // The stop is asked while the SCHANNEL values are being written: the drive stops before the step's verify.
  const executor: Executor = Object.create(inner, {
    run: { value: (batch: readonly HostOp[], options?: object) => (batch.some((op) => op.op === 'registry.set' && op.key.includes('SCHANNEL')) && stop(), inner.run(batch, options)) },
  });
  const run = runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: FAST });
  stop = () => run.interrupt();
  const result = await run.result;
  assert.is(result.status, 'awaiting-resume');
  const schannel = result.remaining!.filter((c) => c.target.includes('SCHANNEL'));
  assert.ok(schannel.length > 0);
  // The write's answers are in the journal (the step's apply phase ended): nothing there is "maybe".
  assert.equal(schannel.filter((c) => c.maybe).map((c) => `${c.target} ${c.field}`), []);
  const journal = (await readFile(join(runner.runDir(run.id), 'journal.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(result.remaining, remainingOf(replay(journal), kinds), 'the end record lists what the whole journal shows');
});

test('a new run tells no step settled before it', async () => {
  const file = await makeHost('server-2016');
  const run = newRunner(await tempDir()).start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(file), params: FAST });
  const starts: RunStartEvent[] = [];
  run.events.on('run:start', (e) => starts.push(e));
  await run.result;
  assert.equal(starts[0].settled, []);
});

test('a host that never comes back: the saga stops within its budget and says exactly what is left', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.downtimeMs = 1e12;
  });
  const stateDir = await tempDir();
  const runner = new Runner({ stateDir, kinds, compensationBudgetMs: 300, retry: { minTimeout: 5, maxTimeout: 20, randomize: false } });
  const run = runner.start(await loadRunbook('orchestrator-tls12', kinds), {
    executor: await createSimulatedExecutor(file),
    params: { ...FAST, restartTimeoutSeconds: 1 },
  });
  const result = await run.result;
  assert.is(result.status, 'rollback-failed');
  assert.match(result.reason!, /compensation budget|undos failed/);
  // 20 SCHANNEL values and 6 .NET values (2 SchUseStrongCrypto, 4 SystemDefaultTlsVersions) are still as the run set them,
  // with the restart marker (its write has no answer: may have been made) and the 16 keys the run created.
  const values = result.remaining!.filter((c) => c.field !== '(key)');
  assert.is(values.length, 27);
  assert.equal(values.filter((c) => c.maybe).map((c) => c.field), ['RestartOwed']);
  assert.is(result.remaining!.filter((c) => c.field === "(key)").length, 16);
  const reg = await readRegFile(result.undoFiles!.reg);
  assert.match(reg, /^Windows Registry Editor Version 5\.00\r\n/);
  assert.match(reg, /\[HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Microsoft\\\.NETFramework\\v4\.0\.30319\]\r\n"SchUseStrongCrypto"=-\r\n"SystemDefaultTlsVersions"=-/);
  // No key's whole tree is deleted ([-…] would take what others added since): the created keys are
  // listed for the operator, and undo.ps1 deletes each one that is empty.
  assert.not.match(reg, /\[-HKEY/);
  assert.match(reg, /;   HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1\.0\r\n/);
  assert.match(reg, /;   HKEY_LOCAL_MACHINE\\SOFTWARE\\runbook-engine \(may have been created\)/);
  const ps1 = await readFile(result.undoFiles!.powershell, 'utf8');
  assert.match(ps1, /OpenBaseKey/);
  const md = await readFile(join(runner.runDir(run.id), 'report.md'), 'utf8');
  assert.match(md, /## Still changed on the target/);
  assert.match(md, /undo\.reg/);
});

test('a host that never came back within the wait: what the run says to do next is `runbook rollback`, which finishes exactly once the host answers', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.downtimeMs = 1e12;
  });
  const before = await registryText(file);
  const stateDir = await tempDir();
  const runner = new Runner({ stateDir, kinds, compensationBudgetMs: 300, retry: { minTimeout: 5, maxTimeout: 20, randomize: false } });
  const executor = await createSimulatedExecutor(file);
  const result = await runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: { ...FAST, restartTimeoutSeconds: 1 } }).result;
  assert.is(result.status, 'rollback-failed');
  // Every hint the operator reads: the run's error, and each undo's. The run ended: a resume of it
  // prints its result again and changes nothing, so none may send the operator there.
  const told = [result.error!.message, ...result.steps.map((s) => s.compensation?.detail ?? '')].join('\n');
  assert.not.match(told, /runbook resume/);
  assert.match(result.error!.message, new RegExp(`runbook rollback ${result.runId}`));
  // The host comes back (a restart that ends): the rollback the hint names finishes, exactly.
  const back = await hostOf(file);
  back.downtimeMs = 10;
  back.down = { since: back.down!.since, until: new Date(Date.now() - 1).toISOString() };
  await writeHost(file, back);
  const resumed = await (await runner.resume(result.runId, { executor })).result;
  assert.is(resumed.status, 'rollback-failed', 'a resume of an ended run changes nothing');
  const undone = await (await runner.rollback(result.runId, { executor })).result;
  assert.is(undone.status, 'rolled-back', JSON.stringify(undone.error));
  assert.is(await registryText(file), before);
});

test('once a rollback has undone everything, no undo file of an earlier drive is left in the run directory', async () => {
  const file = await makeHost('server-2016');
  const { result, runner, executor } = await runToEnd(file);
  assert.is(result.status, 'succeeded');
  // The run changed the target: its undo files say how to put it back.
  assert.ok(existsSync(result.undoFiles!.reg) && existsSync(result.undoFiles!.powershell));
  const undone = await (await runner.rollback(result.runId, { executor })).result;
  assert.is(undone.status, 'rolled-back');
  assert.is(undone.undoFiles, undefined);
  // Files that listed 41 changes the target no longer holds would, run later, undo whatever set them since.
  const dir = runner.runDir(result.runId);
  assert.not.ok(existsSync(join(dir, 'undo.reg')), 'a stale undo.reg is left');
  assert.not.ok(existsSync(join(dir, 'undo.ps1')), 'a stale undo.ps1 is left');
  assert.not.match(await readFile(join(dir, 'report.md'), 'utf8'), /undo\.ps1/);
});

test('a restart command whose connection failed is confirmed by the host and sent again', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.faults = [{ op: 'restart', kind: 'transient', times: 1 }];
  });
  const logs: string[] = [];
  const runner = newRunner(await tempDir());
  const run = runner.start(await loadRunbook('orchestrator-tls12', kinds), {
    executor: await createSimulatedExecutor(file),
    params: { ...FAST, restartTimeoutSeconds: 5 },
  });
  run.events.on('log', (e) => logs.push(e.message));
  const result = await run.result;
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  assert.ok(logs.some((l) => /sending the restart again/.test(l)), logs.join('\n'));
  assert.is((await hostOf(file)).restarts, 1);
});

test('an operator rollback leaves alone values changed since the run, unless forced', async () => {
  const file = await makeHost('server-2016');
  const stateDir = await tempDir();
  const { result, runner, executor } = await runToEnd(file, { stateDir });
  assert.is(result.status, 'succeeded');
  const host = await hostOf(file);
  host.registry[`${SCH}\\TLS 1.0\\Server`].Enabled = { type: 'REG_DWORD', data: 7 };
  await (await import('../../src/index.js')).writeHost(file, host);
  const rolled = await (await runner.rollback(result.runId, { executor })).result;
  assert.is(rolled.status, 'rolled-back');
  const kept = rolled.steps.flatMap((s) => s.compensation?.changes ?? []).filter((c) => c.action === 'keep');
  assert.is(kept.length, 1);
  assert.match(kept[0].target, /TLS 1\.0\\Server/);
  assert.equal((await hostOf(file)).registry[`${SCH}\\TLS 1.0\\Server`].Enabled, { type: 'REG_DWORD', data: 7 });
});

test('an operator rollback undoes a value the run wrote with a secret in it: the journal keeps it masked, which is not a change since the run', async () => {
  // The value the run left is journaled as "Server=db;Password=***": compared with the target's, in
  // clear, it read as changed since the run, and the rollback left the secret in place.
  const TOKEN = 'hunter2-Secr3t';
  const stores = defineStepKind(
    defineRegistryStep({
      kind: 'test/conn',
      description: 'stores a connection string',
      what: 'app settings',
      rebootOnChange: false,
      params: zm.object({ token: zm.string() }),
      writes: async ({ params }) => [{ view: '64', key: 'SOFTWARE\\Contoso\\App', name: 'Conn', desired: { type: 'REG_SZ', data: `Server=db;Password=${params.token}` } }],
    }),
  );
  const registry = new StepKindRegistry().register(stores);
  const runbook: RunbookDefinition = {
    name: 'conn',
    parameters: { token: { type: 'string', secret: true, env: 'RBE_TEST_TOKEN' } },
    steps: [{ id: 'app', uses: 'test/conn', with: { token: '${{ params.token }}' } }],
  };
  process.env.RBE_TEST_TOKEN = TOKEN;
  try {
    const stateDir = await tempDir();
    const file = await makeHost('server-2016');
    const executor = await createSimulatedExecutor(file);
    const result = await new Runner({ stateDir, kinds: registry }).start(validateRunbook(runbook, registry, 'inline'), { executor }).result;
    assert.is(result.status, 'succeeded', result.reason);
    const rolled = await (await new Runner({ stateDir, kinds: registry }).rollback(result.runId, { executor })).result;
    assert.is(rolled.status, 'rolled-back');
    assert.equal(rolled.steps[0].compensation?.changes.map((c) => c.action), ['delete', 'delete', 'delete']);
    assert.is((await hostOf(file)).registry['SOFTWARE\\Contoso\\App'], undefined);
    // Still left alone: a value someone changed since, to another password.
    const again = await new Runner({ stateDir, kinds: registry }).start(validateRunbook(runbook, registry, 'inline'), { executor }).result;
    const host = await hostOf(file);
    host.registry['SOFTWARE\\Contoso\\App'].Conn = { type: 'REG_SZ', data: 'Server=db;Password=other-Secr3t' };
    await (await import('../../src/index.js')).writeHost(file, host);
    const kept = await (await new Runner({ stateDir, kinds: registry }).rollback(again.runId, { executor })).result;
    assert.equal(kept.steps[0].compensation?.changes.map((c) => c.action), ['keep']);
    assert.equal((await hostOf(file)).registry['SOFTWARE\\Contoso\\App'].Conn, { type: 'REG_SZ', data: 'Server=db;Password=other-Secr3t' });
  } finally {
    delete process.env.RBE_TEST_TOKEN;
  }
});

const echo = defineStepKind({
  kind: 'test/echo-secret',
  description: 'echoes its token everywhere it can',
  params: z.object({ token: z.string(), pause: z.boolean().default(false) }),
  outputs: z.object({ said: z.string() }),
  probe: async ({ params }) => ({ seen: `token=${params.token}` }),
  plan: ({ params }) => ({ changes: [{ target: 'log', field: 'token', before: null, after: `Bearer ${params.token}`, action: 'run' }], summary: `will say ${params.token}` }),
  phases: [
    {
      name: 'say',
      run: async ({ params, rt }) => {
        rt.log(`saying ${params.token}!`);
        if (params.pause && !rt.remembers('paused')) {
          await rt.remember('paused', () => true);
          rt.suspend(`waiting with ${params.token}`, 'interrupted');
        }
        return { echoed: `[${params.token}]` };
      },
    },
  ],
  verify: async ({ params }) => ({ ok: true, summary: `said ${params.token}`, output: { said: `x${params.token}x` } }),
});

/** Runs the echo step with a secret token, pausing once so that the run is resumed. */
async function echoRun(secret: string) {
  const registry = new StepKindRegistry().register(echo);
  const runbook: RunbookDefinition = {
    name: 'secretive',
    parameters: { token: { type: 'string', secret: true, env: 'RBE_TEST_TOKEN' } },
    steps: [{ id: 'echo', uses: 'test/echo-secret', with: { token: '${{ params.token }}', pause: true } }],
  };
  process.env.RBE_TEST_TOKEN = secret;
  try {
    const runner = new Runner({ stateDir: await tempDir(), kinds: registry });
    const executor = await createSimulatedExecutor(await makeHost('server-2016'));
    const seen: string[] = [];
    const listen = (run: { events: import('../../src/index.js').RunEmitter }) => {
      for (const name of ['run:start', 'run:end', 'step:transition', 'step:settled', 'step:retry', 'step:compensation', 'log'] as const) {
        run.events.on(name, (payload: unknown) => seen.push(JSON.stringify(payload)));
      }
    };
    const first = runner.start(validateRunbook(runbook, registry, 'inline'), { executor });
    listen(first);
    assert.is((await first.result).status, 'awaiting-resume');
    const second = await runner.resume(first.id, { executor });
    listen(second);
    return { result: await second.result, dir: runner.runDir(first.id), events: seen.join('\n') };
  } finally {
    delete process.env.RBE_TEST_TOKEN;
  }
}

test('a secret never reaches the journal, events or reports, whole or inside a longer string, also after resume', async () => {
  const SECRET = 'hunter2-Secr3t';
  const { result, dir, events } = await echoRun(SECRET);
  assert.is(result.status, 'succeeded');
  for (const name of ['journal.jsonl', 'report.json', 'report.md']) {
    const text = await readFile(join(dir, name), 'utf8');
    assert.not.ok(text.includes(SECRET), `${name} holds the secret`);
    assert.ok(text.includes('***'), `${name} shows the mask`);
  }
  assert.not.ok(events.includes(SECRET), 'an event held the secret');
  assert.ok(events.includes('saying ***!'));
  assert.is(JSON.stringify(result).includes(SECRET), false);
});

test('a secret that is also part of the journal\'s own words does not break replay', async () => {
  // "step" is in record types and state names; masking it there would make the journal unreadable.
  const { result } = await echoRun('step');
  assert.is(result.status, 'succeeded');
  assert.equal(result.steps[0].output, { said: 'x***x' });
});

test('a step that can undo and captured a secret\'s value fails before its first change, the secret kept out of the journal', async () => {
  const SECRET = 'hunter2-Secr3t';
  let acted = false;
  const remembers = defineStepKind({
    kind: 'test/remembers-secret',
    description: 'reads back a value that holds its token, and could undo its change',
    params: z.object({ token: z.string() }),
    probe: async ({ params }) => ({ connection: `Server=db;Password=${params.token}` }),
    plan: () => ({ changes: [{ target: 'conn', field: 'value', before: null, after: 'new', action: 'update' }], summary: 'set it' }),
    phases: [{ name: 'apply', run: async () => ((acted = true), null) }],
    verify: async () => ({ ok: true, summary: 'set', output: null }),
    compensate: async () => ({ detail: 'put back', changes: [] }),
  });
  const registry = new StepKindRegistry().register(remembers);
  const runbook: RunbookDefinition = {
    name: 'remembers',
    parameters: { token: { type: 'string', secret: true, env: 'RBE_TEST_TOKEN' } },
    steps: [{ id: 'conn', uses: 'test/remembers-secret', with: { token: '${{ params.token }}' } }],
  };
  process.env.RBE_TEST_TOKEN = SECRET;
  try {
    const runner = new Runner({ stateDir: await tempDir(), kinds: registry });
    const run = runner.start(validateRunbook(runbook, registry, 'inline'), { executor: await createSimulatedExecutor(await makeHost('server-2016')) });
    const result = await run.result;
    assert.is(result.status, 'rolled-back');
    assert.is(acted, false, 'the step acted with a capture its undo could not have used');
    assert.is(result.steps[0].error?.code, 'SECRET_IN_MEMO');
    assert.match(result.steps[0].error?.message ?? '', /step conn: what it captured for its undo holds the value of a secret parameter/);
    const journal = await readFile(join(runner.runDir(run.id), 'journal.jsonl'), 'utf8');
    assert.not.ok(journal.includes(SECRET));
    assert.not.ok(journal.includes('"type":"memo"'), 'a masked capture was journaled');
  } finally {
    delete process.env.RBE_TEST_TOKEN;
  }
});

test('a secret in its encoded forms in a step\'s log and error message reaches neither the journal nor the reports', async () => {
  const SECRET = 'hunter2 <Secr3t>';
  const forms = [
    Buffer.from(SECRET).toString('hex').toUpperCase(),
    SECRET.toUpperCase(),
    '&lt;Secr3t&gt;',
    encodeURIComponent(SECRET).toLowerCase(),
    // What PowerShell's -EncodedCommand carries: base64 of the UTF-16LE bytes (its core at this alignment).
    Buffer.from(`$p = '${SECRET}'`, 'utf16le').toString('base64').slice(16, 56),
  ];
  const leaky = defineStepKind({
    kind: 'test/leaks-encoded',
    description: 'says its token in the forms a transport would, then fails',
    params: z.object({ token: z.string() }),
    probe: async () => ({}),
    plan: () => ({ changes: [{ target: 'log', field: 'token', before: null, after: 'said', action: 'run' }], summary: 'will say it' }),
    phases: [
      {
        name: 'say',
        run: async ({ params, rt }) => {
          rt.log(`sent <Password>${params.token.replace(/</g, '&lt;').replace(/>/g, '&gt;')}</Password> as ${Buffer.from(params.token).toString('hex').toUpperCase()}`);
          throw new Error(`powershell -EncodedCommand ${Buffer.from(`$p = '${params.token}'`, 'utf16le').toString('base64')} failed: LOGON ${params.token.toUpperCase()} refused (pw=${encodeURIComponent(params.token).toLowerCase()})`);
        },
      },
    ],
    verify: async () => ({ ok: true, summary: 'said', output: null }),
  });
  const registry = new StepKindRegistry().register(leaky);
  const runbook: RunbookDefinition = {
    name: 'leaky',
    parameters: { token: { type: 'string', secret: true, env: 'RBE_TEST_TOKEN' } },
    steps: [{ id: 'say', uses: 'test/leaks-encoded', with: { token: '${{ params.token }}' } }],
  };
  process.env.RBE_TEST_TOKEN = SECRET;
  try {
    const runner = new Runner({ stateDir: await tempDir(), kinds: registry, retry: { retries: 0 } });
    const run = runner.start(validateRunbook(runbook, registry, 'inline'), { executor: await createSimulatedExecutor(await makeHost('server-2016')) });
    const result = await run.result;
    assert.is(result.status, 'rolled-back');
    assert.match(result.steps[0].error?.message ?? '', /-EncodedCommand .*\*\*\*.* failed: LOGON \*\*\* refused \(pw=\*\*\*\)/);
    for (const name of ['journal.jsonl', 'report.json', 'report.md']) {
      const text = await readFile(join(runner.runDir(run.id), name), 'utf8');
      assert.ok(text.includes('-EncodedCommand'), `${name} shows the error`);
      for (const form of forms) assert.not.ok(text.includes(form), `${name} holds ${form}`);
    }
  } finally {
    delete process.env.RBE_TEST_TOKEN;
  }
});

test('a secret as the hex of its UTF-16LE bytes (how Windows keeps text in a REG_BINARY) in a step\'s output and log reaches neither the journal nor the reports', async () => {
  for (const SECRET of ['hunter2-Secr3t', 'Zq9-x']) {
    const utf16 = [...Buffer.from(SECRET, 'utf16le')].map((b) => b.toString(16).padStart(2, '0'));
    const forms = [utf16.join(''), utf16.join('').toUpperCase(), utf16.join(','), utf16.join(',').toUpperCase()];
    const binary = defineStepKind({
      kind: 'test/reads-binary',
      description: 'reads a REG_BINARY that holds its token as UTF-16LE text, and reports it',
      params: z.object({ token: z.string() }),
      outputs: z.object({ data: z.string(), exported: z.string() }),
      probe: async () => ({}),
      plan: () => ({ changes: [{ target: 'log', field: 'blob', before: null, after: 'read', action: 'run' }], summary: 'will read it' }),
      phases: [{ name: 'read', run: async ({ params, rt }) => (rt.log(`read REG_BINARY ${Buffer.from(params.token, 'utf16le').toString('hex').toUpperCase()}`), null) }],
      verify: async ({ params }) => {
        const hex = Buffer.from(params.token, 'utf16le').toString('hex');
        return { ok: true, summary: `read ${hex}`, output: { data: `0100${hex}0000`, exported: `"Blob"=hex:01,00,${hex.match(/../g)!.join(',').toUpperCase()},00,00` } };
      },
    });
    const registry = new StepKindRegistry().register(binary);
    const runbook: RunbookDefinition = {
      name: 'binary',
      parameters: { token: { type: 'string', secret: true, env: 'RBE_TEST_TOKEN' } },
      steps: [{ id: 'read', uses: 'test/reads-binary', with: { token: '${{ params.token }}' } }],
    };
    process.env.RBE_TEST_TOKEN = SECRET;
    try {
      const runner = new Runner({ stateDir: await tempDir(), kinds: registry });
      const run = runner.start(validateRunbook(runbook, registry, 'inline'), { executor: await createSimulatedExecutor(await makeHost('server-2016')) });
      const result = await run.result;
      assert.is(result.status, 'succeeded', result.reason);
      assert.equal(result.steps[0].output, { data: '0100***0000', exported: '"Blob"=hex:01,00,***,00,00' });
      for (const name of ['journal.jsonl', 'report.json', 'report.md']) {
        const text = await readFile(join(runner.runDir(run.id), name), 'utf8');
        assert.ok(text.includes('***'), `${name} shows the mask`);
        for (const form of forms) assert.not.ok(text.includes(form), `${name} holds ${form} (${SECRET.length} characters)`);
      }
    } finally {
      delete process.env.RBE_TEST_TOKEN;
    }
  }
});

test('the bundled kinds all declare their outputs', () => {
  for (const kind of bundledStepKinds().list()) assert.ok(kind.outputs, `${kind.kind} declares no outputs`);
});


test('after a resume, a step whose with: takes an earlier step\'s output holding a secret is never given *** in its place: it fails (SECRET_IN_OUTPUT) before it acts and the run is undone', async () => {
  // The first drive gave the later step the output in clear; the journal keeps it masked (x***x), and a
  // resume read it back from there, giving the target *** where the secret was.
  const SECRET = 'hunter2-Secr3t';
  const given: string[] = [];
  const records = defineStepKind({
    kind: 'test/records-token',
    description: 'records the token it is given',
    params: z.object({ token: z.string() }),
    probe: async () => null,
    plan: () => ({ changes: [{ target: 'token', field: 'value', before: null, after: 'set', action: 'update' }], summary: 'set it' }),
    phases: [{ name: 'apply', run: async ({ params }) => (given.push(params.token), null) }],
    verify: async () => ({ ok: true, summary: 'set', output: null }),
  });
  const registry = new StepKindRegistry().register(echo).register(records);
  const runbook: RunbookDefinition = {
    name: 'outputs',
    parameters: { token: { type: 'string', secret: true, env: 'RBE_TEST_TOKEN' } },
    steps: [
      { id: 'first', uses: 'test/echo-secret', with: { token: '${{ params.token }}' } },
      { id: 'pause', uses: 'test/echo-secret', with: { token: 'plain', pause: true } },
      { id: 'uses', uses: 'test/records-token', with: { token: '${{ steps.first.outputs.said }}' } },
    ],
  };
  process.env.RBE_TEST_TOKEN = SECRET;
  try {
    const runner = new Runner({ stateDir: await tempDir(), kinds: registry });
    const executor = await createSimulatedExecutor(await makeHost('server-2016'));
    const first = runner.start(validateRunbook(runbook, registry, 'inline'), { executor });
    assert.is((await first.result).status, 'awaiting-resume');
    const result = await (await runner.resume(first.id, { executor })).result;
    assert.equal(given.filter((t) => t.includes('***')), [], 'the step was given the mask in place of the secret');
    assert.is(result.status, 'rolled-back');
    assert.is(result.steps[2].error?.code, 'SECRET_IN_OUTPUT');
    assert.match(result.steps[2].error?.message ?? '', /output of step first/);
    assert.not.ok(JSON.stringify(result).includes(SECRET));
  } finally {
    delete process.env.RBE_TEST_TOKEN;
  }
});

test('a step resumed part-way whose with: holds a secret inside a longer string acts on the secret, not on the journal\'s mask of it', async () => {
  // The journal keeps the step's parameters masked (Bearer ***); resumed, the step was given that.
  const SECRET = 'hunter2-Secr3t';
  const given: string[] = [];
  const bearer = defineStepKind({
    kind: 'test/bearer',
    description: 'sends a bearer token, waiting once part-way',
    params: z.object({ token: z.string() }),
    probe: async () => null,
    plan: () => ({ changes: [{ target: 'auth', field: 'header', before: null, after: 'set', action: 'update' }], summary: 'set it' }),
    phases: [
      {
        name: 'send',
        run: async ({ params, rt }) => {
          given.push(params.token);
          if (!rt.remembers('paused')) {
            await rt.remember('paused', () => true);
            rt.suspend('waiting', 'interrupted');
          }
          return null;
        },
      },
    ],
    verify: async () => ({ ok: true, summary: 'sent', output: null }),
  });
  const registry = new StepKindRegistry().register(bearer);
  const runbook: RunbookDefinition = {
    name: 'bearer',
    parameters: { token: { type: 'string', secret: true, env: 'RBE_TEST_TOKEN' } },
    steps: [{ id: 'send', uses: 'test/bearer', with: { token: 'Bearer ${{ params.token }}' } }],
  };
  process.env.RBE_TEST_TOKEN = SECRET;
  try {
    const runner = new Runner({ stateDir: await tempDir(), kinds: registry });
    const executor = await createSimulatedExecutor(await makeHost('server-2016'));
    const first = runner.start(validateRunbook(runbook, registry, 'inline'), { executor });
    assert.is((await first.result).status, 'awaiting-resume');
    const result = await (await runner.resume(first.id, { executor })).result;
    assert.is(result.status, 'succeeded');
    assert.equal(given, [`Bearer ${SECRET}`, `Bearer ${SECRET}`]);
    const journal = await readFile(join(runner.runDir(first.id), 'journal.jsonl'), 'utf8');
    assert.not.ok(journal.includes(SECRET), 'the journal holds the secret');
    assert.ok(journal.includes('Bearer ***'));
  } finally {
    delete process.env.RBE_TEST_TOKEN;
  }
});

test.run();
