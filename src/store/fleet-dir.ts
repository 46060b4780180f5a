/**
 * Where a fleet lives in a state directory, and whether an id names one. Light on purpose (no engine),
 * so that `status`, `resume` and `rollback` can tell a fleet id from a run id before loading anything.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../errors.js';
import { isId, notAnId } from '../util/id.js';

/** The directory of a fleet; refuses what is not a fleet id (no path can be smuggled in). */
export function fleetDirOf(stateDir: string, fleetId: string): string {
  if (!isId(fleetId)) throw new ValidationError(notAnId(fleetId, 'fleet'), [], { hint: '`runbook status` lists the fleets and their ids' });
  return join(stateDir, 'fleets', fleetId);
}

/** True when the id names a fleet of the state directory (rather than a run). */
export function isFleet(stateDir: string, id: string): boolean {
  return isId(id) && existsSync(join(fleetDirOf(stateDir, id), 'fleet.json'));
}
