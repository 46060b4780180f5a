/**
 * Where the tests find PowerShell: $RUNBOOK_PWSH, the copy `.ci/install-pwsh` puts in .tools/pwsh, or PATH.
 * Without it, the agent's tests fail in CI and are skipped (with a notice) elsewhere.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Whether a candidate is an executable file (a bare name: on PATH). It is not run: every test file
 * asks, and starting PowerShell costs most of a second of CPU; a PowerShell that does not start fails
 * the first test that uses it, with its own error.
 */
function executable(candidate: string): boolean {
  const paths = candidate.includes('/') ? [candidate] : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, candidate));
  return paths.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function findPwsh(): string | null {
  const candidates = [process.env.RUNBOOK_PWSH, join(import.meta.dirname, '..', '.tools', 'pwsh', 'pwsh'), 'pwsh'].filter(Boolean) as string[];
  return candidates.find(executable) ?? null;
}

export const PWSH = findPwsh();

/** True when the PowerShell tests should run; throws in CI when PowerShell is missing. */
export function needPwsh(file: string): boolean {
  if (PWSH) return true;
  if (process.env.CI) throw new Error(`PowerShell is required in CI for ${file}: bash .ci/install-pwsh installs it in .tools/pwsh`);
  console.log(`  (skipped ${file}: no PowerShell found; install it as CI does with: bash .ci/install-pwsh)`);
  return false;
}
