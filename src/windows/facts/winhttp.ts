/** Windows facts: WinHTTP. Each states its Microsoft source; see `types.ts` for the shape. */
import type { WindowsFact } from './types.js';

/** Every WinHTTP fact, in the order of `docs/windows-facts.md`. */
export const WINHTTP_FACTS: readonly WindowsFact[] = [];
