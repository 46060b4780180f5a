/**
 * What the preflight's tests share: a host's preflight reads made through the simulated model (no
 * executor, no file), its parsed parameters, and one verdict by its check's name.
 */
import * as assert from 'uvu/assert';
import { applyOp, type SimHostState } from '../../src/simulator/model.js';
import { PREFLIGHT_READS, preflightReadsFrom, type HostVerdict, type PreflightReads } from '../../src/steps/requirements.js';
import { preflightParams } from '../../src/steps/preflight.js';

/** The clock of the preset hosts these tests build. */
export const NOW = '2026-01-01T00:00:00.000Z';

/** The preflight's parameters as a run would parse them. */
export const params = (p: Record<string, unknown> = {}) => preflightParams.parse(p);

/** What the preflight reads from a simulated host, by meaning. */
export function readsOf(host: SimHostState): PreflightReads {
  return preflightReadsFrom(PREFLIGHT_READS.map((op) => applyOp(host, op, NOW)));
}

/** The verdict of one check; fails the test when there is none. */
export function verdict(verdicts: HostVerdict[], check: string): HostVerdict {
  const v = verdicts.find((x) => x.check === check);
  assert.ok(v, `no verdict for ${check}: ${verdicts.map((x) => x.check).join(', ')}`);
  return v!;
}
