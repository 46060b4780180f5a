/**
 * How two host names are compared — the one place that says so. The case and the trailing dot come
 * from the Windows facts `names.host-name-case-insensitive` and `names.fqdn-trailing-dot`, read at
 * each call, so that the inventory's duplicate check and the machine lease (both by `machineKeyOf`)
 * follow the facts.
 */
import { FQDN_TRAILING_DOT, HOST_NAME_CASE_INSENSITIVE } from './facts/names.js';

/**
 * A host name as machines are told apart by it: in lower case (a DNS name is not case sensitive), and
 * without one trailing dot (the DNS root's label: `web01.example.com.` is `web01.example.com`).
 *
 * @example
 * ```ts
 * hostNameKey('WEB01.Example.com.'); // 'web01.example.com'
 * hostNameKey('orch01'); // 'orch01'
 * ```
 */
export function hostNameKey(name: string): string {
  const key = HOST_NAME_CASE_INSENSITIVE.value ? name.toLowerCase() : name;
  const root = FQDN_TRAILING_DOT.value;
  return root !== '' && key.length > root.length && key.endsWith(root) ? key.slice(0, -root.length) : key;
}
