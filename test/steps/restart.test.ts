/**
 * The restart step as a careful administrator restarts: someone else's pending shutdown is never
 * cancelled, slow-starting services are waited for, boot times are compared with a tolerance.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FAST, hostOf, makeHost, registryText, runToEnd } from '../helpers.js';
import { BOOT_TIME_TOLERANCE_MS, restartedSince, sameBoot } from '../../src/windows/boot-time.js';
import { LOGON_UI_READY_KEY } from '../../src/windows/facts/restart.js';
import { SQL_LOGIN_REFUSED_ERRORS } from '../../src/windows/facts/sql.js';
import type { Executor, HostOp } from '../../src/executors/types.js';

/** Virtual milliseconds a run of the bundled runbook takes on this host, with the step's polls. */
async function timedRun(file: string, params: Record<string, unknown> = {}) {
  const { createSimulatedExecutor, loadRunbook, VirtualClock } = await import('../../src/index.js');
  const { kinds, newRunner, tempDir } = await import('../helpers.js');
  const clock = new VirtualClock();
  const runner = newRunner(await tempDir(), clock);
  const started = clock.now();
  const result = await runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(file, { clock }), params: { ...FAST, ...params } }).result;
  return { result, waited: clock.now() - started, restart: result.steps.find((s) => s.id === 'restart')! };
}

/** An executor that records every batch it passes on. */
function recording(inner: Executor): { executor: Executor; ops: HostOp[] } {
  const ops: HostOp[] = [];
  const executor: Executor = Object.create(inner, {
    run: { value: (batch: readonly HostOp[], options?: object) => (ops.push(...batch), inner.run(batch, options)) },
  });
  return { executor, ops };
}

test('a shutdown someone else scheduled is left alone; by default the step fails and the run rolls back', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.pendingShutdown = { by: 'an administrator', at: new Date(Date.now() + 3_600_000).toISOString() };
  });
  const before = await registryText(file);
  const { result } = await runToEnd(file);
  assert.is(result.status, 'rolled-back');
  assert.is(result.error?.code, 'SHUTDOWN_PENDING');
  assert.match(result.error!.message, /shutdown\.exe answered 1190\); it was left alone/);
  const host = await hostOf(file);
  assert.ok(host.pendingShutdown, 'the pending shutdown was not cancelled');
  assert.is(host.restarts, 0);
  assert.is(await registryText(file), before);
});

test('with ifShutdownPending=wait, the pending shutdown is the restart the run waits for', async () => {
  const file = await makeHost('server-2016', (h) => {
    // Late enough that the run reaches its restart step first, even on a slow machine.
    h.pendingShutdown = { by: 'an administrator', at: new Date(Date.now() + 2500).toISOString() };
  });
  const { result } = await runToEnd(file, { params: { ...FAST, ifShutdownPending: 'wait', restartTimeoutSeconds: 30 } });
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  const host = await hostOf(file);
  assert.is(host.restarts, 1, 'one restart: theirs');
  assert.is(host.pendingShutdown, null);
});

test('an Orchestrator service that starts slowly is waited for: no rollback', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.services.orunbook.startDelayMs = 400;
  });
  const { result } = await runToEnd(file, { params: { ...FAST, restartTimeoutSeconds: 30 } });
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  assert.ok(result.steps.find((s) => s.id === 'restart')!.pollRoundTrips >= 2, 'it polled while the service started');
});

test('a shutdown already in progress (shutdown.exe answers 1115) is the restart: waited for, no rollback, whatever ifShutdownPending says', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.pendingShutdown = { by: 'Windows Update', at: new Date(Date.now() + 2500).toISOString(), inProgress: true };
  });
  const { result } = await runToEnd(file, { params: { ...FAST, restartTimeoutSeconds: 30 } });
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  const host = await hostOf(file);
  assert.is(host.restarts, 1, 'one restart: the one in progress');
  assert.is(host.pendingShutdown, null);
});

test('the restart carries a planned reason, Operating System: Reconfiguration (shutdown /d p:2:4)', async () => {
  const { createSimulatedExecutor } = await import('../../src/index.js');
  const file = await makeHost('server-2016');
  const { executor, ops } = recording(await createSimulatedExecutor(file));
  const { result } = await runToEnd(file, { executor });
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  const restart = ops.find((o) => o.op === 'restart') as Extract<HostOp, { op: 'restart' }>;
  assert.equal(restart.plannedReason, { major: 2, minor: 4 });
  // The shutdown.exe codes the agent reads as a shutdown scheduled or in progress: the facts', as data.
  assert.equal(restart.pendingCodes, { scheduled: 1190, inProgress: 1115 });
  // The boot-time tolerance the agent's guard uses: boot-time.ts's, as data.
  assert.is(restart.toleranceMs, BOOT_TIME_TOLERANCE_MS);
  // The SQL errors the agent reads as "up, refused this login": the fact's, as data in each sql.ping.
  const pings = ops.filter((o) => o.op === 'sql.ping') as Extract<HostOp, { op: 'sql.ping' }>[];
  assert.ok(pings.length > 0, 'the host\'s own SQL Server is waited for');
  for (const p of pings) assert.equal(p.answeredErrors, SQL_LOGIN_REFUSED_ERRORS.value);
  assert.equal(SQL_LOGIN_REFUSED_ERRORS.value, [18456, 18452, 4060]);
});

test('an unreadable boot-time baseline never skips the restart: the host restarts', async () => {
  const { createSimulatedExecutor } = await import('../../src/index.js');
  const file = await makeHost('server-2016');
  const executor = await createSimulatedExecutor(file);
  for (const ifBootTime of ['', 'not a time', (await hostOf(file)).bootTime.replace(/\d/g, 'x')]) {
    const before = await hostOf(file);
    const [answer] = await executor.run([{ op: 'restart', delaySeconds: 0, reason: 'test', ifBootTime }]);
    assert.equal(answer, { op: 'restart', requested: true, alreadyRestarted: false }, `baseline ${JSON.stringify(ifBootTime)}`);
    const after = await hostOf(file);
    assert.ok(after.down, 'the host went down');
    after.down = null;
    after.bootTime = new Date(Date.parse(before.bootTime) + 60_000).toISOString();
    const { writeHost } = await import('../../src/index.js');
    await writeHost(file, after);
  }
  // Only readable times a restart apart prove a restart; an unreadable reading is not "the same boot" either.
  assert.not.ok(restartedSince('2026-11-20T06:14:02Z', ''));
  assert.not.ok(restartedSince('garbage', '2026-11-20T06:12:44Z'));
  assert.not.ok(sameBoot('', ''));
  assert.ok(restartedSince('2026-11-20T06:14:02Z', '2026-11-20T06:12:44Z'));
});

test('readiness waits until Windows has finished starting (LogonUI\'s key, on a host that creates it)', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.registry[LOGON_UI_READY_KEY.value.key] = {};
    h.logonUi = { afterMs: 5000 };
  });
  const { result, waited, restart } = await timedRun(file);
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  assert.ok(waited >= 5000, `waited ${waited} ms for a logon prompt 5 s after the boot`);
  assert.ok(restart.pollRoundTrips >= 2);
  assert.ok((await hostOf(file)).registry[LOGON_UI_READY_KEY.value.key], 'the boot created the key again');
});

test('a host whose boot never reaches the logon prompt fails the wait, saying so; one without the key is not waited for', async () => {
  const never = await makeHost('server-2016', (h) => {
    h.registry[LOGON_UI_READY_KEY.value.key] = {};
    h.logonUi = { afterMs: null };
  });
  const { result } = await timedRun(never, { restartTimeoutSeconds: 20 });
  assert.is(result.error?.code, 'RESTART_TIMEOUT');
  assert.match(result.error!.message, /Windows still starting/);
  const without = await makeHost('server-2016', (h) => void (h.logonUi = { afterMs: null }));
  assert.is((await timedRun(without)).result.status, 'succeeded');
});

test('readiness waits until the Orchestrator database answers: the target\'s own SQL Server, or the one named', async () => {
  const slowSql = await makeHost('server-2016', (h) => void (h.sqlStartDelayMs = 8000));
  assert.ok((await hostOf(slowSql)).sqlInstances.length > 0, 'the preset has a local SQL Server');
  const local = await timedRun(slowSql);
  assert.is(local.result.status, 'succeeded', JSON.stringify(local.result.error));
  assert.ok(local.waited >= 8000, `waited ${local.waited} ms for a SQL Server that answers 8 s after the boot`);
  const remoteDown = await makeHost('server-2016', (h) => void (h.sqlServers = { 'sql01\\orch': false }));
  const remote = await timedRun(remoteDown, { orchestratorDatabaseServer: 'sql01\\ORCH', restartTimeoutSeconds: 20 });
  assert.is(remote.result.error?.code, 'RESTART_TIMEOUT');
  assert.match(remote.result.error!.message, /SQL Server sql01\\ORCH not answering/);
  const none = await timedRun(await makeHost('server-2016', (h) => void (h.sqlStartDelayMs = 60_000)), { orchestratorDatabaseServer: 'none' });
  assert.is(none.result.status, 'succeeded');
  assert.ok(none.waited < 60_000, 'databaseServer=none waits for no database');
});

/**
 * An executor whose host restarts on its own (a crash, an update, someone at the console) just before
 * the first batch that holds an op `when` picks: the boot completes at once, so the run goes on.
 */
function rebootingBefore(inner: Executor, file: string, clock: { now(): number }, when: (op: HostOp) => boolean): Executor {
  let done = false;
  return Object.create(inner, {
    run: {
      value: async (batch: readonly HostOp[], options?: object) => {
        if (!done && batch.some(when)) {
          done = true;
          const { boot } = await import('../../src/simulator/model.js');
          const { writeHost } = await import('../../src/index.js');
          const host = await hostOf(file);
          boot(host, new Date(clock.now()).toISOString());
          await writeHost(file, host);
        }
        return inner.run(batch, options);
      },
    },
  });
}

for (const [label, endpoints] of [
  ['', true],
  [' (no TLS endpoint to prove it by handshake: nothing else would have told)', false],
] as const) {
test(`a target that restarts on its own after the preflight, before the run writes its SCHANNEL values, is restarted after them: the values take effect${label}`, async () => {
  const { createSimulatedExecutor, loadRunbook, VirtualClock } = await import('../../src/index.js');
  const { kinds, newRunner, tempDir } = await import('../helpers.js');
  const file = await makeHost('server-2016', (h) => {
    if (!endpoints) h.endpoints = [];
  });
  const clock = new VirtualClock();
  const executor = rebootingBefore(await createSimulatedExecutor(file, { clock }), file, clock, (op) => op.op === 'registry.set' && op.key.includes('SCHANNEL'));
  const result = await newRunner(await tempDir(), clock).start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: FAST }).result;
  // The boot the host came back to read none of the values written after it: only a restart after
  // them makes them the ones in effect (schannel.in-effect-after-restart), as the handshakes prove.
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  const host = await hostOf(file);
  assert.is(host.restarts, 2, 'the unexpected restart, then the run\'s own');
  assert.equal(host.inEffect['TLS 1.0'], { Client: false, Server: false });
  assert.equal(host.inEffect['TLS 1.2'], { Client: true, Server: true });
});
}

test('a target that restarts on its own after the run wrote its values, just before the run restarts it, is restarted once more: whether that boot came after every write cannot be told, and an unknown never skips a restart', async () => {
  const { createSimulatedExecutor, loadRunbook, VirtualClock } = await import('../../src/index.js');
  const { kinds, newRunner, tempDir } = await import('../helpers.js');
  const file = await makeHost('server-2016');
  const clock = new VirtualClock();
  const executor = rebootingBefore(await createSimulatedExecutor(file, { clock }), file, clock, (op) => op.op === 'restart');
  const result = await newRunner(await tempDir(), clock).start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: FAST }).result;
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  const host = await hostOf(file);
  assert.is(host.restarts, 2);
  assert.equal(host.inEffect['TLS 1.0'], { Client: false, Server: false });
  // The restart step counts from the boot it found: the one it restarted from, not the baseline before it.
  const restart = result.steps.find((s) => s.id === 'restart')!;
  assert.is((restart.output as { bootTime: string }).bootTime, host.bootTime);
});

test('boot times that differ by milliseconds (WMI drift) are the same boot; a restart is not', () => {
  assert.ok(sameBoot('2026-11-20T06:12:44.1234567Z', '2026-11-20T06:12:44.126Z'));
  assert.ok(sameBoot('2026-11-20T07:12:44.123+01:00', '2026-11-20T06:12:44.9Z'));
  assert.not.ok(sameBoot('2026-11-20T06:12:44Z', '2026-11-20T06:14:02Z'));
});


test('the wait for the restart outlasts the downtime by at most one poll interval', async () => {
  const { createSimulatedExecutor, loadRunbook, VirtualClock } = await import('../../src/index.js');
  const { kinds, newRunner, tempDir } = await import('../helpers.js');
  for (const [downtimeMs, pollIntervalMs] of [[2000, 500], [7000, 1000], [60_000, 1000]]) {
    const file = await makeHost('server-2016', (h) => void (h.downtimeMs = downtimeMs));
    const clock = new VirtualClock();
    const runner = newRunner(await tempDir(), clock);
    const started = clock.now();
    const result = await runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(file, { clock }), params: { pollIntervalMs } }).result;
    assert.is(result.status, 'succeeded');
    // Nothing else in the run waits: the virtual time spent is the restart's wait.
    const waited = clock.now() - started;
    assert.ok(waited >= downtimeMs && waited <= downtimeMs + pollIntervalMs, `${downtimeMs} ms down, polled every ${pollIntervalMs} ms: waited ${waited} ms`);
  }
});

/** Where the engine's RestartOwed marker lives in a simulated host's registry. */
const MARKER_KEY = 'SOFTWARE\\runbook-engine';

/** A host an earlier run left owing its restart (allowRestart=false): its values written, its marker there. */
async function owedByEarlierRun(params: Record<string, unknown> = {}): Promise<{ file: string; earlier: string }> {
  const file = await makeHost('server-2016');
  const { result } = await runToEnd(file, { params: { ...FAST, allowRestart: false, ...params } });
  assert.is(result.outcome, 'awaiting-restart-window');
  assert.is((await hostOf(file)).registry[MARKER_KEY].RestartOwed.data, `owed by run ${result.runId}`);
  return { file, earlier: result.runId };
}

/** The host's registry as it should be once the restart an earlier run owed is made: as it is, without the marker's key. */
async function withoutMarker(file: string) {
  const { registry } = await hostOf(file);
  const { [MARKER_KEY]: _marker, ...rest } = registry;
  return rest;
}

test('a restart owed by an earlier run is a change pending: the plan lists the restart and the removal of its marker', async () => {
  const { file, earlier } = await owedByEarlierRun();
  const before = await registryText(file);
  const { result } = await runToEnd(file, { checkMode: true });
  assert.is(result.status, 'planned');
  assert.is(result.outcome, 'changes-pending', 'never "already compliant" while a restart is owed');
  assert.ok(result.rebootRequired);
  const restart = result.steps.find((s) => s.id === 'restart')!;
  assert.equal(
    restart.changes.map(({ target, field, after, action }) => ({ target, field, after, action })),
    [
      { target: 'host', field: 'restart', after: 'restarted', action: 'run' },
      { target: 'HKLM\\SOFTWARE\\runbook-engine (64-bit view)', field: 'RestartOwed', after: null, action: 'delete' },
      // The marker is all its key holds: clearing it deletes the key too.
      { target: 'HKLM\\SOFTWARE\\runbook-engine (64-bit view)', field: '(key)', after: null, action: 'delete' },
    ],
  );
  assert.is(restart.changes[1].before, `owed by run ${earlier}`);
  assert.is(await registryText(file), before, 'a plan writes nothing');
});

test('a run that pays a restart owed by an earlier run is changed: it restarts and deletes the marker, and leaves no undo file that writes it back', async () => {
  const { file } = await owedByEarlierRun();
  const expected = await withoutMarker(file);
  const { result, runner } = await runToEnd(file);
  assert.is(result.status, 'succeeded');
  assert.is(result.outcome, 'changed', 'it restarted the target and deleted the marker');
  const restart = result.steps.find((s) => s.id === 'restart')!;
  assert.equal(restart.changes.map((c) => `${c.field} ${c.action}`), ['restart run', 'RestartOwed delete', '(key) delete']);
  const host = await hostOf(file);
  assert.is(host.restarts, 1);
  assert.equal(host.registry, expected, 'the registry is as before the run, without the marker and its key');
  // The restart cannot be undone, and the marker's removal follows it: nothing of this run to undo.
  assert.is(result.undoFiles, undefined);
  assert.not.ok(existsSync(join(runner.runDir(result.runId), 'undo.reg')));
});

test('rolling back a run that only paid an earlier run\'s restart restores nothing: no restart, the marker not written back', async () => {
  const { file } = await owedByEarlierRun();
  const expected = await withoutMarker(file);
  const { result, runner, executor } = await runToEnd(file);
  assert.is(result.outcome, 'changed');
  const rolled = await (await runner.rollback(result.runId, { executor })).result;
  assert.is(rolled.outcome, 'rolled-back-on-request');
  const restart = rolled.steps.find((s) => s.id === 'restart')!;
  assert.equal(restart.compensation?.changes, []);
  assert.match(restart.compensation!.detail, /^nothing to undo: the target restarted for this run, which paid the restart an earlier run owed/);
  const host = await hostOf(file);
  assert.is(host.restarts, 1, 'not restarted again');
  assert.equal(host.registry, expected, 'no marker written back');
  // Rolled back already: a second rollback is its result again, and reaches nothing.
  const again = await (await runner.rollback(result.runId, { executor })).result;
  assert.is(again.outcome, 'rolled-back-on-request');
  assert.is((await hostOf(file)).restarts, 1);
});

test('a rollback of a run that changed values after an earlier run left its marker restores them and restarts again, without writing that marker back', async () => {
  // The earlier run keeps outgoing TLS 1.0/1.1; this one turns them off, then is rolled back.
  const { file } = await owedByEarlierRun({ mode: 'tls12-incoming-only' });
  const expected = await withoutMarker(file);
  const { result, runner, executor } = await runToEnd(file);
  assert.is(result.outcome, 'changed');
  assert.ok(result.steps.find((s) => s.id === 'schannel')!.changes.length > 0);
  const rolled = await (await runner.rollback(result.runId, { executor })).result;
  assert.is(rolled.outcome, 'rolled-back-on-request');
  assert.match(rolled.steps.find((s) => s.id === 'restart')!.compensation!.detail, /^restarted again so that the restored values take effect/);
  const host = await hostOf(file);
  assert.is(host.restarts, 2, 'the restored values need a restart');
  // Both restarts were made since the earlier run's values were written: none is owed any more.
  assert.equal(host.registry, expected);
});

test('with allowRestart=false the plan is what the run does: the marker (and its key) written, the restart deferred, a restart still owed', async () => {
  const file = await makeHost('server-2016');
  const before = await registryText(file);
  const { result: plan } = await runToEnd(file, { params: { ...FAST, allowRestart: false }, checkMode: true });
  assert.is(plan.status, 'planned');
  assert.ok(plan.rebootRequired, 'a restart is still owed');
  const planned = plan.steps.find((s) => s.id === 'restart')!;
  assert.equal(
    planned.changes.map(({ target, field, before, after, action }) => ({ target, field, before, after, action })),
    [
      { target: 'HKLM\\SOFTWARE\\runbook-engine (64-bit view)', field: '(key)', before: null, after: 'created', action: 'create' },
      { target: 'HKLM\\SOFTWARE\\runbook-engine (64-bit view)', field: 'RestartOwed', before: null, after: `owed by run ${plan.runId}`, action: 'create' },
      { target: 'host', field: 'restart', before: planned.changes[2].before, after: 'deferred (allowRestart=false; the run ends awaiting a restart window)', action: 'run' },
    ],
  );
  assert.not.ok(planned.changes.some((c) => c.after === 'restarted'), 'no restart planned');
  assert.is(await registryText(file), before, 'a plan writes nothing');

  const { result: run } = await runToEnd(file, { params: { ...FAST, allowRestart: false } });
  assert.is(run.outcome, 'awaiting-restart-window');
  const host = await hostOf(file);
  assert.is(host.restarts, 0, 'no restart, as planned');
  assert.is(host.registry[MARKER_KEY].RestartOwed.data, `owed by run ${run.runId}`, 'the marker, as planned');
});

test('with allowRestart=false and an earlier run\'s marker, plan and run agree: the marker rewritten with this run\'s id, the restart deferred', async () => {
  const { file, earlier } = await owedByEarlierRun();
  const { result: plan } = await runToEnd(file, { params: { ...FAST, allowRestart: false }, checkMode: true });
  assert.is(plan.outcome, 'changes-pending');
  assert.ok(plan.rebootRequired);
  const planned = plan.steps.find((s) => s.id === 'restart')!;
  assert.equal(
    planned.changes.map(({ field, before, after, action }) => ({ field, before, after, action })),
    [
      { field: 'RestartOwed', before: `owed by run ${earlier}`, after: `owed by run ${plan.runId}`, action: 'update' },
      { field: 'restart', before: planned.changes[1].before, after: 'deferred (allowRestart=false; the run ends awaiting a restart window)', action: 'run' },
    ],
  );
  assert.not.ok(planned.changes.some((c) => c.action === 'delete'), 'the marker is not deleted: no restart pays it');

  const { result: run } = await runToEnd(file, { params: { ...FAST, allowRestart: false } });
  assert.is(run.outcome, 'awaiting-restart-window');
  const host = await hostOf(file);
  assert.is(host.restarts, 0);
  assert.is(host.registry[MARKER_KEY].RestartOwed.data, `owed by run ${run.runId}`);
});

/**
 * A host whose registry already holds the runbook's values (set by hand or by Group Policy) without the
 * restart that puts them in effect: the registry of a host the runbook ran on, its boot (and what its
 * services do) as fresh. `endpoints`: the TLS endpoints it serves (none: nothing can be measured).
 */
async function valuesNotInEffect(tweak?: (host: import('../../src/simulator/model.js').SimHostState) => void): Promise<string> {
  const done = await makeHost('server-2016', tweak);
  const { result } = await runToEnd(done);
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  const file = await makeHost('server-2016', tweak);
  const host = await hostOf(file);
  host.registry = (await hostOf(done)).registry;
  const { writeHost } = await import('../../src/index.js');
  await writeHost(file, host);
  return file;
}

test('values already in the registry but not in effect (the baseline handshakes accept TLS 1.0): a restart is owed, planned as such, and the run restarts and converges', async () => {
  const file = await valuesNotInEffect();
  const { result: plan } = await runToEnd(file, { checkMode: true });
  assert.is(plan.outcome, 'changes-pending', 'not "already compliant": the values are not in effect');
  assert.ok(plan.rebootRequired);
  const planned = plan.steps.find((s) => s.id === 'restart')!;
  assert.equal(planned.changes.map((c) => `${c.field} ${c.after} ${c.action}`), ['restart restarted run']);
  assert.match(planned.summary, /restart owed: values not in effect .*TLS 1\.0: accepted, the registry disables it/);
  assert.ok(plan.steps.filter((s) => s.id !== 'restart').every((s) => s.changes.length === 0), 'no value to change');

  const { result: run } = await runToEnd(file);
  assert.is(run.status, 'succeeded', JSON.stringify(run.error));
  assert.is(run.outcome, 'changed');
  assert.is((await hostOf(file)).restarts, 1);
  const verify = run.steps.find((s) => s.id === 'tls-verify')!;
  assert.is((verify.output as { verdict: string }).verdict, 'proven');

  // In effect now: nothing owed, and a second run does not restart.
  const { result: again } = await runToEnd(file, { checkMode: true });
  assert.is(again.outcome, 'compliant');
  assert.not.ok(again.rebootRequired);
  const { result: second } = await runToEnd(file);
  assert.is(second.outcome, 'compliant');
  assert.is((await hostOf(file)).restarts, 1, 'idempotent: no second restart');
});

test('values already in the registry with allowRestart=false: the restart they owe is deferred with the marker, as planned', async () => {
  const file = await valuesNotInEffect();
  const { result: plan } = await runToEnd(file, { params: { ...FAST, allowRestart: false }, checkMode: true });
  assert.is(plan.outcome, 'changes-pending');
  assert.equal(plan.steps.find((s) => s.id === 'restart')!.changes.map((c) => `${c.field} ${c.action}`), ['(key) create', 'RestartOwed create', 'restart run']);
  const { result: run } = await runToEnd(file, { params: { ...FAST, allowRestart: false } });
  assert.is(run.outcome, 'awaiting-restart-window');
  const host = await hostOf(file);
  assert.is(host.restarts, 0);
  assert.is(host.registry[MARKER_KEY].RestartOwed.data, `owed by run ${run.runId}`);
});

test('values already in the registry on a host with no TLS endpoint to measure: unknown is not evidence, no restart owed', async () => {
  const file = await valuesNotInEffect((h) => void (h.endpoints = []));
  const { result: plan } = await runToEnd(file, { checkMode: true });
  assert.is(plan.outcome, 'compliant');
  assert.not.ok(plan.rebootRequired);
  const { result: run } = await runToEnd(file);
  assert.is(run.outcome, 'compliant');
  assert.is((await hostOf(file)).restarts, 0);
});

test('an ordinary compliant host whose values are in effect plans no restart, and a second run does not restart', async () => {
  const file = await makeHost('server-2016');
  const { result: first } = await runToEnd(file);
  assert.is(first.outcome, 'changed');
  const { result: plan } = await runToEnd(file, { checkMode: true });
  assert.is(plan.outcome, 'compliant');
  assert.not.ok(plan.rebootRequired);
  const { result: second } = await runToEnd(file);
  assert.is(second.outcome, 'compliant');
  assert.is((await hostOf(file)).restarts, 1);
});

test.run();
