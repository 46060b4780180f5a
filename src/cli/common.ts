/**
 * What every command of `runbook` shares: argument parsing with per-command help, the runner, following
 * a run (with SIGINT/SIGTERM handled at safe points), and turning errors into messages and exit codes.
 * Only the CLI turns errors into exit codes; the library never exits.
 */
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Run, Runner } from '../engine/runner.js';
import type { RunResult } from '../engine/types.js';
import { fileStore } from '../store/file-store.js';
import type { RunStore } from '../store/types.js';
import { DurabilityError, ExecutorError, StateError, StepError, ValidationError } from '../errors.js';
import { ExitCode } from './exit-codes.js';
import { attachRenderer, red, renderSummary, type OutputMode } from './render.js';

/** The command line is wrong: the command's usage follows the message. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** One command of `runbook`: its usage text and what it does. */
export interface Command {
  name: string;
  /** The whole usage text, printed by `runbook <name> --help` and after a usage error. */
  usage: string;
  run(args: string[]): Promise<number>;
}

/** Thrown by {@link parse} for `--help`: the dispatcher prints the usage and exits 0. */
export class HelpRequested extends Error {}

export const COMMON_OPTIONS = `Common options
  --state-dir <dir>   where runs are journaled (default $RUNBOOK_STATE_DIR or ./.runbook)
  --store <url>       runs in PostgreSQL instead, shared by workers: postgres://user@host:port/db
                      (default $RUNBOOK_STORE; the password from $PGPASSWORD or $RUNBOOK_STORE, never argv)
  --json              one JSON event per line, then a summary object (errors too, as one object)
  -h, --help          this text`;

const common = {
  'state-dir': { type: 'string' },
  store: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

type Parsed<O extends ParseArgsConfig['options']> = ReturnType<typeof parseArgs<{ args: string[]; options: typeof common & O; allowPositionals: true; strict: true }>>;

export function parse<O extends ParseArgsConfig['options']>(args: string[], options: O): Parsed<O> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...common, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    if (args.includes('--help') || args.includes('-h')) throw new HelpRequested();
    throw new UsageError((error as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) throw new HelpRequested();
  return parsed;
}

export function outputMode(json: boolean): OutputMode {
  if (json) return 'json';
  return process.stdout.isTTY ? 'tty' : 'plain';
}

export function paramsFrom(list: string[] | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param takes key=value, got "${item}"`);
    params[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return params;
}

/** The state directory, made if missing; refused (exit 2) when it is a file or cannot be written. */
export async function stateDirOf(option: string | undefined, o: { readOnly?: boolean } = {}): Promise<string> {
  const dir = resolve(option ?? process.env.RUNBOOK_STATE_DIR ?? '.runbook');
  // A command that only reads (status) creates nothing and needs no write access: a state directory
  // on a read-only mount, or one that does not exist yet (no runs), is read as it is.
  if (o.readOnly) return dir;
  const refuse = (why: string, cause?: unknown) =>
    new ValidationError(`the state directory cannot be used: ${why}`, [dir], {
      hint: 'pass --state-dir <dir> (or set RUNBOOK_STATE_DIR) naming a folder this user can write',
      cause,
    });
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) throw refuse('it is a file, not a folder');
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    try {
      await mkdir(join(dir, 'runs'), { recursive: true });
    } catch (cause) {
      throw refuse((cause as Error).message, cause);
    }
  }
  try {
    await mkdir(join(dir, 'runs'), { recursive: true });
    await access(join(dir, 'runs'), constants.W_OK);
  } catch (cause) {
    throw refuse(`it is not writable (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, cause);
  }
  return dir;
}

/** Where a command finds its runs: this machine's state directory, and the store (files there, or PostgreSQL). */
export interface Where {
  stateDir: string;
  store: RunStore;
}

const openStores: RunStore[] = [];

/**
 * The store of a command line: `--store` (or `$RUNBOOK_STORE`) names a PostgreSQL store; otherwise the
 * file store of the state directory. A password in `--store` is refused: a command line is seen by
 * every user of the machine (`ps`), so it comes from `$PGPASSWORD` or `$RUNBOOK_STORE`.
 */
export async function storeOf(values: { 'state-dir'?: string; store?: string }, o: { readOnly?: boolean } = {}): Promise<Where> {
  const stateDir = await stateDirOf(values['state-dir'], o);
  const url = values.store ?? process.env.RUNBOOK_STORE;
  if (!url) return { stateDir, store: fileStore(stateDir) };
  if (!/^postgres(ql)?:\/\//.test(url)) throw new UsageError(`--store takes a postgres:// URL, got "${withoutPassword(url)}"`);
  if (values.store !== undefined) {
    let password = '';
    try {
      password = new URL(values.store).password;
    } catch {
      throw new UsageError('--store is not a URL: postgres://user@host:port/db');
    }
    if (password) throw new UsageError('--store must not carry a password (every user of this machine can read a command line): put it in $PGPASSWORD, or the whole URL in $RUNBOOK_STORE');
  }
  const { postgresStore } = await import('../store/postgres.js');
  const store = await postgresStore(url, { stateDir });
  openStores.push(store);
  return { stateDir, store };
}

/**
 * A URL as it may be shown: whatever stands between the user name and the last `@` (a password, which
 * may itself hold `:`, `/` or `@`) becomes `***`, whether or not the URL parses.
 *
 * @example
 * ```ts
 * withoutPassword('postgre://rbe:pa/ss:w@rd@db:5432/runs'); // 'postgre://rbe:***@db:5432/runs'
 * ```
 */
export function withoutPassword(url: string): string {
  const scheme = url.indexOf('://');
  const start = scheme < 0 ? 0 : scheme + 3;
  const at = url.lastIndexOf('@');
  if (at < start) return url;
  const colon = url.indexOf(':', start);
  return colon < 0 || colon > at ? url : `${url.slice(0, colon)}:***${url.slice(at)}`;
}

/** Lets go of the stores this command opened (their connections would keep the process alive). */
export async function closeStores(): Promise<void> {
  await Promise.all(openStores.splice(0).map((s) => s.close().catch(() => undefined)));
}

/** A runner with the bundled step kinds; the engine is loaded here, by the commands that drive runs. */
export async function runnerFor(where: Where, retries?: number): Promise<Runner> {
  const [{ Runner: RunnerClass }, { bundledStepKinds }] = await Promise.all([import('../engine/runner.js'), import('../steps/index.js')]);
  return new RunnerClass({ stateDir: where.stateDir, store: where.store, kinds: bundledStepKinds(), resumeCommand: (id, dir) => resumeCommandFor(id, dir, where.store), retries });
}

/** The `--retries N` option of the commands that drive runs, and its line of usage. */
export const RETRIES_OPTION = { retries: { type: 'string' } } as const;
export const RETRIES_USAGE = `  --retries N             retries of a failure that may pass (unreachable, timeout, reset), for every
                          step (0 to 20; default: the runbook's, else 3)`;

/** `--retries`' value: a whole number from 0 to 20, or nothing. */
export function retriesFrom(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 20) throw new UsageError(`--retries takes a whole number from 0 to 20, got "${value}"`);
  return Number(value);
}

/**
 * The command a start-up task on the target runs after a reboot: absolute paths to node and to this
 * CLI, because the task runs as SYSTEM, whose PATH is not the user's; the state directory; and the
 * store the run lives in — SYSTEM's environment has no `$RUNBOOK_STORE`, so a run in PostgreSQL is
 * named with `--store`, its URL without the password (a task's command line is readable by every
 * administrator; SYSTEM reads the password from its own pgpass file, see docs/executors.md).
 *
 * @example
 * ```ts
 * resumeCommandFor('r1', 'C:\\runbook\\');
 * // [node.exe, …\\cli\\main.js, 'resume', 'r1', '--state-dir', 'C:\\runbook\\']
 * ```
 */
export function resumeCommandFor(runId: string, stateDir: string, store?: RunStore): string[] {
  const command = [process.execPath, resolve(process.argv[1] ?? 'runbook'), 'resume', runId, '--state-dir', stateDir];
  const url = store?.kind === 'postgres' ? (store as RunStore & { url?: string }).url : undefined;
  if (url) command.push('--store', urlWithoutPassword(url));
  return command;
}

/** A URL with its password left out (the user stays): a command line that SYSTEM runs with its own pgpass. */
function urlWithoutPassword(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, '@');
  }
}

/**
 * The first SIGINT or SIGTERM asks for a stop at the next safe point (`interrupt`); a second one aborts
 * at once (exit 130 or 143). Each says so on stderr. Returns what takes the handlers off again.
 *
 * @example
 * ```ts
 * const detach = stopOnSignals({ first: (s) => `${s}: stopping`, again: (s) => `${s} again: aborting`, interrupt: () => undefined });
 * detach();
 * ```
 */
export function stopOnSignals(o: { first: (signal: NodeJS.Signals) => string; again: (signal: NodeJS.Signals) => string; interrupt: () => void }): () => void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      process.stderr.write(`\n${o.first(signal)}\n`);
      o.interrupt();
      return;
    }
    process.stderr.write(`${o.again(signal)}\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/**
 * Follows a run to its end: renders its events, prints the summary, and handles signals — the first
 * SIGINT or SIGTERM stops the run at its next safe point (it ends awaiting a resume, exit 75, with a
 * report); a second one aborts at once.
 */
export async function follow(run: Run, mode: OutputMode, stateDir: string): Promise<RunResult> {
  const stop = attachRenderer(run.events, mode);
  const detach = stopOnSignals({
    first: (signal) => `${signal}: stopping at the next safe point (${signal} again aborts at once; the journal allows a resume)`,
    again: (signal) => `${signal} again: aborting now; \`runbook resume ${run.id}\` continues from the journal`,
    interrupt: () => run.interrupt(),
  });
  try {
    const result = await run.result;
    const report = join(stateDir, 'runs', result.runId, 'report.md');
    if (mode === 'json') process.stdout.write(`${JSON.stringify({ event: 'summary', ...result, report })}\n`);
    else process.stdout.write(renderSummary(result, report));
    if (result.status === 'unreachable') process.stderr.write(unreachableMessage(result));
    // An operator alert goes where alerts are read even when stdout is piped to a file.
    if (result.outcome === 'rollback-failed') process.stderr.write(`${red('ROLLBACK FAILED — an operator is needed')}: ${result.remaining?.length ?? 0} change(s) still on ${result.target}; ${result.undoFiles ? `undo them with ${result.undoFiles.reg} or ${result.undoFiles.powershell}, then restart` : `see ${report}`}\n`);
    return result;
  } finally {
    detach();
    stop();
  }
}

/** The generic checklist, for a cause that carries no advice of its own. */
const REACH_CHECKLIST = 'Check that the host is up, its address and port, the firewall, and the credentials (RUNBOOK_SSH_KEY, RUNBOOK_WINRM_USER, …); then run again.';

/** What to do for an executor's error: its own advice (`→ …`) when it has one, else the checklist. */
export function reachAdvice(message: string): { cause: string; advice: string } {
  const lines = message.split('\n');
  const own = lines.filter((l) => l.trim().startsWith('→')).map((l) => l.trim().slice(1).trim());
  const cause = lines.filter((l) => !l.trim().startsWith('→')).join('\n');
  return { cause, advice: own.length > 0 ? own.join('; ') : REACH_CHECKLIST };
}

function unreachableMessage(result: RunResult): string {
  const { cause, advice } = reachAdvice(result.error?.message ?? 'no answer');
  return `${red('error:')} cannot reach the target ${result.target}: ${cause}\n  → nothing was changed. ${advice}\n`;
}

/** An error as the user sees it: the exit code and one message, never a stack trace for expected errors. */
export function explain(error: unknown, usage: string): { code: number; message: string; kind: string } {
  if (error instanceof UsageError) return { code: ExitCode.usage, message: `${error.message}\n\n${usage}`, kind: 'usage' };
  if (error instanceof ValidationError) return { code: ExitCode.usage, message: error.message, kind: 'validation' };
  // The state directory would not take a write: a run that exists awaits its resume (75); one that
  // never got its first record changed nothing (2, as a state directory refused before the run is).
  if (error instanceof DurabilityError) return { code: error.resumable ? ExitCode.awaitingResume : ExitCode.usage, message: error.message, kind: error.code };
  if (error instanceof StateError) {
    const code = error.code === 'FENCED' ? ExitCode.awaitingResume : error.code === 'STORE_UNAVAILABLE' ? ExitCode.unavailable : ExitCode.usage;
    return { code, message: error.message, kind: error.code };
  }
  if (error instanceof ExecutorError) {
    const { cause, advice } = reachAdvice(error.message);
    return {
      code: error.transient ? ExitCode.unavailable : ExitCode.usage,
      message: `cannot reach the target: ${cause}\n  → nothing was changed. ${advice}`,
      kind: 'executor',
    };
  }
  if (error instanceof StepError) return { code: ExitCode.failed, message: error.message, kind: error.code };
  const code = (error as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && ['ENOENT', 'EACCES', 'ENOTDIR', 'EISDIR', 'EEXIST', 'EROFS', 'EPERM', 'ENOSPC', 'EDQUOT', 'EIO'].includes(code)) {
    return { code: ExitCode.usage, message: (error as Error).message, kind: code };
  }
  return { code: ExitCode.failed, message: `unexpected error: ${(error as Error)?.stack ?? String(error)}`, kind: 'unexpected' };
}
