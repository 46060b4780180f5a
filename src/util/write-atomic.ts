/**
 * Writes a file so that a reader sees either the old or the new content, never a part: a temporary
 * file beside it, fsync, rename.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';

/** The temporary file a write goes to first: beside the file, named by this process and at random. */
function tempFor(file: string): string {
  return `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
}

export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = tempFor(file);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}

/**
 * The same, synchronous and without fsync: a reader still sees the old content or the new, and a killed
 * process leaves the new one in the page cache; only a power loss can lose it.
 */
export function writeFileAtomicUnsynced(file: string, content: string): void {
  const tmp = tempFor(file);
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}
