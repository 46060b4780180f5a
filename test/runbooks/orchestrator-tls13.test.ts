/**
 * The second bundled runbook, `orchestrator-tls13`, on simulated-host presets: Microsoft's "Set up TLS
 * 1.3 for Orchestrator" with TLS 1.2 kept (the page's own Important note), on Orchestrator 2025 hosts on
 * Windows Server 2022 and 2025; refused before any write where the page does not apply.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bundledRunbookNames, loadRunbook, type RunResult } from '../../src/index.js';
import { FAST, hostOf, kinds, makeHost, registryText, restartRefused, runToEnd } from '../helpers.js';

const SCH = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';
const NET4 = 'SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319';
const WOW4 = 'SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v4.0.30319';
const dword = (data: number) => ({ type: 'REG_DWORD' as const, data });
const on = { DisabledByDefault: dword(0), Enabled: dword(1) };
const off = { DisabledByDefault: dword(1), Enabled: dword(0) };

const tls13 = () => loadRunbook('orchestrator-tls13', kinds);
const step = (result: RunResult, id: string) => result.steps.find((s) => s.id === id)!;
type Row = { endpoint: string; protocol: string; outcome: string };
const outcomes = (result: RunResult, id: string) => {
  const rows = (step(result, id).output as { verdicts: Row[] }).verdicts;
  return Object.fromEntries(rows.filter((r) => r.endpoint === rows[0].endpoint).map((r) => [r.protocol, r.outcome]));
};

test('both runbooks are bundled: orchestrator-tls13 loads by name beside orchestrator-tls12', async () => {
  const names = await bundledRunbookNames();
  for (const name of ['orchestrator-tls12', 'orchestrator-tls13']) assert.ok(names.includes(name), name);
  const rb = await tls13();
  assert.is(rb.source, 'orchestrator-tls13');
  assert.is.not(rb.fingerprint, (await loadRunbook('orchestrator-tls12', kinds)).fingerprint);
});

test('plan on Server 2025: TLS 1.3 enabled on both sides, TLS 1.2 kept, strong crypto in both views; nothing written', async () => {
  const file = await makeHost('server-2025');
  const before = await registryText(file);
  const { result } = await runToEnd(file, { runbook: await tls13(), checkMode: true, params: FAST });
  assert.is(result.status, 'planned', JSON.stringify(result.error));
  assert.is(await registryText(file), before, 'check mode writes nothing');
  assert.is((await hostOf(file)).restarts, 0);
  const targets = step(result, 'schannel').changes.map((c) => `${c.target} ${c.field}=${JSON.stringify(c.after)}`);
  assert.ok(targets.some((t) => /TLS 1\.3\\Server \(64-bit view\) Enabled="0x00000001/.test(t)), targets.join('\n'));
  assert.ok(targets.some((t) => /TLS 1\.2\\Server \(64-bit view\) Enabled="0x00000001/.test(t)));
  assert.ok(targets.some((t) => /TLS 1\.0\\Server \(64-bit view\) Enabled="0x00000000/.test(t)));
  const dotnet = step(result, 'dotnet').changes.map((c) => `${c.target} ${c.field}`);
  assert.ok(dotnet.includes(`HKLM\\${NET4} (64-bit view) SchUseStrongCrypto`));
  assert.ok(dotnet.includes(`HKLM\\${NET4} (32-bit view) SchUseStrongCrypto`));
});

for (const preset of ['server-2025', 'server-2022-orch2025']) {
  test(`${preset}: run succeeds with one restart; TLS 1.3 accepted, TLS 1.2 accepted (kept), TLS 1.0/1.1 refused by handshake`, async () => {
    const file = await makeHost(preset);
    const { result } = await runToEnd(file, { runbook: await tls13(), params: FAST });
    assert.is(result.status, 'succeeded', JSON.stringify(result.error));
    const host = await hostOf(file);
    assert.is(host.restarts, 1);
    for (const side of ['Client', 'Server']) {
      assert.equal(host.registry[`${SCH}\\TLS 1.3\\${side}`], on, `TLS 1.3 ${side}`);
      assert.equal(host.registry[`${SCH}\\TLS 1.2\\${side}`], on, `TLS 1.2 ${side}`);
      for (const p of ['SSL 2.0', 'SSL 3.0', 'TLS 1.0', 'TLS 1.1']) assert.equal(host.registry[`${SCH}\\${p}\\${side}`], off, `${p} ${side}`);
    }
    assert.equal(host.registry[NET4].SchUseStrongCrypto, dword(1));
    assert.equal(host.registry[WOW4].SchUseStrongCrypto, dword(1));
    assert.equal(host.registry[WOW4].SystemDefaultTlsVersions, dword(1));
    assert.equal(outcomes(result, 'tls-verify'), { 'TLS 1.0': 'refused', 'TLS 1.1': 'refused', 'TLS 1.2': 'accepted', 'TLS 1.3': 'accepted' });
    assert.is((step(result, 'tls-verify').output as { verdict: string }).verdict, 'proven');
    assert.match(step(result, 'tls-verify').summary, /TLS 1\.0, TLS 1\.1 refused, TLS 1\.2, TLS 1\.3 accepted/);
    const checks = (step(result, 'preflight').output as { checks: { check: string; verdict: string }[] }).checks;
    for (const c of ['orchestrator-release', 'sql-tls13', 'sql-driver-tls13']) assert.is(checks.find((x) => x.check === c)?.verdict, 'ok', c);
    // Build 26100 is in no row of the protocols table: TLS 1.3 there is not stated, only shown by the handshakes.
    assert.is(checks.find((x) => x.check === 'os-tls13')?.verdict, preset === 'server-2025' ? 'unknown' : 'ok', 'os-tls13');
    const again = await runToEnd(file, { runbook: await tls13(), params: FAST });
    assert.is(again.result.status, 'succeeded');
    assert.is((await hostOf(file)).restarts, 1, 'a second run changes nothing and does not restart');
  });
}

test('tls12Server=disabled: a TLS 1.3-only server side, proven by handshake (TLS 1.2 refused); the client side keeps TLS 1.2', async () => {
  const file = await makeHost('server-2025');
  const { result } = await runToEnd(file, { runbook: await tls13(), params: { ...FAST, tls12Server: 'disabled' } });
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  const host = await hostOf(file);
  assert.equal(host.registry[`${SCH}\\TLS 1.2\\Server`], off);
  assert.equal(host.registry[`${SCH}\\TLS 1.2\\Client`], on);
  assert.equal(outcomes(result, 'tls-verify'), { 'TLS 1.0': 'refused', 'TLS 1.1': 'refused', 'TLS 1.2': 'refused', 'TLS 1.3': 'accepted' });
});

test('a run that fails after its writes rolls back to exactly the prior registry', async () => {
  const file = await makeHost('server-2025', restartRefused);
  const before = await registryText(file);
  const { result } = await runToEnd(file, { runbook: await tls13(), params: FAST });
  assert.is(result.status, 'rolled-back');
  assert.is(await registryText(file), before);
  assert.is(step(result, 'schannel').compensation?.status, 'compensated');
});

test('a server that does not speak TLS 1.3 after the restart fails the proof and the run rolls back', async () => {
  // Something on the host turns TLS 1.3's server side off again while it restarts.
  const key = `${SCH}\\TLS 1.3\\Server`;
  const file = await makeHost('server-2025', (h) => void h.bootActions.push({ op: 'registry.set', view: '64', key, name: 'Enabled', value: { type: 'REG_DWORD', data: 0 } }));
  const before = await registryText(file);
  const { result } = await runToEnd(file, { runbook: await tls13(), params: FAST });
  assert.is(result.status, 'rolled-back');
  assert.match(step(result, 'tls-verify').error?.message ?? JSON.stringify(step(result, 'tls-verify')), /TLS 1\.3: refused, expected accepted/);
  assert.is(await registryText(file), before);
});

test('tls12Server=disabled on Server 2019 is refused as a parameter (PARAMETER_REFUSED, exit 2) besides the prerequisites, before any write', async () => {
  const file = await makeHost('server-2019');
  const before = await registryText(file);
  const { result } = await runToEnd(file, { runbook: await tls13(), params: { ...FAST, tls12Server: 'disabled' } });
  assert.is(result.error?.code, 'PARAMETER_REFUSED');
  assert.match(result.error!.message, /parameter\(s\) impossible on this host:\n\s+- param-tls12Server: parameter tls12Server=disabled is impossible here/);
  assert.match(result.error!.message, /prerequisite\(s\) not met:[\s\S]*os-tls13/);
  assert.is(await registryText(file), before, 'nothing written');
});

for (const [label, preset, reasons] of [
  ['Server 2016 with Orchestrator 2016', 'server-2016', [/os-tls13: .*build 14393\) has no TLS 1\.3: SCHANNEL supports it from build 20348/, /orchestrator-release: Orchestrator 2016: "Set up TLS 1\.3 for Orchestrator" is for 2022 and 2025 only — run orchestrator-tls12/]],
  ['Server 2019 with Orchestrator 2019', 'server-2019', [/os-tls13: .*build 17763\) has no TLS 1\.3/, /orchestrator-release: Orchestrator 2019: .* run orchestrator-tls12 \(Orchestrator 2019 is named by Microsoft's "Set up TLS 1\.2 for Orchestrator" \(procedure=current\) and "Set up TLS for Orchestrator" \(procedure=2019\)\)/, /sql-tls13: SQL Server 15\.0\.2000\.5: SQL Server 2019 and earlier do not support TLS 1\.3/]],
  ['Server 2022 with Orchestrator 2022 on SQL Server 2022 RTM', 'server-2022', [/sql-tls13: SQL Server 2022 16\.0\.1000\.6 is older than 16\.0\.4003\.1: TLS 1\.3 needs Cumulative Update 1 or later/]],
] as const) {
  test(`${label}: refused in the preflight with the reasons, before any write`, async () => {
    const file = await makeHost(preset);
    const before = await registryText(file);
    const { result } = await runToEnd(file, { runbook: await tls13(), params: FAST });
    assert.is(result.status, 'rolled-back');
    assert.is(result.error?.code, 'PREFLIGHT_FAILED');
    for (const r of reasons) assert.match(result.error!.message, r);
    assert.is(await registryText(file), before, 'nothing written');
    const host = await hostOf(file);
    assert.is(host.restarts, 0);
    assert.equal(host.files, {}, 'no backup written');
    assert.ok(result.steps.filter((s) => s.id !== 'preflight').every((s) => s.status === 'pending'));
  });
}

test('orchestrator-tls12 on an Orchestrator 2025 host runs with its release unknown (no TLS 1.2 page names 2025), and its preflight says Microsoft publishes the TLS 1.3 page for it', async () => {
  const { result } = await runToEnd(await makeHost('server-2025'));
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  const checks = (step(result, 'preflight').output as { checks: { check: string; evidence: string }[] }).checks;
  const release = checks.find((c) => c.check === 'orchestrator-release') as unknown as { verdict: string; evidence: string; fix: string };
  assert.is(release.verdict, 'unknown');
  assert.match(release.evidence, /Orchestrator 2025: "Set up TLS 1\.2 for Orchestrator" \(procedure=current\) lists 2016 UR4, 2019, 2022, not 2025/);
  assert.match(release.fix, /run orchestrator-tls13, written for Orchestrator 2025/);
  assert.match(step(result, 'preflight').summary, /Orchestrator 2025, .*; Microsoft also publishes "Set up TLS 1\.3 for Orchestrator"/, 'said in the plan and the report, not only in the output');
});

test('a restart an earlier run left owed is paid by the next run (plan: changes pending; run: changed); its rollback restarts nothing and leaves no marker', async () => {
  const file = await makeHost('server-2025');
  const waiting = await runToEnd(file, { runbook: await tls13(), params: { ...FAST, allowRestart: false } });
  assert.is(waiting.result.outcome, 'awaiting-restart-window');
  const plan = await runToEnd(file, { runbook: await tls13(), checkMode: true, params: FAST });
  assert.is(plan.result.outcome, 'changes-pending');
  assert.equal(step(plan.result, 'restart').changes.map((c) => `${c.field} ${c.action}`), ['restart run', 'RestartOwed delete', '(key) delete'], 'the marker was all its key held: both go');
  const { registry } = await hostOf(file);
  const { ['SOFTWARE\\runbook-engine']: _marker, ...expected } = registry;
  const { result, runner, executor } = await runToEnd(file, { runbook: await tls13(), params: FAST });
  assert.is(result.outcome, 'changed');
  assert.is(result.undoFiles, undefined, 'nothing of this run to undo');
  const rolled = await (await runner.rollback(result.runId, { executor })).result;
  assert.is(rolled.outcome, 'rolled-back-on-request');
  const host = await hostOf(file);
  assert.is(host.restarts, 1, 'the rollback did not restart again');
  assert.equal(host.registry, expected, 'the marker was not written back');
});

test.run();
