/**
 * The worker module of a fleet the CLI spreads over threads (src/fleet/threads.ts): each worker thread
 * builds the runner and the connections the main thread has — the file store of the same state
 * directory, the bundled step kinds, `--retries`, targets connected as `--target` does (credentials
 * from the environment, which a worker shares; a simulated host checked writable unless the fleet is a plan).
 */
import { fileStore } from '../store/file-store.js';
import type { HostDeps } from '../fleet/host-lane.js';
import type { FleetThreads } from '../fleet/threads.js';
import { serveFleetThread } from '../fleet/thread-worker.js';
import { UsageError } from './args.js';
import { runnerFor, type Where } from './state.js';
import { connect } from './targets.js';

/** What the main thread hands each worker. */
interface ThreadData {
  stateDir: string;
  retries?: number;
  /** A run or a resume (not a plan): a simulated host's file and folder must be writable, as the main thread's connections check. */
  writes?: boolean;
}

export async function fleetThread(data: unknown): Promise<HostDeps> {
  const { stateDir, retries, writes } = data as ThreadData;
  return { runner: await runnerFor({ stateDir, store: fileStore(stateDir) }, retries), connect: (target) => connect(target, { writes }) };
}
serveFleetThread(fleetThread);

/**
 * The threads of a fleet driven by the CLI: `$RUNBOOK_FLEET_THREADS`, else one — on this 2-core machine
 * a second thread did not pay at 1,000 hosts with a 60 s restart (docs/fleet-performance.md, the second round: the main thread
 * is busy a fifth of the fleet's time, and each worker loads the engine again). One thread with a
 * shared store, whose workers are processes of their own (`runbook worker`).
 *
 * @example
 * ```ts
 * declare const options: FleetOptions; // runner, kinds, runbook, inventory, connect
 * declare const where: Parameters<typeof fleetThreadsFor>[0]; // the command line's state directory and store
 * startFleet({ ...options, threads: fleetThreadsFor(where, 3, true) });
 * ```
 */
export function fleetThreadsFor(where: Where, retries: number | undefined, writes: boolean): FleetThreads | undefined {
  if (where.store.kind !== 'file') return undefined;
  const set = process.env.RUNBOOK_FLEET_THREADS;
  const count = set ? Number(set) : 1;
  if ((set && !/^\d+$/.test(set)) || count < 1) throw new UsageError(`RUNBOOK_FLEET_THREADS is a whole number of at least 1 (e.g. 2), got "${set}": set it so, or unset it for one thread`);
  if (count === 1) return undefined;
  const ts = import.meta.url.endsWith('.ts');
  return { count, module: new URL(`./fleet-thread.${ts ? 'ts' : 'js'}`, import.meta.url), data: { stateDir: where.stateDir, retries, writes } satisfies ThreadData };
}
