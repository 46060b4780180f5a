/**
 * A bound on how many tasks run at once: `run(task)` starts the task when fewer than `max` are
 * running, else when one ends, in the order they were given.
 *
 * @example
 * ```ts
 * const limit = concurrencyLimit(2);
 * const wait = (ms: number) => new Promise<number>((done) => setTimeout(() => done(ms), ms));
 * // Two at a time: the third starts when the first ends.
 * const waited = await Promise.all([30, 10, 20].map((ms) => limit.run(() => wait(ms))));
 * ```
 */
export function concurrencyLimit(max: number): { run<T>(task: () => Promise<T>): Promise<T> } {
  let running = 0;
  const waiting: (() => void)[] = [];
  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (running >= max) await new Promise<void>((start) => waiting.push(start));
      else running += 1;
      try {
        return await task();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else running -= 1;
      }
    },
  };
}
