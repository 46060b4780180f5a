/**
 * Runbooks shipped in the package's `runbooks/` folder, by name.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ValidationError } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import type { StepKindRegistry } from './kinds.js';
import { loadRunbookFile } from './loader.js';
import type { LoadedRunbook } from './runbook.js';

/** The package's `runbooks/` folder. */
export function bundledRunbooksDir(): string {
  return join(packageRoot(), 'runbooks');
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
      const loaded = await loadRunbookFile(file, kinds);
      return { ...loaded, source: nameOrPath };
    }
  }
  throw new Error(`bundled runbook ${nameOrPath} vanished`);
}
