/**
 * A run's result is a union on `status`: each status carries exactly its fields. The `@ts-expect-error`
 * lines are checked by `npx tsc --noEmit` (test/ is in tsconfig.json); were a field allowed where it
 * must not be, the directive would be unused and the type-check would fail.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fitsStatus, isDoneStatus, type Change, type RunResult, type RunResultFields } from '../../src/engine/types.js';

const common: Omit<RunResultFields, 'status' | 'error' | 'awaiting' | 'remaining' | 'undoFiles'> = {
  runId: 'r1',
  runbook: 'rb',
  target: 'sim:host.json',
  outcome: 'changed',
  checkMode: false,
  steps: [],
  roundTrips: 0,
  pollRoundTrips: 0,
  retries: 0,
  rebootRequired: false,
  startedAt: '2026-01-01T00:00:00.000Z',
  endedAt: '2026-01-01T00:00:01.000Z',
  stateDir: '/s',
  backups: [],
};
const left: Change[] = [{ target: 'HKLM\\X', field: 'Enabled', before: null, after: 0, action: 'create' }];

test('a succeeded run has no field of a failed rollback, nor an error, nor a reason to wait (type-checked)', () => {
  const succeeded: RunResult = { ...common, status: 'succeeded' };
  // @ts-expect-error a succeeded run leaves nothing to undo by hand: no `remaining`
  const withRemaining: RunResult = { ...common, status: 'succeeded', remaining: left };
  // @ts-expect-error a succeeded run carries no error
  const withError: RunResult = { ...common, status: 'succeeded', error: { name: 'StepError', code: 'FAILED', message: 'x' } };
  // @ts-expect-error only a run that awaits a resume says why
  const withAwaiting: RunResult = { ...common, status: 'succeeded', awaiting: 'interrupted' };
  assert.is(succeeded.remaining, undefined);
  assert.ok(withRemaining && withError && withAwaiting);
});

test('a failed rollback may list what is still changed; a run awaiting a resume must say why (type-checked)', () => {
  const failed: RunResult = { ...common, status: 'rollback-failed', remaining: left, undoFiles: { reg: '/s/undo.reg', powershell: '/s/undo.ps1' } };
  const waiting: RunResult = { ...common, status: 'awaiting-resume', awaiting: 'restart-window' };
  // @ts-expect-error `awaiting-resume` without `awaiting`
  const noWhy: RunResult = { ...common, status: 'awaiting-resume' };
  // @ts-expect-error a plan changed nothing: no undo files
  const plannedUndo: RunResult = { ...common, status: 'planned', undoFiles: { reg: '/s/undo.reg', powershell: '/s/undo.ps1' } };
  assert.ok(failed && waiting && noWhy && plannedUndo);
});

test('results made from loose fields are checked against their status at run time too', () => {
  const loose = (fields: Partial<RunResultFields>): RunResultFields => ({ ...common, status: 'succeeded', ...fields });
  assert.ok(fitsStatus(loose({})));
  assert.ok(fitsStatus(loose({ undoFiles: { reg: 'a', powershell: 'b' } })), 'a succeeded run may come with undo files');
  assert.not.ok(fitsStatus(loose({ remaining: left })));
  assert.not.ok(fitsStatus(loose({ status: 'awaiting-resume' })), 'awaiting-resume needs its reason');
  assert.ok(fitsStatus(loose({ status: 'awaiting-resume', awaiting: 'interrupted', remaining: left })));
  assert.not.ok(fitsStatus(loose({ status: 'planned', error: { name: 'E', code: 'E', message: 'e' } })));
});

test('one set of statuses says which steps the forward pass is done with', () => {
  assert.equal(['pending', 'running', 'succeeded', 'skipped', 'planned', 'failed', 'compensated', 'compensation-failed'].filter(isDoneStatus), ['succeeded', 'skipped', 'planned']);
});

test.run();
