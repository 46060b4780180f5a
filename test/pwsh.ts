/**
 * Where the tests find PowerShell: $RUNBOOK_PWSH, the copy `.ci/run` installs in .tools/pwsh, or PATH.
 * Without it, the agent's tests fail in CI and are skipped (with a notice) elsewhere.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

function probe(candidate: string): boolean {
  try {
    execFileSync(candidate, ['-NoProfile', '-NonInteractive', '-Command', '$PSVersionTable.PSVersion.Major'], { stdio: 'pipe', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

export function findPwsh(): string | null {
  const candidates = [process.env.RUNBOOK_PWSH, join(import.meta.dirname, '..', '.tools', 'pwsh', 'pwsh'), 'pwsh'].filter(Boolean) as string[];
  for (const c of candidates) if ((c === 'pwsh' || existsSync(c)) && probe(c)) return c;
  return null;
}

export const PWSH = findPwsh();

/** True when the PowerShell tests should run; throws in CI when PowerShell is missing. */
export function needPwsh(file: string): boolean {
  if (PWSH) return true;
  if (process.env.CI) throw new Error(`PowerShell is required in CI for ${file}: .ci/run installs it in .tools/pwsh`);
  console.log(`  (skipped ${file}: no PowerShell found; install it with: dotnet tool install --tool-path .tools/pwsh PowerShell)`);
  return false;
}
