/** Windows facts: OS. Each states its Microsoft source; see `types.ts` for the shape. */
import type { WindowsFact } from './types.js';

/** Every OS fact, in the order of `docs/windows-facts.md`. */
export const OS_FACTS: readonly WindowsFact[] = [];
