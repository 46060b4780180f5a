/**
 * Runbooks: an ordered list of steps with parameters, defined in TypeScript or loaded from YAML/JSON.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';
import type { RetryPolicy } from './retry.js';
import type { Json } from './types.js';

/**
 * A runbook parameter.
 *
 * @example
 * ```ts
 * const password: ParameterSpec = { type: 'string', secret: true, env: 'SQL_PASSWORD', description: 'the SQL login' };
 * const port: ParameterSpec = { type: 'number', default: 1433 };
 * ```
 */
export interface ParameterSpec {
  type: 'string' | 'number' | 'boolean';
  description?: string;
  default?: string | number | boolean;
  enum?: readonly (string | number)[];
  /** Secret values are never journaled; they are read from the environment variable `env` at every start and resume. */
  secret?: boolean;
  env?: string;
}

/**
 * A step of a runbook: a registered step kind (`uses`) with parameters (`with`).
 *
 * @example
 * ```ts
 * const step: StepDefinition = { id: 'tls', uses: 'windows/schannel', with: { mode: 'tls12-only' }, retry: { retries: 5 } };
 * ```
 */
export interface StepDefinition {
  id: string;
  uses: string;
  name?: string;
  /** Parameters of the kind; `${{ params.x }}` and `${{ steps.<id>.outputs.<path> }}` are looked up as data. */
  with?: Record<string, Json>;
  retry?: Partial<RetryPolicy>;
  /**
   * Run the step only for these parameter values: `{ procedure: current }`, or a list, `{ mode: [a, b] }`.
   * Every parameter named must match. Two steps may share an id when their conditions cannot both hold.
   */
  when?: Record<string, StepCondition>;
}

/** The values of one parameter a step runs for (one value or a list). */
export type StepCondition = string | number | boolean | readonly (string | number | boolean)[];

/**
 * A runbook.
 *
 * @example
 * ```ts
 * const runbook: RunbookDefinition = {
 *   name: 'harden-tls',
 *   parameters: { allowRestart: { type: 'boolean', default: false } },
 *   steps: [{ id: 'tls', uses: 'windows/schannel', with: { mode: 'tls12-only' } }],
 * };
 * ```
 */
export interface RunbookDefinition {
  name: string;
  description?: string;
  parameters?: Record<string, ParameterSpec>;
  retry?: Partial<RetryPolicy>;
  steps: StepDefinition[];
}

/**
 * A runbook ready to run: its definition, where it came from and its fingerprint.
 *
 * @example
 * ```ts
 * const loaded: LoadedRunbook = await loadRunbook('orchestrator-tls12', bundledStepKinds());
 * console.log(loaded.definition.name, loaded.source, loaded.fingerprint);
 * ```
 */
export interface LoadedRunbook {
  definition: RunbookDefinition;
  /** A bundled name, a file path, or `inline`. */
  source: string;
  fingerprint: string;
}

/**
 * Identity helper that types a runbook defined in TypeScript.
 *
 * @example
 * ```ts
 * const runbook = defineRunbook({
 *   name: 'tls12-schannel-only',
 *   steps: [defineStep({ id: 'schannel', uses: 'windows/schannel', with: { mode: 'tls12-only' } })],
 * });
 * ```
 */
export function defineRunbook<const R extends RunbookDefinition>(runbook: R): R {
  return runbook;
}

/**
 * Identity helper that types one step of a runbook.
 *
 * @example
 * ```ts
 * defineStep({ id: 'dotnet', uses: 'windows/dotnet-tls', with: { strongCrypto: false } });
 * ```
 */
export function defineStep<const S extends StepDefinition>(step: S): S {
  return step;
}

/** Whether a step runs with these parameters (its `when:` holds). Values compare as text: `2019` and `"2019"` are one value. */
export function stepApplies(step: Pick<StepDefinition, 'when'>, params: Record<string, Json>): boolean {
  return Object.entries(step.when ?? {}).every(([name, wanted]) => conditionValues(wanted).includes(String(Object.hasOwn(params, name) ? params[name] : undefined)));
}

/** A condition's values, as text. */
export function conditionValues(wanted: StepCondition): string[] {
  return (Array.isArray(wanted) ? wanted : [wanted]).map(String);
}

/**
 * The runbook with only the steps that run with these parameters: what a run drives, plans and
 * reports. The journal keeps the document as written; replay selects again from the recorded parameters.
 *
 * @example
 * ```ts
 * const steps = selectSteps(definition, { procedure: '2019' }).steps.map((s) => s.id);
 * ```
 */
export function selectSteps<D extends RunbookDefinition>(definition: D, params: Record<string, Json>): D {
  if (!definition.steps.some((s) => s.when)) return definition;
  return { ...definition, steps: definition.steps.filter((s) => stepApplies(s, params)) };
}

/**
 * The runbooks that runs of this process drive, by the JSON their journals record them in: one parsed
 * copy each, frozen, held only while some run holds it.
 */
const drivenRunbooks = new Map<string, WeakRef<RunbookDefinition>>();

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * The runbook a run drives, from the one its journal recorded: the copy another run of this process
 * drives already when both journals record the same JSON, else a new copy made from that JSON — frozen,
 * so that nothing can change what a run drives. The runs of a fleet then share one runbook in memory
 * instead of holding one parsed copy each, and each drives exactly what its journal says (never a
 * caller's object, which could have changed since it was journaled).
 *
 * @example
 * ```ts
 * const a = sharedRunbook(JSON.parse(JSON.stringify(definition)) as RunbookDefinition);
 * const b = sharedRunbook(JSON.parse(JSON.stringify(definition)) as RunbookDefinition);
 * a === b && Object.isFrozen(a.steps[0]); // true
 * ```
 */
export function sharedRunbook(recorded: RunbookDefinition): RunbookDefinition {
  const json = JSON.stringify(recorded);
  const driven = drivenRunbooks.get(json)?.deref();
  if (driven) return driven;
  // A copy of its own, made from that JSON: `recorded` may be a caller's object (a store that keeps the
  // records it appended hands back the runbook it was given), which is neither frozen nor kept here.
  const copy = deepFreeze(JSON.parse(json) as RunbookDefinition);
  // The entries of runbooks no run holds any more go as a new one comes. (Not a FinalizationRegistry:
  // V8 refuses to make a startup snapshot of a heap whose registry has a dead entry pending, and the
  // crash tests' processes start from one made after a run.)
  for (const [key, ref] of drivenRunbooks) if (ref.deref() === undefined) drivenRunbooks.delete(key);
  drivenRunbooks.set(json, new WeakRef(copy));
  return copy;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A stable hash of a runbook's content, independent of key order and formatting.
 *
 * @example
 * ```ts
 * const a = fingerprint({ name: 'x', steps: [{ id: 'a', uses: 'k', with: { p: 1, q: 2 } }] });
 * const b = fingerprint({ name: 'x', steps: [{ id: 'a', uses: 'k', with: { q: 2, p: 1 } }] });
 * console.log(a === b); // true: key order does not count
 * ```
 */
export function fingerprint(definition: RunbookDefinition): string {
  return `sha256:${createHash('sha256').update(canonical(definition)).digest('hex')}`;
}

const EXPRESSION = /\$\{\{\s*([^}]*?)\s*\}\}/g;
const WHOLE = /^\$\{\{\s*([^}]*?)\s*\}\}$/;

/** Where lookups come from. `deferred`: a step's outputs are not known yet (checks before a run). */
export interface Scope {
  params: Record<string, Json>;
  steps: Record<string, Json> | 'deferred';
}

/** What a `${{ steps.… }}` lookup stands for while outputs are deferred. */
export const DEFERRED_OUTPUT = '\u0000deferred step output';

/** Every `steps.<id>.outputs.<path>` lookup in a value, with the field it is in. */
export function outputReferences(value: Json, where: string): { step: string; path: string[]; where: string }[] {
  const out: { step: string; path: string[]; where: string }[] = [];
  const walk = (v: Json, at: string) => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(EXPRESSION)) {
        const parts = m[1].split('.');
        if (parts[0] === 'steps') out.push({ step: parts[1] ?? '', path: parts[2] === 'outputs' ? parts.slice(3) : [], where: at });
      }
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
  };
  walk(value, where);
  return out;
}

/**
 * Every `${{` in a value that opens no whole `${{ … }}` lookup (`${{ params.mode`, `${{ params.mode }`),
 * with the field it is in: left as it is, it would be sent to the target as literal text.
 *
 * @example
 * ```ts
 * unclosedExpressions({ mode: '${{ params.mode' }, 'steps[0] (id schannel).with');
 * // ['steps[0] (id schannel).with.mode: "${{ params.mode" opens a ${{ lookup that is not closed with }} …']
 * ```
 */
export function unclosedExpressions(value: Json, where: string): string[] {
  const out: string[] = [];
  const walk = (v: Json, at: string) => {
    if (typeof v === 'string') {
      if (!v.replace(EXPRESSION, '').includes('${{')) return;
      const shown = v.length > 60 ? `${v.slice(0, 57)}…` : v;
      out.push(`${at}: ${JSON.stringify(shown)} opens a \${{ lookup that is not closed with }}; write \${{ params.<name> }} or \${{ steps.<id>.outputs.<path> }} (a lookup holds no "}")`);
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
  };
  walk(value, where);
  return out;
}

/** A `${{ … }}` lookup that finds nothing: the issue names the field it is in. */
function lookupError(where: string, what: string): ValidationError {
  return new ValidationError('a lookup in a step\'s `with:` finds nothing', [`${where}: ${what}`], { hint: 'look up a declared parameter or an output of an earlier step' });
}

function lookup(path: string, scope: Scope, where: string): Json {
  const parts = path.split('.');
  if (parts[0] === 'params' && parts.length === 2) {
    // Own keys only: `constructor` or `toString` is in every object, and no parameter.
    if (!Object.hasOwn(scope.params, parts[1])) throw lookupError(where, `unknown parameter "${parts[1]}"`);
    return scope.params[parts[1]];
  }
  if (parts[0] === 'steps' && parts[2] === 'outputs' && parts.length >= 3) {
    if (scope.steps === 'deferred') return DEFERRED_OUTPUT;
    let value: Json | undefined = Object.hasOwn(scope.steps, parts[1]) ? scope.steps[parts[1]] : undefined;
    if (value === undefined) throw lookupError(where, `step "${parts[1]}" has no outputs (yet)`);
    for (const key of parts.slice(3)) {
      value = value && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key) ? (value as Record<string, Json>)[key] : undefined;
      if (value === undefined) throw lookupError(where, `output ${path} does not exist`);
    }
    return value;
  }
  throw lookupError(where, `"${path}" is not a lookup; use params.<name> or steps.<id>.outputs.<path>`);
}

/**
 * Resolves `${{ … }}` lookups in a step's `with`. Lookups are plain data paths; nothing is evaluated.
 */
export function resolveWith(value: Json, scope: Scope, where: string): Json {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) return lookup(whole[1], scope, where);
    return value.replace(EXPRESSION, (_, path: string) => String(lookup(path, scope, where)));
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveWith(v, scope, `${where}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveWith(v, scope, `${where}.${k}`)]));
  }
  return value;
}
