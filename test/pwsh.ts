/**
 * Where the tests find PowerShell: $RUNBOOK_PWSH, the copy `.ci/install-pwsh` puts in .tools/pwsh, or PATH.
 * Without it, the agent's tests fail in CI and are skipped (with a notice) elsewhere.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

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

/**
 * No call counting in the .NET runtime of the PowerShells the tests start: their methods keep the code
 * they were first given (ReadyToRun, or a quick first compile) instead of being compiled again,
 * optimised, on a background thread once called 30 times ("tiering up"). A PowerShell that lives on
 * after some work (an agent kept for the next call, a remoting host, a session) otherwise spends 1.5 to
 * 3.5 s of CPU on that second compile in the seconds that follow — more than its start — and a test
 * process rarely runs long enough to gain from it. It is a setting of the runtime's compiler, not of
 * PowerShell: the same programs give the same answers. Set in this process's environment, which the
 * executors, the simulated WinRM listener and the CLI pass on to what they start; test/sshd.ts passes
 * it to its sessions. `DOTNET_TC_CallCounting=1` in the environment keeps the runtime's default.
 */
process.env.DOTNET_TC_CallCounting ??= '0';

/** True when the PowerShell tests should run; throws in CI when PowerShell is missing. */
export function needPwsh(file: string): boolean {
  if (PWSH) return true;
  if (process.env.CI) throw new Error(`PowerShell is required in CI for ${file}: bash .ci/install-pwsh installs it in .tools/pwsh`);
  console.log(`  (skipped ${file}: no PowerShell found; install it as CI does with: bash .ci/install-pwsh)`);
  return false;
}

/** What one run of {@link PwshScripts} gave: as a `pwsh -File` run of the script would have. */
export interface PwshRun {
  /** 0, or 1 when the script ended with an error it did not catch (as `pwsh -File` exits). */
  code: number;
  stdout: string;
  stderr: string;
}

/** The line that ends one run's output (on both streams); no script of the tests writes it. */
const RUN_END = 'RBE-PWSH-RUN-END';

/**
 * The loop of {@link PwshScripts}' PowerShell: one request a line, `{ file, env, input }`. During a run
 * the script's standard input ([Console]::In) is its own input, and its variables are set; after it,
 * both are put back as they were.
 */
const SCRIPTS_LOOP = [
  '$requests = [Console]::In',
  'while ($true) {',
  '    $line = $requests.ReadLine()',
  '    if ($null -eq $line) { break }',
  '    $request = ConvertFrom-Json $line',
  '    $names = @($request.env.PSObject.Properties | ForEach-Object { $_.Name })',
  '    $before = @{}',
  '    foreach ($name in $names) { $before[$name] = [Environment]::GetEnvironmentVariable($name); [Environment]::SetEnvironmentVariable($name, [string]$request.env.$name) }',
  '    [Console]::SetIn((New-Object System.IO.StringReader ([string]$request.input)))',
  '    $code = 0',
  '    try { & $request.file } catch { $code = 1; [Console]::Error.WriteLine($_.ToString()) }',
  '    [Console]::SetIn($requests)',
  '    foreach ($name in $names) { [Environment]::SetEnvironmentVariable($name, $before[$name]) }',
  `    [Console]::Error.Write("$([char]10)${RUN_END}$([char]10)")`,
  '    [Console]::Error.Flush()',
  `    [Console]::Out.Write("$([char]10)${RUN_END} $code$([char]10)")`,
  '    [Console]::Out.Flush()',
  '}',
].join('\n');

/**
 * One PowerShell that runs test scripts one after another, each with its own environment variables
 * and standard input: for the tests that run the agent, or its functions and a driver, where what is
 * proven is the script's answer, not anything about a fresh process — each PowerShell start costs
 * about a second of CPU. Each run is `& $file`: a new script scope (its functions and `$script:`
 * variables gone with it), as a run of its own; its standard input ([Console]::In) reads `input`, then
 * ends. A script run so must not call `exit`. Started at the first run; `close()` ends it.
 */
export class PwshScripts {
  private child: ChildProcessWithoutNullStreams | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /** Runs `file` with these environment variables (over this process's) and this standard input. */
  run(file: string, env: Record<string, string> = {}, input = ''): Promise<PwshRun> {
    const result = this.queue.then(() => this.once(file, env, input));
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Runs `file` once per case, in order. */
  async cases(file: string, cases: Record<string, string>[], env: Record<string, string> = {}): Promise<PwshRun[]> {
    const runs: PwshRun[] = [];
    for (const vars of cases) runs.push(await this.run(file, { ...env, ...vars }));
    return runs;
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.end();
    await exited;
  }

  private once(file: string, env: Record<string, string>, input: string): Promise<PwshRun> {
    if (!this.child || this.child.exitCode !== null) {
      this.child = spawn(PWSH!, ['-NoProfile', '-NonInteractive', '-Command', SCRIPTS_LOOP], { stdio: 'pipe' });
      this.child.stdout.setEncoding('utf8');
      this.child.stderr.setEncoding('utf8');
    }
    const child = this.child;
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      const outEnd = new RegExp(`\\n${RUN_END} (\\d)\\n$`);
      const errEnd = `\n${RUN_END}\n`;
      const check = () => {
        const code = outEnd.exec(stdout);
        if (!code || !stderr.endsWith(errEnd)) return;
        done();
        resolve({ code: Number(code[1]), stdout: stdout.slice(0, code.index), stderr: stderr.slice(0, -errEnd.length) });
      };
      const onOut = (d: string) => ((stdout += d), check());
      const onErr = (d: string) => ((stderr += d), check());
      const onExit = (code: number | null, signal: string | null) => {
        done();
        reject(new Error(`the PowerShell running ${file} ended (${signal ?? code}): ${stderr}`));
      };
      const done = () => {
        child.stdout.off('data', onOut);
        child.stderr.off('data', onErr);
        child.off('exit', onExit);
      };
      child.stdout.on('data', onOut);
      child.stderr.on('data', onErr);
      child.on('exit', onExit);
      child.stdin.write(`${JSON.stringify({ file, env, input })}\n`);
    });
  }
}
