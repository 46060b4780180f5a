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
import { PROTOCOLS, SIDES, TLS13, isEnabled, protocolKey, tls13OnByDefault } from '../windows/schannel.js';
import { defineRegistryStep } from './registry-values.js';

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
});
export type SchannelParams = z.infer<typeof schannelParams>;

/** The setting each managed protocol side gets. */
export function desiredSettings(params: SchannelParams): Record<ProtocolName, Record<ProtocolSide, Setting>> {
  const map = {} as Record<ProtocolName, Record<ProtocolSide, Setting>>;
  for (const protocol of PROTOCOLS) {
    map[protocol] = { Client: 'disabled', Server: 'disabled' };
    for (const side of SIDES) {
      let on = protocol === 'TLS 1.2';
      if (params.mode === 'tls12-incoming-only' && side === 'Client') on = ['TLS 1.0', 'TLS 1.1', 'TLS 1.2'].includes(protocol);
      map[protocol][side] = params.protocols[protocol]?.[side] ?? (on ? 'enabled' : 'disabled');
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

function sideWrites(key: string, value: Setting): DeclaredWrite[] {
  if (value === 'default') {
    return [
      { view: '64', key, name: 'Enabled', desired: null },
      { view: '64', key, name: 'DisabledByDefault', desired: null },
    ];
  }
  const on = value === 'enabled';
  return [
    { view: '64', key, name: 'Enabled', desired: { type: 'REG_DWORD', data: on ? 1 : 0 }, satisfiedBy: 'nonzero' },
    { view: '64', key, name: 'DisabledByDefault', desired: { type: 'REG_DWORD', data: on ? 0 : 1 } },
  ];
}

/** The values: for each protocol and side, `Enabled` (any non-zero counts as on) and `DisabledByDefault`; TLS 1.3 only when managed. */
export function schannelWrites(params: SchannelParams): DeclaredWrite[] {
  const settings = desiredSettings(params);
  const writes = PROTOCOLS.flatMap((protocol) => SIDES.flatMap((side) => sideWrites(protocolKey(protocol, side), settings[protocol][side])));
  if (params.tls13 !== 'leave') writes.push(...SIDES.flatMap((side) => sideWrites(protocolKey(TLS13, side), params.tls13 as Setting)));
  return writes;
}

/** What the target's TLS 1.3 looks like: its values and whether Windows turns it on by itself. */
export const tls13Reads: HostOp[] = SIDES.map((side): HostOp => ({ op: 'registry.get', view: '64', key: protocolKey(TLS13, side), name: 'Enabled' }));

async function tls13Report(params: SchannelParams, rt: StepRuntime): Promise<Json> {
  // Read by the preflight in the same batch as everything else: these come from the read cache.
  const [os, ...sides] = await rt.read([{ op: 'os.info' }, ...tls13Reads]);
  const build = resultOf(os, 'os.info').build;
  const configured = Object.fromEntries(SIDES.map((side, i) => [side, isEnabled(resultOf(sides[i], 'registry.get').value)]));
  const byDefault = tls13OnByDefault(build);
  const inEffect = Object.fromEntries(SIDES.map((side) => [side, configured[side] ?? byDefault]));
  return { managed: params.tls13 !== 'leave', setting: params.tls13, supported: byDefault, configured, inEffect } as Json;
}

export const schannelStep = defineStepKind(
  defineRegistryStep({
    kind: 'windows/schannel',
    description: 'Sets which SCHANNEL protocols Windows uses (Enabled / DisabledByDefault per protocol and side); a change owes a restart',
    params: schannelParams,
    what: 'SCHANNEL protocols',
    rebootOnChange: true,
    writes: async ({ params }) => schannelWrites(params),
    publish: async ({ params, rt }) => ({ protocols: desiredProtocols(params) as never, tls13: await tls13Report(params, rt) }),
    note: (published) => {
      const t = published.tls13 as { managed: boolean; setting: string; supported: boolean; inEffect: Record<string, boolean> } | undefined;
      if (!t) return null;
      if (t.managed) return `TLS 1.3 set to ${t.setting}`;
      const on = Object.values(t.inEffect).some(Boolean);
      return `TLS 1.3 left alone (${on ? 'on' : 'off'}${t.supported ? ', on by default on this Windows' : ', not supported before Windows Server 2022'})`;
    },
    publishes: {
      protocols: z.unknown().check(z.describe('the protocols the step configures, per side (null: Windows default)')),
      tls13: z.unknown().check(z.describe('TLS 1.3 on the target: managed or left alone, configured values, in effect')),
    },
  }),
);

