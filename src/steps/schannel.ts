/**
 * Step `windows/schannel`: which SCHANNEL protocols Windows offers, per side, as the reference
 * procedure's step 1 sets them (`Enabled` and `DisabledByDefault` DWORDs under each protocol's
 * `Client` and `Server` key). Protocol keys it does not manage (TLS 1.3, PCT…) are left alone.
 */
import { z } from 'zod';
import { defineStepKind } from '../engine/step-kind.js';
import type { DeclaredWrite } from '../engine/step-kind.js';
import type { ProtocolMap, ProtocolName, ProtocolSide } from '../executors/types.js';
import { PROTOCOLS, SIDES, protocolKey } from '../windows/schannel.js';
import { defineRegistryStep } from './registry-values.js';

const setting = z.enum(['enabled', 'disabled']);

export const schannelParams = z
  .object({
    /**
     * `tls12-only`: the document's script — TLS 1.2 on both sides, everything else disabled.
     * `tls12-incoming-only`: the document's NOTE — incoming (Server) TLS 1.2 only; outgoing (Client)
     * TLS 1.0, 1.1 and 1.2.
     * @default 'tls12-only'
     */
    mode: z.enum(['tls12-only', 'tls12-incoming-only']).default('tls12-only'),
    /** Explicit settings that win over the mode, e.g. `{ "TLS 1.1": { "Client": "disabled" } }`. */
    protocols: z
      .partialRecord(z.enum(PROTOCOLS as [ProtocolName, ...ProtocolName[]]), z.object({ Client: setting.optional(), Server: setting.optional() }).strict())
      .default({}),
  })
  .strict();
export type SchannelParams = z.infer<typeof schannelParams>;

/** The protocol settings a parameter set asks for. */
export function desiredProtocols(params: SchannelParams): ProtocolMap {
  const map = {} as ProtocolMap;
  for (const protocol of PROTOCOLS) {
    map[protocol] = { Client: false, Server: false };
    for (const side of SIDES) {
      let on = protocol === 'TLS 1.2';
      if (params.mode === 'tls12-incoming-only' && side === 'Client') on = ['TLS 1.0', 'TLS 1.1', 'TLS 1.2'].includes(protocol);
      const explicit = params.protocols[protocol]?.[side];
      if (explicit) on = explicit === 'enabled';
      map[protocol][side] = on;
    }
  }
  return map;
}

/** The 20 values: for each protocol and side, `Enabled` (any non-zero counts as on) and `DisabledByDefault`. */
export function schannelWrites(params: SchannelParams): DeclaredWrite[] {
  const desired = desiredProtocols(params);
  const writes: DeclaredWrite[] = [];
  for (const protocol of PROTOCOLS) {
    for (const side of SIDES as ProtocolSide[]) {
      const on = desired[protocol][side];
      const key = protocolKey(protocol, side);
      writes.push({ view: '64', key, name: 'Enabled', desired: { type: 'REG_DWORD', data: on ? 1 : 0 }, satisfiedBy: 'nonzero' });
      writes.push({ view: '64', key, name: 'DisabledByDefault', desired: { type: 'REG_DWORD', data: on ? 0 : 1 } });
    }
  }
  return writes;
}

export const schannelStep = defineStepKind(
  defineRegistryStep({
    kind: 'windows/schannel',
    description: 'Sets which SCHANNEL protocols Windows uses (Enabled / DisabledByDefault per protocol and side); a change owes a restart',
    params: schannelParams,
    what: 'SCHANNEL protocols',
    rebootOnChange: true,
    writes: async ({ params }) => schannelWrites(params),
    publish: async ({ params }) => ({ protocols: desiredProtocols(params) as never }),
    publishes: { protocols: z.unknown().describe('the protocols the step configures, per side') },
  }),
);
