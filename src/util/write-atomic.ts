/**
 * Writes a file so that a reader sees either the old or the new content, never a part: a temporary
 * file beside it, fsync, rename.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from './process-alive.js';

/**
 * Drawn once where this module loads (each worker thread loads its own): with the process id, it keeps a
 * temporary name from any other process's or thread's.
 */
const processTag = `${process.pid}-${randomBytes(4).toString('hex')}`;
/** Numbers the temporary files of this module's writes: no two of them share one, even at the same moment. */
let written = 0;

/**
 * The temporary file a write goes to first: beside the file, named by this process and numbered (a
 * random draw per write cost more than the rest of a small write's work on the event loop).
 */
function tempFor(file: string): string {
  written += 1;
  return `${file}.${processTag}-${written}.tmp`;
}

/**
 * A failed write's error names the file that was to be written (not its temporary file): a write that
 * fails as a full disk does gives no path of its own (`ENOSPC: no space left on device, write`).
 */
export function naming(error: unknown, file: string, tmp?: string): unknown {
  if (error && typeof error === 'object' && typeof (error as NodeJS.ErrnoException).code === 'string') {
    try {
      (error as NodeJS.ErrnoException).path = file;
      // A write's error, whichever call failed (the temporary file's `open` refused: EACCES, EROFS):
      // told as a file that could not be written (errors.ts, fileWriteFailure), and its message names
      // the file, not `h.json.<pid>-<n>.tmp`, which the operator never asked for.
      Object.defineProperty(error, 'writing', { value: true, enumerable: false });
      if (tmp) (error as Error).message = (error as Error).message.split(tmp).join(file);
    } catch {
      // a frozen error keeps its own
    }
  }
  return error;
}

/**
 * Test hook: the writes of files whose path ends with one of `suffixes` fail as a full (or failing)
 * disk's do — with `code`, and no path of their own. Set in the process ({@link injectWriteFault}) or
 * with `RUNBOOK_WRITE_FAULT=<suffix>[,<suffix>…]:<CODE>` in the environment (e.g. `report.json:ENOSPC`).
 */
export interface WriteFault {
  suffixes: string[];
  code: string;
}

let writeFault: WriteFault | null | undefined;

/** Sets (or, with null, clears) the write fault of this process. */
export function injectWriteFault(next: WriteFault | null): void {
  writeFault = next;
}

function faultFor(file: string): void {
  if (writeFault === undefined) {
    const m = /^(.+):([A-Z]+)$/.exec(process.env.RUNBOOK_WRITE_FAULT ?? '');
    writeFault = m ? { suffixes: m[1].split(','), code: m[2] } : null;
  }
  if (writeFault && writeFault.suffixes.some((suffix) => file.endsWith(suffix))) throw Object.assign(new Error(`${writeFault.code}: injected fault, write`), { code: writeFault.code, syscall: 'write' });
}

/** A failed write leaves no temporary file behind (on a full disk it would hold the space a retry needs). */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const tmp = tempFor(file);
  try {
    const handle = await open(tmp, 'w');
    try {
      faultFor(file);
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw naming(error, file, tmp);
  }
}

/**
 * As {@link writeFileAtomicUnsynced} (no fsync), but in the thread pool: creating the temporary file and
 * renaming it over the old one (on ext4 the rename allocates the new file's blocks, auto_da_alloc) are
 * waits on a busy disk that the event loop should not take.
 */
export async function writeFileAtomicUnsyncedAsync(file: string, content: string): Promise<void> {
  const tmp = tempFor(file);
  try {
    faultFor(file);
    await writeFile(tmp, content);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw naming(error, file, tmp);
  }
}

/**
 * The same, synchronous and without fsync: a reader still sees the old content or the new, and a killed
 * process leaves the new one in the page cache; only a power loss can lose it.
 */
export function writeFileAtomicUnsynced(file: string, content: string): void {
  const tmp = tempFor(file);
  try {
    faultFor(file);
    writeFileSync(tmp, content);
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw naming(error, file, tmp);
  }
}

/**
 * How old a temporary file must be before its process's absence makes it stale: a write is open for
 * milliseconds, and a folder seen by another machine or container (whose process ids are not this
 * one's) may hold one of its writes in flight under an id that runs nowhere here.
 */
export const STALE_TEMPORARY_FILE_MS = 60_000;

/**
 * Removes the temporary files this module's writes left in `dir` (`<file>.<pid>-<tag>-<n>.tmp`) when the
 * process that made them no longer runs: a write stopped between its open and its rename (a second
 * SIGINT's immediate exit, a kill, a crash) leaves one, and no later write of the same file ever removes
 * it. A file of this process (any of its threads), of a process still running, or younger than
 * {@link STALE_TEMPORARY_FILE_MS} is left alone: it may be a write in flight. Returns the names removed.
 *
 * @example
 * ```ts
 * await removeStaleTemporaryFiles('.runbook/fleets/20261206-101500-fleet-a1b2c3'); // ['report.json.4242-9f3c1a2b-3.tmp']
 * ```
 */
export async function removeStaleTemporaryFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = /\.(\d+)-[0-9a-f]{8}-\d+\.tmp$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    const age = await stat(join(dir, name)).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age < STALE_TEMPORARY_FILE_MS) continue;
    await rm(join(dir, name), { force: true }).then(
      () => removed.push(name),
      () => undefined,
    );
  }
  return removed;
}
