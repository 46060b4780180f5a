/**
 * Step `windows/schannel`: which SCHANNEL protocols Windows offers, per side, as the reference
 * procedure's step 1 sets them (`Enabled` and `DisabledByDefault` DWORDs under each protocol's
 * `Client` and `Server` key). Protocol keys it does not manage (TLS 1.3, PCT…) are left alone.
 */
import * as z from '../util/zod.js';
import { defineStepKind } from '../engine/step-kind.js';
import type { DeclaredWrite } from '../engine/step-kind.js';
import type { Json } from '../engine/types.js';
import type { StepRuntime } from '../engine/step-runtime.js';
import { resultOf, type HostOp, type ProtocolMap, type ProtocolName, type ProtocolSide } from '../executors/types.js';
import { PROTOCOLS, SIDES, TLS13, isNonCanonicalEnabled, negotiatesByDefault, protocolDefault, protocolKey } from '../windows/schannel.js';
import { SCHANNEL_DISABLED_BY_DEFAULT_FACT, SCHANNEL_ENABLED_FACT } from '../windows/facts/schannel.js';
import { PROCEDURE_SCHANNEL, PROCEDURE_SCHANNEL_INCOMING_ONLY } from '../windows/facts/procedure.js';
import { defineRegistryStep } from './registry-values.js';
import { TLS13_READS } from './host-reads.js';
import { batchOps, defineBatch, readBatch } from '../executors/read-batch.js';

/** `default`: both values removed, so that Windows' own default applies (as SChannelDsc's `Default`). */
const setting = z.enum(['enabled', 'disabled', 'default']);
type Setting = z.infer<typeof setting>;

export const schannelParams = z.strictObject({
  /**
   * `tls12-only`: the document's script — TLS 1.2 on both sides, everything else disabled.
   * `tls12-incoming-only`: the document's NOTE — incoming (Server) TLS 1.2 only; outgoing (Client)
   * TLS 1.0, 1.1 and 1.2.
   * @default 'tls12-only'
   */
  mode: z._default(z.enum(['tls12-only', 'tls12-incoming-only']), 'tls12-only'),
  /** Explicit settings that win over the mode, e.g. `{ "TLS 1.1": { "Client": "disabled" } }`. */
  protocols: z._default(z.partialRecord(z.enum(PROTOCOLS as [ProtocolName, ...ProtocolName[]]), z.strictObject({ Client: z.optional(setting), Server: z.optional(setting) })), {}),
  /**
   * TLS 1.3 (not in the procedure): `leave` it as it is — on by default from Windows Server 2022 —, or
   * set both sides `enabled`, `disabled`, or back to Windows' `default`.
   * @default 'leave'
   */
  tls13: z._default(z.enum(['leave', 'enabled', 'disabled', 'default']), 'leave'),
  /**
   * Windows takes any non-zero `Enabled` as enabled, so 0xFFFFFFFF (what IIS Crypto writes) already
   * satisfies an enabled side and is left alone — and reported. Checks that want the literal 1 (Exchange
   * Health Checker before April 2024, hardening benchmarks) reject it: `true` rewrites such a value to 1,
   * its prior kept for the rollback like every other value.
   * @default false
   */
  normaliseEnabled: z._default(z.boolean(), false),
});
export type SchannelParams = z.infer<typeof schannelParams>;

/** Per side, the protocols a mode turns on and off. */
export type ProtocolLists = Record<ProtocolSide, { on: readonly string[]; off: readonly string[] }>;

/**
 * The protocols each mode turns on and off, from the facts: the script's lists (`tls12-only`, fact
 * `procedure.schannel-values`), or the NOTE's per side (`tls12-incoming-only`, fact
 * `procedure.schannel-incoming-only`).
 *
 * @example
 * ```ts
 * modeLists('tls12-incoming-only').Client.on; // ['TLS 1.0', 'TLS 1.1', 'TLS 1.2']
 * ```
 */
export function modeLists(mode: SchannelParams['mode']): ProtocolLists {
  if (mode === 'tls12-incoming-only') return PROCEDURE_SCHANNEL_INCOMING_ONLY.value;
  const { on, off } = PROCEDURE_SCHANNEL.value;
  return { Client: { on, off }, Server: { on, off } };
}

/**
 * The setting each managed protocol side gets: `protocols` first, then the mode's lists. A protocol
 * neither list names is handed to Windows' own default (the plan says where no document settles it).
 */
export function desiredSettings(params: SchannelParams, lists: ProtocolLists = modeLists(params.mode)): Record<ProtocolName, Record<ProtocolSide, Setting>> {
  const map = {} as Record<ProtocolName, Record<ProtocolSide, Setting>>;
  for (const protocol of PROTOCOLS) {
    map[protocol] = { Client: 'disabled', Server: 'disabled' };
    for (const side of SIDES) {
      const fromLists: Setting = lists[side].on.includes(protocol) ? 'enabled' : lists[side].off.includes(protocol) ? 'disabled' : 'default';
      map[protocol][side] = params.protocols[protocol]?.[side] ?? fromLists;
    }
  }
  return map;
}

/** The protocol settings a parameter set asks for (null: Windows' default). */
export function desiredProtocols(params: SchannelParams): ProtocolMap {
  const settings = desiredSettings(params);
  const map = {} as ProtocolMap;
  for (const protocol of PROTOCOLS) {
    map[protocol] = { Client: null, Server: null };
    for (const side of SIDES) map[protocol][side] = settings[protocol][side] === 'default' ? null : settings[protocol][side] === 'enabled';
  }
  return map;
}

const ENABLED = SCHANNEL_ENABLED_FACT.value.name;
const DISABLED_BY_DEFAULT = SCHANNEL_DISABLED_BY_DEFAULT_FACT.value.name;

function sideWrites(key: string, value: Setting, normalise: boolean): DeclaredWrite[] {
  if (value === 'default') {
    return [
      { view: '64', key, name: ENABLED, desired: null },
      { view: '64', key, name: DISABLED_BY_DEFAULT, desired: null },
    ];
  }
  // The procedure's values for an enabled and a disabled side.
  const values = PROCEDURE_SCHANNEL.value[value === 'enabled' ? 'enabled' : 'disabled'];
  return [
    { view: '64', key, name: ENABLED, desired: { type: 'REG_DWORD', data: values.Enabled }, satisfiedBy: normalise ? 'exact' : 'nonzero' },
    { view: '64', key, name: DISABLED_BY_DEFAULT, desired: { type: 'REG_DWORD', data: values.DisabledByDefault } },
  ];
}

/** The values: for each protocol and side, `Enabled` (any non-zero counts as on) and `DisabledByDefault`; TLS 1.3 only when managed. */
export function schannelWrites(params: SchannelParams, lists: ProtocolLists = modeLists(params.mode)): DeclaredWrite[] {
  const settings = desiredSettings(params, lists);
  const normalise = params.normaliseEnabled;
  const writes = PROTOCOLS.flatMap((protocol) => SIDES.flatMap((side) => sideWrites(protocolKey(protocol, side), settings[protocol][side], normalise)));
  if (params.tls13 !== 'leave') writes.push(...SIDES.flatMap((side) => sideWrites(protocolKey(TLS13, side), params.tls13 as Setting, normalise)));
  return writes;
}

/** What the step reads besides the values it sets: the OS (its build), and TLS 1.3's values. */
const TLS13_REPORT = defineBatch({ os: { op: 'os.info' }, tls13: TLS13_READS });

/** What the target's TLS 1.3 looks like: its values, and what the facts table says of its default. */
async function tls13Report(params: SchannelParams, rt: StepRuntime): Promise<Json> {
  const read = await readBatch(rt, TLS13_REPORT);
  const build = read.os.build;
  // TLS13_READS holds, per side, `Enabled` then `DisabledByDefault`.
  const value = (i: number) => read.tls13[i].value;
  const configured = Object.fromEntries(SIDES.map((side, i) => [side, negotiatesByDefault(value(2 * i), value(2 * i + 1))]));
  const byDefault = protocolDefault(TLS13, 'Server', build);
  // Where no document settles the default, "in effect" is not assumed: null, and the handshakes show it.
  const onByDefault = byDefault.state === null ? null : byDefault.state === 'enabled';
  const inEffect = Object.fromEntries(SIDES.map((side) => [side, configured[side] ?? onByDefault]));
  return {
    managed: params.tls13 !== 'leave',
    setting: params.tls13,
    supported: byDefault.state === null ? null : byDefault.state !== 'not-supported',
    default: { state: byDefault.state, status: byDefault.status, fact: byDefault.fact },
    configured,
    inEffect,
  };
}

/**
 * The sides the parameters hand back to Windows' default (`default`) where no document settles that
 * default on this build: the plan names the fact it could not settle, and the handshakes show the rest.
 */
async function unsettledDefaults(params: SchannelParams, rt: StepRuntime): Promise<Json[]> {
  const [os] = await rt.read([{ op: 'os.info' }]);
  const build = resultOf(os, 'os.info').build;
  const settings = desiredSettings(params);
  const sides: { protocol: ProtocolName | typeof TLS13; side: ProtocolSide }[] = PROTOCOLS.flatMap((protocol) => SIDES.filter((side) => settings[protocol][side] === 'default').map((side) => ({ protocol, side })));
  if (params.tls13 === 'default') sides.push(...SIDES.map((side) => ({ protocol: TLS13 as typeof TLS13, side })));
  return sides.flatMap(({ protocol, side }) => {
    const d = protocolDefault(protocol, side, build);
    return d.state === null ? [{ side: `${protocol} ${side}`, status: d.status, fact: d.fact }] : [];
  });
}

/** Every `Enabled` value the step leaves alone although it is not the documented 1 or 0 (e.g. 0xFFFFFFFF). */
async function nonCanonicalEnabled(params: SchannelParams, rt: StepRuntime): Promise<Json[]> {
  const enabledWrites = schannelWrites(params).filter((w) => w.name === SCHANNEL_ENABLED_FACT.value.name && w.desired !== null);
  // Read by the probe in the same drive: these come from the read cache.
  const results = await rt.read(enabledWrites.map((w): HostOp => ({ op: 'registry.get', view: w.view, key: w.key, name: w.name })));
  return enabledWrites.flatMap((w, i) => {
    const v = resultOf(results[i], 'registry.get').value;
    if (!isNonCanonicalEnabled(v)) return [];
    const side = w.key.split('\\').slice(-2).join(' ');
    return [{ side, value: `0x${(v as { data: number }).data.toString(16).toUpperCase()}`, normalised: params.normaliseEnabled }];
  });
}

/** How the note says what TLS 1.3 does when the step leaves it alone. */
function tls13Words(t: { supported: boolean | null; default: { status: string }; configured: Record<string, boolean | null>; inEffect: Record<string, boolean | null> }): string {
  if (t.supported === false) return 'off, not supported before Windows Server 2022';
  const values = Object.values(t.inEffect);
  if (values.some((v) => v === null)) return `not known from the registry: no Microsoft document states its default on this Windows (${t.default.status}); the handshakes show it`;
  const state = values.some(Boolean) ? 'on' : 'off';
  return Object.values(t.configured).every((v) => v === null) ? `${state}, ${state} by default on this Windows` : `${state}, as configured`;
}

export const schannelStep = defineStepKind(
  defineRegistryStep({
    kind: 'windows/schannel',
    description: 'Sets which SCHANNEL protocols Windows uses (Enabled / DisabledByDefault per protocol and side); a change owes a restart',
    params: schannelParams,
    what: 'SCHANNEL protocols',
    rebootOnChange: true,
    writes: async ({ params }) => schannelWrites(params),
    // What its TLS 1.3 report reads, whether or not it sets TLS 1.3 (the values it sets, `declares` names).
    reads: () => batchOps(TLS13_REPORT),
    publish: async ({ params, rt }) => ({
      protocols: desiredProtocols(params),
      tls13: await tls13Report(params, rt),
      nonCanonicalEnabled: await nonCanonicalEnabled(params, rt),
      unsettledDefaults: await unsettledDefaults(params, rt),
    }),
    note: (published) => {
      const notes: string[] = [];
      const unsettled = (published.unsettledDefaults as { side: string; status: string; fact: string }[] | undefined) ?? [];
      if (unsettled.length > 0) {
        const list = unsettled.map((u) => u.side).join(', ');
        notes.push(`${list} set to Windows' default, which no Microsoft document settles on this build (${[...new Set(unsettled.map((u) => `${u.status}: ${u.fact}`))].join('; ')}): the handshakes show what it does`);
      }
      const odd = (published.nonCanonicalEnabled as { side: string; value: string; normalised: boolean }[] | undefined) ?? [];
      if (odd.length > 0) {
        const list = odd.map((o) => `${o.side} Enabled=${o.value}`).join(', ');
        notes.push(
          odd[0]!.normalised
            ? `${list}: rewritten to 1 (normaliseEnabled)`
            : `${list}: Windows takes it as enabled, but checks that want the literal 1 reject it (normaliseEnabled: true rewrites it)`,
        );
      }
      const t = published.tls13 as
        | { managed: boolean; setting: string; supported: boolean | null; default: { status: string }; configured: Record<string, boolean | null>; inEffect: Record<string, boolean | null> }
        | undefined;
      if (t?.managed) notes.push(`TLS 1.3 set to ${t.setting}`);
      else if (t) notes.push(`TLS 1.3 left alone (${tls13Words(t)})`);
      return notes.length > 0 ? notes.join('; ') : null;
    },
    publishes: {
      protocols: z.unknown().check(z.describe('the protocols the step configures, per side (null: Windows default)')),
      tls13: z.unknown().check(z.describe('TLS 1.3 on the target: managed or left alone, configured values, the default the facts table states (null where none does)')),
      unsettledDefaults: z.unknown().check(z.describe("sides set to Windows' default where that default is disputed or unknown on this build, with the fact that could not settle it")),
      nonCanonicalEnabled: z.unknown().check(z.describe('Enabled values other than 1 or 0 on sides the step enables (e.g. 0xFFFFFFFF), and whether they were rewritten to 1')),
    },
  }),
);

