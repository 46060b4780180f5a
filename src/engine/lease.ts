/**
 * A lease on a run (host, pid, expiry) so that two processes never drive the same run. A lease whose
 * holder died on this host, or that expired, may be taken over.
 */
import { hostname } from 'node:os';
import { readFile, rm } from 'node:fs/promises';
import { JournalError } from '../errors.js';
import { writeFileAtomic } from '../util/write-atomic.js';

export interface LeaseRecord {
  host: string;
  pid: number;
  expiresAt: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLease(file: string): Promise<LeaseRecord | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LeaseRecord;
  } catch {
    return null;
  }
}

/** True when the lease holds someone else out. */
export function leaseIsLive(lease: LeaseRecord | null, now = Date.now()): boolean {
  if (!lease) return false;
  if (lease.host === hostname() && lease.pid === process.pid) return false;
  if (lease.host === hostname()) return alive(lease.pid) && Date.parse(lease.expiresAt) > now;
  return Date.parse(lease.expiresAt) > now;
}

/** A held lease; renew it while driving and release it when done. */
export interface Lease {
  release(): Promise<void>;
}

/**
 * Takes the lease of a run directory, renewing it in the background until released.
 *
 * @example
 * ```ts
 * const lease = await acquireLease('.runbook/runs/r1/lease.json');
 * try { ... } finally { await lease.release(); }
 * ```
 */
export async function acquireLease(file: string, ttlMs = 60_000): Promise<Lease> {
  const existing = await readLease(file);
  if (leaseIsLive(existing)) {
    throw new JournalError('LEASE_HELD', `the run is being driven by pid ${existing!.pid} on ${existing!.host} until ${existing!.expiresAt}`, {
      where: file,
      hint: 'wait for that process to finish, or stop it; a lease of a dead process on this host is taken over at once',
    });
  }
  const write = async () => {
    const record: LeaseRecord = { host: hostname(), pid: process.pid, expiresAt: new Date(Date.now() + ttlMs).toISOString() };
    await writeFileAtomic(file, JSON.stringify(record));
  };
  await write();
  const again = await readLease(file);
  if (!again || again.pid !== process.pid || again.host !== hostname()) {
    throw new JournalError('LEASE_HELD', 'another process took the lease of this run at the same moment', { where: file });
  }
  const timer = setInterval(() => void write().catch(() => undefined), Math.max(1000, ttlMs / 3));
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      const current = await readLease(file);
      if (current && current.pid === process.pid && current.host === hostname()) await rm(file, { force: true });
    },
  };
}
