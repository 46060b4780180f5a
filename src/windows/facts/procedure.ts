/** Windows facts: The procedure. Each states its Microsoft source; see `types.ts` for the shape. */
import type { WindowsFact } from './types.js';

/** Every The procedure fact, in the order of `docs/windows-facts.md`. */
export const PROCEDURE_FACTS: readonly WindowsFact[] = [];
