/**
 * Writes a file so that a reader sees either the old or the new content, never a part: a temporary
 * file beside it, fsync, rename.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename, rm, writeFile } from 'node:fs/promises';

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

/** A failed write leaves no temporary file behind (on a full disk it would hold the space a retry needs). */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = tempFor(file);
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw error;
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
    await writeFile(tmp, content);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw error;
  }
}

/**
 * The same, synchronous and without fsync: a reader still sees the old content or the new, and a killed
 * process leaves the new one in the page cache; only a power loss can lose it.
 */
export function writeFileAtomicUnsynced(file: string, content: string): void {
  const tmp = tempFor(file);
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}
