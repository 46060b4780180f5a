/**
 * A fleet whose controller is gone: its fleet lease is no longer live (expired, released, or held by a
 * process of this machine that died). A run's own rule is the store's (`Store.undrivenRuns`, both
 * stores), which `runbook status` and the console both read; this is the same rule for a fleet's lease.
 */
import { leaseGone } from './file-lease.js';
import type { Store } from './types.js';

/**
 * True when no controller holds a fleet's lease: a fleet without its report (the file store's; a shared
 * store writes none) whose controller is gone was stopped, and waits for `runbook resume <fleet-id>`.
 * A PostgreSQL store's fleet lease is a row (`fleetLeaseLive`), judged as its runs' leases are; a fleet
 * queued for workers has none (each of its runs holds its own): false for it, as for any other store.
 *
 * @example
 * ```ts
 * const store = fileStore('.runbook');
 * if (await fleetDriverGone(store, '20260101-000000-fleet-a1b2c3')) console.log('its controller stopped: resume it');
 * ```
 */
export async function fleetDriverGone(store: Pick<Store, 'kind' | 'fleetDir'> & { fleetLeaseLive?: (fleetId: string) => Promise<boolean | null> }, fleetId: string): Promise<boolean> {
  if (store.kind !== 'file') return typeof store.fleetLeaseLive === 'function' ? (await store.fleetLeaseLive(fleetId)) === false : false;
  return leaseGone(store.fleetDir(fleetId));
}
