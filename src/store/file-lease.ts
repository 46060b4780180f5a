/**
 * The lease of a run: exactly one driver at a time, with a fencing token.
 *
 * Each holder owns one generation: the file `lease.<generation>.json` in the run directory, created
 * with an exclusive create (`wx`), so that of two processes that both found the run free only one can
 * take the next generation — the other gets `LEASE_HELD`, whatever the timing. The highest generation
 * present is the current one. A holder is fenced as soon as a higher generation exists: a process
 * paused past its expiry finds, at its next journal flush or target write, that someone took over,
 * and stops (`FENCED`) without changing anything more.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { open, readFile, readdir, rm, stat } from 'node:fs/promises';
import { LeaseError } from '../errors.js';
import { naming, writeFileAtomicUnsyncedAsync } from '../util/write-atomic.js';
import { processAlive } from '../util/process-alive.js';
import type { Lease, LeaseOptions, TargetLease, TargetLeaseOptions } from '../engine/run-store.js';

/** What a lease file holds. */
export type LeaseRecord = {
  generation: number;
  host: string;
  pid: number;
  /** Tells holders in one process apart. */
  token: string;
  /** The worker thread of the process that holds it (a fleet's hosts spread over threads); absent: the main thread. */
  thread?: number;
  expiresAt: string;
  released?: boolean;
  /** A machine's lease: the run that holds it (`targets/<key>/`). */
  runId?: string;
  /** A machine's lease let go of by a run stopped mid-drive (interrupted, or stopped by its store). */
  unfinished?: boolean;
};

/**
 * `LEASE_HELD` for a machine whose lease another run's driver holds: which machine, which run, who
 * drives it and until when, and what to do — the same words from every store.
 */
export function targetHeldError(machine: string, runId: string, holder: string, until: string, where: string): LeaseError {
  return new LeaseError(
    'LEASE_HELD',
    `target ${machine} is being driven by run ${runId} (${holder}, until ${until}); nothing was sent to it`,
    {
      where,
      hint: `wait for run ${runId} to end (\`runbook status ${runId}\`), then run again; if its process died, \`runbook resume ${runId}\` takes it over (at once on its own machine, else once its lease expires)`,
    },
    { heldBy: { machine, runId, what: `is being driven by run ${runId}` } },
  );
}

/** What a machine's lease claims, beside a run's: the run, and how it meets the run that held it. */
export type TargetClaim = Pick<TargetLeaseOptions, 'takeOver' | 'admit'> & { runId: string; machine: string };

const LEASE_FILE = /^lease\.(\d+)\.json$/;

function leaseFile(dir: string, generation: number): string {
  return join(dir, `lease.${generation}.json`);
}

/** The current generation of a run directory's lease (0 when none was ever taken). */
export async function currentGeneration(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  return names.reduce((max, n) => Math.max(max, Number(LEASE_FILE.exec(n)?.[1] ?? 0)), 0);
}

/** The lease record of a generation, or null while it is being written or when it is gone. */
export async function readLease(dir: string, generation: number): Promise<LeaseRecord | null> {
  try {
    return JSON.parse(await readFile(leaseFile(dir, generation), 'utf8')) as LeaseRecord;
  } catch {
    return null;
  }
}

/**
 * The tokens of the leases this process holds. A lease of this process whose token is not here was let
 * go of, even when its file could not say so (a full or read-only disk refused the "released" write).
 */
const heldHere = new Set<string>();

/** True when the lease holds others out: not released, not expired, and its holder (on this host) alive. */
export function leaseIsLive(lease: LeaseRecord | null, now = Date.now()): boolean {
  if (!lease || lease.released) return false;
  if (Date.parse(lease.expiresAt) <= now) return false;
  // Only this thread knows what it let go of: another thread's lease of this process holds until it expires.
  if (lease.host === hostname() && lease.pid === process.pid) return (lease.thread ?? 0) !== threadId || heldHere.has(lease.token);
  return lease.host !== hostname() || processAlive(lease.pid);
}

/**
 * True when no one holds the lease of a run's or a fleet's directory: its current generation is not
 * live (released, expired, held by a process of this host that died, or never taken).
 */
export async function leaseGone(dir: string): Promise<boolean> {
  return !leaseIsLive(await readLease(dir, await currentGeneration(dir)));
}

function heldBy(lease: LeaseRecord, dir: string, subject: string): LeaseError {
  return new LeaseError('LEASE_HELD', `${subject} is being driven by pid ${lease.pid} on ${lease.host} (lease generation ${lease.generation}, until ${lease.expiresAt})`, {
    where: dir,
    hint: 'wait for that process to finish, or stop it; the lease of a process that died on this host is taken over at once, any other after it expires',
  });
}

/**
 * Takes the lease of a run directory (or of a fleet's: `subject` names it in errors, "the run" unless
 * said), renewing it in the background until released.
 *
 * @example
 * ```ts
 * const lease = await acquireLease('.runbook/runs/r1');
 * try { await lease.check(); } finally { await lease.release(); }
 * ```
 */
export async function acquireLease(dir: string, options: LeaseOptions = {}, subject = 'the run', target?: TargetClaim): Promise<TargetLease> {
  const ttlMs = options.ttlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const current = await currentGeneration(dir);
  const held = (lease: LeaseRecord) => (target ? targetHeldError(target.machine, lease.runId ?? '?', `pid ${lease.pid} on ${lease.host}`, lease.expiresAt, dir) : heldBy(lease, dir, subject));
  if (current > 0) {
    const existing = await readLease(dir, current);
    if (existing) {
      const same = target !== undefined && existing.runId === target.runId;
      // The same run's resume takes its machine over from a driver of it that lost the run's own lease.
      if (leaseIsLive(existing, now()) && !(same && target.takeOver)) throw held(existing);
      // Another run held the machine last: the caller says whether this run may follow it.
      if (target && !same && existing.runId) await target.admit?.({ runId: existing.runId, unfinished: existing.released ? existing.unfinished === true : undefined });
    } else {
      // A lease file without a whole record is being written by its claimant this very moment (or a
      // crash left it so): it holds until it is as old as a lease lasts, then it is taken over.
      const written = await writtenAt(dir, current);
      if (written !== null && written > now() - ttlMs) throw unreadableLease(dir, current, target ? `target ${target.machine}` : subject, new Date(written + ttlMs), ttlMs);
    }
  }
  await options.beforeClaim?.();
  const generation = current + 1;
  const token = randomBytes(8).toString('hex');
  const file = leaseFile(dir, generation);
  const record = (): LeaseRecord => ({ generation, host: hostname(), pid: process.pid, token, ...(threadId ? { thread: threadId } : {}), ...(target ? { runId: target.runId } : {}), expiresAt: new Date(now() + ttlMs).toISOString() });
  try {
    const handle = await open(file, 'wx');
    try {
      await handle.writeFile(JSON.stringify(record()));
      // A machine's lease is not flushed: the exclusive create is what excludes, and a power loss that
      // takes the claim took its holder too (an empty file holds the machine as long as a lease lasts).
      if (!target) await handle.sync();
    } catch (error) {
      // A claim that is not on disk whole is no claim: an empty file would read as "being claimed"
      // and hold the run for a lease's length.
      await handle.close().catch(() => undefined);
      await rm(file, { force: true }).catch(() => undefined);
      // Named: a full disk's write error names no file of its own.
      throw naming(error, file);
    }
    await handle.close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = await readLease(dir, generation);
    throw held(winner ?? { generation, host: '?', pid: 0, token: '', expiresAt: 'unknown' });
  }
  // Older generations are history now.
  for (let g = current; g >= 1 && g >= current - 2; g--) await rm(leaseFile(dir, g), { force: true });

  heldHere.add(token);
  let fenced = false;
  // Checked before every journal batch and every write to the target: a synchronous stat that returns
  // nothing for a missing file costs a few microseconds, where an asynchronous one took a thread-pool
  // hop and built an error (with its stack) for the usual answer, "no such file".
  const check = async () => {
    if (fenced) throw fencedError(dir, generation, subject);
    if (statSync(leaseFile(dir, generation + 1), { throwIfNoEntry: false }) === undefined) return;
    fenced = true;
    throw fencedError(dir, generation, subject);
  };
  // A renewal is not flushed to disk (a fleet of 5,000 hosts spent a third of its fsyncs on them). Only a
  // power loss can lose it, and that leaves the file as it was — an expired lease — or, at worst, empty:
  // an empty lease file holds the run until its time is older than a lease lasts (writtenAt),
  // just as long as the renewed lease would have. A process that dies leaves it in the page cache.
  const renew = async () => {
    await check();
    await writeFileAtomicUnsyncedAsync(file, JSON.stringify(record()));
  };
  const schedule =
    options.schedule ??
    ((fn: () => Promise<void>, everyMs: number) => {
      const timer = setInterval(() => void fn().catch(() => undefined), everyMs);
      timer.unref();
      return () => clearInterval(timer);
    });
  const stop = options.renew === false ? null : schedule(renew, Math.max(1000, ttlMs / 3));
  return {
    generation,
    check,
    async release(state?: { unfinished: boolean }) {
      stop?.();
      heldHere.delete(token);
      try {
        await check();
      } catch {
        return;
      }
      try {
        // Not flushed to disk, as a renewal: a release lost to a power loss leaves a lease that expires.
        await writeFileAtomicUnsyncedAsync(file, JSON.stringify({ ...record(), expiresAt: new Date(now()).toISOString(), released: true, ...(state?.unfinished ? { unfinished: true } : {}) }));
      } catch (error) {
        // A disk that takes no write may still let a file go (a full one does): without its file the
        // lease is no one's. Otherwise it lapses when this process ends, or when it expires.
        await rm(file, { force: true }).catch(() => {
          throw error;
        });
      }
    },
  };
}

/** An empty lease file is a claim under way, unless it is older than a lease lasts (its claimant died). */
/** When a lease file was last written (epoch ms), or null when it is gone. */
async function writtenAt(dir: string, generation: number): Promise<number | null> {
  try {
    return (await stat(leaseFile(dir, generation))).mtimeMs;
  } catch {
    return null;
  }
}

/** `LEASE_HELD` for a lease file that holds no whole record: who holds it cannot be said, only when it lapses. */
function unreadableLease(dir: string, generation: number, subject: string, lapses: Date, ttlMs: number): LeaseError {
  return new LeaseError('LEASE_HELD', `the lease of ${subject} cannot be read (lease.${generation}.json is empty or not a whole record): a driver may be writing it this moment; nothing was done`, {
    where: dir,
    hint: `run the command again in a moment; if no process is writing it (a crash or a full disk left it so), it is taken over once it is ${Math.round(ttlMs / 1000)} s old, at ${lapses.toISOString()}`,
  });
}

function fencedError(dir: string, generation: number, subject: string): LeaseError {
  return new LeaseError('FENCED', `this process lost the lease of ${subject} (generation ${generation}): another driver took it over`, {
    where: dir,
    hint: `nothing more was changed by this process; follow ${subject === 'the run' ? 'the run' : 'it'} with \`runbook status\``,
  });
}
