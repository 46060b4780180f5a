/**
 * Step `windows/hotfix-verify`: the OS's required update from the reference procedure's table (or a
 * later update that supersedes it) is installed. Read-only; its failure rolls back the steps before it.
 */
import { z } from 'zod';
import { StepError } from '../errors.js';
import { defineStepKind } from '../engine/step-kind.js';
import type { Json } from '../engine/types.js';
import { resultOf } from '../executors/types.js';
import { hotfixRequirement } from './requirements.js';

export const hotfixParams = z
  .object({
    /** More KBs that satisfy the requirement (later rollups), e.g. `["KB4041085"]`. @default [] */
    supersededBy: z
      .preprocess(
        (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
        z.array(z.string().regex(/^KB\d+$/i, 'a KB number such as KB4041085')),
      )
      .default([]),
  })
  .strict();

export const hotfixStep = defineStepKind({
  kind: 'windows/hotfix-verify',
  description: 'Verifies the TLS System Default Versions update for the OS (KB3154518/19/20/21, KB3156421) or a superseding one',
  params: hotfixParams,
  outputs: z.object({ os: z.string(), required: z.array(z.string()), found: z.array(z.string()) }),
  verifyWhenUnchanged: true,
  probe: async ({ rt }) => (await rt.read([{ op: 'os.info' }, { op: 'hotfix.list' }])) as unknown as Json,
  plan({ params, observed, rt }) {
    const r = observed as unknown as Parameters<typeof resultOf>[0][];
    const os = resultOf(r[0], 'os.info');
    const installed = new Set(resultOf(r[1], 'hotfix.list').hotfixes.map((h) => h.toUpperCase()));
    const requirement = hotfixRequirement(os.version, os.build);
    if (!requirement) {
      throw new StepError('HOTFIX_UNKNOWN_OS', `${os.caption} (${os.version}) is not in the hotfix table`, { where: rt.stepId });
    }
    const accepted = [...requirement.required, ...requirement.supersededBy, ...params.supersededBy.map((k) => k.toUpperCase())];
    const found = accepted.filter((kb) => installed.has(kb));
    if (requirement.required.length > 0 && found.length === 0) {
      throw new StepError('HOTFIX_MISSING', `${os.caption} needs ${requirement.required.join(' or ')} (or a later .NET Framework update that supersedes it); none is installed`, {
        where: rt.stepId,
        hint: 'install the latest .NET Framework updates from Windows Update, or name the superseding KB with --param hotfixSupersededBy=KB…',
      });
    }
    const summary = requirement.required.length === 0 ? `${requirement.os}: no update needed` : `${requirement.os}: ${found.join(', ')} installed`;
    return { changes: [], summary, data: { os: requirement.os, required: requirement.required, found } };
  },
  phases: [],
  verify: async ({ plan }) => ({ ok: true, summary: plan.summary, output: plan.data ?? null }),
});
