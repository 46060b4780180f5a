/**
 * Reading a file an operator names (a runbook, an inventory) without trusting what it is: a named
 * pipe would hold the read until something writes to it, a device (`/dev/zero`) or a huge file would
 * be read until memory runs out, and a missing or unreadable file deserves words, not `ENOENT: …`.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Why a file could not be read: what is wrong and what to do, in the operator's words. */
export type InputFileProblem = { problem: string; hint: string; cause?: unknown };

/** What a file that is not a regular one is, by its `stat`. */
function kindOf(s: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (s.isDirectory()) return 'a folder';
  if (s.isFIFO()) return 'a named pipe';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The words for an error `open` or `read` gave, by its code.
 *
 * @example
 * ```ts
 * openProblem({ code: 'ENOENT' }, 'runbook'); // { problem: 'there is no such file', hint: 'check the path …' }
 * ```
 */
export function openProblem(cause: unknown, what: string): InputFileProblem {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return { problem: 'there is no such file', hint: `check the path; a relative one starts from ${process.cwd()}`, cause };
    case 'ENOTDIR':
      return { problem: 'a part of its path is a file, not a folder', hint: 'check the path', cause };
    case 'EISDIR':
      return { problem: 'it is a folder, not a file', hint: `name the ${what} file in it`, cause };
    case 'EACCES':
    case 'EPERM':
      return { problem: 'this user may not read it (permission denied)', hint: `make the ${what} file readable for this user (ls -l shows who may read it), or run as a user who may`, cause };
    case 'ELOOP':
      return { problem: 'its path goes round in symbolic links', hint: 'check the links on its path (ls -l)', cause };
    case 'ENAMETOOLONG':
      return { problem: 'its path is too long for the file system', hint: 'give a shorter path', cause };
    default:
      return { problem: `it cannot be read (${code ?? (cause as Error)?.message ?? String(cause)})`, hint: `check the ${what} file and the disk it is on`, cause };
  }
}

/**
 * Reads an operator's file as UTF-8 text, or says why not: it must be a regular file (not a folder,
 * a pipe, a device) of at most `maxBytes`. The file is opened without blocking (a named pipe with no
 * writer would hold an ordinary open) and checked on the handle it is read from; at most `maxBytes`
 * are read, also from a file that grows or reports no size (as /proc's do). A leading byte order mark
 * (U+FEFF: what Windows PowerShell 5.1's `Out-File -Encoding utf8` writes) is dropped.
 *
 * @example
 * ```ts
 * const read = await readInputFile('inventory.yaml', { maxBytes: 16 * 1024 * 1024, what: 'inventory' });
 * if ('problem' in read) console.error(read.problem, read.hint);
 * ```
 */
export async function readInputFile(file: string, { maxBytes, what }: { maxBytes: number; what: string }): Promise<{ text: string } | InputFileProblem> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (cause) {
    return openProblem(cause, what);
  }
  try {
    const s = await handle.stat();
    if (!s.isFile()) {
      const kind = kindOf(s);
      return { problem: `it is ${kind}, not a file`, hint: kind === 'a folder' ? `name the ${what} file in it` : `give the path of the ${what} file` };
    }
    const tooBig = (): InputFileProblem => ({
      problem: `it holds ${s.size > maxBytes ? `${s.size} bytes` : 'more'}, more than ${sizeText(maxBytes)}, the cap on ${what} files`,
      hint: `check that it is the ${what} file${what === 'inventory' ? ', or split the fleet into several inventories' : ''}`,
    });
    if (s.size > maxBytes) return tooBig();
    // One byte more than allowed tells a file that is too large from one that is exactly full.
    let chunk = Buffer.alloc(Math.min(maxBytes + 1, Math.max(s.size + 1, 64 * 1024)));
    let length = 0;
    for (;;) {
      if (length === chunk.length) {
        if (chunk.length > maxBytes) break;
        const bigger = Buffer.alloc(Math.min(maxBytes + 1, chunk.length * 2));
        chunk.copy(bigger, 0, 0, length);
        chunk = bigger;
      }
      const { bytesRead } = await handle.read(chunk, length, chunk.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) return tooBig();
    const text = chunk.toString('utf8', 0, length);
    return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
  } catch (cause) {
    return openProblem(cause, what);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** A size in the largest whole unit that fits it: `1 MiB`, `16 MiB`, `512 KiB`. */
function sizeText(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
