/**
 * Step `windows/winhttp-tls`: on the builds KB3140245 is for (Windows Server 2012, Windows Server 2008
 * R2 SP1 / Windows 7 SP1), WinHTTP clients that use the default protocols — WinRM among them — do not
 * use TLS 1.1 or 1.2 until `DefaultSecureProtocols` says so. Once `windows/schannel` turns client TLS
 * 1.0 off (`mode: tls12-only`), such a server could no longer make outgoing WinHTTP connections. This
 * step sets `DefaultSecureProtocols` to TLS 1.2 in both registry views, as the KB describes, and checks
 * that the update is listed among the installed ones. A change owes a restart (the value takes effect
 * once the machine or the services using WinHTTP restart). On every other build it does nothing: the KB
 * is not for them. Writes are journaled and rolled back like every registry value.
 */
import * as z from '../util/zod.js';
import { defineStepKind, type DeclaredWrite } from '../engine/step-kind.js';
import type { Json } from '../engine/types.js';
import type { StepRuntime } from '../engine/step-runtime.js';
import { resultOf, type RegistryView } from '../executors/types.js';
import { registryViews } from '../windows/os.js';
import { DEFAULT_SECURE_PROTOCOLS_BITS_FACT, DEFAULT_SECURE_PROTOCOLS_LOCATION_FACT, DEFAULT_SECURE_PROTOCOLS_RESTART_FACT, KB3140245_BUILDS_FACT } from '../windows/facts/winhttp.js';
import { defineRegistryStep } from './registry-values.js';

export const winhttpTlsParams = z.strictObject({
  /**
   * The `windows/schannel` mode of the same run: `tls12-only` leaves TLS 1.2 as the only client
   * protocol, so WinHTTP must default to it; `tls12-incoming-only` keeps client TLS 1.0, and WinHTTP's
   * own defaults keep working — the step then changes nothing.
   * @default 'tls12-only'
   */
  mode: z._default(z.enum(['tls12-only', 'tls12-incoming-only']), 'tls12-only'),
});
export type WinhttpTlsParams = z.infer<typeof winhttpTlsParams>;

/**
 * Whether KB3140245 is for this build.
 *
 * @example
 * ```ts
 * kb3140245Applies(9200); // true: Windows Server 2012
 * ```
 */
export function kb3140245Applies(build: number): boolean {
  return KB3140245_BUILDS_FACT.value.builds.includes(build);
}

/** The value the step writes: TLS 1.2's bit (0x800). */
export const DEFAULT_SECURE_PROTOCOLS = DEFAULT_SECURE_PROTOCOLS_BITS_FACT.value['TLS 1.2'];

/**
 * The values: `DefaultSecureProtocols`=0x800 in the WinHttp key of every view, on the builds the KB
 * is for and in `tls12-only` mode; none otherwise.
 *
 * @example
 * ```ts
 * // [] on Windows Server 2016; DefaultSecureProtocols=0x800 in both views on Windows Server 2012
 * const writesOf = (rt: StepRuntime) => winhttpWrites({ mode: 'tls12-only' }, rt);
 * ```
 */
export async function winhttpWrites(params: WinhttpTlsParams, rt: StepRuntime): Promise<DeclaredWrite[]> {
  const [os] = await rt.read([{ op: 'os.info' }]);
  const { build, architecture } = resultOf(os, 'os.info');
  return winhttpValues(params, build, registryViews(architecture));
}

/**
 * The same values for a build and the registry views of its OS, without reading the target (what
 * `inspect` judges).
 *
 * @example
 * ```ts
 * winhttpValues({ mode: 'tls12-only' }, 9200, ['64', '32']).length; // 2: Windows Server 2012
 * winhttpValues({ mode: 'tls12-only' }, 14393, ['64', '32']).length; // 0: Windows Server 2016
 * ```
 */
export function winhttpValues(params: WinhttpTlsParams, build: number, views: readonly RegistryView[]): DeclaredWrite[] {
  if (params.mode !== 'tls12-only' || !kb3140245Applies(build)) return [];
  const { key, name } = DEFAULT_SECURE_PROTOCOLS_LOCATION_FACT.value;
  return views.map((view): DeclaredWrite => ({ view, key, name, desired: { type: 'REG_DWORD', data: DEFAULT_SECURE_PROTOCOLS } }));
}

async function kbReport(params: WinhttpTlsParams, rt: StepRuntime): Promise<Json> {
  const [os, hotfixes] = await rt.read([{ op: 'os.info' }, { op: 'hotfix.list' }]);
  const build = resultOf(os, 'os.info').build;
  const kb = KB3140245_BUILDS_FACT.value.kb;
  const applies = kb3140245Applies(build);
  const listed = resultOf(hotfixes, 'hotfix.list').hotfixes.some((h) => h.toUpperCase() === kb);
  return { kb, build, applies, needed: applies && params.mode === 'tls12-only', listed };
}

export const winhttpTlsStep = defineStepKind(
  defineRegistryStep({
    kind: 'windows/winhttp-tls',
    description: 'Windows Server 2012 / 2008 R2: lets WinHTTP clients (WinRM among them) default to TLS 1.2 (KB3140245 DefaultSecureProtocols=0x800, both registry views)',
    params: winhttpTlsParams,
    what: 'WinHTTP default secure protocols',
    // A changed value takes effect after a restart of the machine or of the services using WinHTTP
    // (fact winhttp.default-secure-protocols-restart): a change owes one.
    rebootOnChange: DEFAULT_SECURE_PROTOCOLS_RESTART_FACT.value.restart,
    writes: ({ params, rt }) => winhttpWrites(params, rt),
    // The build (whether KB3140245 is for it) and the installed updates (whether it is listed).
    reads: () => [{ op: 'os.info' }, { op: 'hotfix.list' }],
    publish: async ({ params, rt }) => ({ kb3140245: await kbReport(params, rt) }),
    note: (published) => {
      const k = published.kb3140245 as { kb: string; build: number; applies: boolean; needed: boolean; listed: boolean } | undefined;
      if (!k) return null;
      if (!k.applies) return `not needed: ${k.kb} is for Windows Server 2012 and 2008 R2 SP1, not build ${k.build}`;
      if (!k.needed) return 'not needed: client TLS 1.0 stays on (tls12-incoming-only), WinHTTP keeps its own defaults';
      return k.listed
        ? `${k.kb} installed`
        : `${k.kb} is not among the updates Windows lists: WinHTTP honours DefaultSecureProtocols only with it (or an update that includes it) — install it, or WinRM and other WinHTTP clients cannot connect once client TLS 1.0 is off`;
    },
    publishes: {
      kb3140245: z.unknown().check(z.describe('whether KB3140245 is for this build, whether the step sets the value, and whether the update is listed as installed')),
    },
  }),
);
