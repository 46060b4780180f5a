/**
 * Runbooks shipped in the package's `runbooks/` folder, by name.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InternalError, ValidationError } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import type { StepKindRegistry } from './kinds.js';
import { checkKinds, loadRunbookFile, parseRunbookText, readRunbookText, validateRunbook } from './loader.js';
import type { LoadedRunbook, RunbookDefinition } from './runbook.js';

/** The package's `runbooks/` folder. */
export function bundledRunbooksDir(): string {
  return join(packageRoot(), 'runbooks');
}

/**
 * The build's checked copy of a bundled runbook (`dist/runbooks/<name>.json`, written by `tsup.config.ts`
 * with {@link compileRunbook}): the definition as the build validated it (the runbook schema and the
 * bundled step kinds), its fingerprint, and the SHA-256 of the YAML text it came from. Parsing the YAML
 * and checking the whole document cost more than the rest of loading (the YAML parser alone is some
 * 16 ms to load; the schema's first pass over the document ~10 ms); the copy is used only while its hash
 * matches the text on disk, so an edited runbook is parsed and validated again.
 */
export interface CompiledRunbook {
  sourceSha256: string;
  definition: RunbookDefinition;
  fingerprint: string;
}

/** The SHA-256 of a runbook's text, as {@link CompiledRunbook} records it. */
export function runbookTextHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Parses and validates a runbook's text into the copy a build ships; a runbook that does not validate
 * fails the build with the same error `runbook validate` prints.
 *
 * @example
 * ```ts
 * const text = 'name: one\nsteps:\n  - id: schannel\n    uses: windows/schannel\n';
 * const compiled = await compileRunbook(text, 'runbooks/one.yaml', bundledStepKinds());
 * console.log(compiled.fingerprint);
 * ```
 */
export async function compileRunbook(text: string, file: string, kinds: StepKindRegistry): Promise<CompiledRunbook> {
  const { definition, fingerprint } = validateRunbook(await parseRunbookText(text, file), kinds, file);
  return { sourceSha256: runbookTextHash(text), definition, fingerprint };
}

/** The build's copy when it was made from `text`; otherwise (none, stale, another format) undefined. */
export async function compiledRunbook(compiledFile: string, text: string): Promise<CompiledRunbook | undefined> {
  try {
    const compiled = JSON.parse(await readFile(compiledFile, 'utf8')) as Partial<CompiledRunbook>;
    const whole = typeof compiled.fingerprint === 'string' && Array.isArray(compiled.definition?.steps);
    if (whole && compiled.sourceSha256 === runbookTextHash(text)) return compiled as CompiledRunbook;
  } catch {
    // no build copy (running from the sources)
  }
  return undefined;
}

/**
 * A bundled runbook: the build's copy while it matches the text, checked against `kinds` for what the
 * build could not know (the kinds given may not be the bundled ones: each `uses` must be known; the
 * steps' parameters are checked against them when a run starts, as every run's are); else the text,
 * parsed and validated whole.
 */
async function loadBundled(name: string, file: string, kinds: StepKindRegistry): Promise<LoadedRunbook> {
  const text = await readRunbookText(file);
  const compiled = await compiledRunbook(join(packageRoot(), 'dist', 'runbooks', `${name}.json`), text);
  if (!compiled) return { ...validateRunbook(await parseRunbookText(text, file), kinds, file), source: name };
  checkKinds(compiled.definition, kinds, file, { stepParams: false });
  return { definition: compiled.definition, source: name, fingerprint: compiled.fingerprint };
}

/**
 * Names of the bundled runbooks.
 *
 * @example
 * ```ts
 * for (const name of await bundledRunbookNames()) console.log(name); // orchestrator-tls12, …
 * ```
 */
export async function bundledRunbookNames(): Promise<string[]> {
  const files = await readdir(bundledRunbooksDir());
  return files.filter((f) => /\.(ya?ml|json)$/.test(f)).map((f) => f.replace(/\.(ya?ml|json)$/, '')).sort();
}

/**
 * Loads a runbook by bundled name (`orchestrator-tls12`) or by path to a YAML/JSON file.
 *
 * @example
 * ```ts
 * const runbook = await loadRunbook('orchestrator-tls12', bundledStepKinds());
 * ```
 */
export async function loadRunbook(nameOrPath: string, kinds: StepKindRegistry): Promise<LoadedRunbook> {
  if (/[\\/]|\.(ya?ml|json)$/.test(nameOrPath)) return loadRunbookFile(resolve(nameOrPath), kinds);
  const names = await bundledRunbookNames();
  if (!names.includes(nameOrPath)) {
    throw new ValidationError(`no bundled runbook "${nameOrPath}"`, [`bundled runbooks: ${names.join(', ')}`], {
      hint: 'give a bundled name or a path to a .yaml/.json runbook',
    });
  }
  for (const ext of ['.yaml', '.yml', '.json']) {
    const file = join(bundledRunbooksDir(), `${nameOrPath}${ext}`);
    if (existsSync(file)) {
      return loadBundled(nameOrPath, file, kinds);
    }
  }
  throw new InternalError(`bundled runbook ${nameOrPath} vanished`);
}
