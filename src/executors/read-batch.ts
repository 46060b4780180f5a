/**
 * Reads as a typed batch: operations given by name, answers coming back by the same names and typed
 * by their operation, in one round trip. It replaces index arithmetic over a flat answer list
 * (`results[7 + i]`): the batch is flattened in the order its names are written, sent as one call,
 * and cut back into the names, each answer checked against the operation it answers.
 *
 * It sits beside the executor contract because it is only that contract seen by name: steps use it
 * over their runtime's cached `read`, `inspect` and `fits-host` over an executor's `run`.
 */
import { resultOf, type HostOp, type HostOpResult } from './types.js';

/**
 * A batch of reads by name: one operation, a list of them (answered as a list), or `undefined` for a
 * read this batch leaves out (answered `undefined`).
 *
 * @example
 * ```ts
 * const HOST: ReadBatch = { os: { op: 'os.info' }, services: [{ op: 'service.status', name: 'WinRM' }] };
 * ```
 */
export type ReadBatch = { readonly [name: string]: HostOp | readonly HostOp[] | undefined };

/** Each operation's answer, by operation name (a lookup, which TypeScript resolves more readily than `Extract`). */
type AnswerByOp = { [R in HostOpResult as R['op']]: R };

/** The answer to one entry of a batch. */
export type AnswerOf<E> = E extends readonly HostOp[] ? AnswerByOp[E[number]['op']][] : E extends HostOp ? AnswerByOp[E['op']] : undefined;

/**
 * The answers to a batch, under the batch's names.
 *
 * @example
 * ```ts
 * const batch = defineBatch({ os: { op: 'os.info' }, fixes: { op: 'hotfix.list' } });
 * const answers: BatchAnswers<typeof batch> = await readBatch((ops) => executor.run(ops), batch);
 * console.log(answers.os.build, answers.fixes.hotfixes.length);
 * ```
 */
export type BatchAnswers<B extends ReadBatch> = { -readonly [K in keyof B]: AnswerOf<B[K]> };

/**
 * What answers a batch of operations in one call: a step's runtime (its cached `read`), or a function
 * such as `(ops) => executor.run(ops)`.
 *
 * @example
 * ```ts
 * const reader: BatchReader = (ops) => executor.run(ops);
 * const { os } = await readBatch(reader, { os: { op: 'os.info' } });
 * ```
 */
export type BatchReader = { read(ops: readonly HostOp[]): Promise<HostOpResult[]> } | ((ops: readonly HostOp[]) => Promise<HostOpResult[]>);

/**
 * The operations of a batch, flat, in the order its names are written.
 *
 * @example
 * ```ts
 * batchOps({ os: { op: 'os.info' }, services: [{ op: 'service.status', name: 'W32Time' }] });
 * // [{ op: 'os.info' }, { op: 'service.status', name: 'W32Time' }]
 * ```
 */
export function batchOps(batch: ReadBatch): HostOp[] {
  return Object.values(batch).flatMap((entry) => (entry === undefined ? [] : Array.isArray(entry) ? [...entry] : [entry as HostOp]));
}

/**
 * The answers of a flat answer list (as {@link batchOps} ordered it), under the batch's names; each
 * answer is checked against the operation it answers (a `TypeError` names both when they differ).
 *
 * @example
 * ```ts
 * const batch = { os: { op: 'os.info' }, boot: { op: 'boot.time' } } as const;
 * const { os, boot } = batchAnswers(batch, await executor.run(batchOps(batch)));
 * console.log(os.build, boot.bootTime);
 * ```
 */
export function batchAnswers<const B extends ReadBatch>(batch: B, results: readonly HostOpResult[]): BatchAnswers<B> {
  const expected = batchOps(batch).length;
  if (results.length !== expected) throw new TypeError(`expected ${expected} answers to the batch, got ${results.length}`);
  let next = 0;
  const answer = (op: HostOp) => resultOf(results[next++], op.op);
  const answers: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(batch)) {
    answers[name] = entry === undefined ? undefined : Array.isArray(entry) ? entry.map(answer) : answer(entry as HostOp);
  }
  // Each answer was checked against its operation just above: the mapped type says the same by name.
  return answers as BatchAnswers<B>;
}

/**
 * Reads a batch in one call of `reader` and returns its answers by name, each typed by its operation.
 *
 * @example
 * ```ts
 * declare const rt: StepRuntime; // a step handler's runtime
 * const { os, marker, services } = await readBatch(rt, {
 *   os: { op: 'os.info' },
 *   marker: { op: 'registry.get', view: '64', key: 'SOFTWARE\\Example', name: 'Flag' },
 *   services: ['W32Time', 'WinRM'].map((name) => ({ op: 'service.status', name }) as const),
 * });
 * console.log(os.build, marker.value, services.map((s) => s.state));
 * ```
 */
export async function readBatch<const B extends ReadBatch>(reader: BatchReader, batch: B): Promise<BatchAnswers<B>> {
  const ops = batchOps(batch);
  return batchAnswers(batch, await (typeof reader === 'function' ? reader(ops) : reader.read(ops)));
}

/**
 * A batch kept as a constant, with each operation's type kept for its answer (what `as const` does,
 * checked against {@link ReadBatch}).
 *
 * @example
 * ```ts
 * const HOST = defineBatch({ os: { op: 'os.info' }, boot: { op: 'boot.time' } });
 * const { os, boot } = await readBatch((ops) => executor.run(ops), HOST);
 * ```
 */
export function defineBatch<const B extends ReadBatch>(batch: B): B {
  return batch;
}
