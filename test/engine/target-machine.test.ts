/**
 * A resume or a rollback drives the machine its run was made on, never another: another address is
 * refused unless forced, another Windows than the run recorded is refused even forced — before anything
 * on either host changes. What it drives is the target it names, and the journal says so.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createSimulatedExecutor, loadRunbook, type RunResult } from '../../src/index.js';
import { checkSameMachine, machineKeyOf, sameAddress } from '../../src/engine/target-machine.js';
import { FQDN_TRAILING_DOT, HOST_NAME_CASE_INSENSITIVE } from '../../src/windows/facts/names.js';
import type { RunStartedRecord } from '../../src/engine/replay.js';
import { connect as connectTarget } from '../../src/cli/targets.js';
import { FAST, kinds, makeHost, newRunner, registryText, tempDir, withWinrmDefaultPorts } from '../helpers.js';

const connect = (target: string) => createSimulatedExecutor(target.slice('sim:'.length));

async function succeededOn(host: string, stateDir: string): Promise<RunResult> {
  const runner = newRunner(stateDir);
  const executor = await createSimulatedExecutor(host);
  const result = await runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: { ...FAST, allowRestart: true }, target: `sim:${host}` }).result;
  await executor.close();
  return result;
}

async function refused(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  return promise.then(
    () => assert.unreachable('it was driven') as never,
    (error: Error & { code?: string }) => error,
  );
}

test('sameAddress: one machine by transport, user and case; another by file, host or (one transport) port', () => {
  assert.ok(sameAddress('winrm://orch01', 'ssh://admin@ORCH01'));
  assert.ok(sameAddress('ssh://orch01', 'ssh://admin@orch01:22'));
  assert.ok(sameAddress('sim:/x/y/../a.json', 'sim:/x/a.json'));
  assert.not.ok(sameAddress('sim:/x/a.json', 'sim:/x/b.json'));
  assert.not.ok(sameAddress('ssh://orch01', 'ssh://orch02'));
  assert.not.ok(sameAddress('ssh://localhost:2222', 'ssh://localhost:2223'));
  assert.not.ok(sameAddress('local', 'ssh://orch01'));
});

test('machineKeyOf: one key per machine whatever the transport, user, port and case, and with or without the root\'s trailing dot — as the facts names.* say', () => {
  assert.is(machineKeyOf('winrm://127.0.0.1:15985'), machineKeyOf('winrm+https://admin@127.0.0.1:15986'));
  assert.is(machineKeyOf('winrm://WEB01.invalid.'), 'web01.invalid');
  assert.is(machineKeyOf('ssh://admin@web01.invalid'), 'web01.invalid');
  assert.is(machineKeyOf('winrm://[::1]:5985'), machineKeyOf('ssh://[::1]'));
  assert.is(machineKeyOf('sim:h.json', '/fleet'), 'sim:/fleet/h.json');
  assert.ok(sameAddress('winrm://web01.invalid.', 'winrm://WEB01.invalid'), 'one address too');
  // The key follows the facts, read at each call (no copy of them).
  const [caseFact, dotFact] = [HOST_NAME_CASE_INSENSITIVE.value, FQDN_TRAILING_DOT.value];
  try {
    HOST_NAME_CASE_INSENSITIVE.value = false;
    assert.is(machineKeyOf('ssh://ORCH01'), 'ORCH01');
    FQDN_TRAILING_DOT.value = '';
    assert.is(machineKeyOf('ssh://orch01.'), 'orch01.');
  } finally {
    HOST_NAME_CASE_INSENSITIVE.value = caseFact;
    FQDN_TRAILING_DOT.value = dotFact;
  }
});

test('sameAddress on WinRM: the port counts on one transport, and a default port written or left out is the same one (5985 over HTTP, 5986 over HTTPS)', () => {
  assert.ok(sameAddress('winrm://h:5986', 'winrm://admin@H:5986'));
  assert.ok(sameAddress('winrm://h', 'winrm://h:5985'));
  assert.ok(sameAddress('winrm://admin@h:5985', 'winrm://h'));
  assert.ok(sameAddress('winrm+https://h', 'winrm+https://admin@h:5986'));
  assert.not.ok(sameAddress('winrm://h:5986', 'winrm://h'), 'HTTPS port against HTTP default: another listener');
  assert.not.ok(sameAddress('winrm://h:5986', 'winrm://h:5985'));
  assert.not.ok(sameAddress('winrm+https://h', 'winrm+https://h:5985'));
  assert.not.ok(sameAddress('winrm://h:5986', 'winrm://g:5986'));
});

/** A run's start as a run made on `target` recorded it (nothing else of it is read without an os.info). */
const startedOn = (target: string): RunStartedRecord => ({ type: 'run.started', runId: 'r-winrm', target, targetSpec: target, executor: 'winrm' }) as unknown as RunStartedRecord;

test('the default ports sameAddress fills in are the fact winrm.default-ports at the time of the comparison, not a table of its own', () => {
  withWinrmDefaultPorts({ http: 15985, https: 15986 }, () => {
    assert.ok(sameAddress('winrm://h', 'winrm://h:15985'));
    assert.ok(sameAddress('winrm+https://h', 'winrm+https://h:15986'));
    assert.not.ok(sameAddress('winrm://h', 'winrm://h:5985'), 'no longer the HTTP default: another listener');
    assert.not.ok(sameAddress('winrm+https://h:5986', 'winrm+https://h'));
  });
});

test('a run made on winrm://h:5986 (or winrm://admin@h:5986 by the WinRM client) resumes on a Windows controller (PowerShell remoting) without --target; another host or port is refused unless forced', async () => {
  const check = async (recorded: string, driven: string, force = false) => {
    const executor = await connectTarget(driven, { platform: 'win32' });
    try {
      assert.is(executor.name, 'powershell-remoting', 'a Windows controller drives winrm:// through PowerShell remoting');
      await checkSameMachine(executor, startedOn(recorded), [], { force, handed: false });
      return 'driven';
    } catch (error) {
      return (error as { code?: string }).code ?? String(error);
    } finally {
      await executor.close();
    }
  };
  // As `resume` connects to the target the run recorded (the user's text, or the WinRM client's).
  assert.is(await check('winrm://h:5986', 'winrm://h:5986'), 'driven');
  assert.is(await check('winrm://admin@h:5986', 'winrm://admin@h:5986'), 'driven');
  assert.is(await check('winrm://admin@h:5985', 'winrm://h'), 'driven', 'the default port left out');
  assert.is(await check('winrm://h', 'winrm://h:5985'), 'driven', 'the default port written');
  assert.is(await check('winrm://h:5986', 'winrm://h:5985'), 'TARGET_MISMATCH');
  assert.is(await check('winrm://h:5986', 'winrm://h'), 'TARGET_MISMATCH');
  assert.is(await check('winrm://h:5986', 'winrm://g:5986'), 'TARGET_MISMATCH');
  assert.is(await check('winrm://h:5986', 'winrm://g:5986', true), 'driven', '--force takes another address on the operator\'s word');
});

test('a rollback reaching another machine is refused before anything changes, forced or not; the run stays undoable', async () => {
  const a = await makeHost('server-2016');
  const b = await makeHost('server-2022');
  const stateDir = await tempDir();
  const run = await succeededOn(a, stateDir);
  assert.is(run.status, 'succeeded');
  const [aBefore, bBefore] = [await registryText(a), await registryText(b)];
  const runner = newRunner(stateDir);
  for (const force of [false, true]) {
    const error = await refused(runner.rollback(run.runId, { connect, target: `sim:${b}`, force }));
    assert.is(error.code, 'TARGET_MISMATCH', `force=${force}`);
    assert.match(error.message, force ? /Windows Server 2016 Datacenter 10\.0\.14393 \(64-bit\); \S+ runs Microsoft Windows Server 2022 Datacenter 10\.0\.20348 \(64-bit\): it is another machine/ : /another address/);
    assert.match(error.message, /without --target/);
  }
  assert.is(await registryText(a), aBefore, 'the run’s host kept its changes: nothing claimed undone');
  assert.is(await registryText(b), bBefore, 'the other host is untouched');
  assert.is((await runner.status(run.runId)).status, 'succeeded');
  const undone = await (await runner.rollback(run.runId, { connect })).result;
  assert.is(undone.status, 'rolled-back');
  assert.ok(undone.steps.some((s) => s.compensation?.status === 'compensated'), 'values were undone on the run’s host');
});

test('a resume reaching another host of the same Windows is refused; an executor handed over of another Windows too', async () => {
  const a = await makeHost('server-2016');
  const b = await makeHost('server-2016');
  const runner = newRunner(await tempDir());
  const executor = await createSimulatedExecutor(a);
  const first = await runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: { ...FAST, allowRestart: false }, target: `sim:${a}` }).result;
  assert.is(first.status, 'awaiting-resume');
  const bBefore = await readFile(b, 'utf8');
  const byTarget = await refused(runner.resume(first.runId, { connect, target: `sim:${b}`, runbook: 'reload', overrides: { allowRestart: true } }));
  assert.is(byTarget.code, 'TARGET_MISMATCH');
  assert.match(byTarget.message, new RegExp(`was made on sim:${a.replace(/[.\\]/g, '\\$&')}; sim:${b.replace(/[.\\]/g, '\\$&')} is another address`));
  assert.is(await readFile(b, 'utf8'), bBefore, 'nothing read or written on the other host');
  // An executor handed to the API: its Windows is compared (its address is its caller's).
  const c = await makeHost('server-2022');
  const other = await createSimulatedExecutor(c);
  const cBefore = await registryText(c);
  assert.is((await refused(runner.resume(first.runId, { executor: other, overrides: { allowRestart: true } }))).code, 'TARGET_MISMATCH');
  assert.is(await registryText(c), cBefore);
  assert.is((await runner.status(first.runId)).status, 'awaiting-resume');
});

test('another address of the same machine is driven, named in the output and journaled', async () => {
  const a = await makeHost('server-2016');
  const stateDir = await tempDir();
  const run = await succeededOn(a, stateDir);
  const runner = newRunner(stateDir);
  // The same file by another path: the same machine.
  const other = `sim:${dirname(a)}/../${basename(dirname(a))}/${basename(a)}`;
  const rollback = await runner.rollback(run.runId, { connect, target: other });
  let named = '';
  rollback.events.on('run:start', (e) => void (named = e.target));
  assert.is((await rollback.result).status, 'rolled-back');
  assert.is(named, other, 'the target driven, not the recorded one');
  const segments = (await runner.store.readJournal(run.runId)).filter((r) => r.type === 'segment.started');
  assert.is(segments.at(-1)?.target, other, 'the segment names the target it drove');
  assert.is(segments[0].target, undefined, 'the run’s own target is not repeated');
});

test.run();
