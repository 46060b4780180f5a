/** Windows facts: SCHANNEL. Each states its Microsoft source; see `types.ts` for the shape. */
import type { WindowsFact } from './types.js';

/** Every SCHANNEL fact, in the order of `docs/windows-facts.md`. */
export const SCHANNEL_FACTS: readonly WindowsFact[] = [];
