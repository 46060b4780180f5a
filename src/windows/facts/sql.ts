/** Windows facts: SQL Server. Each states its Microsoft source; see `types.ts` for the shape. */
import type { WindowsFact } from './types.js';

/** Every SQL Server fact, in the order of `docs/windows-facts.md`. */
export const SQL_FACTS: readonly WindowsFact[] = [];
