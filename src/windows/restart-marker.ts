/**
 * The engine's own marker that a restart is owed (not a Windows fact: a value this engine writes).
 * `windows/restart` writes it in the same batch as the restart command (and before a wait for a restart
 * window) and deletes it once the target is back; the preflight reads it along, `ip-verify` and
 * `inspect` refuse or report a host that still owes one. A later run that finds it knows an earlier one
 * changed values that are not in effect yet. Key last-write times cannot tell this: Group Policy
 * refreshes rewrite the SCHANNEL keys every 90 minutes.
 *
 * @example
 * ```ts
 * const read = { op: 'registry.get', ...RESTART_MARKER } as const; // absent: no restart owed
 * ```
 */
import type { RegistryLocation } from './registry.js';

export const RESTART_MARKER = { view: '64', key: 'SOFTWARE\\runbook-engine', name: 'RestartOwed' } as const satisfies RegistryLocation;
