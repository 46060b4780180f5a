/**
 * `runbook inspect`'s library part: reads, changing nothing, every fact a runbook of the bundled step
 * kinds decides on, and judges each against its source. Every batch goes through {@link readOnly}: an
 * operation that would change the target is refused before it is sent.
 *
 * What is read comes from the runbook itself: its steps as the parameters select them, each step's
 * `with:` resolved and parsed by its kind, so the values judged are the ones a run would set.
 */
import { StepError, ValidationError } from '../errors.js';
import type { StepKindRegistry } from '../engine/kinds.js';
import { resolveParameters } from '../engine/loader.js';
import { createMasker } from '../engine/secrets.js';
import { selectSteps, type LoadedRunbook, type RunbookDefinition, type StepDefinition } from '../engine/runbook.js';
import { checkStepParams } from '../engine/step-params.js';
import type { DeclaredWrite } from '../engine/step-kind.js';
import type { Json } from '../engine/types.js';
import { WRITE_OPS, resultOf, type Executor, type HostOp, type RegistryView, type TlsEndpoint } from '../executors/types.js';
import { PROBED_PROTOCOLS, parseEndpoint, probeEndpoint, type ProtocolVerdict } from '../tls/prober.js';
import { WINDOWS_FACTS } from '../windows/facts/index.js';
import { PROCEDURE_PAGES, PROCEDURE_SCHANNEL, PROCEDURE_STRONG_CRYPTO, PROCEDURE_SYSTEM_DEFAULT_TLS, type ProcedureRevision } from '../windows/facts/procedure.js';
import { DEFAULT_SECURE_PROTOCOLS_BITS_FACT, DEFAULT_SECURE_PROTOCOLS_LOCATION_FACT } from '../windows/facts/winhttp.js';
import { SCHANNEL_PROTOCOLS_KEY } from '../windows/schannel.js';
import * as z from '../util/zod.js';
import { dotnetParams, dotnetValues } from './dotnet.js';
import { preflightParams } from './preflight.js';
import { PREFLIGHT_BATCH, judgeHost, preflightReadsOf, type HostVerdict } from './requirements.js';
import { RESTART_MARKER } from '../windows/restart-marker.js';
import { RESTART_MARKER_READ } from './host-reads.js';
import { readBatch } from '../executors/read-batch.js';
import { registryViews } from '../windows/os.js';
import { schannelParams, schannelWrites } from './schannel.js';
import { satisfies } from './registry/values.js';
import { displayRegistryKey, displayRegistryValue } from '../windows/undo-files.js';
import { IP_WRITE, ipVerifyParams } from './ip-verify.js';
import { winhttpTlsParams, winhttpValues } from './winhttp-tls.js';
import { tlsHandshakesParams } from './tls-handshakes.js';

/** A verdict: as the runbook wants it, refused (the runbook would stop), not decidable, or what a run would change. */
export type InspectVerdict = 'ok' | 'refuse' | 'unknown' | 'would change';

/** One fact read from the host and judged. */
export type InspectItem = {
  /** What the fact is about: `prerequisite`, `registry`, `restart`, `service`, `handshake`. */
  topic: 'prerequisite' | 'registry' | 'restart' | 'service' | 'handshake';
  check: string;
  verdict: InspectVerdict;
  /** What was read. */
  evidence: string;
  /** What a run would set, for a registry value. */
  wouldSet?: Json;
  /** The facts it is judged by, with their first source (title and address). */
  sources: { id: string; title?: string; url?: string }[];
  fix?: string;
};

/** What `inspect` found: every item, the counts, and the proof that nothing was written. */
export type InspectReport = {
  target: string;
  runbook: string;
  /** The revision of Microsoft's page the values are judged by. */
  procedure: { revision: ProcedureRevision; title: string; url: string; msDate: string } | null;
  items: InspectItem[];
  counts: Record<InspectVerdict, number>;
  /** Round trips to the target (handshakes are made from here and are not counted). */
  roundTrips: number;
  /** Operations sent, all of them reads. */
  opsSent: number;
};

/** Options of {@link inspectHost}. */
export interface InspectOptions {
  executor: Executor;
  runbook: LoadedRunbook;
  kinds: StepKindRegistry;
  /** The runbook's parameters, as `--param` gives them (strings are converted). @default {} */
  params?: Record<string, unknown>;
  /** How long one handshake may take. @default 5000 */
  handshakeTimeoutMs?: number;
}

/**
 * An executor that refuses, before sending, any batch holding an operation that changes the target.
 *
 * @example
 * ```ts
 * const guarded = readOnly(executor);
 * await guarded.run([{ op: 'os.info' }]); // sent
 * ```
 */
export function readOnly(executor: Executor): Executor & { readonly opsSent: number } {
  let opsSent = 0;
  return {
    name: executor.name,
    target: executor.target,
    onTarget: executor.onTarget,
    get roundTrips() {
      return executor.roundTrips;
    },
    get opsSent() {
      return opsSent;
    },
    async run(batch: readonly HostOp[], options) {
      const writes = batch.filter((op) => WRITE_OPS.has(op.op));
      if (writes.length > 0) {
        throw new StepError('READ_ONLY', `inspect refused to send ${writes.map((w) => w.op).join(', ')}: it changes nothing on the target`, { where: executor.target });
      }
      opsSent += batch.length;
      return executor.run(batch, options);
    },
    ...(executor.transportTls ? { transportTls: () => executor.transportTls!() } : {}),
    ...(executor.tlsEndpoints ? { tlsEndpoints: () => executor.tlsEndpoints!() } : {}),
    close: () => executor.close(),
  };
}

/** A fact's id with its first source, for the report. */
function sourceOf(id: string): InspectItem['sources'][number] {
  const fact = WINDOWS_FACTS.find((f) => f.id === id);
  const first = fact?.sources[0];
  return first ? { id, title: first.title, url: first.url } : { id };
}

/**
 * The parsed `with:` of every selected step of a kind, checked as the drive checks it
 * (`checkStepParams`); a step whose parameters wait on an earlier step's output is left out (what it
 * would do is not known before the run).
 */
function withOf<T>(runbook: RunbookDefinition, steps: readonly StepDefinition[], kind: string, schema: z.Schema<T>, params: Record<string, Json>): T[] {
  return steps.flatMap((step) => {
    if (step.uses !== kind) return [];
    const checked = checkStepParams({ params: schema }, step, runbook.steps.indexOf(step), { params, steps: 'deferred' });
    if (!checked.ok) throw new ValidationError(`invalid parameters for step ${step.id}`, checked.issues, { hint: 'fix the runbook or the --param values' });
    return checked.data === undefined ? [] : [checked.data];
  });
}

/** Which fact decides a registry value a run would set: compared with the facts' own keys and names. */
function factIdsOf(write: DeclaredWrite): string[] {
  const under = (parent: string) => write.key.toLowerCase().startsWith(`${parent.toLowerCase()}\\`);
  if (under(SCHANNEL_PROTOCOLS_KEY)) return [PROCEDURE_SCHANNEL.id];
  if (write.name === PROCEDURE_STRONG_CRYPTO.value.current?.name) return [PROCEDURE_STRONG_CRYPTO.id];
  if (write.name === PROCEDURE_SYSTEM_DEFAULT_TLS.value.name) return [PROCEDURE_SYSTEM_DEFAULT_TLS.id];
  const winhttp = DEFAULT_SECURE_PROTOCOLS_LOCATION_FACT.value;
  if (write.key.toLowerCase() === winhttp.key.toLowerCase() && write.name === winhttp.name) return [DEFAULT_SECURE_PROTOCOLS_LOCATION_FACT.id, DEFAULT_SECURE_PROTOCOLS_BITS_FACT.id];
  return [];
}

function fromHostVerdict(v: HostVerdict): InspectItem {
  return { topic: 'prerequisite', check: v.check, verdict: v.verdict, evidence: v.evidence, sources: v.factIds.map(sourceOf), ...(v.fix ? { fix: v.fix } : {}) };
}

/** The handshakes of one endpoint, judged as the runbook's verify step would: old versions refused, TLS 1.2 accepted. */
function handshakeItem(endpoint: string, verdicts: readonly ProtocolVerdict[], refuse: readonly string[], accept: readonly string[]): InspectItem {
  const shown = verdicts.map((v) => `${v.protocol} ${v.outcome}`).join(', ');
  const wrong = verdicts.filter((v) => (refuse.includes(v.protocol) && v.outcome === 'accepted') || (accept.includes(v.protocol) && v.outcome === 'refused'));
  const unsure = verdicts.filter((v) => (refuse.includes(v.protocol) || accept.includes(v.protocol)) && v.outcome === 'inconclusive');
  const verdict: InspectVerdict = wrong.length > 0 ? 'would change' : unsure.length > 0 ? 'unknown' : 'ok';
  return {
    topic: 'handshake',
    check: `TLS handshakes: ${endpoint} (${verdicts[0]?.address ?? '?'})`,
    verdict,
    evidence: `${shown}${unsure.length ? `; inconclusive: ${unsure.map((u) => `${u.protocol} (${u.evidence})`).join('; ')}` : ''}`,
    sources: [sourceOf('procedure.schannel-values')],
    ...(verdict === 'would change' ? { fix: `a run disables ${refuse.join(' and ')} and keeps ${accept.join(', ')}; the handshakes change after its restart` } : {}),
  };
}

/**
 * Reads every fact the runbook decides on and judges it, changing nothing on the target: the
 * prerequisites (OS, Orchestrator, .NET, the .NET 3.5 fix, SQL Server and its client), each registry
 * value a run would set (current value against the value it would write), the engine's own restart
 * marker, the Orchestrator services, and real TLS handshakes with the target's endpoints.
 *
 * @example
 * ```ts
 * const report = await inspectHost({ executor, runbook: await loadRunbook('orchestrator-tls12', kinds), kinds });
 * const refused = report.items.filter((i) => i.verdict === 'refuse');
 * ```
 */
export async function inspectHost(options: InspectOptions): Promise<InspectReport> {
  const { definition } = options.runbook;
  const { params, secrets } = resolveParameters(definition, options.params ?? {});
  // What it prints passes through the mask a run's records do: a secret parameter can name an endpoint
  // or a version the report quotes.
  const masker = createMasker(Object.fromEntries(secrets.map((name) => [name, params[name]])));
  const steps = selectSteps(definition, params).steps;
  const guarded = readOnly(options.executor);
  const before = guarded.roundTrips;

  const preflight = withOf(definition, steps, 'orchestrator/preflight', preflightParams, params)[0] ?? z.parse(preflightParams, {});
  const services = [...new Set([...withOf(definition, steps, 'orchestrator/ip-verify', ipVerifyParams, params).flatMap((p) => p.services)])];
  // One batch: the prerequisites (the engine's restart marker among them), the services.
  const read = await readBatch((ops) => guarded.run(ops), {
    ...PREFLIGHT_BATCH,
    restartMarker: RESTART_MARKER_READ,
    services: services.map((name) => ({ op: 'service.status', name }) as const),
  });
  const reads = preflightReadsOf(read);
  const items: InspectItem[] = judgeHost(reads, preflight).map(fromHostVerdict);

  const marker = read.restartMarker.value;
  items.push({
    topic: 'restart',
    check: 'restart owed (the engine\'s marker)',
    verdict: marker ? 'would change' : 'ok',
    evidence: marker ? `HKLM\\${RESTART_MARKER.key} ${RESTART_MARKER.name} = ${JSON.stringify(displayRegistryValue(marker))}` : `HKLM\\${RESTART_MARKER.key} ${RESTART_MARKER.name} absent`,
    sources: [],
    ...(marker ? { fix: 'an earlier run owes a restart: the next run restarts the server (or restart it in a window)' } : {}),
  });
  for (const [i, name] of services.entries()) {
    const s = read.services[i];
    // A service the host does not have is unknown, as the run reports it: which services a server has
    // depends on its roles (fact orchestrator.services).
    const verdict: InspectVerdict = !s.exists ? 'unknown' : s.state === 'running' ? 'ok' : s.state === 'starting' || s.startType === 'auto' ? 'unknown' : 'refuse';
    items.push({
      topic: 'service',
      check: `service ${name}`,
      verdict,
      evidence: s.exists ? `${s.state} (start type ${s.startType})` : 'absent: not on this server (which services a server has depends on its roles); the run reports it, does not fail on it',
      sources: [sourceOf('orchestrator.services')],
      ...(verdict === 'ok' || !s.exists ? {} : { fix: `the Integration Pack check after the restart needs it running: Start-Service ${name}${s.startType === 'auto' ? '' : ' and set it to start automatically'}` }),
    });
  }

  // The registry values a run would set, in the views of this OS, in a second batch.
  const views: RegistryView[] = registryViews(reads.os.architecture);
  const dotnet = withOf(definition, steps, 'windows/dotnet-tls', dotnetParams, params);
  const declared: DeclaredWrite[] = [
    ...dotnet.flatMap((p) => dotnetValues(p, views)),
    ...withOf(definition, steps, 'windows/schannel', schannelParams, params).flatMap((p) => schannelWrites(p)),
    ...withOf(definition, steps, 'windows/winhttp-tls', winhttpTlsParams, params).flatMap((p) => winhttpValues(p, reads.os.build, views)),
    ...(withOf(definition, steps, 'orchestrator/ip-verify', ipVerifyParams, params).length > 0 ? [IP_WRITE] : []),
  ];
  // A value two steps set (ip-verify's is one of dotnet-tls's) is listed once.
  const same = (a: DeclaredWrite, b: DeclaredWrite) => a.view === b.view && a.key.toLowerCase() === b.key.toLowerCase() && a.name === b.name;
  const writes = declared.filter((w, i) => declared.findIndex((o) => same(o, w)) === i);
  const values = writes.length > 0 ? await guarded.run(writes.map((w): HostOp => ({ op: 'registry.get', view: w.view, key: w.key, name: w.name }))) : [];
  writes.forEach((w, i) => {
    const now = resultOf(values[i], 'registry.get').value;
    const ok = satisfies(w, now);
    items.push({
      topic: 'registry',
      check: `${displayRegistryKey(w.view, w.key)} ${w.name}`,
      verdict: ok ? 'ok' : 'would change',
      evidence: now ? `${JSON.stringify(displayRegistryValue(now))} (${now.type})` : '(absent)',
      wouldSet: displayRegistryValue(w.desired),
      sources: factIdsOf(w).map(sourceOf),
    });
  });

  // Real handshakes from here with the endpoints the transport knows and those the runbook names.
  const handshakes = withOf(definition, steps, 'tls/handshakes', tlsHandshakesParams, params);
  const verify = handshakes.find((h) => h.role === 'verify') ?? handshakes[0];
  const named = handshakes.flatMap((h) => (Array.isArray(h.endpoints) ? h.endpoints : h.endpoints.split(',')).map((e) => e.trim()).filter(Boolean).map((e) => parseEndpoint(e, h.servername || undefined)));
  const endpoints: TlsEndpoint[] = [...((await guarded.tlsEndpoints?.()) ?? []), ...named];
  for (const e of endpoints) {
    const found = await probeEndpoint(e, PROBED_PROTOCOLS, { timeoutMs: options.handshakeTimeoutMs ?? verify?.timeoutMs ?? 5000 });
    items.push(handshakeItem(e.name, found, verify?.refuse ?? ['TLS 1.0', 'TLS 1.1'], verify?.accept ?? ['TLS 1.2']));
  }

  const revision = dotnet[0]?.procedure ?? null;
  const counts = { ok: 0, refuse: 0, unknown: 0, 'would change': 0 } as Record<InspectVerdict, number>;
  for (const item of items) counts[item.verdict] += 1;
  return masker.mask({
    target: options.executor.target,
    runbook: definition.name,
    procedure: revision ? { revision, ...PROCEDURE_PAGES.value[revision] } : null,
    items,
    counts,
    roundTrips: guarded.roundTrips - before,
    opsSent: guarded.opsSent,
  });
}
