/** Windows facts: .NET Framework. Each states its Microsoft source; see `types.ts` for the shape. */
import type { WindowsFact } from './types.js';

/** Every .NET Framework fact, in the order of `docs/windows-facts.md`. */
export const DOTNET_FACTS: readonly WindowsFact[] = [];
