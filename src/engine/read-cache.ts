/**
 * What this process has read from the target during one drive of a run. A later step that needs the
 * same facts gets them without another round trip; a write drops what it may have changed, a restart
 * drops everything. A resumed run starts with an empty cache, so it always re-reads.
 *
 * Observations made outside the executor (TLS handshakes from the controller) are kept too, by a key
 * the step chooses; any write or restart drops all of them, since what a write changes there is not
 * known. In check mode nothing is written, so a plan observes each thing once.
 */
import type { HostOp, HostOpResult } from '../executors/types.js';
import { WRITE_OPS } from '../executors/types.js';

/** Key paths compared without case and without the Wow6432Node hop, so both views alias safely. */
function normalise(key: string): string {
  return key.toLowerCase().replace(/^software\\wow6432node(\\|$)/, 'software$1');
}

/**
 * What identifies a read: two operations with the same JSON read the same thing.
 *
 * @example
 * ```ts
 * readKey({ op: 'os.info' }) === readKey({ op: 'os.info' }); // true
 * ```
 */
export function readKey(op: HostOp): string {
  return JSON.stringify(op);
}

/** True when one key path is the other or under it. */
function related(a: string, b: string): boolean {
  return a === b || under(a, b) || under(b, a);
}

/** True when `a` is a key under `b`: it starts with `b\` (compared in place, no such string made). */
function under(a: string, b: string): boolean {
  return a.length > b.length && a.charCodeAt(b.length) === 0x5c && a.startsWith(b);
}

export class ReadCache {
  /** Each read by its JSON, with its key path normalised once (a write compares against every entry). */
  private entries = new Map<string, { op: HostOp; result: HostOpResult; key: string | null }>();
  private observations = new Map<string, Promise<unknown>>();

  /** What was observed under `key` during this drive, else `observe()`'s result, kept under it. */
  observed<T>(key: string, observe: () => Promise<T>): Promise<T> {
    let kept = this.observations.get(key) as Promise<T> | undefined;
    if (!kept) {
      kept = observe();
      this.observations.set(key, kept);
      // A failed observation is not kept: the next step observes again.
      kept.catch(() => {
        if (this.observations.get(key) === kept) this.observations.delete(key);
      });
    }
    return kept;
  }

  get(op: HostOp): HostOpResult | undefined {
    return this.entries.get(readKey(op))?.result;
  }

  set(op: HostOp, result: HostOpResult): void {
    if (!WRITE_OPS.has(op.op)) this.entries.set(readKey(op), { op, result, key: 'key' in op && op.key !== undefined ? normalise(op.key) : null });
  }

  /** Drops whatever the given writes may have changed. */
  invalidate(writes: readonly HostOp[]): void {
    // The batch's written keys, each once (its values share a few keys), then the entries once.
    let written: Set<string> | null = null;
    for (const write of writes) {
      if (!WRITE_OPS.has(write.op) || write.op === 'registry.export' || write.op.startsWith('startupTask.')) continue;
      this.observations.clear();
      if (write.op === 'restart') {
        this.entries.clear();
        return;
      }
      (written ??= new Set()).add(normalise((write as { key: string }).key));
    }
    if (!written) return;
    const keys = [...written];
    this.entries.forEach((entry, k) => {
      if (entry.key === null) return;
      for (let i = 0; i < keys.length; i++) {
        if (related(entry.key, keys[i])) {
          this.entries.delete(k);
          return;
        }
      }
    });
  }
}
