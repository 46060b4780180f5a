/**
 * The reads the steps still to run declare (`reads` of their kinds), sent along with the first read
 * batch of a drive so that the read cache serves them: one round trip for what a run reads before it
 * writes, without one kind reading on behalf of another. Only the forward pass reads ahead; the saga
 * reads what its undo needs when it needs it.
 */
import type { HostOp } from '../executors/types.js';
import { readKey } from './read-cache.js';
import { stepsDeclaringReads, type KindShape, type LookAheadInput } from './step-params.js';

/** What the read-ahead reads of a kind: its parameters' schema, and the reads it declares. */
export type ReadingKind = KindShape & { reads?(args: { params: unknown }): readonly HostOp[] };

/**
 * The reads the steps from `from` on declare, each once, in step order. Steps whose `when:` does not
 * hold are not in the run; a step whose parameters cannot be had yet (a lookup of an output not
 * published) declares nothing here and reads for itself.
 *
 * @example
 * ```ts
 * declare const run: Parameters<typeof declaredReads>[0]; // the run's steps, kinds, parameters, outputs
 * const ops = declaredReads(run, 0); // what the run's steps will read, deduplicated
 * ```
 */
export function declaredReads(run: LookAheadInput<ReadingKind>, from: number): HostOp[] {
  const seen = new Set<string>();
  const ops: HostOp[] = [];
  for (const step of stepsDeclaringReads(from, run)) {
    for (const op of step.kind.reads!({ params: step.params })) {
      const key = readKey(op);
      if (seen.has(key)) continue;
      seen.add(key);
      ops.push(op);
    }
  }
  return ops;
}

/**
 * True when an operation carries a secret's value in any of its texts (a key's path, a name, data):
 * such a read is never sent ahead. The step that declared it reads it for itself once it starts, and
 * a step whose parameters hold a secret where the target would see it refuses before that
 * (`windows/registry-backup`: SECRET_IN_BACKUP), so that the value never reaches the target — where a
 * key's path ends up on a program's command line (`reg export`).
 *
 * @example
 * ```ts
 * const holds = (text: string) => text.includes('Vault-Passw0rd');
 * carriesSecret({ op: 'registry.exportText', view: '64', key: 'SOFTWARE\\Vault-Passw0rd' }, holds); // true
 * carriesSecret({ op: 'registry.exportText', view: '64', key: 'SOFTWARE\\Contoso' }, (t) => t === '64'); // false: the view is no parameter
 * ```
 */
export function carriesSecret(op: HostOp, holdsSecret: (text: string) => boolean): boolean {
  const walk = (value: unknown): boolean => {
    if (typeof value === 'string') return holdsSecret(value);
    if (Array.isArray(value)) return value.some(walk);
    if (value !== null && typeof value === 'object') return Object.values(value).some(walk);
    return false;
  };
  // The operation's name and registry view are the engine's own words, never a parameter's: a
  // secret of a run started before secrets had to be four characters (`64`) would otherwise match
  // every read's view and send nothing ahead.
  return Object.entries(op).some(([field, value]) => field !== 'op' && field !== 'view' && walk(value));
}

/**
 * The declared reads of a drive, handed out once: to the first read batch that goes to the target,
 * whichever step (or look-ahead of planned writes) sends it. One per drive, from the first step the
 * drive has still to run (a resumed drive reads ahead again: its cache starts empty).
 *
 * @example
 * ```ts
 * declare const run: Parameters<ReadAhead['take']>[0]; // the run's steps, kinds, parameters, outputs
 * const ahead = new ReadAhead(0);
 * ahead.take(run); // the declared reads of every step
 * ahead.take(run); // []: sent already
 * ```
 */
export class ReadAhead {
  private taken = false;

  /** @param from the first step this drive has still to run */
  constructor(private readonly from: number) {}

  /** True once the declared reads were handed out. */
  get sent(): boolean {
    return this.taken;
  }

  /** The declared reads of the steps from the drive's first on, the first time; nothing afterwards. */
  take(run: LookAheadInput<ReadingKind>): HostOp[] {
    if (this.taken) return [];
    this.taken = true;
    return declaredReads(run, this.from);
  }
}
