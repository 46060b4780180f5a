/**
 * The backward pass of a run: every step that ran is compensated in reverse order — steps whose kind
 * says `compensateLast` (a restart, which makes the restored values take effect) after all others.
 * Every undo is attempted even when one fails; each outcome is journaled. The saga runs against a
 * budget: once it is spent no further call reaches the target, and the run ends `rollback-failed` with
 * the report listing what is still changed.
 */
import { toErrorRecord, type ErrorRecord } from '../errors.js';
import type { RunState } from './replay.js';
import { runStep, type StepScope } from './run-step.js';
import { takeCounters, type RuntimeServices, type SuspendSignal } from './step-runtime.js';
import type { Change, RunStatus } from './types.js';
import { ROLLED_BACK_ON_REQUEST } from './outcome.js';
import type { RegistryUndo } from '../windows/undo-files.js';
import { stepWrites, undoChanges } from './undo-set.js';

/**
 * How long a saga may keep calling the target, unless the runner sets another budget.
 *
 * @example
 * ```ts
 * const runner = new Runner({ kinds: bundledStepKinds(), compensationBudgetMs: 2 * DEFAULT_COMPENSATION_BUDGET_MS });
 * ```
 */
export const DEFAULT_COMPENSATION_BUDGET_MS = 15 * 60_000;

/** What the saga needs: how steps are run (the forward pass's scope), the run as replayed, its budget. */
export interface SagaScope {
  /** The forward pass's scope; the saga runs its steps with its own copy of the services. */
  steps: StepScope;
  state: RunState;
  budgetMs: number;
}

export type SagaOutcome = { kind: 'ended'; status: RunStatus; reason?: string } | { kind: 'suspended'; signal: SuspendSignal };

/**
 * The saga's copy of the services: a compensation cannot be cancelled (its calls get a signal that
 * never aborts), it knows why it runs and until when it may call the target.
 */
export function sagaServices(services: RuntimeServices, state: RunState, budgetMs: number, undone: readonly Change[] = []): RuntimeServices {
  const saga = state.saga!;
  return {
    ...services,
    signal: new AbortController().signal,
    // An undo reads what it needs when it needs it: nothing is read ahead for the steps.
    readAhead: null,
    run: { ...services.run, states: state.steps },
    saga: { context: { reason: saga.reason, force: saga.force, undone }, deadline: services.clock.now() + budgetMs, targetGone: false },
  };
}

/**
 * What a step's undo set out to restore of the run's own changes, as the journal records the run: the
 * registry values its kind says it wrote or may have written (`registryWrites`, the same list as
 * `remaining` and the undo files; for a kind that does not say, its changes, else those it planned),
 * none for a step that never captured its prior state (it never acted) — less the values its undo left
 * alone (`keep`) and those it could not put back (`left`).
 */
function changesUndone(scope: SagaScope, index: number, undo: { changes: readonly Change[]; left?: RegistryUndo }): Change[] {
  const { state } = scope;
  if (!state.memos.has(`${index}:capture`)) return [];
  const st = state.steps[index];
  const written = stepWrites(state, scope.steps.kinds, index);
  const own = written ? undoChanges({ values: written, keys: [] }) : st.changes.length > 0 ? st.changes : (st.snapshot?.context.plan?.changes ?? []);
  const id = (c: Change) => `${c.target}\n${c.field}`.toLowerCase();
  const notRestored = new Set([...undo.changes.filter((c) => c.action === 'keep'), ...(undo.left ? undoChanges({ values: undo.left.values, keys: [] }) : [])].map(id));
  return own.filter((c) => !notRestored.has(id(c)));
}

/** Compensates, in order, every step of the saga under way in `scope.state` that is not yet compensated. */
export async function compensateSteps(scope: SagaScope): Promise<SagaOutcome> {
  const { state } = scope;
  const { definition, kinds } = scope.steps;
  const saga = state.saga!;
  const ran = state.steps
    .map((st, index) => ({ st, index }))
    .filter(({ st, index }) => index <= saga.failedIndex && st.snapshot !== undefined)
    .reverse();
  const last = (index: number) => Boolean(kinds.get(definition.steps[index].uses).compensateLast);
  const order = [...ran.filter(({ index }) => !last(index)), ...ran.filter(({ index }) => last(index))];
  // A saga started again (a retry of the undos that failed) restores values the earlier attempts did
  // not: an undo compensated last (the restart) that succeeded in an earlier attempt decided from what
  // that attempt restored, and decides again from what this one restores — it is reset here, as
  // replay resets the undos that failed. Its decision journaled in this attempt stands.
  const thisAttempt = (st: RunState['steps'][number]) => !st.compensation || (st.compensationSeq ?? 0) > saga.seq;
  const retrying = ran.some(({ st, index }) => !last(index) && st.retryUndo && thisAttempt(st));
  const again = new Set<number>();
  for (const { st, index } of ran) {
    if (!retrying || !last(index) || st.compensation?.status !== 'compensated' || thisAttempt(st)) continue;
    st.retryUndo = st.compensation;
    st.compensation = undefined;
    again.add(index);
  }
  // What the undos set out to restore, growing with each undo of this drive (those of earlier drives
  // first): the undos compensated last (the restart) see all of it — one that decides again, only what
  // this attempt's undos restore.
  const undone = ({ st, index }: (typeof ran)[number]) => (st.compensation && !last(index) ? changesUndone(scope, index, st.compensation) : []);
  const undoing: Change[] = ran.flatMap(undone);
  const undoingNow: Change[] = ran.filter(({ st }) => thisAttempt(st)).flatMap(undone);
  const services = sagaServices(scope.steps.services, state, scope.budgetMs, undoing);
  const { journal, events, runId } = services;
  const stepScope: StepScope = { ...scope.steps, services, states: state.steps };
  let allCompensated = true;
  for (const { st, index } of order) {
    if (st.compensation) {
      if (st.compensation.status !== 'compensated') allCompensated = false;
      continue;
    }
    const stepId = definition.steps[index].id;
    events.emit('step:compensation', { runId, stepId, index, status: 'compensating', detail: '' });
    const result = await undoStep(again.has(index) ? decidingAgain(stepScope, undoingNow, saga.seq) : stepScope, index);
    if (result.kind === 'suspended') return result;
    const { status, detail, changes, error, left } = result;
    if (status !== 'compensated') allCompensated = false;
    if (!last(index)) {
      const restored = changesUndone(scope, index, { changes, left });
      undoing.push(...restored);
      undoingNow.push(...restored);
    }
    await journal.append({ type: 'step.compensated', index, stepId, status, detail, changes, ...(error ? { error } : {}), ...(left ? { left } : {}), ...takeCounters(services, index) });
    events.emit('step:compensation', { runId, stepId, index, status, detail });
  }
  if (!allCompensated) {
    const why = services.clock.now() >= services.saga!.deadline ? `the compensation budget (${Math.round(scope.budgetMs / 1000)} s) was spent` : 'one or more undos failed';
    return {
      kind: 'ended',
      status: 'rollback-failed',
      reason: `${why}; the report lists what is still changed on the target, and undo.reg / undo.ps1 in the run directory restore it from the console; once the cause is fixed, runbook rollback ${runId} retries the undos that failed`,
    };
  }
  if (saga.reason === 'operator') return { kind: 'ended', status: 'rolled-back', reason: ROLLED_BACK_ON_REQUEST };
  return { kind: 'ended', status: saga.reason === 'cancel' ? 'cancelled' : 'rolled-back' };
}

/** The scope of an undo that decides again in attempt `seq`: it sees what this attempt's undos restore. */
function decidingAgain(scope: StepScope, undone: readonly Change[], seq: number): StepScope {
  const saga = scope.services.saga!;
  return { ...scope, services: { ...scope.services, saga: { ...saga, context: { ...saga.context, undone, again: seq } } } };
}

/** How one undo went: its status, what it says and restored, its error; or the drive suspended. */
type Undone =
  | { kind: 'undone'; status: 'compensated' | 'compensation-failed'; detail: string; changes: Change[]; error?: ErrorRecord; left?: RegistryUndo }
  | { kind: 'suspended'; signal: SuspendSignal };

/** Compensates one step. Its failure is recorded, never thrown — except a lost lease, which stops the saga. */
async function undoStep(scope: StepScope, index: number): Promise<Undone> {
  try {
    const outcome = await runStep(scope, index, 'compensate');
    if (outcome.kind === 'suspended') return outcome;
    const detail = outcome.context.compensation?.detail ?? '';
    const changes = outcome.context.compensation?.changes ?? [];
    if (outcome.status === 'compensated') return { kind: 'undone', status: 'compensated', detail, changes };
    const left = outcome.context.compensation?.left;
    return { kind: 'undone', status: 'compensation-failed', detail, changes, error: { name: 'StepError', code: 'COMPENSATION_FAILED', message: detail }, ...(left ? { left } : {}) };
  } catch (caught) {
    if ((caught as { code?: string }).code === 'FENCED') throw caught;
    const error = toErrorRecord(caught);
    return { kind: 'undone', status: 'compensation-failed', detail: error.message, changes: [], error };
  }
}
