/**
 * Step `windows/dotnet-tls`: `SystemDefaultTlsVersions`=1 under `.NETFramework\v2.0.50727` and
 * `v4.0.30319` (the reference procedure's step 2): four keys on a 64-bit OS (native and WOW64
 * views), the two native keys on a 32-bit OS. Optionally `SchUseStrongCrypto`=1 in the same keys.
 */
import * as z from '../util/zod.js';
import { defineStepKind, type DeclaredWrite } from '../engine/step-kind.js';
import type { StepRuntime } from '../engine/step-runtime.js';
import { resultOf, type RegistryView } from '../executors/types.js';
import { defineRegistryStep } from './registry-values.js';

export const DOTNET_VERSIONS = ['v2.0.50727', 'v4.0.30319'] as const;
export const NETFRAMEWORK_KEY = 'SOFTWARE\\Microsoft\\.NETFramework';

export const dotnetParams = z.strictObject({
  /** Also set `SchUseStrongCrypto`=1 (the document does not ask for it). @default false */
  strongCrypto: z._default(z.boolean(), false),
});
export type DotnetParams = z.infer<typeof dotnetParams>;

/** The registry views that hold .NET settings on this OS: both on 64-bit, the one native view on 32-bit. */
export async function dotnetViews(rt: StepRuntime): Promise<RegistryView[]> {
  const [os] = await rt.read([{ op: 'os.info' }]);
  return resultOf(os, 'os.info').architecture === '64-bit' ? ['64', '32'] : ['32'];
}

export async function dotnetWrites(params: DotnetParams, rt: StepRuntime): Promise<DeclaredWrite[]> {
  const names = params.strongCrypto ? ['SystemDefaultTlsVersions', 'SchUseStrongCrypto'] : ['SystemDefaultTlsVersions'];
  const writes: DeclaredWrite[] = [];
  for (const view of await dotnetViews(rt)) {
    for (const version of DOTNET_VERSIONS) {
      for (const name of names) writes.push({ view, key: `${NETFRAMEWORK_KEY}\\${version}`, name, desired: { type: 'REG_DWORD', data: 1 } });
    }
  }
  return writes;
}

export const dotnetStep = defineStepKind(
  defineRegistryStep({
    kind: 'windows/dotnet-tls',
    description: 'Makes .NET Framework 2.0/3.5 and 4.x use the TLS versions of the OS (SystemDefaultTlsVersions=1), in every registry view',
    params: dotnetParams,
    what: '.NET Framework TLS settings',
    rebootOnChange: true,
    writes: ({ params, rt }) => dotnetWrites(params, rt),
  }),
);
