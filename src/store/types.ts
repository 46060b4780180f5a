/**
 * The store contract: where runs, their journals and leases, fleets and (for a shared store) the work
 * queue live. It is the ports of the rooms that use it — the engine's `RunStore`
 * (`engine/run-store.ts`) and the fleets' `FleetStore` (`fleet/types.ts`) — kept by two backends: the
 * files of a state directory (embedded, nothing to set up) and PostgreSQL (many workers on many
 * machines share it). The caller picks one and gives it to the runner.
 */
import type { RunStore } from '../engine/run-store.js';
import type { FleetStore } from '../fleet/types.js';

/**
 * The files a run leaves for people: backups, reports, undo files (names relative to its folder), each
 * as its bytes — undo.reg is UTF-16LE, as a .reg file of regedit's is, and holds zero bytes.
 *
 * @example
 * ```ts
 * const files: RunFiles = await fileStore('.runbook').runFiles('20260101-000000-orchestrator-tls12-a1b2c3');
 * console.log(Object.keys(files)); // report.json, report.md, undo.reg, …
 * ```
 */
export type RunFiles = Record<string, Buffer>;

/**
 * Runs, journals, leases and fleets, on files or on PostgreSQL: the engine's port and the fleets', and
 * what people read of a run.
 *
 * @example
 * ```ts
 * const store: Store = fileStore('.runbook');
 * console.log(store.kind, store.location, (await store.listRuns()).length);
 * ```
 */
export interface Store extends RunStore, FleetStore {
  readonly kind: 'file' | 'postgres';
  /** The files a run left, by name (reports, undo files, backups). */
  runFiles(runId: string): Promise<RunFiles>;
  /**
   * Of these runs, those no driver holds now: their lease released, expired, or held by a process of
   * this machine that is gone. A run whose journal still says `running` is then one whose driver stopped
   * without recording it (it died, or lost its store): it awaits a resume, not its driver.
   */
  undrivenRuns(runIds: readonly string[]): Promise<Set<string>>;
  /**
   * A shared store's queued hosts of a fleet that wait for their machine (another run holds it): what
   * for, and when they are tried again. The file store queues nothing.
   */
  waitingHosts?(fleetId: string): Promise<Record<string, { waiting: string; retryAt: string }>>;
  /** Lets go of connections (the file store holds none). */
  close(): Promise<void>;
}

/**
 * A store in PostgreSQL as {@link postgresStore} opens it: the store contract, shared by the workers of
 * any number of machines. Its connections are its own: no type of node-postgres is part of it, so that
 * an application compiles without `pg` or `@types/pg` (optional peer dependencies, needed only to open
 * one).
 *
 * @example
 * ```ts
 * const store: PostgresStore = await postgresStore(process.env.RUNBOOK_STORE!, { stateDir: '.runbook' });
 * console.log(store.kind, store.location); // postgres postgres://runbook@db.example.org/runbook
 * await store.close();
 * ```
 */
export interface PostgresStore extends Store {
  readonly kind: 'postgres';
}
