/**
 * The one rule for a run whose journal says `running` but whose driver is gone: its lease is no
 * longer live (expired, released, or held by a process of this machine that died). Such a run was
 * stopped wherever its driver stopped; it is interrupted and waits for `runbook resume`. `runbook status`
 * (its list, its `--status` filter, one run) and the console read it from here, so that both say so.
 * The same rule tells a fleet whose controller is gone (its fleet lease) from one under way.
 */
import { currentGeneration, leaseIsLive, readLease } from './file-lease.js';
import { runDirOf } from './file-runs.js';
import type { Store } from './types.js';

/** How such a run is listed (`runbook status`, the console): defined with the outcomes' words. */
export { LEASE_EXPIRED } from '../engine/outcome.js';

/**
 * True when a run says `running` and no driver holds its lease any more. The file store's leases only
 * (the lease files of the run's folder); another store's runs are not judged here (false).
 *
 * @example
 * ```ts
 * const store = fileStore('.runbook');
 * for (const run of await store.listRuns()) if (await driverGone(store, '.runbook', run)) console.log(`${run.runId}: ${LEASE_EXPIRED}`);
 * ```
 */
export async function driverGone(store: Pick<Store, 'kind'>, stateDir: string, run: { runId: string; status: string }): Promise<boolean> {
  if (run.status !== 'running' || store.kind !== 'file') return false;
  const dir = runDirOf(stateDir, run.runId);
  return !leaseIsLive(await readLease(dir, await currentGeneration(dir)));
}

/**
 * True when no controller holds a fleet's lease (the file store's; false for another store): a fleet
 * without its report whose controller is gone was stopped, and waits for `runbook resume <fleet-id>`.
 *
 * @example
 * ```ts
 * const store = fileStore('.runbook');
 * if (await fleetDriverGone(store, '20260101-000000-fleet-a1b2c3')) console.log('its controller stopped: resume it');
 * ```
 */
export async function fleetDriverGone(store: Pick<Store, 'kind' | 'fleetDir'>, fleetId: string): Promise<boolean> {
  if (store.kind !== 'file') return false;
  const dir = store.fleetDir(fleetId);
  return !leaseIsLive(await readLease(dir, await currentGeneration(dir)));
}
