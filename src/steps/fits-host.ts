/**
 * Which bundled runbook fits a host: each runbook's preflight verdicts on what was read, the same
 * judgement its `orchestrator/preflight` step makes before any write (`judgeHost` with the runbook's
 * procedure), so that `runbook list --target` and `runbook inspect` tell the same as a run would.
 */
import { ValidationError } from '../errors.js';
import { PROCEDURE_RUNBOOK } from './judge-tls13.js';
import { preflightParams } from './preflight-params.js';
import { PREFLIGHT_READS, judgeHost, preflightReadsFrom, type HostVerdict, type PreflightReads } from './requirements.js';
import type { Executor } from '../executors/types.js';

/** The procedure each bundled runbook's preflight judges by. */
export const BUNDLED_PROCEDURES: Record<string, 'tls12' | 'tls13'> = Object.fromEntries(
  Object.entries(PROCEDURE_RUNBOOK).map(([procedure, runbook]) => [runbook, procedure as 'tls12' | 'tls13']),
);

/** One runbook's fit: `fits` false when its preflight would refuse the host (the reasons say why). */
export type HostFit = {
  runbook: string;
  procedure: 'tls12' | 'tls13';
  fits: boolean;
  /** The refusals, each `check: evidence — fix`. */
  reasons: string[];
  /** What no document settles (the run warns, or stops with onUnknown=refuse). */
  unknowns: string[];
  verdicts: HostVerdict[];
};

/**
 * Whether a bundled runbook fits a host, judged on its preflight reads (with the runbook's default
 * parameters, or those given). Throws for a runbook that has no Orchestrator preflight.
 *
 * @example
 * ```ts
 * declare const reads: Parameters<typeof fitsHost>[1]; // preflightReadsFrom(await executor.run(PREFLIGHT_READS))
 * const fit = fitsHost('orchestrator-tls13', reads);
 * if (!fit.fits) console.log(fit.reasons.join('\n'));
 * ```
 */
export function fitsHost(runbookName: string, reads: PreflightReads, params: Record<string, unknown> = {}): HostFit {
  const procedure = BUNDLED_PROCEDURES[runbookName];
  if (!procedure) {
    const known = Object.keys(BUNDLED_PROCEDURES).join(', ');
    throw new ValidationError(`"${runbookName}" is not a bundled runbook with an Orchestrator preflight (known: ${known})`, [`runbookName: one of ${known}`]);
  }
  const verdicts = judgeHost(reads, preflightParams.parse({ ...params, tlsProcedure: procedure }));
  const line = (v: HostVerdict) => `${v.check}: ${v.evidence}${v.fix ? ` — ${v.fix}` : ''}`;
  const reasons = verdicts.filter((v) => v.verdict === 'refuse').map(line);
  return { runbook: runbookName, procedure, fits: reasons.length === 0, reasons, unknowns: verdicts.filter((v) => v.verdict === 'unknown').map(line), verdicts };
}

/**
 * Reads a host once (the preflight's read batch, read-only) and tells for every bundled runbook with an
 * Orchestrator preflight whether it fits.
 *
 * @example
 * ```ts
 * for (const fit of await fitsOfTarget(await createSimulatedExecutor('host.json'))) console.log(fit.runbook, fit.fits);
 * ```
 */
export async function fitsOfTarget(executor: Executor): Promise<HostFit[]> {
  const reads = preflightReadsFrom(await executor.run([...PREFLIGHT_READS]));
  return Object.keys(BUNDLED_PROCEDURES).map((name) => fitsHost(name, reads));
}
