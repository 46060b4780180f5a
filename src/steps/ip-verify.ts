/**
 * Step `orchestrator/ip-verify`: the reference procedure's IMPORTANT box (KB4494803). Reads
 * `SystemDefaultTlsVersions` under `.NETFramework\v4.0.30319` through the 32-bit registry view (the
 * Wow6432Node key the Integration Packs use); when it is missing or not 1, sets it and says so. Checks
 * that Orchestrator came back after the restart — each of its services this server has runs — and that
 * no restart is still owed (the engine's own marker, `RESTART_MARKER`). A service the server does not
 * have is reported as unknown, not a failure: which services a server has depends on its roles, and no
 * document says every server has all of them (fact `orchestrator.services`). It reports the protocols the SCHANNEL values make Windows negotiate; what the
 * running services do is proven by handshake (`tls-verify`). Key write times decide nothing: Microsoft
 * says changes apply to credential handles acquired after them, and a Group Policy refresh rewrites
 * the keys unchanged.
 */
import * as z from '../util/zod.js';
import { StepError } from '../errors.js';
import { defineStepKind, type DeclaredWrite, type PlanOf } from '../engine/step-kind.js';
import type { Json } from '../engine/types.js';
import type { ProtocolMap } from '../executors/types.js';
import { readBatch } from '../executors/read-batch.js';
import { PROCEDURE_SYSTEM_DEFAULT_TLS } from '../windows/facts/procedure.js';
import { ORCHESTRATOR_SERVICES } from '../windows/facts/orchestrator.js';
import { RESTART_MARKER_READ, registryRead } from './host-reads.js';
import { applyWrites, planWrites, toObserved, verifyWrites, writesPlannedEarlier, writtenValues, type ObservedValue } from './registry/values.js';
import { leftByStep, restorePriors } from './registry/restore.js';
import { absentServices, serviceList, type ServiceState } from './service-list.js';

export const ipVerifyParams = z.strictObject({
  /**
   * Orchestrator services that must be running after the restart, as a list or comma-separated. One
   * that exists and does not run fails the step; one the server does not have is reported, not failed.
   * @default the fact `orchestrator.services`: ['omanagement','oremoting','omonitor','orunbook']
   */
  services: serviceList(ORCHESTRATOR_SERVICES.value),
});

const SDTV = PROCEDURE_SYSTEM_DEFAULT_TLS.value;
/** The procedure's .NET 4 version key (v4.0.30319), the one the Integration Packs read. */
const NET4_VERSION = SDTV.versions.find((v) => v.startsWith('v4.'))!;

/** SystemDefaultTlsVersions in the 32-bit view of the .NET 4 key, with the procedure's value. */
export const IP_WRITE: DeclaredWrite = {
  view: '32',
  key: `${SDTV.key}\\${NET4_VERSION}`,
  name: SDTV.name,
  desired: { type: 'REG_DWORD', data: SDTV.data },
};

/** The plan's data: what was read of the value, the services' states, the protocols in effect, and whether the value is set. */
type PlanData = { observed: ObservedValue[]; services: ServiceState[]; inEffect: ProtocolMap; fixed: boolean };

/**
 * What the step says of the services: in check mode, what it will check after the restart; in a run,
 * which run. Either way, the services this server does not have, as unknown.
 */
function servicesWords(services: readonly ServiceState[], checkMode: boolean): string {
  const absent = absentServices(services);
  const unknown = absent.length > 0
    ? `unknown: ${absent.map((n) => `service ${n} is absent`).join(', ')} — which Orchestrator services a server has depends on its roles (fact orchestrator.services), so it is reported, not checked`
    : '';
  if (checkMode) {
    const will = services.length > 0 ? `after the restart, checks that ${services.map((s) => s.name).join(', ')} run (one this server does not have is reported as unknown, not failed)` : 'checks no service';
    return unknown ? `${will}; ${unknown}` : will;
  }
  const running = services.filter((s) => !absent.includes(s.name)).map((s) => s.name);
  const said = running.length > 0 ? `services running: ${running.join(', ')}` : 'no Orchestrator service checked';
  return unknown ? `${said}; ${unknown}` : said;
}

function plannedByEarlierStep(outputs: Readonly<Record<string, Json>>): boolean {
  return Object.values(outputs).some((out) => {
    // A registry step's plan publishes the values it will write: `pending` indexes its `writes`.
    const data = out as { writes?: DeclaredWrite[]; pending?: number[] } | null;
    const pending = Array.isArray(data?.pending) && Array.isArray(data?.writes) ? data.pending.map((i) => data.writes![i]) : [];
    return (
      pending.some((w) => w !== undefined && w.view === IP_WRITE.view && w.key.toLowerCase() === IP_WRITE.key.toLowerCase() && w.name === IP_WRITE.name && w.desired?.data === IP_WRITE.desired?.data)
    );
  });
}

export const ipVerifyStep = defineStepKind({
  kind: 'orchestrator/ip-verify',
  description: 'Integration Pack fix (KB4494803): SystemDefaultTlsVersions=1 in the 32-bit .NET 4 key; services running; no restart owed',
  params: ipVerifyParams,
  outputs: z.object({ fixed: z.boolean(), services: z.array(z.unknown()), absentServices: z.array(z.string()), protocolsInEffect: z.unknown() }),
  verifyWhenUnchanged: true,
  declares: async () => [IP_WRITE],
  probe: ({ params, rt }) =>
    readBatch(rt, {
      value: registryRead(IP_WRITE),
      services: params.services.map((name) => ({ op: 'service.status', name }) as const),
      inEffect: { op: 'tls.inEffect' },
      marker: RESTART_MARKER_READ,
    }),
  plan({ params, observed, rt }): PlanOf<PlanData> {
    const value = toObserved(IP_WRITE, observed.value);
    const { services, inEffect } = observed;
    const markerRead = observed.marker.value;
    const owed = markerRead && markerRead.type === 'REG_SZ' ? markerRead.data : null;
    const problems: string[] = [];
    if (!rt.checkMode) {
      // A service that exists and does not run after the restart: Orchestrator did not come back as it
      // was. One the server does not have proves nothing either way (servicesWords says so).
      for (const s of services) if (s.exists && s.state !== 'running') problems.push(`service ${s.name} is ${s.state}: start it (Start-Service ${s.name})`);
      // The engine's own marker says whether a restart is owed; when keys were written does not.
      if (owed !== null) problems.push(`a restart is still owed (${owed}): the services may not use the new SCHANNEL values yet; restart the target`);
    }
    if (problems.length > 0) {
      throw new StepError('IP_VERIFY_FAILED', problems.join('\n    '), { where: rt.stepId, hint: 'the run rolls back; check the services and restart the target' });
    }
    // In check mode an earlier step may already plan this very value (windows/dotnet-tls does): the
    // plan shows it once, there.
    const plannedEarlier = rt.checkMode && plannedByEarlierStep(rt.outputs);
    const changes = plannedEarlier ? [] : planWrites([IP_WRITE], [value], writesPlannedEarlier(rt));
    const services_: ServiceState[] = services.map((s) => ({ name: s.name, exists: s.exists, state: s.state, startType: s.startType }));
    const said = servicesWords(services_, rt.checkMode);
    return {
      changes,
      summary: plannedEarlier
        ? `Integration Pack value (KB4494803) is set by an earlier step; ${said}; protocols are checked after the restart`
        : changes.length > 0
          ? `Integration Pack value ${value.value ? 'is wrong' : 'is missing'}: set SystemDefaultTlsVersions=1 (KB4494803); ${said}`
          : `Integration Pack value present; ${said}; no restart owed${rt.checkMode ? ' (checked after the restart)' : ''}`,
      data: { observed: [value], services: services_, inEffect: inEffect.protocols, fixed: changes.length > 0 },
    };
  },
  capture: async ({ plan }) => plan.data.observed,
  phases: [
    {
      name: 'apply',
      run: async ({ rt, plan }) => (plan.data.fixed ? applyWrites(rt, [IP_WRITE]) : { written: [] }),
    },
  ],
  async verify({ plan, priors, results }) {
    const data = plan.data;
    // With nothing to fix, capture did not run: what the probe read is what there is.
    const before = priors ?? data.observed;
    const problems = verifyWrites([IP_WRITE], before, results.apply ?? null);
    const fixed = planWrites([IP_WRITE], before).length > 0;
    return {
      ok: problems.length === 0,
      problems,
      summary: fixed ? `Integration Pack value was missing or wrong after the restart: set to 1 (KB4494803); ${servicesWords(data.services, false)}` : plan.summary,
      output: { fixed, services: data.services, absentServices: absentServices(data.services), protocolsInEffect: data.inEffect },
    };
  },
  compensate: ({ rt, priors, plan, results }) => restorePriors(rt, plan?.data.fixed ? writtenValues([IP_WRITE], priors, results) : [], leftByStep(results)),
  registryPriors: (priors) => (Array.isArray(priors) ? priors : []),
  registryWrites: ({ priors, plan, results }) => (plan?.data.fixed && Array.isArray(priors) ? writtenValues([IP_WRITE], priors, results) : []),
});
