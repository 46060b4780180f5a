/**
 * A list of Windows service names as a step parameter: an array, or the comma-separated text a runbook
 * parameter carries (`--param orchestratorServices=omanagement,orunbook`). Blank entries are dropped.
 */
import * as z from '../util/zod.js';

/**
 * The schema, with the list it defaults to when the parameter is not given.
 *
 * @example
 * ```ts
 * z.parse(serviceList([]), 'omanagement, orunbook'); // ['omanagement', 'orunbook']
 * ```
 */
export function serviceList(fallback: readonly string[]) {
  return z._default(
    z.pipe(
      z.transform((v: unknown) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v)),
      z.array(z.string().check(z.minLength(1))),
    ),
    [...fallback],
  );
}

/** One service as `service.status` reads it, reduced to what a plan or report says of it. */
export type ServiceState = { name: string; exists?: boolean; state: string; startType?: string | null };

/**
 * The services a check cannot judge because the host has no service by that name: the names come from
 * a document (or the operator), but which of them a server has depends on its roles.
 *
 * @example
 * ```ts
 * absentServices([{ name: 'omonitor', exists: false, state: 'absent', startType: null }]); // ['omonitor']
 * ```
 */
export function absentServices(services: readonly ServiceState[]): string[] {
  // `exists` is absent from plans journaled before it was read: their state says it.
  return services.filter((s) => s.state === 'absent' || s.exists === false).map((s) => s.name);
}
