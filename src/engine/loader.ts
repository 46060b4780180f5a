/**
 * Loads runbook documents (YAML or JSON) and validates them: the document, each step's `uses` and
 * `with`, retry policies and parameters. Errors name the file, the step and the field.
 */
import * as z from '../util/zod.js';
import { ValidationError } from '../errors.js';
import type { StepKindRegistry } from './kinds.js';
import { retryPolicySchema } from './retry.js';
import {
  conditionValues,
  fingerprint,
  outputReferences,
  unclosedExpressions,
  selectSteps,
  type LoadedRunbook,
  type RunbookDefinition,
  type StepDefinition,
} from './runbook.js';
import type { StepKind } from './step-kind.js';
import { checkStepParams } from './step-params.js';
import type { Json } from './types.js';
import { MIN_INSIDE, createMasker } from './secrets.js';
import { jsonFaultWhere } from '../util/json-error.js';
import { readInputFile } from '../util/read-input-file.js';
import { markSecretEnv } from '../util/secret-env.js';

/**
 * The longest runbook name. A run's id is `<yyyymmdd-hhmmss>-<name>-<6 hex>` and names its folder (and
 * its backups' files, `<run-id>-<key>-64bit.reg`, on the target); a file name holds at most 255 bytes,
 * and a Windows path 260 characters unless long paths are enabled.
 */
export const MAX_RUNBOOK_NAME = 64;

let schema: ReturnType<typeof makeRunbookSchema> | undefined;

/** The runbook document's schema, made when a runbook is first read from its text. */
function runbookSchema(): ReturnType<typeof makeRunbookSchema> {
  return (schema ??= makeRunbookSchema());
}

function makeRunbookSchema() {
  const jsonValue: z.Schema<Json> = z.lazy(() =>
    z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
  );
  const parameterSchema = z
    .strictObject({
      type: z.enum(['string', 'number', 'boolean']),
      description: z.optional(z.string()),
      default: z.optional(z.union([z.string(), z.number(), z.boolean()])),
      enum: z.optional(z.array(z.union([z.string(), z.number()])).check(z.minLength(1))),
      secret: z.optional(z.boolean()),
      env: z.optional(z.matching(/^[A-Z_][A-Z0-9_]*$/)),
    })
    .check(
      z.refine((p) => !p.secret || p.env, { message: 'a secret parameter needs `env`: the environment variable it is read from', path: ['env'] }),
      z.refine((p) => !p.secret || p.default === undefined, { message: 'a secret parameter cannot have a default', path: ['default'] }),
      // The mask works on text: a number's value would reach the journal as it is.
      z.refine((p) => !p.secret || p.type === 'string', { message: 'a secret parameter must be of type string: only text is kept out of the journal', path: ['type'] }),
      // Checked where the runbook says it, not at the first run that leaves the parameter out.
      z.refine((p) => p.default === undefined || typeof p.default === p.type, { message: 'the default is not of the parameter\'s type', path: ['default'] }),
      z.refine((p) => !p.enum || p.enum.every((v) => typeof v === p.type), { message: 'each allowed value must be of the parameter\'s type', path: ['enum'] }),
      z.refine((p) => !p.enum || p.default === undefined || p.enum.includes(p.default as string | number), { message: 'the default is not one of the allowed values (enum)', path: ['default'] }),
    );
  const scalar = z.union([z.string(), z.number(), z.boolean()]);
  const parameters = z.optional(z.record(z.matching(/^[A-Za-z_][A-Za-z0-9_]*$/), parameterSchema));
  const step = z.strictObject({
    id: z.matching(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes'),
    uses: z.string().check(z.minLength(1)),
    name: z.optional(z.string()),
    with: z.optional(z.record(z.string(), jsonValue)),
    retry: z.optional(retryPolicySchema()),
    when: z.optional(z.record(z.string(), z.union([scalar, z.array(scalar).check(z.minLength(1))]))),
  });
  const document = z.strictObject({
    name: z
      .matching(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, dot, dash and underscore')
      .check(z.maxLength(MAX_RUNBOOK_NAME, `too long: a runbook's name has at most ${MAX_RUNBOOK_NAME} characters (its runs' ids, and so their folders, are named after it)`)),
    description: z.optional(z.string()),
    parameters,
    retry: z.optional(retryPolicySchema()),
    steps: z.array(step).check(z.minLength(1, 'a runbook needs at least one step')),
  });
  return { document, parameters, step };
}

/** The deepest a runbook document nests (lists and mappings within each other). */
const MAX_DEPTH = 64;

/**
 * What the schema cannot be trusted with, checked before it: a document nested deeper than
 * {@link MAX_DEPTH} levels (its checks of a value recurse, and thousands of levels overflow the stack),
 * and a key `__proto__` (it drops that key without a word: a parameter, a condition or a step's field
 * would vanish). The first found, with its path (its first parts only), or null. Walked without
 * recursion: the value may be a hundred thousand levels deep.
 */
function shapeIssue(value: unknown): string | null {
  const stack: { node: unknown; path: readonly PropertyKey[] }[] = [{ node: value, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (!node || typeof node !== 'object') continue;
    if (path.length >= MAX_DEPTH) return `${describePath(path.slice(0, 6), value)}…: nests deeper than ${MAX_DEPTH} levels of lists and mappings; a runbook's values need a few`;
    if (!Array.isArray(node) && Object.hasOwn(node, '__proto__')) return `${describePath([...path, '__proto__'], value)}: "__proto__" cannot be a name in a runbook (JavaScript reserves it); rename it`;
    for (const [key, child] of Object.entries(node)) stack.push({ node: child, path: [...path, Array.isArray(node) ? Number(key) : key] });
  }
  return null;
}

function describePath(path: readonly PropertyKey[], doc: unknown): string {
  let text = '';
  let node: unknown = doc;
  for (const part of path) {
    if (typeof part === 'number') {
      const id = node && typeof node === 'object' ? (node as unknown[])[part] : undefined;
      const stepId = id && typeof id === 'object' && 'id' in id ? ` (id ${String((id as { id: unknown }).id)})` : '';
      text += `[${part}]${stepId}`;
    } else {
      text += text ? `.${String(part)}` : String(part);
    }
    node = node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[part] : undefined;
  }
  return text || '(document)';
}

/**
 * Validates a runbook definition against the schema and the registered step kinds.
 *
 * @example
 * ```ts
 * const loaded = validateRunbook(definition, kinds, 'inline');
 * ```
 */
export function validateRunbook(input: unknown, kinds: StepKindRegistry, where: string): LoadedRunbook {
  const shape = shapeIssue(input);
  if (shape !== null) throw new ValidationError(`invalid runbook ${where}`, [shape], { where, hint: 'fix the fields named above; nothing was run' });
  const parsed = runbookSchema().document.safeParse(input);
  if (!parsed.success) {
    // Every error at once: the schema's, and what the steps that can be read say about their kinds,
    // lookups and parameters (a step the schema refuses is checked only for its kind).
    const issues = parsed.error.issues.map((i) => `${describePath(i.path, input)}: ${i.message}`);
    for (const issue of partialKindIssues(input, kinds)) if (!issues.includes(issue)) issues.push(issue);
    throw new ValidationError(`invalid runbook ${where}`, issues, { where, hint: 'fix the fields named above; nothing was run' });
  }
  const definition = parsed.data as RunbookDefinition;
  checkKinds(definition, kinds, where, { stepParams: true });
  return { definition, source: where, fingerprint: fingerprint(definition) };
}

/**
 * The kind checks of a document the schema refused, on what of it can be read: each step that is an
 * object naming its kind is checked for an unknown kind; a step the schema accepts, in a document whose
 * parameters it accepts, gets every check of {@link checkKinds}.
 */
function partialKindIssues(input: unknown, kinds: StepKindRegistry): string[] {
  if (!input || typeof input !== 'object' || !Array.isArray((input as { steps?: unknown }).steps)) return [];
  const { parameters, step } = runbookSchema();
  const declared = parameters.safeParse((input as { parameters?: unknown }).parameters);
  const raw = (input as { steps: unknown[] }).steps;
  const steps = raw.map((s) => (s && typeof s === 'object' ? s : {}) as StepDefinition);
  const readable = raw.map((s) => declared.success && step.safeParse(s).success);
  const definition = { name: '', parameters: declared.success ? declared.data : undefined, steps } as RunbookDefinition;
  return kindIssues(definition, kinds, { stepParams: true, readable: (i) => readable[i] });
}

/**
 * Checks a definition that has passed the schema against the registered kinds: unique step ids, known
 * kinds, lookups of earlier steps' declared outputs and, with `stepParams`, each step's parameters
 * (resolved from the parameters' defaults).
 */
export function checkKinds(definition: RunbookDefinition, kinds: StepKindRegistry, where: string, { stepParams }: { stepParams: boolean }): void {
  const issues = kindIssues(definition, kinds, { stepParams, readable: () => true });
  if (issues.length > 0) {
    throw new ValidationError(`invalid runbook ${where}`, issues, { where, hint: 'fix the fields named above; nothing was run' });
  }
}

/** The issues {@link checkKinds} reports; a step not `readable` (refused by the schema) is checked only for its kind. */
function kindIssues(
  definition: RunbookDefinition,
  kinds: StepKindRegistry,
  { stepParams, readable }: { stepParams: boolean; readable: (index: number) => boolean },
): string[] {
  const issues: string[] = [];
  const defaults = Object.fromEntries(
    Object.entries(definition.parameters ?? {}).map(([k, p]) => [k, (p.default ?? placeholderFor(p.type)) as Json]),
  );
  const earlier = new Map<string, StepKind<unknown> | undefined>();
  // The readable steps before this one, by id: a duplicate is looked for among its namesakes only.
  const byId = new Map<unknown, StepDefinition[]>();
  definition.steps.forEach((step, i) => {
    const at = `steps[${i}]${'id' in step ? ` (id ${String(step.id)})` : ''}`;
    if (!readable(i)) {
      if (typeof step.uses === 'string' && step.uses !== '' && !kinds.has(step.uses)) {
        issues.push(`${at}.uses: unknown step kind "${step.uses}"; known kinds: ${kinds.list().map((k) => k.kind).join(', ')}`);
      }
      // Lookups naming this step are not reported as naming no earlier step; its outputs are not checked.
      if (typeof step.id === 'string') earlier.set(step.id, undefined);
      return;
    }
    issues.push(...conditionIssues(step, definition, `${at}.when`));
    const namesakes = byId.get(step.id) ?? [];
    const twin = namesakes.find((s) => !exclusive(s, step));
    byId.set(step.id, [...namesakes, step]);
    if (twin) {
      issues.push(`${at}.id: duplicate step id "${step.id}"; two steps may share an id only when their \`when:\` conditions cannot both hold`);
    }
    const withValue = step.with ?? {};
    const unclosed = unclosedExpressions(withValue, `${at}.with`);
    issues.push(...unclosed);
    issues.push(...referenceIssues(withValue, `${at}.with`, earlier));
    earlier.set(step.id, kinds.has(step.uses) ? kinds.get(step.uses) : undefined);
    if (!kinds.has(step.uses)) {
      issues.push(`${at}.uses: unknown step kind "${step.uses}"; known kinds: ${kinds.list().map((k) => k.kind).join(', ')}`);
      return;
    }
    // A field that holds an unclosed lookup is named for that alone: its kind would judge the text as typed.
    if (!stepParams || unclosed.length > 0) return;
    const checked = checkStepParams(kinds.get(step.uses), step, i, { params: defaults, steps: 'deferred' });
    if (!checked.ok) issues.push(...checked.issues);
  });
  return issues;
}

/** A step's `when:` names declared, non-secret parameters and values they can take. */
function conditionIssues(step: StepDefinition, definition: RunbookDefinition, where: string): string[] {
  const issues: string[] = [];
  const specs = definition.parameters ?? {};
  for (const [name, wanted] of Object.entries(step.when ?? {})) {
    // Own keys only: `constructor` or `toString` is no parameter because every object inherits one.
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (!spec) {
      issues.push(`${where}.${name}: not a parameter of this runbook; it takes: ${Object.keys(specs).join(', ') || 'none'}`);
      continue;
    }
    if (spec.secret) {
      issues.push(`${where}.${name}: a secret parameter cannot decide which steps run (its value is never journaled, and a resume must select the same steps)`);
      continue;
    }
    const allowed = spec.enum ? spec.enum.map(String) : spec.type === 'boolean' ? ['true', 'false'] : null;
    for (const value of conditionValues(wanted)) {
      if (allowed && !allowed.includes(value)) issues.push(`${where}.${name}: "${value}" is not a value of the parameter; it takes ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
      if (!allowed && spec.type === 'number' && !Number.isFinite(Number(value))) issues.push(`${where}.${name}: "${value}" is not a number`);
    }
  }
  return issues;
}

/** Two steps whose conditions cannot both hold: some parameter both name, with no value in common. */
function exclusive(a: StepDefinition, b: StepDefinition): boolean {
  return Object.entries(a.when ?? {}).some(([name, wanted]) => {
    const other = b.when?.[name];
    if (other === undefined) return false;
    const theirs = conditionValues(other);
    return !conditionValues(wanted).some((v) => theirs.includes(v));
  });
}

/** Lookups of step outputs must name an earlier step and an output its kind declares. */
function referenceIssues(value: Json, where: string, earlier: ReadonlyMap<string, StepKind<unknown> | undefined>): string[] {
  const issues: string[] = [];
  for (const ref of outputReferences(value, where)) {
    if (!earlier.has(ref.step)) {
      issues.push(`${ref.where}: "steps.${ref.step}" is not an earlier step of this runbook; a step can use the outputs of the steps before it`);
      continue;
    }
    const kind = earlier.get(ref.step);
    if (!kind) continue; // its unknown kind is reported on its own
    const declared = kind.outputs ? Object.keys(kind.outputs._zod.def.shape) : [];
    const name = ref.path[0];
    if (name === undefined || !declared.includes(name)) {
      const known = declared.length > 0 ? `it declares: ${declared.join(', ')}` : 'it declares no outputs';
      issues.push(`${ref.where}: step ${ref.step} (${kind.kind}) has no output "${ref.path.join('.') || '(none named)'}"; ${known}`);
    }
  }
  return issues;
}

/**
 * Resolves every step's `with:` from a run's parameters and checks it against its kind, before the
 * run touches the target. Lookups of step outputs are checked when their step starts.
 *
 * @example
 * ```ts
 * const { params } = resolveParameters(definition, { allowRestart: 'false' });
 * checkStepParameters(definition, params, kinds); // throws a ValidationError naming each step whose `with:` does not fit
 * ```
 */
export function checkStepParameters(document: RunbookDefinition, params: Record<string, Json>, kinds: StepKindRegistry): void {
  const issues: string[] = [];
  const definition = selectSteps(document, params);
  // A kind's message may quote the value it refuses: a secret parameter's value is masked there.
  const secrets = Object.fromEntries(Object.entries(document.parameters ?? {}).filter(([name, spec]) => spec.secret && params[name] !== undefined).map(([name]) => [name, params[name]]));
  const masker = createMasker(secrets);
  definition.steps.forEach((step, i) => {
    const checked = checkStepParams(kinds.get(step.uses), step, i, { params, steps: 'deferred' });
    if (!checked.ok) issues.push(...checked.issues.map((issue) => masker.text(issue)));
  });
  if (issues.length > 0) {
    throw new ValidationError(`the parameters do not fit runbook ${definition.name}`, issues, {
      hint: 'fix the --param values named above (`runbook list` shows each parameter); nothing was run and the target was not contacted',
    });
  }
}

function placeholderFor(type: 'string' | 'number' | 'boolean'): Json {
  return type === 'string' ? '' : type === 'number' ? 0 : false;
}

/** The most a runbook file may hold: a runbook is a few kilobytes; more is some other file (or a device). */
export const MAX_RUNBOOK_BYTES = 1024 * 1024;

/**
 * Reads a runbook file's text, with an error naming the file, what is wrong and what to do: a folder,
 * a pipe, a device or a file over {@link MAX_RUNBOOK_BYTES} is refused before it is read.
 */
export async function readRunbookText(file: string): Promise<string> {
  const read = await readInputFile(file, { maxBytes: MAX_RUNBOOK_BYTES, what: 'runbook' });
  if ('problem' in read) throw new ValidationError(`cannot read runbook file: ${read.problem}`, [], { where: file, hint: read.hint, cause: read.cause });
  return read.text;
}

/**
 * Parses a runbook document, JSON or YAML by the file's name, without validating it. The YAML parser
 * is loaded only for a YAML file.
 */
export async function parseRunbookText(text: string, file: string): Promise<unknown> {
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(text);
    } catch {
      // Where it breaks, as line and column (V8 names an offset, and quotes the text around it).
      throw new ValidationError(`the runbook is not valid JSON: it breaks at ${jsonFaultWhere(text) ?? 'its end'}`, [], {
        where: file,
        hint: 'correct the file where the JSON breaks (a missing comma, bracket or quote is the usual cause); nothing was run',
      });
    }
  }
  const { parseDocument, yamlErrorText } = await import('./yaml.js');
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    // Each text once: a nesting too deep may be reported at several depths.
    const issues = [...new Set(doc.errors.map((e) => yamlErrorText(e, 'a runbook')))];
    throw new ValidationError('the runbook is not valid YAML', issues, { where: file, hint: 'correct the file where it says; nothing was run' });
  }
  try {
    return doc.toJS();
  } catch (cause) {
    // Aliases are resolved here: too many of them (a document that expands to billions of nodes) is refused.
    throw new ValidationError('the runbook is not valid YAML', [yamlErrorText(cause as Error, 'a runbook')], { where: file, cause });
  }
}

/**
 * Reads and validates a YAML or JSON runbook file.
 *
 * @example
 * ```ts
 * const loaded = await loadRunbookFile('runbooks/my-runbook.yaml', bundledStepKinds());
 * console.log(loaded.source, loaded.fingerprint);
 * ```
 */
export async function loadRunbookFile(file: string, kinds: StepKindRegistry): Promise<LoadedRunbook> {
  const data = await parseRunbookText(await readRunbookText(file), file);
  const loaded = validateRunbook(data, kinds, file);
  return { ...loaded, source: file };
}

/**
 * Checks given parameters against a runbook's declarations and fills in defaults. Values given as
 * strings (from a command line) are converted to the declared type. Secret parameters are read from
 * their environment variable.
 *
 * @example
 * ```ts
 * const { params, secrets } = resolveParameters(definition, { allowRestart: 'true' });
 * console.log(params.allowRestart, secrets); // true (a boolean now), and the names of the secret parameters
 * ```
 */
export function resolveParameters(
  definition: RunbookDefinition,
  given: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  /** `shortSecrets`: take a secret shorter than {@link MIN_INSIDE} (a run that started with one goes on with it). */
  options: { shortSecrets?: boolean } = {},
): { params: Record<string, Json>; secrets: string[] } {
  const specs = definition.parameters ?? {};
  const issues: string[] = [];
  const params: Record<string, Json> = {};
  const secrets: string[] = [];
  for (const name of Object.keys(given)) {
    // Own keys only: `constructor`, `toString` or `__proto__` is in every object, and no parameter.
    if (!Object.hasOwn(specs, name)) issues.push(`${name}: unknown parameter; this runbook takes: ${Object.keys(specs).join(', ') || 'none'}`);
    else if (specs[name].secret) issues.push(`${name}: secret parameters are read from $${specs[name].env}, never from arguments`);
  }
  for (const [name, spec] of Object.entries(specs)) {
    let value: unknown = spec.secret ? env[spec.env!] : given[name];
    if (spec.secret) {
      secrets.push(name);
      // Child processes (the local agent's PowerShell and what it starts) are not given it.
      markSecretEnv(spec.env!);
    }
    if (value === undefined) {
      if (spec.default === undefined) {
        issues.push(`${name}: required${spec.secret ? ` (set $${spec.env})` : ''}${spec.description ? ` — ${spec.description}` : ''}`);
        continue;
      }
      value = spec.default;
    }
    if (typeof value === 'string' && spec.type !== 'string') {
      if (spec.type === 'boolean' && /^(true|false)$/i.test(value)) value = value.toLowerCase() === 'true';
      else if (spec.type === 'number' && value.trim() !== '' && Number.isFinite(Number(value))) value = Number(value);
    }
    // A secret's value is never shown: the issue names the field and what it takes.
    const shown = spec.secret ? `the value of $${spec.env} (not shown: it is secret)` : JSON.stringify(value);
    if (typeof value !== spec.type) {
      issues.push(`${name}: expected a ${spec.type}, got ${spec.secret ? `a ${typeof value}: ${shown}` : shown}`);
      continue;
    }
    if (spec.enum && !spec.enum.includes(value as string | number)) {
      issues.push(`${name}: ${shown} is not one of ${spec.secret ? 'the values the runbook allows' : spec.enum.map((e) => JSON.stringify(e)).join(', ')}`);
      continue;
    }
    if (spec.secret && !options.shortSecrets && (value as string).length < MIN_INSIDE) {
      // Masked only as a whole word, a value that short would turn journaled data (`TLS 1.0`, a registry
      // path its undo needs) into `TLS ***.0`: neither kept out of the journal nor the journal kept exact.
      issues.push(`${name}: the value of $${spec.env} is shorter than ${MIN_INSIDE} characters (not shown: it is secret); a secret that short cannot be masked without changing ordinary text in the journal — use a longer one`);
      continue;
    }
    params[name] = value as Json;
  }
  if (issues.length > 0) {
    throw new ValidationError(`invalid parameters for runbook ${definition.name}`, issues, {
      hint: 'pass parameters as --param name=value; `runbook list` shows each runbook\'s parameters',
    });
  }
  return { params, secrets };
}
