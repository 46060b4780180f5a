/**
 * The exact undo of registry writes: every prior restored (absent values deleted, others rewritten with
 * their old type, keys the run created removed when empty), every undo attempted even when one fails.
 */
import { StepError } from '../../errors.js';
import type { HostOp, HostOpResult, RegistryValue } from '../../executors/types.js';
import type { DeclaredWrite } from '../../engine/step-kind.js';
import type { StepRuntime } from '../../engine/step-runtime.js';
import type { Change, Json } from '../../engine/types.js';
import { createdKeys } from '../../windows/undo-files.js';
import { displayKey, displayValue, getOps, type Prior } from './values.js';

/**
 * Restores every prior exactly: absent values are deleted, others rewritten with their old type, keys
 * the run created are removed when empty. Every undo is attempted; failures are collected and thrown
 * together after the rest ran.
 */
export async function restorePriors(
  rt: StepRuntime,
  allPriors: readonly Prior[],
  /** What the run left in each value (what it wrote, or the prior where it wrote nothing). */
  leftByRun?: (prior: Prior) => RegistryValue | null,
): Promise<{ detail: string; changes: Change[] }> {
  const kept: Change[] = [];
  let priors = allPriors;
  if (rt.compensation?.reason === 'operator' && !rt.compensation.force && leftByRun) {
    // On request, read first: a value someone changed since the run is theirs now, not the run's.
    const now = await rt.exec(getOps(allPriors));
    priors = allPriors.filter((p, i) => {
      const current = now[i].op === 'registry.get' ? now[i].value : null;
      const left = leftByRun(p);
      if (same(current, left) || same(current, p.value)) return true;
      kept.push({ target: displayKey(p.view, p.key), field: p.name, before: displayValue(left), after: displayValue(current), action: 'keep' });
      return false;
    });
  }
  const valueOps: HostOp[] = priors.map((p) =>
    p.value
      ? { op: 'registry.set', view: p.view, key: p.key, name: p.name, value: p.value }
      : { op: 'registry.deleteValue', view: p.view, key: p.key, name: p.name },
  );
  const keyOps: HostOp[] = [];
  const seen = new Set<string>();
  const created = priors.flatMap((p) => createdKeys(p).map((key) => ({ view: p.view, key })));
  created.sort((a, b) => b.key.split('\\').length - a.key.split('\\').length);
  for (const { view, key } of created) {
    const id = `${view}:${key.toLowerCase()}`;
    if (seen.has(id)) continue;
    seen.add(id);
    keyOps.push({ op: 'registry.deleteKey', view, key, onlyIfEmpty: true });
  }
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
  results.forEach((r, i) => {
    const op = ops[i] as HostOp & { key: string; name?: string; view: DeclaredWrite['view'] };
    if (r instanceof Error) {
      failures.push(`${op.op} ${displayKey(op.view, op.key)} ${op.name ?? ''}: ${r.message}`);
      return;
    }
    if (r.op === 'registry.set' && r.changed) {
      changes.push({ target: displayKey(op.view, op.key), field: op.name!, before: displayValue(r.before), after: displayValue(r.after), type: r.after.type, action: 'restore' });
    } else if (r.op === 'registry.deleteValue' && r.changed) {
      changes.push({ target: displayKey(op.view, op.key), field: op.name!, before: displayValue(r.before), after: null, action: 'delete' });
    } else if (r.op === 'registry.deleteKey' && r.changed) {
      changes.push({ target: displayKey(op.view, op.key), field: '(key)', before: 'present', after: null, action: 'delete' });
    }
  });
  if (failures.length > 0) {
    throw new StepError('UNDO_FAILED', `${failures.length} undo(s) failed: ${failures.join('; ')}`, {
      hint: 'restore the values from the .reg backups in the run directory',
    });
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

