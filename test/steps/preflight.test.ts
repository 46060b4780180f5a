/**
 * Step `orchestrator/preflight`: refusals stop the run before any write; a prerequisite no document
 * settles is listed in the plan and the step output with what was read (onUnknown=warn), or stops the
 * run like a refusal (onUnknown=refuse).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import type { RunResult } from '../../src/index.js';
import { preflightParams } from '../../src/steps/preflight.js';
import { renderReportMarkdown } from '../../src/engine/report.js';
import { makeHost, runToEnd, single } from '../helpers.js';

const step = (r: RunResult) => r.steps.find((s) => s.id === 'only')!;
const preflight = (p: Record<string, unknown> = {}) => ({ runbook: single('orchestrator/preflight', p) });

test('onUnknown defaults to warn and minDotnetRelease to the fact\'s 393295 (.NET Framework 4.6)', () => {
  const p = preflightParams.parse({});
  assert.is(p.onUnknown, 'warn');
  assert.is(p.minDotnetRelease, 393295);
  assert.throws(() => preflightParams.parse({ onUnknown: 'ignore' }));
});

test('the plan lists each unknown with what was read, and changes nothing (onUnknown=warn)', async () => {
  const file = await makeHost('server-2012r2-no-hotfix');
  const before = await readFile(file, 'utf8');
  const { result } = await runToEnd(file, { ...preflight(), checkMode: true });
  assert.is.not(result.status, 'failed', JSON.stringify(result.error));
  assert.match(step(result).summary, /3 not settled by any document \(onUnknown=warn\): orchestrator-release: Orchestrator 1801 \(7\.4\.0\.0\): "Set up TLS 1\.2 for Orchestrator" \(procedure=current\) lists 2016 UR4, 2019, 2022, not 1801; the 2019 revision names it .*; dotnet35-tls: none of KB3154520 is listed .*; sql-client: SQL Server Native Client 11\.0 11\.4\.7462\.6 found/);
  assert.is(await readFile(file, 'utf8'), before);
});

test('the step output lists the unknowns and every check with its verdict and facts, and the report does not take them for handshakes', async () => {
  const { result } = await runToEnd(await makeHost('server-2012r2-no-hotfix'), preflight());
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  const out = step(result).output as { unknowns: string[]; checks: { check: string; verdict: string; factIds: string[] }[] };
  assert.equal(out.unknowns.map((u) => u.split(':')[0]), ['orchestrator-release', 'dotnet35-tls', 'sql-client']);
  const dotnet35 = out.checks.find((v) => v.check === 'dotnet35-tls')!;
  assert.is(dotnet35.verdict, 'unknown');
  assert.ok(dotnet35.factIds.includes('dotnet.v35-tls-fix-superseding-kbs'));
  assert.not.match(renderReportMarkdown(result), /## TLS handshakes/);
});

test('onUnknown=refuse stops the run before any write, naming each unknown and what to do', async () => {
  const file = await makeHost('server-2012r2-no-hotfix');
  const before = await readFile(file, 'utf8');
  const { result } = await runToEnd(file, preflight({ onUnknown: 'refuse' }));
  assert.is(result.error?.code, 'PREFLIGHT_FAILED');
  assert.match(result.error!.message, /^3 prerequisite\(s\) no document settles \(onUnknown=refuse\):\n    - orchestrator-release: .*\n    - dotnet35-tls: .*\n    - sql-client: /);
  assert.match(result.error!.message, /run with --param onUnknown=warn to go on with the warnings/);
  assert.is(await readFile(file, 'utf8'), before);
});

test('a refusal stops the run whatever onUnknown says: Orchestrator 2016 on Server 2019', async () => {
  const file = await makeHost('server-2019', (h) => {
    h.orchestrator = { installed: true, release: '2016', updateRollup: 4, version: '7.3.0.0' };
    h.sqlInstances = [{ name: 'MSSQLSERVER', version: '13.2.5026.0' }];
  });
  const { result } = await runToEnd(file, preflight());
  assert.is(result.error?.code, 'PREFLIGHT_FAILED');
  assert.match(result.error!.message, /^1 prerequisite\(s\) not met:\n    - orchestrator-os: Orchestrator 2016 on Windows Server 2019 /);
  assert.match(result.error!.message, /nothing was changed on the target; fix the prerequisites/);
});

test('a compliant Server 2025 with Orchestrator 2025 passes with what no document covers as unknown: the release (not on the TLS 1.2 page), the .NET 3.5 fix (no sentence for the build) and the client', async () => {
  const { result } = await runToEnd(await makeHost('server-2025'), preflight({ onUnknown: 'warn' }));
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  assert.equal((step(result).output as { unknowns: string[] }).unknowns.map((u) => u.split(':')[0]), ['orchestrator-release', 'dotnet35-tls', 'sql-client']);
  assert.match(step(result).summary, /^prerequisites met: Microsoft Windows Server 2025 Datacenter \(64-bit\), Orchestrator 2025/);
});

test.run();
