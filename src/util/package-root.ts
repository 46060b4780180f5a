/**
 * The package's root folder, found from a module whether it runs from `src/` or from `dist/`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'runbooks'))) {
      cached = dir;
      return dir;
    }
    dir = dirname(dir);
  }
  throw new Error('cannot find the runbook-engine package folder');
}
