/**
 * Time as the engine sees it: what it is now, and a pause. Runs take the system clock; tests and
 * simulations take a {@link VirtualClock}, under which a pause passes at once (time jumps ahead), so that
 * waiting out a simulated restart takes no wall-clock time.
 */

/**
 * The engine's clock: every wait of a run (polls, deadlines, budgets) goes through one.
 *
 * @example
 * ```ts
 * const frozen: Clock = { now: () => Date.parse('2026-01-01T00:00:00Z'), sleep: async () => {} };
 * const runner = new Runner({ kinds: bundledStepKinds(), clock: frozen });
 * ```
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` (early when `signal` aborts). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The real clock: `Date.now()` and timers.
 *
 * @example
 * ```ts
 * const started = systemClock.now();
 * await systemClock.sleep(100);
 * console.log(`${systemClock.now() - started} ms later`);
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/**
 * A clock whose pauses pass at once: `sleep(ms)` moves the time `ms` ahead and resolves on the next turn
 * of the event loop. Give the same clock to the runner and to the simulated host, and a restart's
 * downtime is waited out instantly while every deadline still counts.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const runner = new Runner({ kinds: bundledStepKinds(), clock });
 * const executor = await createSimulatedExecutor('host.json', { clock });
 * ```
 */
export class VirtualClock implements Clock {
  #now: number;

  /** @param start where time begins @default Date.now() */
  constructor(start: number = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves the time ahead by `ms` without waiting. */
  advance(ms: number): void {
    this.#now += Math.max(0, ms);
  }

  sleep(ms: number): Promise<void> {
    this.advance(ms);
    return new Promise((resolve) => setImmediate(resolve));
  }
}
