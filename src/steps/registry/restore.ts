/**
 * The exact undo of registry writes: every value the step wrote put back (absent values deleted, others
 * rewritten with their old type, keys the writes created removed when empty), nothing it did not write
 * touched, every undo attempted even when one fails.
 */
import { StepError } from '../../errors.js';
import type { HostOp, HostOpResult, RegistryValue } from '../../executors/types.js';
import type { DeclaredWrite } from '../../engine/step-kind.js';
import type { StepRuntime } from '../../engine/step-runtime.js';
import type { Change, Compensation, Json } from '../../engine/types.js';
import { displayRegistryKey, displayRegistryValue, mergeUndo, undoOfValues, type UndoKey, type UndoValue } from '../../windows/undo-files.js';
import { getOps, type Prior } from './values.js';

/** An undo that failed part-way: the error, with what it did and what it could not undo (`left`). */
function undoFailure(message: string, undone: Compensation): StepError {
  return Object.assign(new StepError('UNDO_FAILED', message, { hint: 'fix the cause, then runbook rollback <run-id> retries the undos that failed; or restore the values with undo.reg / undo.ps1 in the run directory' }), { undone });
}

/**
 * Undoes what a step wrote, exactly: each value put back as it was before the run (an absent one
 * deleted, another rewritten with its old type), then the keys the writes created deleted when empty —
 * and nothing else: a value the step did not write is not touched. A write that may not have been made
 * (`maybe`: its answer is not in the journal) is read first and left alone when it is still as before
 * the run; so is its key when it is absent. Safe to run twice. Every undo is attempted; failures are
 * thrown together after the rest ran, with what was undone and what is left (`left`).
 */
export async function restorePriors(
  rt: StepRuntime,
  written: readonly UndoValue[],
  /** What the run left in each value (what it wrote, or the prior where it wrote nothing). */
  leftByRun?: (prior: Prior) => RegistryValue | null,
): Promise<Compensation> {
  const kept: Change[] = [];
  const operator = rt.compensation?.reason === 'operator' && !rt.compensation.force && leftByRun !== undefined;
  const toRead = operator ? written : written.filter((w) => w.maybe);
  const now = new Map<UndoValue, { value: RegistryValue | null; keyExists: boolean }>();
  if (toRead.length > 0) {
    const answers = await rt.exec(getOps(toRead));
    toRead.forEach((w, i) => {
      const r = answers[i];
      if (r.op === 'registry.get') now.set(w, { value: r.value, keyExists: r.keyExists });
    });
  }
  // The values to put back: not those still as before the run, nor (on request) those changed since.
  const values = written.filter((w) => {
    const current = now.get(w);
    if (!current) return true;
    if (same(current.value, w.value)) return false;
    // What the run left is journaled masked where it held a secret: the target's value, masked alike,
    // is compared with it (else a value holding the secret would read as changed since the run).
    if (operator && leftByRun && !same(current.value, leftByRun(w)) && !same(rt.mask(current.value), leftByRun(w))) {
      kept.push({ target: displayRegistryKey(w.view, w.key), field: w.name, before: displayRegistryValue(leftByRun(w)), after: displayRegistryValue(current.value), action: 'keep' });
      return false;
    }
    return true;
  });
  // Keys the writes created: not those of a write that may not have happened and whose key is absent.
  const keys = undoOfValues(written.filter((w) => !(w.maybe && now.get(w)?.keyExists === false))).keys;
  const valueOps: HostOp[] = values.map((p) =>
    p.value
      ? { op: 'registry.set', view: p.view, key: p.key, name: p.name, value: p.value }
      : { op: 'registry.deleteValue', view: p.view, key: p.key, name: p.name },
  );
  const keyOps: HostOp[] = keys.map(({ view, key }) => ({ op: 'registry.deleteKey', view, key, onlyIfEmpty: true }));
  const ops = [...valueOps, ...keyOps];
  let results: (HostOpResult | Error)[] = [];
  if (ops.length > 0) try {
    results = await rt.exec(ops);
  } catch {
    // One at a time, so that one failing undo does not stop the others.
    results = [];
    for (const op of ops) {
      try {
        results.push((await rt.exec([op]))[0]);
      } catch (error) {
        results.push(error as Error);
      }
    }
  }
  const changes: Change[] = [];
  const failures: string[] = [];
  const leftValues: UndoValue[] = [];
  const leftKeys: UndoKey[] = [];
  results.forEach((r, i) => {
    const op = ops[i] as HostOp & { key: string; name?: string; view: DeclaredWrite['view'] };
    if (r instanceof Error) {
      failures.push(`${op.op} ${displayRegistryKey(op.view, op.key)} ${op.name ?? ''}: ${r.message}`);
      if (i < valueOps.length) leftValues.push(values[i]);
      else leftKeys.push(keys[i - valueOps.length]);
      return;
    }
    if (r.op === 'registry.set' && r.changed) {
      changes.push({ target: displayRegistryKey(op.view, op.key), field: op.name!, before: displayRegistryValue(r.before), after: displayRegistryValue(r.after), type: r.after.type, action: 'restore' });
    } else if (r.op === 'registry.deleteValue' && r.changed) {
      changes.push({ target: displayRegistryKey(op.view, op.key), field: op.name!, before: displayRegistryValue(r.before), after: null, action: 'delete' });
    } else if (r.op === 'registry.deleteKey' && r.changed) {
      changes.push({ target: displayRegistryKey(op.view, op.key), field: '(key)', before: 'present', after: null, action: 'delete' });
    }
  });
  if (failures.length > 0) {
    // A value not put back keeps its key; a key whose deletion failed stays.
    const left = mergeUndo([undoOfValues(leftValues), { values: [], keys: leftKeys }]);
    throw undoFailure(`${failures.length} undo(s) failed: ${failures.join('; ')}`, { detail: '', changes: [...changes, ...kept], left });
  }
  const keptNote = kept.length > 0 ? `; left ${kept.length} value(s) alone that changed since the run (rollback --force undoes them too)` : '';
  const done = changes.length === 0 ? 'nothing to undo: values already as before' : `restored ${changes.length} registry item(s)`;
  return { detail: `${done}${keptNote}`, changes: [...changes, ...kept] };
}

function same(a: RegistryValue | null, b: RegistryValue | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What a registry step left in each value: the read-back of its write, else the prior. */
export function leftByStep(results: Record<string, Json>): (prior: Prior) => RegistryValue | null {
  const written = ((results.apply as { written?: { view: string; key: string; name: string; after: RegistryValue }[] } | undefined)?.written ?? []);
  return (p) => written.find((w) => w.view === p.view && w.key === p.key && w.name === p.name)?.after ?? p.value;
}

