/**
 * The shared lifecycle of steps that set registry values (schannel, dotnet, ip-verify): read every
 * value in one batch, plan the differences, capture the exact prior state (value, type, and which keys
 * did not exist), write the differences in one batch whose answers are the read-back, and undo exactly.
 */
import { StepError } from '../errors.js';
import type { HostOp, HostOpResult, RegistryValue, RegistryView } from '../executors/types.js';
import type { DeclaredWrite, HandlerArgs, StepKindDefinition } from '../engine/step-kind.js';
import type { StepRuntime } from '../engine/step-runtime.js';
import type { Change, Json, StepPlan } from '../engine/types.js';
import { createdKeys, type RegistryPrior } from '../windows/undo-files.js';
import * as z from '../util/zod.js';

/** What was read of one value: what capture journals of it before any change. */
export type ObservedValue = RegistryPrior;

/** The prior state of one value, as journaled before any change. */
export type Prior = RegistryPrior;

/** How a key is shown to people: `HKLM\SOFTWARE\...` with its view. */
export function displayKey(view: DeclaredWrite['view'], key: string): string {
  return `HKLM\\${key} (${view}-bit view)`;
}

export function displayValue(value: RegistryValue | null): Json {
  if (!value) return null;
  if (value.type === 'REG_DWORD') return `0x${value.data.toString(16).padStart(8, '0')} (${value.data})`;
  return value.data;
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

/** The changes that bring the observed values to the desired ones. */
export function planWrites(writes: readonly DeclaredWrite[], observed: readonly ObservedValue[]): Change[] {
  const changes: Change[] = [];
  writes.forEach((w, i) => {
    const before = observed[i].value;
    if (satisfies(w, before)) return;
    if (w.desired === null) {
      changes.push({ target: displayKey(w.view, w.key), field: w.name, before: displayValue(before), after: null, type: before?.type, action: 'delete' });
      return;
    }
    const action: Change['action'] = !before ? 'create' : before.type !== w.desired.type ? 'retype' : 'update';
    changes.push({
      target: displayKey(w.view, w.key),
      field: w.name,
      before: displayValue(before),
      after: displayValue(w.desired),
      type: before && before.type !== w.desired.type ? `${before.type} → ${w.desired.type}` : w.desired.type,
      action,
    });
  });
  return changes;
}

/** The writes a plan calls for (the observed values that do not yet satisfy). */
export function pendingWrites(writes: readonly DeclaredWrite[], observed: readonly ObservedValue[]): DeclaredWrite[] {
  return writes.filter((w, i) => !satisfies(w, observed[i].value));
}

/** Builds a plan for a list of writes. */
export function registryPlan(writes: readonly DeclaredWrite[], observed: readonly ObservedValue[], what: string): StepPlan & { data: { writes: DeclaredWrite[] } } {
  const changes = planWrites(writes, observed);
  return {
    changes,
    summary: changes.length === 0 ? `${what}: all ${writes.length} values already as required` : `${what}: ${changes.length} of ${writes.length} values to set`,
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
      problems.push(`${displayKey(w.view, w.key)} ${w.name} is ${JSON.stringify(displayValue(value))}, expected ${JSON.stringify(displayValue(w.desired))}`);
    }
  }
  return problems;
}

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

/** The outputs every registry step publishes. */
export const registryStepOutputs = z.object({
  changed: z.number().check(z.describe('how many values the step wrote')),
  rebootRequired: z.boolean().check(z.describe('true when a written value takes effect only after a restart')),
});

/** What {@link defineRegistryStep} needs to know of a step that sets registry values. */
export interface RegistryStepOptions<P> {
  kind: string;
  description: string;
  params: z.Schema<P>;
  /** What the values are, for summaries: e.g. `SCHANNEL protocols`. */
  what: string;
  /** The values the step sets, with their desired data. */
  writes(args: HandlerArgs<P>): Promise<DeclaredWrite[]>;
  /** A change here means Windows must restart before it takes effect. */
  rebootOnChange: boolean;
  /** More published data, from the desired values. */
  publish?(args: HandlerArgs<P>): Promise<Record<string, Json>>;
  /** The schema of what `publish` adds to the outputs. */
  publishes?: z.Shape;
  /** A sentence the plan and the result add to their summary, from the published data. */
  note?(published: Record<string, Json>): string | null;
}

/** What the probe of a registry step reads: the values it sets, and each one's current state. */
export type RegistryObserved = { writes: DeclaredWrite[]; observed: ObservedValue[] };

/** The plan's data of a registry step (published in check mode: later steps see the pending writes). */
export type RegistryPlanData = {
  writes: DeclaredWrite[];
  /** The writes still to make, as indices into `writes`. */
  pending: number[];
  rebootRequired: boolean;
  /** What `publish` added. */
  [key: string]: Json;
};

/**
 * Builds the step kind of a step that sets registry values: probe, plan, capture, apply, verify and
 * compensate all come from the functions above.
 *
 * @example
 * ```ts
 * export const myStep = defineStepKind(defineRegistryStep({
 *   kind: 'example/flag', description: 'sets a flag', what: 'flag', rebootOnChange: false,
 *   params: z.object({}),
 *   writes: async () => [{ view: '64', key: 'SOFTWARE\\Example', name: 'Flag', desired: { type: 'REG_DWORD', data: 1 } }],
 * }));
 * ```
 */
export function defineRegistryStep<P>(options: RegistryStepOptions<P>): StepKindDefinition<P, RegistryObserved, RegistryPlanData, ObservedValue[]> {
  return {
    kind: options.kind,
    description: options.description,
    params: options.params,
    outputs: z.extend(registryStepOutputs, options.publishes ?? {}),
    registryPriors: (priors) => (Array.isArray(priors) ? priors : []),
    declares: (args) => options.writes(args),
    async probe(args) {
      const writes = await options.writes(args);
      return { writes, observed: await observe(args.rt, writes) };
    },
    async plan(args) {
      const { writes, observed } = args.observed;
      const plan = registryPlan(writes, observed, options.what);
      const pending = writes.flatMap((w, i) => (satisfies(w, observed[i].value) ? [] : [i]));
      const extra = options.publish ? await options.publish(args) : {};
      const data: RegistryPlanData = { ...extra, writes, pending, rebootRequired: options.rebootOnChange && pending.length > 0 };
      const note = options.note?.(extra);
      return { ...plan, summary: note ? `${plan.summary}; ${note}` : plan.summary, data };
    },
    capture: async ({ observed }) => observed.observed,
    phases: [
      {
        name: 'apply',
        run: ({ rt, plan }) => applyWrites(rt, plan.data.pending.map((i) => plan.data.writes[i])),
      },
    ],
    async verify({ plan, results, priors, rt }) {
      const data = plan.data;
      // A registry step verifies only after its capture (it has no `verifyWhenUnchanged`).
      if (!priors) throw new StepError('PROTOCOL', `step ${rt.stepId} verifies values whose prior state was not captured`);
      const problems = verifyWrites(data.writes, priors, results.apply ?? null);
      // Counted against the captured priors, so that a step re-run after a crash still reports its changes.
      const written = pendingWrites(data.writes, priors).length;
      const { writes: _w, pending: _p, ...published } = data;
      const note = options.note?.(published);
      return {
        ok: problems.length === 0,
        problems,
        summary:
          (problems.length > 0 ? `${options.what}: ${problems.length} value(s) wrong after writing` : `${options.what}: ${written} value(s) changed, ${data.writes.length} verified`) +
          (note ? `; ${note}` : ''),
        output: { ...published, changed: written, rebootRequired: options.rebootOnChange && written > 0 },
      };
    },
    compensate: ({ rt, priors, results }) => restorePriors(rt, priors, leftByStep(results)),
  };
}
