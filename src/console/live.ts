/**
 * What changed in the store, in batches: the console pushes one server-sent event per batch, at most
 * every `intervalMs` (250 ms by default), whatever the number of journal records that landed meanwhile —
 * so that a 1,000-host fleet does not flood the page.
 *
 * The file store is watched (`fs.watch` on `runs/`, on each run's folder and on `fleets/`), with a
 * rescan every few seconds for anything a watch missed (and, for a run whose watch could not be set,
 * its journal's size). The PostgreSQL store is heard by LISTEN/NOTIFY (`live-postgres.ts`): each
 * committed journal batch notifies its run id; it is polled (its listing, once a second) only where the
 * server refuses LISTEN.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PostgresStore } from '../store/postgres.js';
import type { Store } from '../store/types.js';
import { ID_PATTERN } from '../util/id.js';
import { listenPostgres } from './live-postgres.js';

export type Changes = { runs: Set<string>; fleets: Set<string> };

export interface LiveOptions {
  store: Store;
  stateDir: string;
  /** Called with each batch of changes. */
  onBatch: (changes: Changes) => void;
  /** @default 250 */
  intervalMs?: number;
  /** The poll, where a store cannot be listened to. @default 1000 */
  pollMs?: number;
  /** Called when the mode changes after the start (PostgreSQL refused LISTEN: polling). */
  onMode?: (mode: LiveMode) => void;
}

/** How changes are found: `watch` (file store), `listen` (PostgreSQL's LISTEN/NOTIFY) or `poll`. */
export type LiveMode = 'watch' | 'listen' | 'poll';

export interface Live {
  readonly mode: LiveMode;
  /** Resolves once the first scan set its watches (PostgreSQL: once listening, or the first poll answered). */
  readonly ready: Promise<void>;
  close(): void;
}

const ID = ID_PATTERN;

/** Starts watching (file store), listening (PostgreSQL) or polling the store. */
export function watchStore(o: LiveOptions): Live {
  const interval = o.intervalMs ?? 250;
  let pending: Changes = { runs: new Set(), fleets: new Set() };
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const flush = () => {
    timer = null;
    const batch = pending;
    pending = { runs: new Set(), fleets: new Set() };
    if (batch.runs.size + batch.fleets.size > 0) o.onBatch(batch);
  };
  const note = (kind: 'runs' | 'fleets', id: string) => {
    if (closed || !ID.test(id)) return;
    pending[kind].add(id);
    // Throttled, not debounced: a change waits at most one interval, and a fleet that never pauses
    // still gets a batch every interval.
    if (!timer) timer = setTimeout(flush, interval);
  };

  if (o.store instanceof PostgresStore) {
    const pg = listenPostgres({ store: o.store, note, pollMs: o.pollMs, onMode: o.onMode });
    return {
      get mode() {
        return pg.mode;
      },
      ready: pg.ready,
      close() {
        closed = true;
        pg.close();
        if (timer) clearTimeout(timer);
      },
    };
  }
  if (o.store.kind !== 'file') {
    // A store of the application's own: its run listing, polled.
    let known = new Map<string, string>();
    const poll = async () => {
      try {
        const now = new Map((await o.store.listRuns()).map((s) => [s.runId, JSON.stringify(s)]));
        for (const [id, s] of now) if (known.get(id) !== s) note('runs', id);
        known = now;
      } catch {
        // the store is away for now: the next poll tries again
      }
    };
    const ready = poll();
    const every = setInterval(poll, o.pollMs ?? 1000);
    return {
      mode: 'poll',
      ready,
      close() {
        closed = true;
        clearInterval(every);
        if (timer) clearTimeout(timer);
      },
    };
  }

  const watchers = new Map<string, FSWatcher>();
  const seen = new Set<string>();
  const sizes = new Map<string, number>();
  const add = (key: string, dir: string, onEvent: (name: string | null) => void) => {
    if (closed || watchers.has(key)) return;
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => onEvent(name ? String(name) : null));
      w.on('error', () => {
        w.close();
        watchers.delete(key);
      });
      watchers.set(key, w);
    } catch {
      // not there yet: the rescan adds it
    }
  };
  const runs = join(o.stateDir, 'runs');
  const fleets = join(o.stateDir, 'fleets');
  const addRun = (id: string) => add(`run:${id}`, join(runs, id), (name) => (name === null || name.startsWith('journal') || name === 'summary.json' ? note('runs', id) : undefined));
  const addFleet = (id: string) => add(`fleet:${id}`, join(fleets, id), () => note('fleets', id));
  const rescan = async () => {
    add('runs', runs, (name) => {
      if (name && ID.test(name)) {
        addRun(name);
        note('runs', name);
      }
    });
    add('fleets', fleets, (name) => {
      if (name && ID.test(name)) {
        addFleet(name);
        note('fleets', name);
      }
    });
    // A folder seen for the first time is a change; one whose watch could not be set (the system's
    // limit on watches) is tried again, but not reported again on every rescan.
    for (const id of await readdir(runs).catch(() => [] as string[])) {
      addRun(id);
      if (!seen.has(`run:${id}`)) note('runs', id);
      seen.add(`run:${id}`);
      if (!watchers.has(`run:${id}`)) {
        // No watch (the limit was reached): its journal's size tells whether it grew.
        const size = (await stat(join(runs, id, 'journal.jsonl')).catch(() => null))?.size ?? -1;
        if (sizes.has(id) && sizes.get(id) !== size) note('runs', id);
        sizes.set(id, size);
      }
    }
    for (const id of await readdir(fleets).catch(() => [] as string[])) {
      addFleet(id);
      if (!seen.has(`fleet:${id}`)) note('fleets', id);
      seen.add(`fleet:${id}`);
    }
  };
  // The first scan only sets the watches: what is already there is what the page loads.
  const ready = rescan().then(() => {
    pending = { runs: new Set(), fleets: new Set() };
  });
  const every = setInterval(() => void rescan(), 3000);
  every.unref();
  return {
    mode: 'watch',
    ready,
    close() {
      closed = true;
      clearInterval(every);
      if (timer) clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
