/**
 * The registry of step kinds a runner knows, by the name documents use in `uses:`.
 */
import { ValidationError } from '../errors.js';
import type { StepKind } from './step-kind.js';

/**
 * @example
 * ```ts
 * const kinds = new StepKindRegistry().register(myStepKind);
 * ```
 */
export class StepKindRegistry {
  private readonly kinds = new Map<string, StepKind<unknown>>();

  register(...kinds: StepKind<any>[]): this {
    for (const kind of kinds) this.kinds.set(kind.kind, kind as StepKind<unknown>);
    return this;
  }

  has(name: string): boolean {
    return this.kinds.has(name);
  }

  get(name: string, where = ''): StepKind<unknown> {
    const kind = this.kinds.get(name);
    if (!kind) {
      throw new ValidationError(`unknown step kind "${name}"`, [`known kinds: ${[...this.kinds.keys()].join(', ')}`], { where });
    }
    return kind;
  }

  list(): StepKind<unknown>[] {
    return [...this.kinds.values()];
  }
}
