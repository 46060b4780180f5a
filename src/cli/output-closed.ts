/**
 * A reader that went away (`runbook run … | head -5`): its stream's further output is discarded, and the
 * commands that drive runs are told, so that they stop at a safe point as one SIGINT does instead of
 * dying between a change and its record (which used to exit 0 with the target half changed).
 */

/** Which stream was closed first, once one was. */
let closed: 'stdout' | 'stderr' | undefined;
const listeners = new Set<(stream: 'stdout' | 'stderr') => void>();

/** A write that goes nowhere: what is printed after the reader left is dropped, never an error. */
function discard(_chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
  const done = typeof encoding === 'function' ? encoding : callback;
  if (typeof done === 'function') process.nextTick(done as () => void);
  return true;
}

/**
 * Marks a stream as closed by its reader (its `EPIPE`): later writes to it are discarded, and whoever
 * listens ({@link onOutputClosed}) is told once.
 *
 * @example
 * ```ts
 * process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') closeOutput(process.stdout, 'stdout'); });
 * ```
 */
export function closeOutput(stream: NodeJS.WriteStream, name: 'stdout' | 'stderr'): void {
  stream.write = discard as typeof stream.write;
  if (closed) return;
  closed = name;
  for (const listener of [...listeners]) listener(name);
}

/**
 * Calls `listener` when stdout or stderr loses its reader — at once (on the next microtask) if one did
 * already. Returns what takes the listener off again.
 *
 * @example
 * ```ts
 * const off = onOutputClosed((stream) => console.error(`${stream} closed: stopping`));
 * off();
 * ```
 */
export function onOutputClosed(listener: (stream: 'stdout' | 'stderr') => void): () => void {
  listeners.add(listener);
  if (closed) {
    const which = closed;
    queueMicrotask(() => {
      if (listeners.has(listener)) listener(which);
    });
  }
  return () => {
    listeners.delete(listener);
  };
}
