/**
 * What the facts table says of a host's Windows: its release by name, and the registry views it has.
 * Used by several step kinds (the preflight, `hotfix-verify`, `dotnet-tls`, `winhttp-tls`) and by
 * `inspect`, so that none of them asks another for it.
 */
import { OS_SERVER_BUILDS, OS_VERSION_NAMES } from './facts/os.js';
import type { RegistryView } from './registry.js';

/**
 * The Windows release of a host as the facts name it (`Windows Server 2016`), or null.
 *
 * @example
 * ```ts
 * windowsRelease({ version: '6.3.9600', build: 9600, productType: 'server' }); // 'Windows Server 2012 R2'
 * ```
 */
export function windowsRelease(os: { version: string; build: number; productType: 'workstation' | 'server' }): string | null {
  const mm = os.version.split('.').slice(0, 2).join('.');
  if (mm === '10.0') {
    if (os.productType !== 'server') return null;
    return OS_SERVER_BUILDS.value.find((b) => b.build === os.build)?.name ?? null;
  }
  const row = OS_VERSION_NAMES.value.find((r) => r.version === mm);
  return row ? row[os.productType] : null;
}

/**
 * The registry views a Windows of this architecture has: the native 64-bit view and the 32-bit
 * (WOW64) one on 64-bit Windows, the one native view on 32-bit Windows.
 *
 * @example
 * ```ts
 * registryViews('64-bit'); // ['64', '32']
 * ```
 */
export function registryViews(architecture: '64-bit' | '32-bit'): RegistryView[] {
  return architecture === '64-bit' ? ['64', '32'] : ['32'];
}
