/**
 * What a run changed and has not undone, from its journal: per step, the registry values its kind says
 * it wrote (or may have written: the write was sent and its answer is not journaled) and the keys those
 * writes created, less what its undo put back. `remaining`, `undo.reg` and `undo.ps1` are all made from
 * it, so that they agree.
 *
 * The rule, step by step: a step compensated has nothing left; a step whose undo failed part-way has
 * what that undo journaled it could not undo (`left`); any other step that reached its first phase has
 * what its kind's `registryWrites` reads from its capture, plan and phase results (a phase that has no
 * journaled result may have made every write it was to make: each is listed, marked `maybe`, since
 * putting back a prior is harmless when the write never happened); a step that never reached its first
 * phase has nothing. Values before the run are the earliest capture's. A kind without `registryWrites`
 * is taken at its word as before: the changes it reported, else planned, while not compensated.
 */
import { KEY_FIELD, displayRegistryKey, displayRegistryValue, mergeUndo, undoOfValues, type RegistryUndo, type UndoValue } from '../windows/undo-files.js';
import type { StepKindRegistry } from './kinds.js';
import { stepChangesLeft, type RunState } from './replay.js';
import type { Change } from './types.js';

const NOTHING: RegistryUndo = { values: [], keys: [] };

/** What step `index` left of its registry changes; null when its kind does not say what it writes. */
export function stepUndo(state: RunState, kinds: StepKindRegistry, index: number): RegistryUndo | null {
  const st = state.steps[index];
  if (!kindAt(state, kinds, index)?.registryWrites) return null;
  if (st.compensation?.status === 'compensated') return NOTHING;
  if (st.compensation?.left) return st.compensation.left;
  // An undo retried after it failed: what it left, until the retry says otherwise.
  if (!st.compensation && st.retryUndo?.left) return st.retryUndo.left;
  return undoOfValues(stepWrites(state, kinds, index) ?? []);
}

/**
 * The registry values step `index` wrote (or may have written), each with its prior, as its kind's
 * `registryWrites` reads them from the journal — whether or not an undo put them back since; null when
 * its kind does not say what it writes.
 */
export function stepWrites(state: RunState, kinds: StepKindRegistry, index: number): UndoValue[] | null {
  const kind = kindAt(state, kinds, index);
  if (!kind?.registryWrites) return null;
  const st = state.steps[index];
  const priors = state.memos.get(`${index}:capture`);
  // Nothing is sent before a step's first phase, whose state is journaled (durably) before it acts.
  if (priors === undefined || !st.snapshot) return [];
  const { plan, results } = st.snapshot.context;
  return kind.registryWrites({ priors, plan: plan ?? null, results: results ?? {}, status: st.snapshot.value, runId: state.started.runId });
}

function kindAt(state: RunState, kinds: StepKindRegistry, index: number) {
  const uses = state.started.runbook.steps[index].uses;
  return kinds.has(uses) ? kinds.get(uses) : undefined;
}

/** The registry changes a run left, all steps together. */
export function runUndo(state: RunState, kinds: StepKindRegistry): RegistryUndo {
  return mergeUndo(state.steps.flatMap((_, index) => stepUndo(state, kinds, index) ?? []));
}

/** The changes a run made that are still on the target as far as its journal knows. */
export function remainingOf(state: RunState, kinds: StepKindRegistry): Change[] {
  // Each step's undo worked out once: a kind's registryWrites reads its capture, plan and results.
  const undos = state.steps.map((_, index) => stepUndo(state, kinds, index));
  const others = state.steps.flatMap((_, index) => (undos[index] ? [] : stepChangesLeft(state, index)));
  return [...undoChanges(mergeUndo(undos.flatMap((u) => u ?? []))), ...others];
}

/** An undo as changes for people: each value from its prior to what the run wrote, each created key. */
export function undoChanges(undo: RegistryUndo): Change[] {
  const values = undo.values.map((v): Change => ({
    target: displayRegistryKey(v.view, v.key),
    field: v.name,
    before: displayRegistryValue(v.value),
    after: displayRegistryValue(v.wrote),
    ...typeOf(v),
    action: !v.value ? 'create' : !v.wrote ? 'delete' : v.value.type !== v.wrote.type ? 'retype' : 'update',
    ...(v.maybe ? { maybe: true } : {}),
  }));
  const keys = undo.keys.map((k): Change => ({
    target: displayRegistryKey(k.view, k.key),
    field: KEY_FIELD,
    before: null,
    after: 'created',
    action: 'create',
    ...(k.maybe ? { maybe: true } : {}),
  }));
  return [...values, ...keys];
}

function typeOf(v: UndoValue): { type?: string } {
  if (v.value && v.wrote && v.value.type !== v.wrote.type) return { type: `${v.value.type} → ${v.wrote.type}` };
  const type = v.wrote?.type ?? v.value?.type;
  return type ? { type } : {};
}
