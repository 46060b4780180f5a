/**
 * A fleet whose controller is gone: its fleet lease is no longer live (expired, released, or held by a
 * process of this machine that died). A run's own rule is the store's (`Store.undrivenRuns`, both
 * stores), which `runbook status` and the console both read; this is the same rule for a fleet's lease.
 */
import { leaseGone } from './file-lease.js';
import type { Store } from './types.js';

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
  return leaseGone(store.fleetDir(fleetId));
}
