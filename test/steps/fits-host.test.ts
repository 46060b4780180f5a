/**
 * Which bundled runbook fits a host: each runbook's preflight verdicts on one read of the host.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPreset } from '../../src/simulator/presets.js';
import { applyOp } from '../../src/simulator/model.js';
import { BUNDLED_PROCEDURES, fitsHost, fitsOfTarget } from '../../src/steps/fits-host.js';
import { PREFLIGHT_READS, preflightReadsFrom } from '../../src/steps/requirements.js';
import { bundledRunbookNames, createSimulatedExecutor, ValidationError } from '../../src/index.js';
import { makeHost } from '../helpers.js';

const NOW = '2026-01-01T00:00:00.000Z';
const readsOf = (preset: string) => preflightReadsFrom(PREFLIGHT_READS.map((op) => applyOp(createPreset(preset, new Date(NOW)), op, NOW)));

test('both Orchestrator runbooks are bundled and judged, each by its own procedure', async () => {
  const names = await bundledRunbookNames();
  assert.equal(BUNDLED_PROCEDURES, { 'orchestrator-tls12': 'tls12', 'orchestrator-tls13': 'tls13' });
  for (const name of Object.keys(BUNDLED_PROCEDURES)) assert.ok(names.includes(name), name);
});

test('an Orchestrator 2025 host fits both runbooks; a Server 2019 / Orchestrator 2019 host only orchestrator-tls12, with the reasons', () => {
  assert.ok(fitsHost('orchestrator-tls13', readsOf('server-2025')).fits);
  assert.ok(fitsHost('orchestrator-tls12', readsOf('server-2025')).fits);
  const no = fitsHost('orchestrator-tls13', readsOf('server-2019'));
  assert.not.ok(no.fits);
  assert.ok(no.reasons.some((r) => /^os-tls13: .* has no TLS 1\.3/.test(r)), no.reasons.join('\n'));
  assert.ok(no.reasons.some((r) => /^orchestrator-release: Orchestrator 2019/.test(r)));
  assert.ok(fitsHost('orchestrator-tls12', readsOf('server-2019')).fits);
});

test('a name without an Orchestrator preflight is an error that lists the known ones', () => {
  assert.throws(() => fitsHost('nope', readsOf('server-2025')), /"nope" is not a bundled runbook .*known: orchestrator-tls12, orchestrator-tls13/);
  assert.throws(() => fitsHost('nope', readsOf('server-2025')), (error: unknown) => error instanceof ValidationError && error.issues[0].startsWith('runbookName: '), 'a ValidationError naming the argument');
});

test('fitsOfTarget reads the target once, changes nothing, and judges each runbook', async () => {
  const executor = await createSimulatedExecutor(await makeHost('server-2022'));
  try {
    const fits = await fitsOfTarget(executor);
    assert.equal(fits.map((f) => [f.runbook, f.fits]), [['orchestrator-tls12', true], ['orchestrator-tls13', false]]);
    assert.ok(fits[1].reasons.some((r) => /sql-tls13: SQL Server 2022 16\.0\.1000\.6 is older than 16\.0\.4003\.1/.test(r)));
  } finally {
    await executor.close();
  }
});

test.run();
