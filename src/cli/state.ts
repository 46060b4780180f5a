/**
 * Where a command's runs live: the state directory (`--state-dir`, `$RUNBOOK_STATE_DIR`, `./.runbook`)
 * and the store (its files, or PostgreSQL with `--store`/`$RUNBOOK_STORE`), the runner over them, and
 * the command a target's start-up task runs to resume a run there.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { checkFolder, makeFolder } from '../util/make-folder.js';
import type { Runner } from '../engine/runner.js';
import { fileStore } from '../store/file-store.js';
import type { Store } from '../store/types.js';
import { ValidationError } from '../errors.js';
import { UsageError, refuseEmptyPath } from './args.js';
import { hasPassword, urlWithoutPassword, withoutPassword } from '../util/without-password.js';

export { withoutPassword } from '../util/without-password.js';

/**
 * The state directory, made if missing (level by level: src/util/make-folder.ts); refused (exit 2) when
 * it is a file, is on a virtual file system (/proc, /sys) or cannot be written, and `--state-dir ""`
 * (an unset shell variable) is a usage error. An empty `$RUNBOOK_STATE_DIR` counts as unset.
 * With `readOnly` it is taken as it is; with `checkOnly` it is checked as for a run (a folder this
 * user can write, or one this user can make) but nothing is made: a command that asks before it starts
 * (a fleet run on a terminal) creates nothing when the operator declines.
 *
 * @example
 * ```ts
 * const dir = await stateDirOf(undefined); // $RUNBOOK_STATE_DIR, else ./.runbook, made if missing
 * const listed = await stateDirOf('/var/runbook', { readOnly: true }); // as it is: nothing made
 * const checked = await stateDirOf('/var/runbook', { checkOnly: true }); // refused if unusable; nothing made
 * ```
 */
export async function stateDirOf(option: string | undefined, o: { readOnly?: boolean; checkOnly?: boolean } = {}): Promise<string> {
  // An empty --state-dir is an unset shell variable (`--state-dir "$DIR"`), never "here": it would put
  // runs/ in the current folder. An empty $RUNBOOK_STATE_DIR is unset, as an empty $RUNBOOK_STORE is.
  refuseEmptyPath('--state-dir', option, 'give a folder, or leave --state-dir out to use $RUNBOOK_STATE_DIR or ./.runbook');
  const dir = resolve(option ?? (process.env.RUNBOOK_STATE_DIR || '.runbook'));
  const refuse = (why: string, cause?: unknown) =>
    new ValidationError(`the state directory cannot be used: ${why}`, [dir], {
      hint: `pass --state-dir <dir> (or set RUNBOOK_STATE_DIR) naming a folder this user can ${o.readOnly ? 'read' : 'write'}${o.readOnly ? '' : ', on a disk (not under /proc or /sys)'}`,
      cause,
    });
  // A command that only reads (status) creates nothing and needs no write access: a state directory
  // on a read-only mount, or one that does not exist yet (no runs), is read as it is. A file is no
  // state directory: read as one it would say "no runs", or that a run has no journal.
  if (o.readOnly) {
    for (const path of [dir, join(dir, 'runs')]) {
      let info;
      try {
        info = await stat(path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break; // no runs yet
        throw refuse(code === 'ENOTDIR' ? 'a part of its path is a file, not a folder' : (error as Error).message, error);
      }
      if (!info.isDirectory()) throw refuse(path === dir ? 'it is a file, not a folder' : `${path} is a file, not a folder`);
    }
    return dir;
  }
  // Checked (and made) level by level: a recursive mkdir never returns on /proc (make-folder.ts).
  if (o.checkOnly) {
    await checkFolder(dir, refuse);
    await checkFolder(join(dir, 'runs'), refuse, { named: true });
  } else {
    await makeFolder(dir, refuse);
    await makeFolder(join(dir, 'runs'), refuse, { named: true });
  }
  // The machines' leases and the fleets go in folders of their own, made when first needed: a file in
  // the way of one is refused now, as `runs` is, before anything is made or contacted.
  for (const sub of ['targets', 'fleets']) await checkFolder(join(dir, sub), refuse, { named: true });
  return dir;
}

/**
 * A note for a state directory that does not exist, for a command that reads it as it is (`status`,
 * `serve`): a mistyped --state-dir has no runs, as an empty one has, and says so.
 *
 * @example
 * ```ts
 * const where = await storeOf({ stateDir: '/var/runbook-typo' }, { readOnly: true });
 * missingStateDirNote(where); // ' (no such folder: check --state-dir, or $RUNBOOK_STATE_DIR)'
 * ```
 */
export function missingStateDirNote(where: Where): string {
  return where.store.kind === 'file' && !existsSync(where.store.location) ? ' (no such folder: check --state-dir, or $RUNBOOK_STATE_DIR)' : '';
}

/**
 * The refusal of a `--reports` folder that cannot be used (exit 2): which folder, why, and what to give.
 *
 * @example
 * ```ts
 * const refused = reportsFolderRefusal('/etc/passwd')('it is a file, not a folder');
 * refused.message; // 'the --reports folder cannot be used: it is a file, not a folder; nothing was written …'
 * ```
 */
export function reportsFolderRefusal(dir: string): (why: string, cause?: unknown) => ValidationError {
  return (why, cause) =>
    new ValidationError(`the --reports folder cannot be used: ${why}; nothing was written`, [resolve(dir)], {
      hint: 'give --reports a folder this user can write (made if missing), on a disk (not under /proc or /sys)',
      cause,
    });
}

/** Where a command finds its runs: this machine's state directory, and the store (files there, or PostgreSQL). */
export interface Where {
  stateDir: string;
  store: Store;
}

const openStores: Store[] = [];

/**
 * The store of a command line: `--store` (or `$RUNBOOK_STORE`) names a PostgreSQL store; otherwise the
 * file store of the state directory. A password in `--store` (in the user-info or as `?password=`) is
 * refused: a command line is seen by every user of the machine (`ps`), so it comes from `$PGPASSWORD`
 * or `$RUNBOOK_STORE`. A value that is not a `postgres://` URL is refused naming it, its password masked.
 *
 * @example
 * ```ts
 * const where = await storeOf({ stateDir: '/var/runbook' }); // the file store of /var/runbook
 * const runs = await where.store.listRuns();
 * ```
 */
export async function storeOf(values: { stateDir?: string; store?: string }, o: { readOnly?: boolean; checkOnly?: boolean } = {}): Promise<Where> {
  const stateDir = await stateDirOf(values.stateDir, o);
  const url = values.store ?? process.env.RUNBOOK_STORE;
  if (!url) return { stateDir, store: fileStore(stateDir) };
  if (!/^postgres(ql)?:\/\//.test(url)) throw notAStoreUrl(url, values.store !== undefined ? '--store' : '$RUNBOOK_STORE');
  if (values.store !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(values.store);
    } catch {
      throw new UsageError('--store is not a URL: postgres://user@host:port/db');
    }
    if (hasPassword(parsed)) throw new UsageError('--store must not carry a password, in the user-info or as ?password= (every user of this machine can read a command line): put it in $PGPASSWORD, or the whole URL in $RUNBOOK_STORE');
  }
  const { postgresStore } = await import('../store/postgres.js');
  // How long a lost connection is retried (60 s): `RUNBOOK_STORE_RECONNECT_MS` shortens it (the tests' hook).
  const reconnect = Number.parseInt(process.env.RUNBOOK_STORE_RECONNECT_MS ?? '', 10);
  const store = await postgresStore(url, { stateDir, ...(Number.isFinite(reconnect) && reconnect >= 0 ? { reconnectForMs: reconnect } : {}) });
  openStores.push(store);
  return { stateDir, store };
}

/**
 * The refusal of a store that is not a `postgres://` URL: what was given (every password in it
 * masked, also a libpq `password=` keyword's), where, and what to give instead.
 */
function notAStoreUrl(given: string, from: '--store' | '$RUNBOOK_STORE'): UsageError {
  const keywords = /^\s*[A-Za-z_]+\s*=/.test(given) ? ' (a key=value connection string is not read)' : '';
  return new UsageError(`${from} takes a postgres:// URL, got "${withoutPassword(given)}"${keywords}: give postgres://user@host:port/database, with the password in $PGPASSWORD`);
}

/**
 * Lets go of the stores this command opened (their connections would keep the process alive).
 *
 * @example
 * ```ts
 * await closeStores();
 * ```
 */
export async function closeStores(): Promise<void> {
  await Promise.all(openStores.splice(0).map((s) => s.close().catch(() => undefined)));
}

/**
 * A runner with the bundled step kinds; the engine is loaded here, by the commands that drive runs.
 *
 * @example
 * ```ts
 * declare const where: Where;
 * const runner = await runnerFor(where, 0); // no retries of a failure that may pass
 * ```
 */
export async function runnerFor(where: Where, retries?: number): Promise<Runner<Store>> {
  const [{ Runner: RunnerClass }, { bundledStepKinds }] = await Promise.all([import('../engine/runner.js'), import('../steps/index.js')]);
  return new RunnerClass({ stateDir: where.stateDir, store: where.store, kinds: bundledStepKinds(), resumeCommand: (id, dir) => resumeCommandFor(id, dir, where.store), retries });
}

/**
 * The command a start-up task on the target runs after a reboot: absolute paths to node and to this
 * CLI, because the task runs as SYSTEM, whose PATH is not the user's; the state directory; and the
 * store the run lives in — SYSTEM's environment has no `$RUNBOOK_STORE`, so a run in PostgreSQL is
 * named with `--store`, its URL without the password, neither the user-info's nor a `password` query
 * parameter (a task's command line is readable by every administrator; SYSTEM reads the password from
 * its own pgpass file, see docs/executors.md).
 *
 * @example
 * ```ts
 * resumeCommandFor('r1', 'C:\\runbook\\');
 * // [node.exe, …\\cli\\main.js, 'resume', 'r1', '--state-dir', 'C:\\runbook\\']
 * ```
 */
export function resumeCommandFor(runId: string, stateDir: string, store?: Store): string[] {
  const command = [process.execPath, resolve(process.argv[1] ?? 'runbook'), 'resume', runId, '--state-dir', stateDir];
  const url = store?.kind === 'postgres' ? (store as Store & { url?: string }).url : undefined;
  if (url) command.push('--store', urlWithoutPassword(url));
  return command;
}
