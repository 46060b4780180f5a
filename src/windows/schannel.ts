/**
 * SCHANNEL protocol semantics shared by the steps and the simulated host: where the keys live and how
 * Windows reads `Enabled` / `DisabledByDefault`.
 */
import type { ProtocolMap, ProtocolName, ProtocolSide, RegistryValue } from './registry.js';

export const SCHANNEL_PROTOCOLS_KEY = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';
export const PROTOCOLS: readonly ProtocolName[] = ['SSL 2.0', 'SSL 3.0', 'TLS 1.0', 'TLS 1.1', 'TLS 1.2'];
export const SIDES: readonly ProtocolSide[] = ['Client', 'Server'];

/**
 * TLS 1.3: not part of the reference procedure (written before Windows had it). Microsoft's "Protocols
 * in TLS/SSL (Schannel SSP)" lists it as supported, and on by default, from Windows Server 2022 (build
 * 20348) and Windows 11; earlier builds do not support it. The runbook reports it and leaves it alone
 * unless asked to manage it.
 */
export const TLS13 = 'TLS 1.3';
export const TLS13_FIRST_BUILD = 20348;

/** Whether Windows turns TLS 1.3 on by itself (no registry values) on this build. */
export function tls13OnByDefault(build: number): boolean {
  return build >= TLS13_FIRST_BUILD;
}

/** The key of one protocol side, e.g. `...\Protocols\TLS 1.2\Server`. */
export function protocolKey(protocol: ProtocolName | typeof TLS13, side: ProtocolSide): string {
  return `${SCHANNEL_PROTOCOLS_KEY}\\${protocol}\\${side}`;
}

/**
 * Whether a side is enabled by its `Enabled` value: any non-zero DWORD (0xFFFFFFFF included) enables,
 * 0 disables, absent or another type leaves Windows' default (null).
 */
export function isEnabled(value: RegistryValue | null | undefined): boolean | null {
  if (!value || value.type !== 'REG_DWORD') return null;
  return value.data !== 0;
}

/** Builds the map of protocols in effect from a lookup of `Enabled` values. */
export function protocolMap(read: (key: string, name: string) => RegistryValue | null): ProtocolMap {
  const map = {} as ProtocolMap;
  for (const protocol of PROTOCOLS) {
    map[protocol] = { Client: null, Server: null };
    for (const side of SIDES) map[protocol][side] = isEnabled(read(protocolKey(protocol, side), 'Enabled'));
  }
  return map;
}

/**
 * Whether a protocol's server side is on when the registry says nothing (no `Enabled` value), from
 * Microsoft's "Protocols in TLS/SSL (Schannel SSP)" (learn.microsoft.com/windows/win32/secauthn/
 * protocols-in-tls-ssl--schannel-ssp-): TLS 1.0, 1.1 and 1.2 are on by default from Windows 8 and
 * Windows Server 2012 (build 9200); on Windows 7 / Server 2008 R2 (build 7601) TLS 1.1 and 1.2 are
 * supported but off; TLS 1.3 is on from Windows Server 2022 (build 20348) and absent before; SSL 2.0
 * and 3.0 are off by default on every build this project supports.
 */
export function serverOnByDefault(protocol: ProtocolName | typeof TLS13, build: number): boolean {
  if (protocol === TLS13) return tls13OnByDefault(build);
  if (protocol === 'TLS 1.0') return true;
  if (protocol === 'TLS 1.1' || protocol === 'TLS 1.2') return build >= 9200;
  return false;
}
