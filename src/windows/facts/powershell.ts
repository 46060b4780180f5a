/** Windows facts: Windows PowerShell 5.1. Each states its Microsoft source; see `types.ts` for the shape. */
import type { WindowsFact } from './types.js';

/** Every Windows PowerShell 5.1 fact, in the order of `docs/windows-facts.md`. */
export const POWERSHELL_FACTS: readonly WindowsFact[] = [];
