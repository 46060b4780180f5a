/**
 * Runbooks shipped in the package's `runbooks/` folder, by name.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ValidationError } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import type { StepKindRegistry } from './kinds.js';
import { loadRunbookFile, parseRunbookText, readRunbookText, validateRunbook } from './loader.js';
import type { LoadedRunbook } from './runbook.js';

/** The package's `runbooks/` folder. */
export function bundledRunbooksDir(): string {
  return join(packageRoot(), 'runbooks');
}

/**
 * The build's parsed copy of a bundled runbook (`dist/runbooks/<name>.json`, written by `tsup.config.ts`):
 * the document, and the SHA-256 of the YAML text it was parsed from. Parsing the YAML costs more than
 * the rest of loading (the parser alone is some 16 ms to load); the copy is used only while its hash
 * matches the text on disk, so an edited runbook is parsed again.
 */
export interface CompiledRunbook {
  sourceSha256: string;
  document: unknown;
}

/** The SHA-256 of a runbook's text, as {@link CompiledRunbook} records it. */
export function runbookTextHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The document in a build's parsed copy when it was made from `text`; otherwise (none, stale) undefined. */
export async function compiledDocument(compiledFile: string, text: string): Promise<unknown> {
  try {
    const compiled = JSON.parse(await readFile(compiledFile, 'utf8')) as CompiledRunbook;
    if (compiled.sourceSha256 === runbookTextHash(text)) return compiled.document;
  } catch {
    // no build copy (running from the sources)
  }
  return undefined;
}

async function parsedBundled(name: string, file: string, text: string): Promise<unknown> {
  return (await compiledDocument(join(packageRoot(), 'dist', 'runbooks', `${name}.json`), text)) ?? parseRunbookText(text, file);
}

/** Names of the bundled runbooks. */
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
      const document = await parsedBundled(nameOrPath, file, await readRunbookText(file));
      return { ...validateRunbook(document, kinds, file), source: nameOrPath };
    }
  }
  throw new Error(`bundled runbook ${nameOrPath} vanished`);
}
