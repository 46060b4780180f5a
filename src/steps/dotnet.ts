/**
 * Step `windows/dotnet-tls`: the .NET Framework values of Microsoft's procedure, in the revision asked
 * for (`src/windows/facts/procedure.ts`). Both revisions set `SystemDefaultTlsVersions`=1 under
 * `.NETFramework\v2.0.50727` and `v4.0.30319`: four keys on a 64-bit OS (native and WOW64 views), the
 * two native keys on a 32-bit OS. The current revision first sets `SchUseStrongCrypto`=1 under
 * `v4.0.30319` in every view; the 2019 revision does not. `strongCrypto` adds `SchUseStrongCrypto`=1
 * in every key the step sets, beyond what either revision asks.
 */
import * as z from '../util/zod.js';
import { defineStepKind, type DeclaredWrite } from '../engine/step-kind.js';
import type { StepRuntime } from '../engine/step-runtime.js';
import { resultOf, type RegistryView } from '../executors/types.js';
import { PROCEDURE_REVISIONS, PROCEDURE_STRONG_CRYPTO, PROCEDURE_SYSTEM_DEFAULT_TLS } from '../windows/facts/procedure.js';
import { defineRegistryStep } from './registry-values.js';
import { registryViews } from '../windows/os.js';

export const DOTNET_VERSIONS = PROCEDURE_SYSTEM_DEFAULT_TLS.value.versions;
/** The `.NETFramework` key under HKLM, as the procedure's tables name it (read in each registry view). */
export const NETFRAMEWORK_KEY = PROCEDURE_SYSTEM_DEFAULT_TLS.value.key;

export const dotnetParams = z.strictObject({
  /**
   * Which revision of Microsoft's page to follow: `current` (ms.date 11/01/2024: `SchUseStrongCrypto`=1
   * under v4.0.30319 in both views, then `SystemDefaultTlsVersions`) or `2019` (`SystemDefaultTlsVersions` only).
   * @default 'current'
   */
  procedure: z._default(z.enum(PROCEDURE_REVISIONS), 'current'),
  /** Also set `SchUseStrongCrypto`=1 in every key the step sets (v2.0.50727 too), beyond what the revision asks. @default false */
  strongCrypto: z._default(z.boolean(), false),
});
export type DotnetParams = z.infer<typeof dotnetParams>;

/** The registry views that hold .NET settings on this OS: both on 64-bit, the one native view on 32-bit. */
export async function dotnetViews(rt: StepRuntime): Promise<RegistryView[]> {
  const [os] = await rt.read([{ op: 'os.info' }]);
  return registryViews(resultOf(os, 'os.info').architecture);
}

/**
 * The values, in the order the revision sets them, for the views of this OS.
 *
 * @example
 * ```ts
 * dotnetValues({ procedure: 'current', strongCrypto: false }, ['64', '32']).length; // 6: SchUseStrongCrypto ×2, SystemDefaultTlsVersions ×4
 * ```
 */
export function dotnetValues(params: DotnetParams, views: readonly RegistryView[]): DeclaredWrite[] {
  const sdtv = PROCEDURE_SYSTEM_DEFAULT_TLS.value;
  const strong = PROCEDURE_STRONG_CRYPTO.value[params.procedure];
  // `strongCrypto` on the 2019 revision (which sets none) writes the current revision's value.
  const strongValue = strong ?? PROCEDURE_STRONG_CRYPTO.value.current!;
  const strongVersions = params.strongCrypto ? DOTNET_VERSIONS : (strong?.versions ?? []);
  const dword = (data: number) => ({ type: 'REG_DWORD' as const, data });
  const writes: DeclaredWrite[] = [];
  // The current revision's first sub-steps: SchUseStrongCrypto, native key then WOW6432Node.
  for (const view of views) {
    for (const version of strongVersions) writes.push({ view, key: `${NETFRAMEWORK_KEY}\\${version}`, name: strongValue.name, desired: dword(strongValue.data) });
  }
  for (const view of views) {
    for (const version of sdtv.versions) writes.push({ view, key: `${NETFRAMEWORK_KEY}\\${version}`, name: sdtv.name, desired: dword(sdtv.data) });
  }
  return writes;
}

export async function dotnetWrites(params: DotnetParams, rt: StepRuntime): Promise<DeclaredWrite[]> {
  return dotnetValues(params, await dotnetViews(rt));
}

export const dotnetStep = defineStepKind(
  defineRegistryStep({
    kind: 'windows/dotnet-tls',
    description:
      'Makes .NET Framework 2.0/3.5 and 4.x use the TLS versions of the OS (SystemDefaultTlsVersions=1) and, as Microsoft\'s current page says, 4.x strong cryptography (SchUseStrongCrypto=1), in every registry view',
    params: dotnetParams,
    what: '.NET Framework TLS settings',
    rebootOnChange: true,
    writes: ({ params, rt }) => dotnetWrites(params, rt),
    // The OS's architecture: which registry views hold the values.
    reads: () => [{ op: 'os.info' }],
  }),
);
