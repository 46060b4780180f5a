/**
 * The table of Windows facts: every fact that decides anything, each with its Microsoft source. One
 * file per topic; this file only collects them. `docs/windows-facts.md` is generated from it
 * (`npm run facts:doc`; a test fails when the doc is stale).
 */
import type { WindowsFact } from './types.js';
import { OS_FACTS } from './os.js';
import { ORCHESTRATOR_FACTS } from './orchestrator.js';
import { SQL_FACTS } from './sql.js';
import { DOTNET_FACTS } from './dotnet.js';
import { SCHANNEL_FACTS } from './schannel.js';
import { WINHTTP_FACTS } from './winhttp.js';
import { RESTART_FACTS } from './restart.js';
import { POWERSHELL_FACTS } from './powershell.js';
import { PROCEDURE_FACTS } from './procedure.js';
import { WINRM_SERVICE_FACTS } from './winrm-service.js';
import { TLS13_FACTS } from './tls13.js';
import { REGISTRY_FACTS } from './registry.js';
import { NAMES_FACTS } from './names.js';

export type { WindowsFact, FactSource, FactProof, FactStatus } from './types.js';
export { defineFact } from './types.js';

/**
 * Every fact, in the order of the doc. Topic files add theirs here.
 *
 * @example
 * ```ts
 * const unknown = WINDOWS_FACTS.filter((f) => f.status === 'unknown').map((f) => f.id);
 * console.log(`${WINDOWS_FACTS.length} facts, ${unknown.length} unknown`);
 * ```
 */
export const WINDOWS_FACTS: readonly WindowsFact[] = [
  ...OS_FACTS,
  ...ORCHESTRATOR_FACTS,
  ...SQL_FACTS,
  ...DOTNET_FACTS,
  ...SCHANNEL_FACTS,
  ...WINHTTP_FACTS,
  ...RESTART_FACTS,
  ...POWERSHELL_FACTS,
  ...PROCEDURE_FACTS,
  ...WINRM_SERVICE_FACTS,
  ...TLS13_FACTS,
  ...REGISTRY_FACTS,
  ...NAMES_FACTS,
];

/**
 * A fact by its id; throws when the table has none (a programming error, caught by the tests).
 *
 * @example
 * ```ts
 * const f = factById('schannel.tls13-first-build');
 * ```
 */
export function factById(id: string): WindowsFact {
  const f = WINDOWS_FACTS.find((x) => x.id === id);
  if (!f) throw new Error(`no Windows fact "${id}" in src/windows/facts`);
  return f;
}
