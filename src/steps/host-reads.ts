/**
 * The host reads several step kinds share, as typed operations built from the facts and constants in
 * `src/windows/` (which may not import the executor contract: it is the floor below it). A kind that
 * needs one imports it from here rather than from another kind's file.
 */
import type { OpOf } from '../executors/types.js';
import type { RegistryLocation } from '../windows/registry.js';
import { DOTNET35_INSTALLED, DOTNET_MIN_RELEASE_46 } from '../windows/facts/dotnet.js';
import { RESTART_MARKER } from '../windows/restart-marker.js';
import { TLS13_VALUES } from '../windows/schannel.js';

/**
 * One registry value's read.
 *
 * @example
 * ```ts
 * registryRead({ view: '64', key: 'SOFTWARE\\Example', name: 'Flag' }); // { op: 'registry.get', view: '64', ... }
 * ```
 */
export function registryRead(at: RegistryLocation): OpOf<'registry.get'> {
  return { op: 'registry.get', view: at.view, key: at.key, name: at.name };
}

/** The engine's restart marker (`RESTART_MARKER`): present while a restart is owed. */
export const RESTART_MARKER_READ: OpOf<'registry.get'> = registryRead(RESTART_MARKER);

/**
 * The .NET Framework 3.5 read, with where the fact `dotnet.v35-install-key` says it is installed
 * (key, name, data): the agent reads the op's, never its own copy.
 * @example
 * const [answer] = await executor.run([DOTNET35_READ]); // { op: 'dotnet35.tls', installed, file, version }
 */
export const DOTNET35_READ: OpOf<'dotnet35.tls'> = { op: 'dotnet35.tls', ...DOTNET35_INSTALLED.value };

/** `NDP\v4\Full` Release: which .NET Framework 4.x is installed (fact `dotnet.min-release-46`). */
export const DOTNET_RELEASE_READ: OpOf<'registry.get'> = registryRead({ view: '64', key: DOTNET_MIN_RELEASE_46.value.key, name: DOTNET_MIN_RELEASE_46.value.name });

/** TLS 1.3's values (`TLS13_VALUES`): per side `Enabled`, then `DisabledByDefault`. */
export const TLS13_READS: readonly OpOf<'registry.get'>[] = TLS13_VALUES.map(registryRead);
