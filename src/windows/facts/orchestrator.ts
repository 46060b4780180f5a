/** Windows facts: Orchestrator. Each states its Microsoft source; see `types.ts` for the shape. */
import type { WindowsFact } from './types.js';

/** Every Orchestrator fact, in the order of `docs/windows-facts.md`. */
export const ORCHESTRATOR_FACTS: readonly WindowsFact[] = [];
