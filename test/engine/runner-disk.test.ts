/**
 * Write-ahead under a full or failing disk: a journal batch that is not fully durable (a short write,
 * a failed fsync; ENOSPC, EIO, EROFS) stops the run before the change it guards, with an error that
 * says which file, whether the target holds changes and how to go on; once the disk takes writes
 * again, a resume ends exactly as the uninterrupted run. Swept over every journal batch of a run
 * (through the journal's fault hook), then checked against a real full tmpfs and a state directory
 * remounted read-only mid-run (as root, as CI runs).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DurabilityError, VirtualClock, createSimulatedExecutor, loadRunbook, type Executor, type RunResult, type SimHostState } from '../../src/index.js';
import { injectJournalFault, journalBatches } from '../../src/engine/crash-hook.js';
import { WRITE_OPS } from '../../src/executors/types.js';
import { FAST, hostOf, kinds, makeHost, mountTmpfs, newRunner, restartRefused, tempDir } from '../helpers.js';

const oneEndpoint = (host: SimHostState) => {
  host.endpoints = host.endpoints?.slice(0, 1);
};

/** What the run leaves on the host, for comparison with the uninterrupted run. */
async function hostState(file: string) {
  const host = await hostOf(file);
  return { registry: JSON.stringify(host.registry), restarts: host.restarts, inEffect: JSON.stringify(host.inEffect), startupTasks: JSON.stringify(host.startupTasks) };
}

/** An executor that counts the writes it is asked to make once `faulted()` says the journal failed. */
function watched(executor: Executor, faulted: () => boolean): Executor & { writesAfterFault: number } {
  const w = Object.create(executor) as Executor & { writesAfterFault: number };
  w.writesAfterFault = 0;
  w.run = (ops, options) => {
    if (faulted() && ops.some((op) => WRITE_OPS.has(op.op))) w.writesAfterFault += 1;
    return executor.run(ops, options);
  };
  return w;
}

interface Point {
  result: RunResult;
  host: Awaited<ReturnType<typeof hostState>>;
  error?: DurabilityError;
  batches: number;
}

/** One run of the bundled runbook with the given fault, then resumes (without it) until the run ends. */
async function runWithFault(
  tweak: ((host: SimHostState) => void) | undefined,
  fault: Parameters<typeof injectJournalFault>[0],
  { stateDir, during, beforeResume }: { stateDir?: string; during?: (executor: Executor) => Executor; beforeResume?: () => void } = {},
): Promise<Point> {
  const hostFile = await makeHost('server-2016', (h) => {
    oneEndpoint(h);
    tweak?.(h);
  });
  const initial = await hostState(hostFile);
  const clock = new VirtualClock();
  const dir = stateDir ?? (await tempDir('rbe-disk-'));
  const runbook = await loadRunbook('orchestrator-tls12', kinds);
  injectJournalFault(fault);
  const base = await createSimulatedExecutor(hostFile, { clock });
  const executor = watched(during ? during(base) : base, () => fault !== null && journalBatches() >= fault.at);
  const run = newRunner(dir, clock).start(runbook, { executor, params: FAST, runId: 'disk' });
  let result: RunResult | undefined;
  let error: DurabilityError | undefined;
  try {
    result = await run.result;
  } catch (caught) {
    assert.instance(caught, DurabilityError, `fault ${JSON.stringify(fault)}: ${(caught as Error).stack}`);
    error = caught as DurabilityError;
  }
  const batches = journalBatches();
  injectJournalFault(null);
  if (error) {
    assert.is(executor.writesAfterFault, 0, `fault ${JSON.stringify(fault)}: nothing is written to the target once a journal batch failed`);
    assert.ok(error.message.includes(error.file), 'the error names the file');
    assert.not.ok(error.message.includes('    at '), 'no stack trace in the message');
    if (!error.targetChanged) assert.equal(await hostState(hostFile), initial, `fault ${JSON.stringify(fault)}: "nothing was changed" is the truth`);
    if (!error.resumable) {
      assert.equal(await hostState(hostFile), initial, 'a run whose first record was not durable changed nothing');
      return { result: { status: 'not-started' } as unknown as RunResult, host: await hostState(hostFile), error, batches };
    }
    assert.match(error.message, /runbook resume disk/);
    beforeResume?.();
    // The disk takes writes again: the run is resumed until it ends.
    for (let attempt = 0; attempt < 6 && (!result || ['running', 'awaiting-resume'].includes(result.status)); attempt++) {
      result = await (await newRunner(dir, clock).resume('disk', { executor: await createSimulatedExecutor(hostFile, { clock }) })).result;
    }
  }
  assert.ok(result);
  return { result: result!, host: await hostState(hostFile), error, batches };
}

const CODES = ['ENOSPC', 'EIO', 'EROFS'] as const;

for (const [label, tweak, expected] of [
  ['a successful run', undefined, 'succeeded'],
  ['a run that fails and rolls back', restartRefused, 'rolled-back'],
] as const) {
  test(`a journal write that fails at any batch of ${label} stops the run truthfully, and a resume ends as the uninterrupted run`, async () => {
    const baseline = await runWithFault(tweak, null);
    assert.is(baseline.result.status, expected);
    let swept = 0;
    let changed = 0;
    for (let at = 1; at <= baseline.batches; at++) {
      const fault = { at, code: CODES[at % CODES.length], on: at % 2 === 0 ? ('sync' as const) : ('write' as const) };
      const got = await runWithFault(tweak, fault);
      assert.ok(got.error, `batch ${at}: the failed write stopped the run`);
      if (got.error!.targetChanged) changed += 1;
      if (got.error!.resumable) {
        assert.is(got.result.status, expected, `batch ${at}: resumed to the same end`);
        assert.equal(got.host, baseline.host, `batch ${at}: the host ends as after the uninterrupted run`);
      }
      swept += 1;
    }
    assert.ok(changed > 0 && changed < swept, 'the sweep saw faults before and after the first change');
    console.log(`  swept ${swept} journal batches of ${label} (${changed} stopped with the target changed)`);
  });
}

test('the journal cuts a half-written batch back, so that it ends on a whole record', async () => {
  const dir = await tempDir('rbe-disk-');
  let journalAfterStop = '';
  const got = await runWithFault(undefined, { at: 3, code: 'ENOSPC', on: 'write' }, { stateDir: dir, beforeResume: () => {
    journalAfterStop = readFileSync(join(dir, 'runs', 'disk', 'journal.jsonl'), 'utf8');
  } });
  assert.ok(got.error);
  assert.ok(journalAfterStop.length > 0 && journalAfterStop.endsWith('\n'), 'the journal ends on a whole record');
  assert.ok(journalAfterStop.trim().split('\n').every((line) => line.endsWith('"}')));
});

test('a real tmpfs that fills mid-run stops the run the same way, and a resume after freeing space ends as the uninterrupted run', async () => {
  const baseDir = await tempDir('rbe-disk-');
  const baseline = await runWithFault(undefined, null, { stateDir: baseDir });
  // Room for three quarters of the run's journal: the disk fills after the first change.
  const room = Math.floor(readFileSync(join(baseDir, 'runs', 'disk', 'journal.jsonl')).length * 0.75);
  const mount = join(await tempDir('rbe-tmpfs-'), 'state');
  if (!mountTmpfs(mount, '4m', 'the real-disk cases')) return;
  try {
    const filler = join(mount, 'filler');
    const free = () => Number(execFileSync('df', ['-B1', '--output=avail', mount]).toString().split('\n')[1]);
    writeFileSync(filler, Buffer.alloc(free() - room));
    const got = await runWithFault(undefined, null, { stateDir: mount, beforeResume: () => rmSync(filler) });
    assert.ok(got.error, 'the full disk stopped the run');
    assert.is(got.error!.errno, 'ENOSPC');
    assert.ok(got.error!.resumable && got.error!.targetChanged, got.error!.message);
    assert.is(got.result.status, baseline.result.status);
    assert.equal(got.host, baseline.host);
  } finally {
    execFileSync('umount', [mount]);
  }
});

test('a state directory that turned read-only between two drives refuses the resume truthfully, and once writable the run ends as the uninterrupted run', async () => {
  const mount = join(await tempDir('rbe-tmpfs-'), 'state');
  if (!mountTmpfs(mount, '16m', 'the real-disk cases')) return;
  try {
    const hostFile = await makeHost('server-2016', oneEndpoint);
    const clock = new VirtualClock();
    const runbook = await loadRunbook('orchestrator-tls12', kinds);
    // The run waits for a restart window, with the SCHANNEL values written: its journal is closed.
    const first = await newRunner(mount, clock).start(runbook, { executor: await createSimulatedExecutor(hostFile, { clock }), params: { ...FAST, allowRestart: false }, runId: 'ro' }).result;
    assert.is(first.status, 'awaiting-resume');
    const waiting = await hostState(hostFile);
    execFileSync('mount', ['-o', 'remount,ro', mount]);
    const refused = await (await newRunner(mount, clock).resume('ro', { executor: await createSimulatedExecutor(hostFile, { clock }), overrides: { allowRestart: true } })).result.catch((e) => e as Error);
    assert.instance(refused, DurabilityError, String(refused));
    const error = refused as DurabilityError;
    assert.is(error.errno, 'EROFS');
    assert.ok(error.resumable && error.targetChanged, 'the run exists and its first drive changed the target');
    assert.match(error.message, /holds changes of this run/);
    assert.match(error.message, /runbook resume ro/);
    assert.equal(await hostState(hostFile), waiting, 'nothing more was done on the target');
    execFileSync('mount', ['-o', 'remount,rw', mount]);
    const done = await (await newRunner(mount, clock).resume('ro', { executor: await createSimulatedExecutor(hostFile, { clock }), overrides: { allowRestart: true } })).result;
    assert.is(done.status, 'succeeded');
    const baseline = await runWithFault(undefined, null);
    assert.equal(await hostState(hostFile), baseline.host);
  } finally {
    execFileSync('umount', [mount]);
  }
});

test.run();
