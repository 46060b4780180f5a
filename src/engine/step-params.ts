/**
 * A step's parameters: its `with:` resolved from the run's parameters and the outputs published so far,
 * then checked against its kind. One function does it for every caller — the loader (before a run,
 * with outputs deferred), the drive when a step starts, and the look-ahead of planned writes — so that
 * a step is never judged by two different rules.
 */
import { ValidationError } from '../errors.js';
import * as z from '../util/zod.js';
import { DEFERRED_OUTPUT, resolveWith, type Scope, type StepDefinition } from './runbook.js';
import type { Json } from './types.js';

/**
 * What checking a step needs of its kind: the schema of its parameters, and whether it declares
 * writes or reads. A `StepKind` is one; this file names only what it reads, so that the runtime, which
 * the step kinds import, can use it without an import cycle.
 */
export type KindShape = { readonly params: z.Schema; readonly declares?: unknown; readonly reads?: unknown };

/**
 * A step's parameters, resolved and checked: either the value to journal (and what the kind's schema
 * made of it), or the problems, each naming its field.
 */
export type CheckedParams<P = unknown> =
  | {
      ok: true;
      /** The resolved `with:`, as journaled in `step.started` (secrets aside). */
      value: Json;
      /** What the kind's schema parsed from it; `undefined` while a lookup of a step output is deferred. */
      data: P | undefined;
    }
  | { ok: false; issues: string[] };

/** Where a step's `with:` is, as every message names it: `steps[2] (id schannel).with`. */
export function withPath(index: number, step: Pick<StepDefinition, 'id'>): string {
  return `steps[${index}] (id ${step.id}).with`;
}

/**
 * Resolves a step's `with:` in `scope` and checks it against `kind`. With `scope.steps` `'deferred'`,
 * what a lookup of a step output decides is left for the step's start.
 *
 * @example
 * ```ts
 * const kinds = bundledStepKinds();
 * const step = { id: 'schannel', uses: 'windows/schannel', with: { mode: '${{ params.mode }}' } };
 * const checked = checkStepParams(kinds.get(step.uses), step, 0, { params: { mode: 'tls12-only' }, steps: 'deferred' });
 * if (!checked.ok) console.error(checked.issues.join('\n'));
 * ```
 */
export function checkStepParams<P = unknown>(kind: { readonly params: z.Schema<P> }, step: StepDefinition, index: number, scope: Scope): CheckedParams<P> {
  const where = withPath(index, step);
  let value: Json;
  try {
    value = resolveWith(step.with ?? {}, scope, where);
  } catch (error) {
    if (error instanceof ValidationError) return { ok: false, issues: [...error.issues] };
    throw error;
  }
  const parsed = z.safeParse(kind.params, value);
  if (parsed.success) return { ok: true, value, data: parsed.data };
  const issues = stepParamIssues(parsed.error.issues, value, where);
  return issues.length === 0 ? { ok: true, value, data: undefined } : { ok: false, issues };
}

/**
 * The schema's issues, each naming its field; those of values that stand for step outputs not known
 * yet ({@link DEFERRED_OUTPUT}) are left out (they are checked when the step starts).
 */
function stepParamIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[], value: Json, where: string): string[] {
  const deferredAt = (path: readonly PropertyKey[]) => {
    let node: unknown = value;
    for (const part of path) {
      if (node === DEFERRED_OUTPUT) return true;
      node = node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[part] : undefined;
    }
    return node === DEFERRED_OUTPUT || (typeof node === 'string' && node.includes(DEFERRED_OUTPUT));
  };
  return issues.filter((i) => !deferredAt(i.path)).map((i) => `${where}.${i.path.join('.') || '(all)'}: ${i.message}`);
}

/** A step whose kind declares registry writes (or reads), with its parameters as its kind parsed them. */
export interface DeclaringStep<K extends KindShape = KindShape> {
  index: number;
  stepId: string;
  kind: K;
  params: unknown;
}

/** What the look-ahead sees of a run: its steps, the parameters known, the outputs published so far. */
export interface LookAheadInput<K extends KindShape = KindShape> {
  steps: readonly StepDefinition[];
  /** The kinds by the name `uses:` gives (a `StepKindRegistry`). */
  kinds: { get(name: string): K };
  /** The run's parameters, secrets included. */
  params: Record<string, Json>;
  /** Outputs published so far, by step id. */
  outputs: Record<string, Json>;
  /** Parameters a step started with (as journaled), by index; `undefined` for a step not started. */
  started: readonly (Json | undefined)[];
}

/**
 * The steps after `after` that declare registry writes, each with its checked parameters — what a
 * backup step must capture before them. Pure: it reads only its input. A step whose parameters cannot
 * be resolved or checked yet (a lookup of an output not published) is left out; it fails on its own
 * when it starts.
 *
 * @example
 * ```ts
 * const steps = [{ id: 'backup', uses: 'windows/registry-backup' }, { id: 'schannel', uses: 'windows/schannel' }];
 * const ahead = stepsDeclaringWrites(0, { steps, kinds: bundledStepKinds(), params: {}, outputs: {}, started: [] });
 * console.log(ahead.map((s) => s.stepId)); // ['schannel']
 * ```
 */
export function stepsDeclaringWrites<K extends KindShape>(after: number, input: LookAheadInput<K>): DeclaringStep<K>[] {
  return stepsFrom(after + 1, input, (kind) => kind.declares !== undefined);
}

/**
 * The steps from `from` on (that one included) whose kinds declare reads, each with its checked
 * parameters — whose reads the engine sends along with the first read batch of a drive. Pure, and
 * like {@link stepsDeclaringWrites} it leaves out a step whose parameters cannot be had yet. The run's
 * steps are those whose `when:` holds: a step that does not run declares nothing.
 *
 * @example
 * ```ts
 * const steps = [{ id: 'preflight', uses: 'orchestrator/preflight' }, { id: 'restart', uses: 'windows/restart' }];
 * const ahead = stepsDeclaringReads(0, { steps, kinds: bundledStepKinds(), params: {}, outputs: {}, started: [] });
 * console.log(ahead.map((s) => s.stepId)); // ['preflight', 'restart']
 * ```
 */
export function stepsDeclaringReads<K extends KindShape>(from: number, input: LookAheadInput<K>): DeclaringStep<K>[] {
  return stepsFrom(from, input, (kind) => kind.reads !== undefined);
}

/** The steps from `from` on whose kinds `declare`, each with its parameters when they can be had. */
function stepsFrom<K extends KindShape>(from: number, input: LookAheadInput<K>, declare: (kind: K) => boolean): DeclaringStep<K>[] {
  const out: DeclaringStep<K>[] = [];
  for (let index = from; index < input.steps.length; index++) {
    const step = input.steps[index];
    const kind = input.kinds.get(step.uses);
    if (!declare(kind)) continue;
    const params = paramsOf(kind, step, index, input);
    if (params !== undefined) out.push({ index, stepId: step.id, kind, params });
  }
  return out;
}

/** The parsed parameters of a step for the look-ahead, or `undefined` when they cannot be had yet. */
function paramsOf(kind: KindShape, step: StepDefinition, index: number, input: LookAheadInput): unknown {
  const known = input.started[index];
  if (known !== undefined) {
    const parsed = z.safeParse(kind.params, known);
    return parsed.success ? parsed.data : undefined;
  }
  const checked = checkStepParams(kind, step, index, { params: input.params, steps: input.outputs });
  return checked.ok ? checked.data : undefined;
}
