/**
 * Retry policies are data: validated when a runbook loads, with errors that name the field.
 */
import pRetry from 'p-retry';
import * as z from '../util/zod.js';
import { isTransient } from '../errors.js';

/**
 * How a phase is retried when its executor reports a transient error (unreachable, timeout, reset).
 *
 * @example
 * ```yaml
 * retry: { retries: 5, minTimeout: 500 }
 * ```
 *
 * @example
 * ```ts
 * const quick: RetryPolicy = { retries: 1, factor: 2, minTimeout: 200, maxTimeout: 1000, randomize: false };
 * const runner = new Runner({ kinds: bundledStepKinds(), retry: quick });
 * ```
 */
export interface RetryPolicy {
  /** Further attempts after the first. @default 3 */
  readonly retries: number;
  /** Growth of the delay between attempts. @default 2 */
  readonly factor: number;
  /** First delay in milliseconds. @default 1000 */
  readonly minTimeout: number;
  /** Largest delay in milliseconds. @default 10000 */
  readonly maxTimeout: number;
  /** Multiply each delay by a random factor between 1 and 2. @default true */
  readonly randomize: boolean;
}

/**
 * The retry policy a phase gets unless the runner, the runbook or the step gives another: 3 further
 * attempts, 1 s to 10 s apart.
 *
 * @example
 * ```ts
 * const patient: RetryPolicy = { ...DEFAULT_RETRY_POLICY, retries: 6, maxTimeout: 30_000 };
 * ```
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  retries: 3,
  factor: 2,
  minTimeout: 1000,
  maxTimeout: 10_000,
  randomize: true,
});

let policySchema: ReturnType<typeof makePolicySchema> | undefined;

/**
 * The schema of a `retry:` block, made when first asked for: only a runbook read from its text is
 * checked against it (a bundled runbook's copy was checked by the build).
 */
export function retryPolicySchema(): ReturnType<typeof makePolicySchema> {
  return (policySchema ??= makePolicySchema());
}

function makePolicySchema() {
  const count = (min: number, max: number) => z.optional(z.number().check(z.int(), z.minimum(min), z.maximum(max)));
  return z
    .strictObject({
      retries: count(0, 100),
      factor: z.optional(z.number().check(z.minimum(1), z.maximum(10))),
      minTimeout: count(0, 3_600_000),
      maxTimeout: count(0, 3_600_000),
      randomize: z.optional(z.boolean()),
    })
    .check(
      z.refine((p) => p.minTimeout === undefined || p.maxTimeout === undefined || p.minTimeout <= p.maxTimeout, {
        message: 'minTimeout must not exceed maxTimeout',
        path: ['minTimeout'],
      }),
    );
}

/** Merges overrides over a base policy. */
export function resolvePolicy(base: RetryPolicy, override?: Partial<RetryPolicy>): RetryPolicy {
  return Object.freeze({ ...base, ...(override ?? {}) });
}

/** Information about a failed attempt, as journaled. */
export interface AttemptInfo {
  attempt: number;
  retriesLeft: number;
  error: unknown;
  willRetry: boolean;
}

/** Runs `fn`, retrying transient errors under `policy`; `onAttempt` sees every failed attempt. */
export async function withRetry<T>(
  fn: () => Promise<T>,
  /** `maxRetryTime`: no new attempt starts after this many milliseconds (a compensation budget). */
  policy: RetryPolicy & { maxRetryTime?: number },
  onAttempt: (info: AttemptInfo) => Promise<void> | void,
  signal?: AbortSignal,
): Promise<T> {
  return pRetry(fn, {
    ...policy,
    signal,
    shouldRetry: ({ error }) => isTransient(error),
    onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
      await onAttempt({ attempt: attemptNumber, retriesLeft, error, willRetry: isTransient(error) && retriesLeft > 0 });
    },
  });
}
