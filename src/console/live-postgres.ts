/**
 * What changed in a PostgreSQL store, heard by LISTEN/NOTIFY: one dedicated connection (not one of the
 * store's pool) listens on the store's channels — {@link JOURNAL_CHANNEL} (a run's journal batch, its
 * id as payload) and {@link FLEET_CHANNEL} (a fleet's records, its id) — which the store notifies in the
 * statement that writes them, so a notification arrives only once its records are committed.
 *
 * - A dropped connection (the server restarts, an administrator ends the backend) is made again with
 *   back-off (100 ms doubling to 5 s); the notifications sent meanwhile are lost, so the listing is
 *   read once after each reconnection and what differs from the last reading is reported.
 * - Only when LISTEN itself is refused (a hot standby: "cannot execute LISTEN during recovery") does it
 *   fall back to reading the listing every `pollMs`, and says so (`mode: 'poll'`).
 */
import pg from 'pg';
import { FLEET_CHANNEL, JOURNAL_CHANNEL, type PostgresStore } from '../store/postgres.js';

export type PostgresLiveMode = 'listen' | 'poll';

export interface PostgresLiveOptions {
  store: PostgresStore;
  /** Called for each run or fleet that changed (the caller batches). */
  note: (kind: 'runs' | 'fleets', id: string) => void;
  /** The fallback's poll. @default 1000 */
  pollMs?: number;
  /** Called when the mode changes (LISTEN refused: polling from now on). */
  onMode?: (mode: PostgresLiveMode) => void;
}

export interface PostgresLive {
  readonly mode: PostgresLiveMode;
  /** Resolves after the first attempt to listen (listening, polling, or retrying in the background). */
  readonly ready: Promise<void>;
  close(): void;
}

/** The name the listening connection shows in `pg_stat_activity`. */
export const LISTENER_NAME = 'runbook-engine console (live)';

/**
 * Listens for the store's notifications (or polls, when LISTEN is refused).
 *
 * @example
 * ```ts
 * declare const store: PostgresLiveOptions['store']; // the console's PostgreSQL store
 * const live = listenPostgres({ store, note: (kind, id) => console.log(kind, id) });
 * await live.ready;
 * live.close();
 * ```
 */
export function listenPostgres(o: PostgresLiveOptions): PostgresLive {
  let mode: PostgresLiveMode = 'listen';
  let closed = false;
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  let poll: NodeJS.Timeout | null = null;
  let delay = 100;
  // The last reading: each run's summary and each fleet's count of ended hosts, as text.
  let known: Map<string, string> | null = null;

  /** Reads the listing; reports what differs from the last reading (none the first time). */
  const reread = async () => {
    try {
      const now = new Map((await o.store.listRuns()).map((s) => [`runs:${s.runId}`, JSON.stringify(s)]));
      const { rows } = await o.store.query<{ fleet_id: string; ended: string }>(
        `SELECT f.fleet_id, (SELECT count(*) FROM rbe_fleet_hosts h WHERE h.fleet_id = f.fleet_id AND h.state = 'ended') AS ended FROM rbe_fleets f`,
      );
      for (const r of rows) now.set(`fleets:${r.fleet_id}`, String(r.ended));
      if (known && !closed) {
        for (const [key, value] of now) {
          if (known.get(key) === value) continue;
          const [kind, id] = key.split(/:(.*)/s) as ['runs' | 'fleets', string];
          o.note(kind, id);
        }
      }
      known = now;
    } catch {
      // the store is away for now: the next reading (a reconnection, a poll) tries again
    }
  };

  const fallBack = () => {
    mode = 'poll';
    o.onMode?.(mode);
    poll = setInterval(() => void reread(), o.pollMs ?? 1000);
    poll.unref();
  };

  const again = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = null;
      void connect();
    }, delay);
    retry.unref();
    delay = Math.min(delay * 2, 5000);
  };

  const connect = async (): Promise<void> => {
    if (closed) return;
    const c = new pg.Client({ connectionString: o.store.url, application_name: LISTENER_NAME, connectionTimeoutMillis: 5000, keepAlive: true });
    c.on('error', () => undefined); // 'end' follows: reconnect there
    c.on('notification', (n) => {
      if (!n.payload) return;
      if (n.channel === JOURNAL_CHANNEL) o.note('runs', n.payload);
      else if (n.channel === FLEET_CHANNEL) o.note('fleets', n.payload);
    });
    c.on('end', () => {
      if (client !== c) return;
      client = null;
      again();
    });
    try {
      await c.connect();
    } catch {
      void c.end().catch(() => undefined);
      return again();
    }
    try {
      await c.query(`LISTEN ${JOURNAL_CHANNEL}`);
      await c.query(`LISTEN ${FLEET_CHANNEL}`);
    } catch (error) {
      void c.end().catch(() => undefined);
      // The connection went while listening: try again. The server refused LISTEN: poll.
      if ((error as { code?: string }).code === undefined || /^(08|57P)/.test(String((error as { code?: string }).code))) return again();
      return fallBack();
    }
    if (closed) {
      void c.end().catch(() => undefined);
      return;
    }
    client = c;
    delay = 100;
    // Listening first, then reading: nothing committed in between is missed.
    await reread();
  };

  const ready = connect();
  return {
    get mode() {
      return mode;
    },
    ready,
    close() {
      closed = true;
      if (retry) clearTimeout(retry);
      if (poll) clearInterval(poll);
      const c = client;
      client = null;
      void c?.end().catch(() => undefined);
    },
  };
}
