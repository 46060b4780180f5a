/**
 * Proof of effect: real TLS handshakes from the controller against the target's TLS endpoints, one per
 * protocol version (with and without SNI where the endpoint has a DNS name). The registry says what is
 * configured; this step shows what the server does. In `verify` role (after the restart) the protocols
 * the runbook disabled must be refused by the server and TLS 1.2 accepted; a mismatch fails the step
 * (and the run rolls back) or, with `onMismatch: warn`, is reported. A handshake that proves nothing
 * (endpoint unreachable, no answer, a client that could not offer the version) is `inconclusive`, never
 * a pass. In `baseline` role (and in check mode) it only records what the server does now.
 *
 * It changes nothing and makes no call through the executor: no round trip is counted.
 */
import * as z from '../util/zod.js';
import { defineStepKind } from '../engine/step-kind.js';
import type { TlsEndpoint } from '../executors/types.js';
import { NOT_TESTABLE, PROBED_PROTOCOLS, parseEndpoint, probeEndpoint, type ProbedProtocol, type ProtocolVerdict } from '../tls/prober.js';

const protocol = z.enum(PROBED_PROTOCOLS);

export const tlsHandshakesParams = z.object({
  /** `baseline`: record only; `verify`: the expectations below must hold. */
  role: z._default(z.enum(['baseline', 'verify']), 'verify'),
  /** More endpoints than the executor knows: `host:port` or `name=host:port`, as a list or comma-separated. */
  endpoints: z._default(z.union([z.array(z.string()), z.string()]), []).check(
    // Checked with the parameters, before the target is contacted: a typo is a usage error, not a rollback.
    z.refine((v) => badEndpoint(v) === undefined, { message: 'each endpoint is host:port or name=host:port (e.g. orch01.contoso.com:443)' }),
  ),
  /** The DNS name to send as SNI to endpoints given as addresses. */
  servername: z._default(z.string(), ''),
  /** Versions the server must refuse. @default TLS 1.0 and TLS 1.1 */
  refuse: z._default(z.array(protocol), ['TLS 1.0', 'TLS 1.1']),
  /** Versions the server must accept. @default TLS 1.2 */
  accept: z._default(z.array(protocol), ['TLS 1.2']),
  /**
   * The `protocols` and `tls13` outputs of a `windows/schannel` step (`{ protocols: ${{ steps.<id>.outputs.protocols }},
   * tls13: ${{ steps.<id>.outputs.tls13 }} }`): when given, the server must
   * do as that step configured its server side — each probed version it enabled accepted, each it
   * disabled refused (TLS 1.3 when the step managed it) — instead of `refuse` and `accept`.
   */
  asConfigured: z.optional(z.unknown()),
  /** A server that does not do as expected: fail the step (the run rolls back) or warn. */
  onMismatch: z._default(z.enum(['fail', 'warn']), 'fail'),
  /** How long one handshake may take. */
  timeoutMs: z._default(z.number().check(z.int(), z.positive(), z.maximum(120_000)), 5000),
});
export type TlsHandshakesParams = z.infer<typeof tlsHandshakesParams>;

/** One endpoint and version as the step keeps it: the outcome and its evidence (with and without SNI folded in). */
export type HandshakeRow = Pick<ProtocolVerdict, 'endpoint' | 'address' | 'protocol' | 'outcome' | 'evidence'>;

/** What the step publishes: every verdict, and what could not be tested. */
export type HandshakeTable = { role: 'baseline' | 'verify'; verdicts: HandshakeRow[]; notTestable: string };

function rowOf(v: ProtocolVerdict): HandshakeRow {
  const [plain, sni] = v.handshakes;
  const differs = sni && sni.outcome !== plain.outcome ? `; without SNI ${plain.outcome}, with SNI ${sni.outcome}` : '';
  return { endpoint: v.endpoint, address: v.address, protocol: v.protocol, outcome: v.outcome, evidence: `${v.evidence}${differs}` };
}

/** The first endpoint of a list (or comma-separated text) that is not `host:port`, if any. */
function badEndpoint(endpoints: string | string[]): string | undefined {
  const list = Array.isArray(endpoints) ? endpoints : endpoints.split(',');
  return list.map((e) => e.trim()).filter(Boolean).find((e) => {
    try {
      parseEndpoint(e);
      return false;
    } catch {
      return true;
    }
  });
}

function endpointsOf(params: TlsHandshakesParams): TlsEndpoint[] {
  const list = Array.isArray(params.endpoints) ? params.endpoints : params.endpoints.split(',');
  return list.map((e) => e.trim()).filter(Boolean).map((e) => parseEndpoint(e, params.servername || undefined));
}

/** What a `windows/schannel` step's outputs ask of the server side, per probed version. */
export type ConfiguredServer = { protocols?: Record<string, { Server?: boolean | null }>; tls13?: { managed?: boolean; setting?: string } };

/**
 * The versions the server must accept and refuse: as the schannel step configured its server side
 * when `asConfigured` is given, else `accept` and `refuse`.
 *
 * @example
 * ```ts
 * expectations(tlsHandshakesParams.parse({ asConfigured: { protocols: { 'TLS 1.2': { Server: true } }, tls13: { managed: true, setting: 'enabled' } } }));
 * // { accept: ['TLS 1.2', 'TLS 1.3'], refuse: [] }
 * ```
 */
export function expectations(params: TlsHandshakesParams): { accept: ProbedProtocol[]; refuse: ProbedProtocol[] } {
  const configured = params.asConfigured as ConfiguredServer | undefined;
  if (!configured || typeof configured !== 'object') return { accept: params.accept, refuse: params.refuse };
  const accept: ProbedProtocol[] = [];
  const refuse: ProbedProtocol[] = [];
  for (const p of PROBED_PROTOCOLS) {
    let on: boolean | null | undefined = configured.protocols?.[p]?.Server;
    if (p === 'TLS 1.3') on = configured.tls13?.managed && configured.tls13.setting !== 'default' ? configured.tls13.setting === 'enabled' : null;
    if (on === true) accept.push(p);
    else if (on === false) refuse.push(p);
  }
  return { accept, refuse };
}

/** Each expectation the server did not meet, and each it could not be shown to meet. */
function judge(verdicts: readonly HandshakeRow[], params: TlsHandshakesParams): { mismatches: string[]; unproven: string[] } {
  const mismatches: string[] = [];
  const unproven: string[] = [];
  const expect = (p: ProbedProtocol, want: 'refused' | 'accepted') => {
    for (const v of verdicts.filter((x) => x.protocol === p)) {
      if (v.outcome === want) continue;
      const line = `${v.endpoint} (${v.address}) ${p}: ${v.outcome}, expected ${want} (${v.evidence})`;
      (v.outcome === 'inconclusive' ? unproven : mismatches).push(line);
    }
  };
  const { accept, refuse } = expectations(params);
  for (const p of refuse) expect(p, 'refused');
  for (const p of accept) expect(p, 'accepted');
  return { mismatches, unproven };
}

/**
 * What baseline handshakes show the server doing otherwise than a `windows/schannel` step's values
 * configure its server side (its `protocols` and `tls13` outputs): each protocol accepted that they
 * disable, or refused that they enable, one line per endpoint. A handshake that proves nothing
 * (inconclusive) and a side left to Windows' default are no evidence either way.
 *
 * @example
 * ```ts
 * notInEffect([{ endpoint: 'web', address: '10.0.0.5:443', protocol: 'TLS 1.0', outcome: 'accepted', evidence: '' }], { protocols: { 'TLS 1.0': { Server: false } } });
 * // ['web (10.0.0.5:443) TLS 1.0: accepted, the registry disables it']
 * ```
 */
export function notInEffect(verdicts: readonly HandshakeRow[], configured: ConfiguredServer): string[] {
  const { accept, refuse } = expectations(tlsHandshakesParams.parse({ asConfigured: configured }));
  return verdicts.flatMap((v) => {
    if (v.outcome === 'accepted' && refuse.includes(v.protocol)) return [`${v.endpoint} (${v.address}) ${v.protocol}: accepted, the registry disables it`];
    if (v.outcome === 'refused' && accept.includes(v.protocol)) return [`${v.endpoint} (${v.address}) ${v.protocol}: refused, the registry enables it`];
    return [];
  });
}

export const tlsHandshakesStep = defineStepKind({
  kind: 'tls/handshakes',
  description: 'Real TLS handshakes from the controller, one per protocol version: the old versions must be refused by the server, TLS 1.2 accepted',
  params: tlsHandshakesParams,
  outputs: z.object({
    role: z.enum(['baseline', 'verify']),
    verdict: z.enum(['baseline', 'proven', 'mismatch', 'inconclusive']).check(z.describe('what the handshakes showed')),
    verdicts: z.array(z.unknown()).check(z.describe('one per endpoint and protocol, with the evidence')),
    notTestable: z.string(),
  }),
  verifyWhenUnchanged: true,
  async probe({ params, rt }) {
    const endpoints = [...(await rt.tlsEndpoints()), ...endpointsOf(params)];
    // A baseline and a verification with nothing written between them (a plan) see the same handshakes.
    const verdicts = await rt.observe<HandshakeRow[]>(`tls/handshakes ${JSON.stringify([endpoints, params.timeoutMs])}`, async () => {
      const probed = await Promise.all(endpoints.map((e) => probeEndpoint(e, PROBED_PROTOCOLS, { timeoutMs: params.timeoutMs })));
      return probed.flat().map(rowOf);
    });
    return { role: params.role, verdicts, notTestable: NOT_TESTABLE } satisfies HandshakeTable;
  },
  plan({ observed: table }) {
    const count = (o: string) => table.verdicts.filter((v) => v.outcome === o).length;
    const endpoints = new Set(table.verdicts.map((v) => v.endpoint)).size;
    return {
      changes: [],
      summary:
        endpoints === 0
          ? 'no TLS endpoint to probe: nothing shown (give endpoints as host:port)'
          : `${endpoints} endpoint(s): ${count('accepted')} accepted, ${count('refused')} refused, ${count('inconclusive')} inconclusive`,
      data: { ...table, verdict: 'baseline' },
    };
  },
  phases: [],
  async verify({ params, plan, rt }) {
    const table = plan.data;
    const { mismatches, unproven } = judge(table.verdicts, params);
    const shown = table.verdicts.length > 0;
    if (params.role === 'baseline') {
      return { ok: true, summary: `baseline: ${plan.summary}`, output: { ...table, verdict: 'baseline' } };
    }
    const verdict = mismatches.length > 0 ? 'mismatch' : unproven.length > 0 || !shown ? 'inconclusive' : 'proven';
    const output = { ...table, verdict };
    if (verdict === 'mismatch') {
      if (params.onMismatch === 'fail') return { ok: false, summary: `the server does not do as configured: ${mismatches.length} mismatch(es)`, problems: mismatches, output };
      for (const m of mismatches) rt.log(`TLS mismatch (onMismatch: warn): ${m}`, 'warn');
    }
    if (verdict === 'inconclusive') for (const u of unproven.length > 0 ? unproven : ['no TLS endpoint was probed']) rt.log(`not shown by a handshake: ${u}`, 'warn');
    const summary =
      verdict === 'proven'
        ? `proven by handshake: ${expectations(params).refuse.join(', ')} refused, ${expectations(params).accept.join(', ')} accepted on ${new Set(table.verdicts.map((v) => v.endpoint)).size} endpoint(s)`
        : verdict === 'mismatch'
          ? `warning: ${mismatches.length} mismatch(es): ${mismatches.join('; ')}`
          : `inconclusive: ${shown ? unproven.join('; ') : 'no TLS endpoint to probe'}`;
    return { ok: true, summary, output };
  },
});
