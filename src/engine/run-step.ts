/**
 * Runs one step's machine for one drive, forward or to compensate it: under the retry policy that
 * applies to it, with a runtime made from the services it is given (the forward pass's, or the saga's
 * copy). The drive and the saga both call it; it calls neither.
 */
import type { InspectionEvent, Observer } from 'xstate';
import type { StepKindRegistry } from './kinds.js';
import type { StepState } from './replay.js';
import { DEFAULT_RETRY_POLICY, resolvePolicy, type RetryPolicy } from './retry.js';
import type { RunbookDefinition } from './runbook.js';
import { restoreSecrets } from './secrets.js';
import { hostStep, type StepOutcome } from './step-host.js';
import { createStepRuntime, type RuntimeServices } from './step-runtime.js';
import type { Json } from './types.js';

/** What running a step needs besides its index: the run's steps, their states, the services. */
export interface StepScope {
  /** The steps this run drives (those whose `when:` holds). */
  definition: RunbookDefinition;
  kinds: StepKindRegistry;
  states: readonly StepState[];
  services: RuntimeServices;
  /** Values of secret parameters, put back into parameters journaled without them. */
  secrets: Record<string, Json>;
  /** The runner's overrides of the default retry policy (a runbook's or step's own `retry` wins). */
  retry?: Partial<RetryPolicy>;
  /** Retries of a transient failure for every step, over the runbook's and the steps' own. */
  retries?: number;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** The retry policy of step `index`: the default, the runner's, the runbook's, the step's, then `--retries`. */
export function stepPolicy(scope: Pick<StepScope, 'definition' | 'retry' | 'retries'>, index: number): RetryPolicy {
  const { definition } = scope;
  const policy = resolvePolicy(resolvePolicy(resolvePolicy(DEFAULT_RETRY_POLICY, scope.retry), definition.retry), definition.steps[index].retry);
  return scope.retries === undefined ? policy : resolvePolicy(policy, { retries: scope.retries });
}

/** Runs step `index` forward, or compensates it, until it settles or suspends this drive. */
export function runStep(scope: StepScope, index: number, mode: 'forward' | 'compensate'): Promise<StepOutcome> {
  const { services } = scope;
  const step = scope.definition.steps[index];
  let phase = 'probe';
  return hostStep({
    runId: services.runId,
    stepId: step.id,
    index,
    kind: scope.kinds.get(step.uses),
    state: scope.states[index],
    checkMode: services.checkMode,
    mode,
    rt: createStepRuntime(services, { stepId: step.id, index, policy: stepPolicy(scope, index), phase: () => phase }),
    journal: services.journal,
    events: services.events,
    setPhase: (name) => {
      phase = name;
    },
    reveal: (p) => restoreSecrets(p, scope.secrets),
    mask: services.mask,
    inspect: scope.inspect,
  });
}
