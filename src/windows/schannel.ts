/**
 * SCHANNEL protocol semantics shared by the steps and the simulated host: where the keys live, how
 * Windows reads `Enabled` / `DisabledByDefault`, and Windows' own default for each protocol and side.
 * Every fact comes from the table (`facts/schannel.ts`); this file only asks it.
 */
import type { ProtocolMap, ProtocolName, ProtocolSide, RegistryLocation, RegistryValue } from './registry.js';
import type { FactStatus } from './facts/types.js';
import {
  SCHANNEL_DEFAULTS_FACT,
  SCHANNEL_DISABLED_BY_DEFAULT_FACT,
  SCHANNEL_ENABLED_FACT,
  SCHANNEL_PROTOCOLS_KEY_FACT,
  TLS10_TLS11_FROM_2022_FACT,
  TLS12_ENABLED_EVERYWHERE_FACT,
  TLS13_FIRST_BUILD_FACT,
} from './facts/schannel.js';

export const SCHANNEL_PROTOCOLS_KEY = SCHANNEL_PROTOCOLS_KEY_FACT.value;
export const PROTOCOLS: readonly ProtocolName[] = ['SSL 2.0', 'SSL 3.0', 'TLS 1.0', 'TLS 1.1', 'TLS 1.2'];
export const SIDES: readonly ProtocolSide[] = ['Client', 'Server'];

/**
 * TLS 1.3: not part of the reference procedure (written before Windows had it). The runbook reports
 * it and leaves it alone unless asked to manage it.
 */
export const TLS13 = 'TLS 1.3';
export const TLS13_FIRST_BUILD = TLS13_FIRST_BUILD_FACT.value;

/** The key of one protocol side, e.g. `...\Protocols\TLS 1.2\Server`. */
export function protocolKey(protocol: ProtocolName | typeof TLS13, side: ProtocolSide): string {
  return `${SCHANNEL_PROTOCOLS_KEY}\\${protocol}\\${side}`;
}

/**
 * TLS 1.3's values, per side `Enabled` then `DisabledByDefault`: what the `windows/schannel` step reports
 * of TLS 1.3, read along by the preflight so that the step finds them in the read cache.
 */
export const TLS13_VALUES: readonly RegistryLocation[] = SIDES.flatMap((side) => [
  { view: '64' as const, key: protocolKey(TLS13, side), name: SCHANNEL_ENABLED_FACT.value.name },
  { view: '64' as const, key: protocolKey(TLS13, side), name: SCHANNEL_DISABLED_BY_DEFAULT_FACT.value.name },
]);

/**
 * Whether a side is enabled by its `Enabled` value: any non-zero DWORD (0xFFFFFFFF included) enables,
 * 0 disables, absent or another type leaves Windows' default (null).
 */
export function isEnabled(value: RegistryValue | null | undefined): boolean | null {
  if (!value || value.type !== 'REG_DWORD') return null;
  return SCHANNEL_ENABLED_FACT.value.nonZeroEnables ? value.data !== 0 : value.data === SCHANNEL_ENABLED_FACT.value.enable;
}

/** True when `Enabled` enables with a value other than the documented 1 (e.g. 0xFFFFFFFF, as IIS Crypto writes). */
export function isNonCanonicalEnabled(value: RegistryValue | null | undefined): boolean {
  return Boolean(value && value.type === 'REG_DWORD' && value.data !== SCHANNEL_ENABLED_FACT.value.enable && value.data !== SCHANNEL_ENABLED_FACT.value.disable);
}

/**
 * What SCHANNEL negotiates for a side by default (for services that use the system defaults), from its
 * two values: `Enabled`=0 or `DisabledByDefault`=1 → false; `Enabled` non-zero → true; no `Enabled` →
 * null (Windows' own default applies). A side disabled by default may still be negotiated by an
 * application that asks for it explicitly; the services this runbook protects do not.
 */
export function negotiatesByDefault(enabled: RegistryValue | null | undefined, disabledByDefault: RegistryValue | null | undefined): boolean | null {
  const on = isEnabled(enabled);
  if (on === false) return false;
  const dbd = SCHANNEL_DISABLED_BY_DEFAULT_FACT.value;
  if (disabledByDefault?.type === 'REG_DWORD' && disabledByDefault.data === dbd.disabledWhen) return false;
  return on;
}

/**
 * The protocols SCHANNEL negotiates by default per side, from a lookup of the values now set (null:
 * Windows' default). They apply to credential handles acquired from now on: whether a running service
 * uses them is shown by a handshake, never by when a key was written.
 */
export function protocolMap(read: (key: string, name: string) => RegistryValue | null): ProtocolMap {
  const map = {} as ProtocolMap;
  for (const protocol of PROTOCOLS) {
    map[protocol] = { Client: null, Server: null };
    for (const side of SIDES) {
      const key = protocolKey(protocol, side);
      map[protocol][side] = negotiatesByDefault(read(key, SCHANNEL_ENABLED_FACT.value.name), read(key, SCHANNEL_DISABLED_BY_DEFAULT_FACT.value.name));
    }
  }
  return map;
}

/** Windows' own default for a protocol side, and how sure the table is of it. */
export type ProtocolDefault = {
  /** null when no document settles it: the engine then reads the host (values present, handshakes). */
  state: 'enabled' | 'disabled' | 'not-supported' | null;
  status: FactStatus;
  /** The fact that says so. */
  fact: string;
  /** For a disputed or unknown default: what could not be settled. */
  note?: string;
};

/**
 * Windows' own default for a protocol side on a build, from the facts table: the protocols table's row
 * for the build (or the nearest earlier one); TLS 1.0 and 1.1 from build 20348 on are disputed; after
 * the table's last row only TLS 1.2 is stated.
 *
 * @example
 * ```ts
 * protocolDefault('SSL 3.0', 'Server', 9600); // { state: 'enabled', status: 'stated', fact: 'schannel.protocol-defaults' }
 * protocolDefault('TLS 1.0', 'Server', 26100).state; // null: disputed
 * ```
 */
export function protocolDefault(protocol: ProtocolName | typeof TLS13, side: ProtocolSide, build: number): ProtocolDefault {
  const rows = SCHANNEL_DEFAULTS_FACT.value;
  const disputed = TLS10_TLS11_FROM_2022_FACT.value;
  if ((disputed.protocols as readonly string[]).includes(protocol) && build >= disputed.fromBuild) {
    return { state: null, status: 'disputed', fact: TLS10_TLS11_FROM_2022_FACT.id, note: TLS10_TLS11_FROM_2022_FACT.note };
  }
  const last = rows[rows.length - 1]!;
  if (build > last.build) {
    if (protocol === TLS12_ENABLED_EVERYWHERE_FACT.value.protocol) return { state: 'enabled', status: 'stated', fact: TLS12_ENABLED_EVERYWHERE_FACT.id };
    return { state: null, status: 'unknown', fact: SCHANNEL_DEFAULTS_FACT.id, note: `no Microsoft document gives the default of ${protocol} ${side} for build ${build} (the protocols table ends with ${last.os})` };
  }
  const found = [...rows].reverse().find((r) => r.build <= build);
  if (!found) return { state: null, status: 'unknown', fact: SCHANNEL_DEFAULTS_FACT.id, note: `build ${build} is older than every row of the protocols table` };
  return { state: found.protocols[protocol][side], status: 'stated', fact: SCHANNEL_DEFAULTS_FACT.id };
}

/** Whether the table says a protocol exists on a build (false: not supported; null: not known). */
export function protocolSupported(protocol: ProtocolName | typeof TLS13, build: number): boolean | null {
  if (protocol === TLS13 && build < TLS13_FIRST_BUILD) return false;
  const d = protocolDefault(protocol, 'Server', build);
  return d.state === null ? null : d.state !== 'not-supported';
}

/**
 * Whether a protocol side is on when the registry says nothing, as the table states it (null: disputed
 * or unknown — never a guess).
 */
export function onByDefault(protocol: ProtocolName | typeof TLS13, side: ProtocolSide, build: number): boolean | null {
  const d = protocolDefault(protocol, side, build);
  return d.state === null ? null : d.state === 'enabled';
}
