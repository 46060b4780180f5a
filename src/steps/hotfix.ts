/**
 * Step `windows/hotfix-verify`: the reference procedure's step 3 — the TLS System Default Versions fix
 * for the .NET Framework 3.5 is on the target. Read-only. The verdict comes from the 2.0/3.5 runtime
 * itself where it can be read (true however the fix arrived: the hotfix, a later rollup, the OS), else
 * from the installed updates (see `requirements.ts`). The preflight reaches the same verdict before any
 * write, so on the bundled runbook this step reports the evidence; in a runbook without the preflight
 * its failure rolls back the steps before it.
 */
import * as z from '../util/zod.js';
import { StepError } from '../errors.js';
import { defineStepKind } from '../engine/step-kind.js';
import type { Json } from '../engine/types.js';
import { resultOf } from '../executors/types.js';
import { hotfixVerdict } from './requirements.js';

/** A list of KB numbers, from an array or a comma-separated string. */
export const kbList = z._default(
  z.pipe(
    z.transform((v: unknown) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v)),
    z.array(z.matching(/^KB\d+$/i, 'a KB number such as KB4041085')),
  ),
  [],
);

export const hotfixParams = z.strictObject({
  /** More KBs that carry the fix (later rollups), for servers whose runtime cannot be read, e.g. `["KB4041085"]`. @default [] */
  supersededBy: kbList,
});

export const hotfixStep = defineStepKind({
  kind: 'windows/hotfix-verify',
  description: 'Verifies the TLS System Default Versions fix for the .NET Framework 3.5 (KB3154518/19/20, KB3156421, or any later update that carries it)',
  params: hotfixParams,
  outputs: z.object({ os: z.string(), required: z.array(z.string()), by: z.string(), evidence: z.string() }),
  verifyWhenUnchanged: true,
  probe: async ({ rt }) => (await rt.read([{ op: 'os.info' }, { op: 'hotfix.list' }, { op: 'dotnet35.tls' }])) as unknown as Json,
  plan({ params, observed, rt }) {
    const r = observed as unknown as Parameters<typeof resultOf>[0][];
    const os = resultOf(r[0], 'os.info');
    const verdict = hotfixVerdict(os, resultOf(r[1], 'hotfix.list').hotfixes, resultOf(r[2], 'dotnet35.tls'), params.supersededBy);
    if (!verdict.ok) {
      throw new StepError('HOTFIX_MISSING', `${verdict.os}: the TLS System Default Versions fix for the .NET Framework 3.5 is missing (${verdict.evidence})`, {
        where: rt.stepId,
        hint: `install the latest .NET Framework updates from Windows Update${verdict.required.length ? ` (or ${verdict.required.join(' or ')})` : ''}`,
      });
    }
    const summary = `${verdict.os}: ${verdict.evidence}`;
    return { changes: [], summary, data: { os: verdict.os, required: verdict.required, by: verdict.by, evidence: verdict.evidence } };
  },
  phases: [],
  verify: async ({ plan }) => ({ ok: true, summary: plan.summary, output: plan.data ?? null }),
});
