/**
 * The shared store for library users, loaded on first use: an application that keeps its runs in files
 * never loads node-postgres or pg-boss, and need not install them (its workers: `worker/entry.ts`). They are optional
 * peer dependencies of the package; opening a PostgreSQL store without them fails with the command that
 * installs them. (The CLI bundles both: `runbook … --store postgres://…` needs nothing more.)
 */
import { StoreUnavailableError } from '../errors.js';
import type { PostgresStoreOptions } from './postgres.js';
import type { PostgresStore } from './types.js';

/** What installs the optional peers, in the majors of the package's `peerDependencies` (pg-boss 10: the last line for Node 20). */
const INSTALL_PEERS = 'npm install pg@8 pg-boss@10';

/** Loads a module of the PostgreSQL store; a missing optional peer becomes an error that says how to install it. */
export async function loadShared<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const missing = /Cannot find (?:package|module) '(pg|pg-boss)'/.exec((error as Error)?.message ?? '')?.[1];
    if (!missing || !/MODULE_NOT_FOUND/.test(String((error as { code?: unknown }).code))) throw error;
    throw new StoreUnavailableError(`the PostgreSQL store needs the package ${missing}, which is not installed`, { transient: false }, {
      hint: `install both optional peer dependencies beside runbook-engine: ${INSTALL_PEERS} (an application that keeps its runs in files needs neither)`,
      cause: error,
    });
  }
}

/**
 * Opens the PostgreSQL store at `url`, applying the schema migrations it lacks.
 *
 * @example
 * ```ts
 * const store = await postgresStore('postgres://runbook@db.example.org/runbook', { stateDir: '.runbook' });
 * const runner = new Runner({ kinds: bundledStepKinds(), store });
 * ```
 */
export async function postgresStore(url: string, options: PostgresStoreOptions): Promise<PostgresStore> {
  return (await loadShared(() => import('./postgres.js'))).postgresStore(url, options);
}
