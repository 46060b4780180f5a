/**
 * Step `windows/hotfix-verify`: the reference procedure's step 3 — the TLS System Default Versions fix
 * for the .NET Framework 3.5 is on the target. Read-only. Judged from documented evidence only (see
 * `judge-dotnet35.ts`): the OS that ships it, the update or a superseding one among the installed
 * updates. Evidence of absence fails the step; silent evidence is reported as `unknown` in its summary
 * and output (the preflight's `onUnknown` is where an administrator makes that stop a run).
 */
import * as z from '../util/zod.js';
import { StepError } from '../errors.js';
import { defineStepKind } from '../engine/step-kind.js';
import { batchOps, defineBatch, readBatch } from '../executors/read-batch.js';
import { judgeDotnet35 } from './judge-dotnet35.js';
import { DOTNET35_READ } from './host-reads.js';
import { windowsRelease } from '../windows/os.js';
import { kbList } from './preflight-params.js';

export { kbList };

export const hotfixParams = z.strictObject({
  /** More KBs that carry the fix (later rollups the KB pages do not name), e.g. `["KB4041085"]`. @default [] */
  supersededBy: kbList,
});

/** What the probe reads: the OS, the installed updates, the .NET Framework 3.5 runtime. */
const HOTFIX_READS = defineBatch({ os: { op: 'os.info' }, hotfixes: { op: 'hotfix.list' }, dotnet35: DOTNET35_READ });

export const hotfixStep = defineStepKind({
  kind: 'windows/hotfix-verify',
  description: 'Verifies the TLS System Default Versions fix for the .NET Framework 3.5 (in the box from Server 2016; KB3154518/19/20, or an update named as superseding it)',
  params: hotfixParams,
  outputs: z.object({ os: z.string(), required: z.array(z.string()), by: z.string(), verdict: z.string(), evidence: z.string() }),
  verifyWhenUnchanged: true,
  reads: () => batchOps(HOTFIX_READS),
  probe: ({ rt }) => readBatch(rt, HOTFIX_READS),
  plan({ params, observed: { os, hotfixes, dotnet35 }, rt }) {
    const j = judgeDotnet35(os, hotfixes.hotfixes, dotnet35, params.supersededBy);
    const name = windowsRelease(os) ?? os.caption;
    if (j.verdict === 'refuse') {
      throw new StepError('HOTFIX_MISSING', `${name}: the TLS System Default Versions fix for the .NET Framework 3.5 is missing (${j.evidence})`, {
        where: rt.stepId,
        hint: j.fix ?? 'install the latest .NET Framework updates from Windows Update',
      });
    }
    const summary = j.verdict === 'ok' ? `${name}: ${j.evidence}` : `${name}: not settled by any document (unknown): ${j.evidence}`;
    return { changes: [], summary, data: { os: name, required: j.required, by: j.by, verdict: j.verdict, evidence: j.evidence } };
  },
  phases: [],
  verify: async ({ plan }) => ({ ok: true, summary: plan.summary, output: plan.data ?? null }),
});
