/**
 * Turns a `--target` into an executor. Each transport is imported only when a target needs it, so
 * that commands which reach no target (status, list) and simulated hosts load no SSH or process
 * library.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ExecutorError, ValidationError } from '../errors.js';
import type { Executor } from '../executors/types.js';
import { targetPasswordProblem } from '../util/target-password.js';
import { withoutPassword } from '../util/without-password.js';

export const TARGET_FORMS = [
  'sim:<file>                a simulated Windows host stored in a JSON file (runbook sim create)',
  'local                     this machine, through the local PowerShell',
  'ssh://user@host[:port]    a Windows host running OpenSSH server',
  'winrm://[user@]host[:port]        WinRM over HTTP (5985), every message sealed by NTLM (on Windows: PowerShell remoting)',
  'winrm+https://[user@]host[:port]  WinRM over HTTPS (5986), the certificate checked (RUNBOOK_WINRM_CA_FILE or RUNBOOK_WINRM_FINGERPRINT)',
  'pwsh+ssh://user@host[:port]  PowerShell remoting over SSH',
];

/**
 * Checks a target's form without contacting it: throws the error `connect` would for a target it
 * cannot understand (`ftp://x`), or a simulated host whose file it cannot use (missing, not JSON, not a
 * simulated host), so that a fleet refuses a bad inventory before any host is contacted.
 *
 * @example
 * ```ts
 * await checkTarget('ssh://admin@web01'); // fine
 * await checkTarget('ftp://x'); // ValidationError: target "ftp://x" is not understood
 * ```
 */
export async function checkTarget(target: string): Promise<void> {
  refuseTargetPassword(target);
  const refuse = (error?: unknown) => notUnderstood(target, error);
  if (target.startsWith('sim:')) return checkSimulatedHost(target);
  try {
    if (target === 'local') return;
    if (target.startsWith('ssh://')) return void (await import('../executors/ssh.js')).parseSshTarget(target);
    if (target.startsWith('winrm+https://') || (target.startsWith('winrm://') && process.platform !== 'win32')) return void (await import('../executors/winrm.js')).parseWinrmTarget(target);
    if (target.startsWith('winrm://') || target.startsWith('pwsh+ssh://')) return void (await import('../executors/powershell-remoting.js')).parseRemotingTarget(target);
  } catch (error) {
    throw refuse(error);
  }
  throw refuse();
}

/**
 * Refuses a target that carries a password (`winrm://admin:pw@host`, `ssh://u:pw@h`), exit 2, before
 * anything is made or contacted: the message shows it with the password as `***` and says where the
 * password goes instead. Every command that takes a target calls it first.
 *
 * @example
 * ```ts
 * refuseTargetPassword('winrm://admin@orch01'); // fine
 * refuseTargetPassword('winrm://admin:pw@orch01'); // ValidationError: target "winrm://admin:***@orch01" carries a password …
 * ```
 */
export function refuseTargetPassword(target: string | undefined): void {
  const problem = target === undefined ? null : targetPasswordProblem(target);
  if (problem) throw new ValidationError(problem.message, [], { hint: problem.hint });
}

/** A target that is not understood, shown without any password, with the forms accepted. */
function notUnderstood(target: string, error?: unknown): ValidationError {
  return new ValidationError(`target "${withoutPassword(target)}" is not understood`, [...(error ? [(error as Error).message] : []), ...TARGET_FORMS.map((f) => `accepted: ${f}`)]);
}

/** What to do about a simulated host file that is not there. */
const CREATE_SIM_HOST = 'create it with `runbook sim create --preset server-2016 --out <file>`, or name the file of an existing simulated host';

/**
 * A simulated host's file is this machine's own input, checked here as any other before a target is
 * contacted: it must be a file this user can read. A missing one is a usage error (exit 2), not a
 * host that does not answer — a fleet refuses it before any of its hosts is driven.
 *
 * @example
 * ```ts
 * await checkSimulatedHostFile('sim:web01.json'); // ValidationError when web01.json is not there
 * ```
 */
export async function checkSimulatedHostFile(target: string): Promise<void> {
  const found = fileProblem(target) ?? readProblem(target);
  if (found) throw new ValidationError(found.message, found.issues, { hint: `nothing was changed. ${found.fix}` });
}

/** Why a simulated host cannot be used, in the words `connect` uses for it; `kind` says whether its file is missing or its document wrong. */
export interface SimulatedHostProblem {
  kind: 'file' | 'document';
  /** What failed, naming the target or its file. */
  message: string;
  /** The fields at fault, or where the file's path fails. */
  issues: string[];
  /** What to do about it. */
  fix: string;
}

/** Whether this user may read the target's file (for `connect`, which reads it next anyway). */
function readProblem(target: string): SimulatedHostProblem | undefined {
  const file = resolve(target.slice(4));
  try {
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (error) {
    return { kind: 'file', message: `cannot read the simulated host file ${file}`, issues: [`${target}: ${unreadable(error)}`], fix: CREATE_SIM_HOST };
  }
}

/** Why a file cannot be read, in a few words, from the error's code. */
function unreadable(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'ENOTDIR') return 'a part of its path is a file, not a folder';
  if (code === 'EISDIR') return 'it is not a file (a folder?)';
  if (code === 'EACCES' || code === 'EPERM') return 'this user may not read it';
  return (error as Error).message;
}

/**
 * Whether the target's file is a regular file, synchronously: a fleet asks for thousands, and an
 * asynchronous stat costs a thread-pool hop each (a FIFO or a device is refused here, never read).
 */
function fileProblem(target: string): SimulatedHostProblem | undefined {
  const file = resolve(target.slice(4));
  let problem: string;
  try {
    const s = statSync(file, { throwIfNoEntry: true });
    if (s.isFile()) return undefined;
    problem = 'it is not a file (a folder?)';
  } catch (error) {
    problem = unreadable(error);
  }
  return { kind: 'file', message: `cannot read the simulated host file ${file}`, issues: [`${target}: ${problem}`], fix: CREATE_SIM_HOST };
}

/** The simulator, loaded once with the first simulated host checked (a fleet checks thousands). */
let simulator: Promise<typeof import('../simulator/executor.js')> | undefined;

/**
 * Why a simulated host target cannot be used, before it is driven: its file missing or unreadable
 * ({@link checkSimulatedHostFile}), or its document not one the simulator takes — checked by the
 * simulator's own check (not JSON, not a simulated host, a field it would misread). Nothing of the
 * document is kept: a fleet checks thousands of them.
 *
 * @example
 * ```ts
 * const problem = await simulatedHostProblem('sim:web01.json');
 * if (problem) console.error(problem.message, problem.issues);
 * ```
 */
export async function simulatedHostProblem(target: string): Promise<SimulatedHostProblem | undefined> {
  const missing = fileProblem(target);
  if (missing) return missing;
  const file = resolve(target.slice(4));
  const { checkHostFile } = await (simulator ??= import('../simulator/executor.js'));
  let found;
  try {
    found = checkHostFile(file);
  } catch (error) {
    // A file this user may not read (the read says so: no access() first, which would cost a hop).
    const problem = unreadable((error as Error).cause ?? error);
    return { kind: 'file', message: `cannot read the simulated host file ${file}`, issues: [`${target}: ${problem}`], fix: CREATE_SIM_HOST };
  }
  if (!found) return undefined;
  return { kind: 'document', message: `cannot use the simulated host ${target}: ${found.problem} (${file})`, issues: found.issues, fix: found.hint };
}

/**
 * Refuses (exit 2, nothing changed) a simulated host target that cannot be used: its file missing or
 * unreadable, or its document not a simulated host ({@link simulatedHostProblem}).
 *
 * @example
 * ```ts
 * await checkSimulatedHost('sim:web01.json'); // ValidationError when web01.json is missing, not JSON or no simulated host
 * ```
 */
export async function checkSimulatedHost(target: string): Promise<void> {
  const found = await simulatedHostProblem(target);
  if (found) throw new ValidationError(found.message, found.issues, { hint: `nothing was changed. ${found.fix}` });
}

/**
 * `--on-target` changes only a simulated host (its restart then ends the run's process, as the engine
 * running on the server would see); a real target's executor knows where the engine runs (`local` is on
 * the target, the remote transports are not), so elsewhere the option is refused rather than ignored.
 */
export const ON_TARGET_SIM_ONLY = '--on-target applies to sim: targets only (a rehearsal of the engine running on the host itself)';

/**
 * A simulated host that a run, resume or rollback will change must be writable — the file, and its
 * folder (each write goes to a temporary file beside it, then replaces it): refused before the first
 * write (exit 2, nothing changed), not met mid-run as a raw EACCES on a temporary file.
 *
 * @example
 * ```ts
 * checkSimulatedHostWritable('sim:web01.json'); // ValidationError when web01.json or its folder is read-only
 * ```
 */
export function checkSimulatedHostWritable(target: string): void {
  const file = resolve(target.slice(4));
  for (const path of [file, dirname(file)]) {
    try {
      accessSync(path, constants.W_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      const what = path === file ? 'it' : `its folder ${path} (where its new version is written first)`;
      throw new ValidationError(`cannot write the simulated host file ${file}: ${what} is not writable (${code}${code in DISK_WORDS ? `: ${DISK_WORDS[code]}` : ''})`, [`${target}: a run changes the host by writing its file`], {
        hint: `nothing was changed. Make ${path === file ? 'the file' : 'its folder'} writable by this user (a read-only copy can still be planned: \`runbook plan\`), or use a copy of it where you can write`,
        cause: error,
      });
    }
  }
}

/** A refused access in a few words. */
const DISK_WORDS: Record<string, string> = { EACCES: 'this user may not write it', EPERM: 'this user may not write it', EROFS: 'a read-only file system' };

/**
 * Connects to a target given on the command line (or recorded in a run's journal). A simulated host's
 * file that cannot be used (missing, not JSON, not a simulated host) is input, refused as a target
 * that is not understood is (exit 2); any other error of a transport is its own (exit 69). `platform`
 * (this machine's, by default) decides which executor `winrm://` gets: PowerShell remoting on Windows,
 * the TypeScript WinRM client elsewhere. `writes` (a run, resume or rollback, not a plan): a simulated
 * host's file and folder must be writable ({@link checkSimulatedHostWritable}).
 */
export async function connect(target: string, options: { onTarget?: boolean; platform?: NodeJS.Platform; writes?: boolean } = {}): Promise<Executor> {
  const platform = options.platform ?? process.platform;
  refuseTargetPassword(target);
  if (target.startsWith('sim:')) {
    await checkSimulatedHostFile(target);
    if (options.writes) checkSimulatedHostWritable(target);
    const { createSimulatedExecutor } = await import('../simulator/executor.js');
    try {
      return await createSimulatedExecutor(resolve(target.slice(4)), { requireServedDefaults: true, ...(options.onTarget ? { onTarget: true } : {}) });
    } catch (error) {
      if (!(error instanceof ExecutorError) || error.transient) throw error;
      const [cause, ...advice] = error.message.split('\n  → ');
      throw new ValidationError(`cannot use the simulated host ${target}: ${cause}`, [], { hint: `nothing was changed. ${advice.join('; ') || CREATE_SIM_HOST}`, cause: error });
    }
  }
  if (target === 'local') return (await import('../executors/local.js')).createLocalExecutor();
  if (target.startsWith('ssh://')) {
    const { createSshExecutor, parseSshTarget } = await import('../executors/ssh.js');
    let parsed;
    try {
      parsed = parseSshTarget(target);
    } catch (error) {
      throw notUnderstood(target, error);
    }
    // Credentials and host-key trust come from the environment (RUNBOOK_SSH_KEY, RUNBOOK_SSH_KNOWN_HOSTS, …).
    return createSshExecutor({ ...parsed, shell: process.env.RUNBOOK_SSH_SHELL });
  }
  // WinRM from TypeScript everywhere but on a Windows controller, where `winrm://` keeps PowerShell
  // remoting (Kerberos in a domain); `winrm+https://` is always this executor.
  if (target.startsWith('winrm+https://') || (target.startsWith('winrm://') && platform !== 'win32')) {
    const { createWinrmExecutor, parseWinrmTarget } = await import('../executors/winrm.js');
    let parsed;
    try {
      parsed = parseWinrmTarget(target);
    } catch (error) {
      throw notUnderstood(target, error);
    }
    // Credentials and certificate trust come from the environment (RUNBOOK_WINRM_USER, RUNBOOK_WINRM_PASSWORD, …).
    return createWinrmExecutor(parsed);
  }
  if (target.startsWith('winrm://') || target.startsWith('pwsh+ssh://')) {
    const { createRemotingExecutor, parseRemotingTarget } = await import('../executors/powershell-remoting.js');
    let parsed;
    try {
      parsed = parseRemotingTarget(target);
    } catch (error) {
      throw notUnderstood(target, error);
    }
    // A setting refused when the executor is made (RUNBOOK_SSH_FINGERPRINT in no form ssh-keygen prints) says so itself.
    return createRemotingExecutor(parsed);
  }
  throw notUnderstood(target);
}
