/**
 * Folders the operator names (the state directory, `status --reports`, `sim fleet --out`) and the
 * folders made under them, made one level at a time. Node's `mkdir(…, { recursive: true })` never
 * returns on a virtual file system such as /proc: mkdir("/proc/x") says ENOENT, mkdir("/proc") says
 * EEXIST, and it tries the first again, forever. A non-recursive mkdir per missing level fails with
 * the real error instead, and the nearest folder that exists is checked first: a file, a file system
 * the kernel makes up from its own state (procfs, sysfs, …) or one this user cannot write is refused
 * before anything is made.
 */
import { constants } from 'node:fs';
import { access, mkdir, stat, statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { diskProblem } from './disk-problem.js';

/** How a caller turns a reason into its own error: `why` reads after "cannot be used: ". */
export type FolderRefusal = (why: string, cause?: unknown) => Error;

/**
 * Linux's magic numbers (statfs f_type) of file systems that hold no files of ours: each answers
 * with the kernel's own state, and some (procfs) make Node's recursive mkdir loop.
 */
const VIRTUAL_FILE_SYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0x62656570, 'configfs'],
  [0xde5e81e4, 'efivarfs'],
  [0xf97cff8c, 'selinuxfs'],
  [0x65735543, 'fusectl'],
  [0x42494e4d, 'binfmt_misc'],
  [0x6e736673, 'nsfs'],
]);

/** `named`: a reason names the folder itself by its path, not "it" (a folder below the one the caller speaks of). */
export interface FolderOptions {
  /** @default false */
  named?: boolean;
}

/** Without a refusal of the caller's, the error as the file system gave it (a disk error keeps its code). */
const asItIs: FolderRefusal = (why, cause) => (cause instanceof Error ? cause : new Error(why));

/**
 * Makes `dir` and its missing parents, one level at a time, and checks that this user can write it.
 * Refused (through `refuse`, nothing made) when a part of its path is a file, when it is on a virtual
 * file system, or when the nearest existing folder cannot be written; a mkdir that fails is refused
 * with its reason. It never loops.
 *
 * @example
 * ```ts
 * await makeFolder('/var/runbook/runs', (why) => new Error(`the state directory cannot be used: ${why}`));
 * ```
 */
export async function makeFolder(dir: string, refuse: FolderRefusal = asItIs, o: FolderOptions = {}): Promise<void> {
  const target = resolve(dir);
  const it = (path: string) => (path === target && !o.named ? 'it' : path);
  const { existing, missing } = await nearestFolder(target, refuse, it);
  for (const level of missing) {
    try {
      await mkdir(level);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Made meanwhile by another process: fine if a folder.
      if (code === 'EEXIST' && (await stat(level).then((s) => s.isDirectory(), () => false))) continue;
      throw refuse(`${it(level)} could not be made (${reason(error)})`, error);
    }
  }
  await writable(target, refuse, it);
}

/**
 * Makes `dir` inside a folder already made or checked (a run's folder under the state directory, its
 * `backups/`): one mkdir, whatever is already there taken as it is (a file in the way fails the
 * write into it, with its own error) — the per-run path of a fleet of thousands makes no walk, statfs
 * or access check. Any other failure (a parent missing) goes to {@link makeFolder}, which makes what
 * is missing or says why it cannot.
 *
 * @example
 * ```ts
 * await makeSubfolder('/var/runbook/runs/20261207-101500-orchestrator-tls12-3f9a1c');
 * ```
 */
export async function makeSubfolder(dir: string, refuse: FolderRefusal = asItIs): Promise<void> {
  try {
    await mkdir(dir);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
  }
  await makeFolder(dir, refuse);
}

/**
 * Whether {@link makeFolder} could make and write `dir`, making nothing: its nearest existing folder
 * is a folder on a real file system that this user can write.
 *
 * @example
 * ```ts
 * await checkFolder('/var/runbook/runs', (why) => new Error(`cannot be used: ${why}`)); // nothing made
 * ```
 */
export async function checkFolder(dir: string, refuse: FolderRefusal = asItIs, o: FolderOptions = {}): Promise<void> {
  const target = resolve(dir);
  const it = (path: string) => (path === target && !o.named ? 'it' : path);
  const { existing } = await nearestFolder(target, refuse, it);
  await writable(existing, refuse, it);
}

/** The nearest folder of `target` that exists (itself, or a parent), checked; and the levels to make below it. */
async function nearestFolder(target: string, refuse: FolderRefusal, it: (path: string) => string): Promise<{ existing: string; missing: string[] }> {
  const missing: string[] = [];
  let path = target;
  let info;
  for (;;) {
    try {
      info = await stat(path);
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // ENOTDIR: a parent is a file; going up finds it and says so.
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(path) !== path) {
        missing.unshift(path);
        path = dirname(path);
        continue;
      }
      if (!code) throw error;
      throw refuse(`${path} cannot be read (${code})`, error);
    }
  }
  if (!info.isDirectory()) throw refuse(`${it(path)} is a file, not a folder`);
  const kind = await virtualFileSystem(path);
  if (kind) {
    throw refuse(`${it(path)} is on ${kind}, a virtual file system of the kernel's state (such as /proc or /sys) that cannot hold files`);
  }
  return { existing: path, missing };
}

/** The name of the virtual file system `path` is on, if it is on one (Linux; elsewhere none is known). */
async function virtualFileSystem(path: string): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  const info = await statfs(path).catch(() => null);
  return info ? VIRTUAL_FILE_SYSTEMS.get(Number(info.type)) : undefined;
}

async function writable(path: string, refuse: FolderRefusal, it: (path: string) => string): Promise<void> {
  try {
    await access(path, constants.W_OK);
  } catch (error) {
    throw refuse(`${it(path)} is not writable (${reason(error)})`, error);
  }
}

/** A failed mkdir or access in the operator's words: its code, and what it means. */
function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (!code) return (error as Error).message;
  if (code === 'ENOENT') return 'ENOENT: the file system does not let a folder be made there';
  if (['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO'].includes(code)) return `${code}: ${code === 'EIO' ? 'the disk failed' : diskProblem(code)}`;
  return code;
}
