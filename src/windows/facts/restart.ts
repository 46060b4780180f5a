/** Windows facts: Restart. Each states its Microsoft source; see `types.ts` for the shape. */
import type { WindowsFact } from './types.js';

/** Every Restart fact, in the order of `docs/windows-facts.md`. */
export const RESTART_FACTS: readonly WindowsFact[] = [];
