/**
 * Step `orchestrator/preflight`: the reference procedure's "Before you start", read-only, in one round
 * trip. Every prerequisite is judged by `judgeHost` against the facts table: any `refuse` ends the run
 * before the first write, each named with how to fix it; an `unknown` (no document settles it) is listed
 * with what was read, and `onUnknown` says whether it warns (the default) or also stops the run.
 */
import * as z from '../util/zod.js';
import { StepError } from '../errors.js';
import { defineStepKind } from '../engine/step-kind.js';
import { readBatch } from '../executors/read-batch.js';
import { PREFLIGHT_BATCH, PREFLIGHT_READS, judgeHost, preflightReadsOf, type HostVerdict } from './requirements.js';
import { preflightParams } from './preflight-params.js';

export { preflightParams, type PreflightParams } from './preflight-params.js';

/** One verdict as a line of a message: what, what was read, how to fix it. */
function line(v: HostVerdict): string {
  return `    - ${v.check}: ${v.evidence}${v.fix ? ` — ${v.fix}` : ''}`;
}

export const preflightStep = defineStepKind({
  kind: 'orchestrator/preflight',
  description: 'Checks the prerequisites of the TLS 1.2 (or, tlsProcedure: tls13, the TLS 1.3) procedure against the Windows facts table: OS, Orchestrator, .NET, SQL Server and its clients, transport TLS',
  params: preflightParams,
  outputs: z.object({
    os: z.unknown(),
    orchestrator: z.unknown(),
    dotnetRelease: z.nullable(z.number()),
    nativeClient: z.array(z.string()),
    hotfix: z.unknown(),
    sqlServer: z.array(z.string()),
    transportTls: z.nullable(z.string()),
    bootTime: z.string(),
    checks: z.array(z.unknown()),
    unknowns: z.array(z.string()),
  }),
  verifyWhenUnchanged: true,
  reads: () => PREFLIGHT_READS,
  probe: async ({ rt }) => preflightReadsOf(await readBatch(rt, PREFLIGHT_BATCH)),
  async plan({ params, rt, observed }) {
    const reads = { ...observed, transportTls: await rt.transportTls() };
    const verdicts = judgeHost(reads, params);
    const refused = verdicts.filter((v) => v.verdict === 'refuse');
    const unknown = verdicts.filter((v) => v.verdict === 'unknown');
    const stopOnUnknown = params.onUnknown === 'refuse' && unknown.length > 0;
    if (refused.length > 0 || stopOnUnknown) {
      const parts = [];
      const impossible = refused.filter((v) => v.param !== undefined);
      const prereqs = refused.filter((v) => v.param === undefined);
      if (impossible.length) parts.push(`${impossible.length} parameter(s) impossible on this host:\n${impossible.map(line).join('\n')}`);
      if (prereqs.length) parts.push(`${prereqs.length} prerequisite(s) not met:\n${prereqs.map(line).join('\n')}`);
      if (stopOnUnknown) parts.push(`${unknown.length} prerequisite(s) no document settles (onUnknown=refuse):\n${unknown.map(line).join('\n')}`);
      // A parameter this host cannot carry out is the operator's input, refused as such (exit 2).
      const byParam = impossible.length > 0;
      throw new StepError(byParam ? 'PARAMETER_REFUSED' : 'PREFLIGHT_FAILED', parts.join('\n'), {
        where: rt.stepId,
        hint: stopOnUnknown && !refused.length
          ? 'nothing was changed on the target; check each item, or run with --param onUnknown=warn to go on with the warnings'
          : byParam
            ? 'nothing was changed on the target; run again without the refused parameter(s), or on a host that can carry them out'
            : 'nothing was changed on the target; fix the prerequisites and run again',
      });
    }
    const unknowns = unknown.map((v) => `${v.check}: ${v.evidence}`);
    const dotnet35 = verdicts.find((v) => v.check === 'dotnet35-tls')!;
    const sqlServer = params.sqlServerVersion ? [params.sqlServerVersion] : reads.sqlInstances.map((i) => i.version);
    const facts = {
      os: reads.os,
      orchestrator: reads.orchestrator,
      dotnetRelease: reads.dotnetRelease,
      nativeClient: reads.clients.filter((c) => c.version !== null).map((c) => `${c.product} ${c.version}`),
      hotfix: dotnet35,
      sqlServer,
      transportTls: reads.transportTls,
      bootTime: reads.bootTime,
      // `checks`, not `verdicts`: the report reads a step output's `verdicts` as TLS handshakes.
      // A passed check keeps its name and verdict (its evidence is in `runbook inspect`): the journal of a
      // fresh run stays small; what is not ok, or carries a note, keeps everything.
      checks: verdicts.map((v) => (v.verdict === 'ok' && !v.note ? { check: v.check, verdict: v.verdict } : v)),
      unknowns,
    };
    const met = `prerequisites met: ${reads.os.caption} (${reads.os.architecture}), Orchestrator ${reads.orchestrator.release}, .NET release ${reads.dotnetRelease}, SQL ${sqlServer.join(', ') || 'not on the target'}`;
    const notes = verdicts.flatMap((v) => (v.note ? [v.note] : []));
    const said = notes.length ? `${met}; ${notes.join('; ')}` : met;
    const summary = unknowns.length ? `${said}; ${unknowns.length} not settled by any document (onUnknown=warn): ${unknowns.join('; ')}` : said;
    return { changes: [], summary, data: facts };
  },
  phases: [],
  verify: async ({ plan }) => ({ ok: true, summary: plan.summary, output: plan.data ?? null }),
});
