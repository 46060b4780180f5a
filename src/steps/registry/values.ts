/**
 * The registry library of the step kinds that set registry values (used by `defineRegistryStep`,
 * `ip-verify`, `backup` and `inspect`): read every value in one batch, plan the differences, write the
 * differences in one batch whose answers are the read-back, and verify without another round trip.
 * Its undo is in `restore.ts`.
 *
 * It lives with the steps, not in `src/windows/`: it runs host operations through a step's runtime and
 * makes plan changes, both above the floor `src/windows/` sits on (that room imports nothing outside
 * itself).
 */
import { StepError } from '../../errors.js';
import type { HostOp, HostOpResult, RegistryValue, RegistryView } from '../../executors/types.js';
import type { DeclaredWrite } from '../../engine/step-kind.js';
import type { StepRuntime } from '../../engine/step-runtime.js';
import type { Change, Json, StepPlan } from '../../engine/types.js';
import { KEY_FIELD, displayRegistryKey, displayRegistryValue, undoOfValues, type RegistryPrior, type UndoValue } from '../../windows/undo-files.js';

/** What was read of one value: what capture journals of it before any change. */
export type ObservedValue = RegistryPrior;

/** The prior state of one value, as journaled before any change. */
export type Prior = RegistryPrior;

function sameValue(a: RegistryValue | null, b: RegistryValue | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * What a step that writes `writes` wrote, or may have written, each with its prior (a step kind's
 * `registryWrites`): every write whose value before the run did not already satisfy it. With the apply
 * phase's answers journaled, each is what the answer read back (a value not in them was found already
 * written when the step was planned again after a cut: the earlier attempt wrote it), listed when it is
 * not the prior (compared with the prior, not with an answer's `changed`: a write made again after a
 * crash answers "unchanged" for what the first one did). Without them (the phase was cut, or its batch
 * failed), each is `maybe`: it may or may not have been made.
 */
export function writtenValues(writes: readonly DeclaredWrite[], priors: readonly Prior[], results: Record<string, Json>): UndoValue[] {
  const applied = results.apply as AppliedWrites | undefined;
  const answers = applied && Array.isArray(applied.written) ? applied.written : null;
  // Each prior and answer found by its value's identity, made once (not two lower-cased copies of
  // both sides at every comparison: a run works this out for each registry step several times).
  const priorOf = firstByValue(priors);
  const answerOf = answers ? firstByValue(answers) : null;
  return writes.flatMap((w) => {
    const id = valueId(w);
    const prior = priorOf.get(id);
    if (!prior || satisfies(w, prior.value)) return [];
    if (!answerOf) return [{ ...prior, wrote: w.desired, maybe: true as const }];
    const wrote = answerOf.get(id)?.after ?? w.desired;
    return sameValue(wrote, prior.value) ? [] : [{ ...prior, wrote }];
  });
}

/**
 * A registry value's identity: its view, then its key and name without case (as Windows compares
 * them), each part after its length, so that no two values share one.
 */
function valueId(v: { view: string; key: string; name: string }): string {
  const key = v.key.toLowerCase();
  return `${v.view.length}:${v.view}${key.length}:${key}${v.name.toLowerCase()}`;
}

/** Each item by its value's identity; the first of several with one (as a search in order finds it). */
function firstByValue<T extends { view: string; key: string; name: string }>(items: readonly T[]): Map<string, T> {
  const byId = new Map<string, T>();
  for (const item of items) {
    const id = valueId(item);
    if (!byId.has(id)) byId.set(id, item);
  }
  return byId;
}

/** True when the current value meets the desired one. */
export function satisfies(write: DeclaredWrite, value: RegistryValue | null): boolean {
  if (write.desired === null) return value === null;
  if (!value || value.type !== write.desired.type) return false;
  if (write.satisfiedBy === 'nonzero' && value.type === 'REG_DWORD') return (value.data !== 0) === (write.desired.data !== 0);
  return JSON.stringify(value.data) === JSON.stringify(write.desired.data);
}

export function getOps(writes: readonly { view: DeclaredWrite['view']; key: string; name: string }[]): HostOp[] {
  return writes.map((w) => ({ op: 'registry.get', view: w.view, key: w.key, name: w.name }));
}

/** Reads the values (one round trip, or none when this drive has read them already). */
export async function observe(rt: StepRuntime, writes: readonly DeclaredWrite[]): Promise<ObservedValue[]> {
  const results = await rt.read(getOps(writes));
  return writes.map((w, i) => toObserved(w, results[i]));
}

export function toObserved(w: { view: DeclaredWrite['view']; key: string; name: string }, result: HostOpResult): ObservedValue {
  if (result.op !== 'registry.get') throw new StepError('PROTOCOL', `expected registry.get, got ${result.op}`);
  return { view: w.view, key: w.key, name: w.name, keyExists: result.keyExists, existingAncestor: result.existingAncestor, value: result.value };
}

/**
 * The changes that bring the observed values to the desired ones: each value, then each key its write
 * creates (one line per key, deepest first, as a run's `remaining` and its undo files list them). A key
 * that a pending write of an earlier step creates (`writtenEarlier`: in check mode, where nothing is
 * created, the later step's probe still finds it missing) is that step's line, not listed again.
 *
 * @example
 * ```ts
 * const write: DeclaredWrite = { view: '64', key: 'SOFTWARE\\X\\Y', name: 'A', desired: { type: 'REG_DWORD', data: 1 } };
 * planWrites([write], [{ view: '64', key: 'SOFTWARE\\X\\Y', name: 'A', keyExists: false, existingAncestor: 'SOFTWARE', value: null }]);
 * // the value A, then the keys SOFTWARE\X\Y and SOFTWARE\X: (absent) → created
 * ```
 */
export function planWrites(writes: readonly DeclaredWrite[], observed: readonly ObservedValue[], writtenEarlier: readonly DeclaredWrite[] = []): Change[] {
  const changes: Change[] = [];
  writes.forEach((w, i) => {
    const before = observed[i].value;
    if (satisfies(w, before)) return;
    if (w.desired === null) {
      changes.push({ target: displayRegistryKey(w.view, w.key), field: w.name, before: displayRegistryValue(before), after: null, type: before?.type, action: 'delete' });
      return;
    }
    const action: Change['action'] = !before ? 'create' : before.type !== w.desired.type ? 'retype' : 'update';
    changes.push({
      target: displayRegistryKey(w.view, w.key),
      field: w.name,
      before: displayRegistryValue(before),
      after: displayRegistryValue(w.desired),
      type: before && before.type !== w.desired.type ? `${before.type} → ${w.desired.type}` : w.desired.type,
      action,
    });
  });
  return [...changes, ...keysCreated(writes, observed, writtenEarlier)];
}

/**
 * The keys the pending writes create (a value set under a key that does not exist creates it and its
 * missing parents), each once, deepest first, less those an earlier step's pending write creates.
 */
function keysCreated(writes: readonly DeclaredWrite[], observed: readonly ObservedValue[], writtenEarlier: readonly DeclaredWrite[]): Change[] {
  const creating = writes.flatMap((w, i) => (w.desired !== null && !observed[i].keyExists && !satisfies(w, observed[i].value) ? [{ ...observed[i], wrote: w.desired }] : []));
  if (creating.length === 0) return [];
  // A write to a key creates that key and each of its parents still missing.
  const createdBefore = (view: string, key: string) =>
    writtenEarlier.some((e) => e.desired !== null && e.view === view && (e.key.toLowerCase() === key.toLowerCase() || e.key.toLowerCase().startsWith(`${key.toLowerCase()}\\`)));
  return undoOfValues(creating)
    .keys.filter((k) => !createdBefore(k.view, k.key))
    .map((k): Change => ({ target: displayRegistryKey(k.view, k.key), field: KEY_FIELD, before: null, after: 'created', action: 'create' }));
}

/**
 * The writes earlier steps' plans call for, as registry steps publish them in check mode (`pending`
 * indexes `writes`); none outside check mode, where a step's probe reads what the earlier ones wrote.
 */
export function writesPlannedEarlier(rt: Pick<StepRuntime, 'checkMode' | 'outputs'>): DeclaredWrite[] {
  if (!rt.checkMode) return [];
  return Object.values(rt.outputs).flatMap((out) => {
    const data = out as { writes?: DeclaredWrite[]; pending?: number[] } | null;
    return Array.isArray(data?.pending) && Array.isArray(data?.writes) ? data.pending.flatMap((i) => (data.writes![i] ? [data.writes![i]] : [])) : [];
  });
}

/** True for a change that is a whole key (created, or deleted), not a value. */
export function isKeyChange(c: Change): boolean {
  return c.field === KEY_FIELD;
}

/** The writes a plan calls for (the observed values that do not yet satisfy). */
export function pendingWrites(writes: readonly DeclaredWrite[], observed: readonly ObservedValue[]): DeclaredWrite[] {
  return writes.filter((w, i) => !satisfies(w, observed[i].value));
}

/** Builds a plan for a list of writes. */
export function registryPlan(writes: readonly DeclaredWrite[], observed: readonly ObservedValue[], what: string, writtenEarlier: readonly DeclaredWrite[] = []): StepPlan & { data: { writes: DeclaredWrite[] } } {
  const changes = planWrites(writes, observed, writtenEarlier);
  const keys = changes.filter(isKeyChange).length;
  const values = changes.length - keys;
  return {
    changes,
    summary: values === 0 ? `${what}: all ${writes.length} values already as required` : `${what}: ${values} of ${writes.length} values to set${keys > 0 ? `, ${keys} key(s) to create` : ''}`,
    data: { writes: [...writes] },
  };
}

/** One value as written, with the answer read back after the write (`after` null: deleted). */
export type WrittenValue = { view: RegistryView; key: string; name: string; changed: boolean; before: RegistryValue | null; after: RegistryValue | null };

/** What an `apply` phase answers: every value written. */
export type AppliedWrites = { written: WrittenValue[] };

/** Writes values in one batch; each answer carries the value read back after the write. */
export async function applyWrites(rt: StepRuntime, writes: readonly DeclaredWrite[]): Promise<AppliedWrites> {
  if (writes.length === 0) return { written: [] };
  const results = await rt.exec(
    writes.map((w): HostOp =>
      w.desired === null
        ? { op: 'registry.deleteValue', view: w.view, key: w.key, name: w.name }
        : { op: 'registry.set', view: w.view, key: w.key, name: w.name, value: w.desired },
    ),
  );
  return {
    written: results.map((r, i) => {
      if (r.op !== 'registry.set' && r.op !== 'registry.deleteValue') throw new StepError('PROTOCOL', `expected registry.set or deleteValue, got ${r.op}`);
      const after = r.op === 'registry.set' ? r.after : null;
      return { view: writes[i].view, key: writes[i].key, name: writes[i].name, changed: r.changed, before: r.before, after };
    }),
  };
}

/**
 * Checks every value: those written by their read-back answers, the others by what the probe read
 * (they were not touched), so verification costs no further round trip.
 */
export function verifyWrites(writes: readonly DeclaredWrite[], observed: readonly ObservedValue[], applied: Json): string[] {
  const written = (applied as { written?: { key: string; name: string; view: string; after: RegistryValue }[] } | null)?.written ?? [];
  const same = (a: { key: string; name: string; view: string }, b: { key: string; name: string; view: string }) =>
    a.key === b.key && a.name === b.name && a.view === b.view;
  const problems: string[] = [];
  for (const w of writes) {
    const fromWrite = written.find((x) => same(x, w));
    const value = fromWrite ? fromWrite.after : (observed.find((o) => same(o, w))?.value ?? null);
    if (!satisfies(w, value)) {
      problems.push(`${displayRegistryKey(w.view, w.key)} ${w.name} is ${JSON.stringify(displayRegistryValue(value))}, expected ${JSON.stringify(displayRegistryValue(w.desired))}`);
    }
  }
  return problems;
}

