/**
 * Writes a file so that a reader sees either the old or the new content, never a part: a temporary
 * file beside it, fsync, rename.
 */
import { randomBytes } from 'node:crypto';
import { open, rename } from 'node:fs/promises';

export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}
