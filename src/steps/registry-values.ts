/**
 * The step factory of steps that set registry values (schannel, dotnet, winhttp-tls): probe, plan,
 * capture, apply, verify and compensate, all from the registry library (`registry/values.ts`,
 * `registry/restore.ts`): read every value in one batch, plan the differences, capture the exact prior
 * state (value, type, and which keys did not exist), write the differences in one batch whose answers
 * are the read-back, and undo exactly.
 */
import { StepError } from '../errors.js';
import type { DeclaredWrite, HandlerArgs, StepKindDefinition } from '../engine/step-kind.js';
import type { Json } from '../engine/types.js';
import * as z from '../util/zod.js';
import { applyWrites, observe, pendingWrites, registryPlan, satisfies, verifyWrites, writesPlannedEarlier, writtenValues, type ObservedValue } from './registry/values.js';
import { leftByStep, restorePriors } from './registry/restore.js';
import { refusedRegistryName } from '../windows/registry.js';

/** The outputs every registry step publishes. */
export const registryStepOutputs = z.object({
  changed: z.number().check(z.describe('how many values the step wrote')),
  rebootRequired: z.boolean().check(z.describe('true when a written value takes effect only after a restart')),
});

/**
 * What {@link defineRegistryStep} needs to know of a step that sets registry values.
 *
 * @example
 * ```ts
 * const options: RegistryStepOptions<{ value: number }> = {
 *   kind: 'example/flag',
 *   description: 'sets the Example flag',
 *   params: z.object({ value: z.number() }),
 *   what: 'the Example flag',
 *   rebootOnChange: false,
 *   writes: async ({ params }) => [{ view: '64', key: 'SOFTWARE\\Example', name: 'Flag', desired: { type: 'REG_DWORD', data: params.value } }],
 * };
 * const flagStep = defineRegistryStep(options);
 * ```
 */
export interface RegistryStepOptions<P> {
  kind: string;
  description: string;
  params: z.Schema<P>;
  /** What the values are, for summaries: e.g. `SCHANNEL protocols`. */
  what: string;
  /** The values the step sets, with their desired data. */
  writes(args: HandlerArgs<P>): Promise<DeclaredWrite[]>;
  /** What `writes` and `publish` read that the parameters alone name (the kind's `reads`). */
  reads?: StepKindDefinition<P>['reads'];
  /** A change here means Windows must restart before it takes effect. */
  rebootOnChange: boolean;
  /** More published data, from the desired values. */
  publish?(args: HandlerArgs<P>): Promise<Record<string, Json>>;
  /** The schema of what `publish` adds to the outputs. */
  publishes?: z.Shape;
  /** A sentence the plan and the result add to their summary, from the published data. */
  note?(published: Record<string, Json>): string | null;
}

/** What the probe of a registry step reads: the values it sets, and each one's current state. */
export type RegistryObserved = { writes: DeclaredWrite[]; observed: ObservedValue[] };

/** The plan's data of a registry step (published in check mode: later steps see the pending writes). */
export type RegistryPlanData = {
  writes: DeclaredWrite[];
  /** The writes still to make, as indices into `writes`. */
  pending: number[];
  rebootRequired: boolean;
  /** What `publish` added. */
  [key: string]: Json;
};

/**
 * Builds the step kind of a step that sets registry values: probe, plan, capture, apply, verify and
 * compensate all come from the functions above.
 *
 * @example
 * ```ts
 * export const myStep = defineStepKind(defineRegistryStep({
 *   kind: 'example/flag', description: 'sets a flag', what: 'flag', rebootOnChange: false,
 *   params: z.object({}),
 *   writes: async () => [{ view: '64', key: 'SOFTWARE\\Example', name: 'Flag', desired: { type: 'REG_DWORD', data: 1 } }],
 * }));
 * ```
 */
export function defineRegistryStep<P>(options: RegistryStepOptions<P>): StepKindDefinition<P, RegistryObserved, RegistryPlanData, ObservedValue[]> {
  return {
    kind: options.kind,
    description: options.description,
    params: options.params,
    outputs: z.extend(registryStepOutputs, options.publishes ?? {}),
    registryPriors: (priors) => (Array.isArray(priors) ? priors : []),
    registryWrites: ({ priors, plan, results }) => (plan && Array.isArray(priors) ? writtenValues(plan.data.writes, priors, results) : []),
    declares: (args) => options.writes(args),
    ...(options.reads ? { reads: options.reads } : {}),
    async probe(args) {
      const writes = await options.writes(args);
      return { writes, observed: await observe(args.rt, writes) };
    },
    async plan(args) {
      const { writes, observed } = args.observed;
      // A name Windows has no key for (or that would write another value) is refused before any change:
      // it could only be a mistake, or an attempt to break the undo files an operator runs.
      for (const w of writes) {
        const why = refusedRegistryName(w.key, w.name);
        if (why) throw new StepError('PARAMETER_REFUSED', `step ${args.rt.stepId} would write a registry value it cannot: ${why}`, { hint: 'fix the key path or value name the step writes' });
      }
      const plan = registryPlan(writes, observed, options.what, writesPlannedEarlier(args.rt));
      const pending = writes.flatMap((w, i) => (satisfies(w, observed[i].value) ? [] : [i]));
      const extra = options.publish ? await options.publish(args) : {};
      const data: RegistryPlanData = { ...extra, writes, pending, rebootRequired: options.rebootOnChange && pending.length > 0 };
      const note = options.note?.(extra);
      return { ...plan, summary: note ? `${plan.summary}; ${note}` : plan.summary, data };
    },
    capture: async ({ observed }) => observed.observed,
    phases: [
      {
        name: 'apply',
        run: ({ rt, plan }) => applyWrites(rt, plan.data.pending.map((i) => plan.data.writes[i])),
      },
    ],
    async verify({ plan, results, priors, rt }) {
      const data = plan.data;
      // A registry step verifies only after its capture (it has no `verifyWhenUnchanged`).
      if (!priors) throw new StepError('PROTOCOL', `step ${rt.stepId} verifies values whose prior state was not captured`);
      const problems = verifyWrites(data.writes, priors, results.apply ?? null);
      // Counted against the captured priors, so that a step re-run after a crash still reports its changes.
      const written = pendingWrites(data.writes, priors).length;
      const { writes: _w, pending: _p, ...published } = data;
      const note = options.note?.(published);
      return {
        ok: problems.length === 0,
        problems,
        summary:
          (problems.length > 0 ? `${options.what}: ${problems.length} value(s) wrong after writing` : `${options.what}: ${written} value(s) changed, ${data.writes.length} verified`) +
          (note ? `; ${note}` : ''),
        output: { ...published, changed: written, rebootRequired: options.rebootOnChange && written > 0 },
      };
    },
    compensate: ({ rt, priors, plan, results }) => restorePriors(rt, plan ? writtenValues(plan.data.writes, priors, results) : [], leftByStep(results)),
  };
}
