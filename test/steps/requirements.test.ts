/**
 * The preflight's judgement (`judgeHost` and the judges it calls) against the facts table: SQL Server
 * builds by servicing line, the .NET 3.5 fix from documented evidence only, Orchestrator's supported
 * systems, and unknowns that never refuse on their own.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPreset } from '../../src/simulator/presets.js';
import { PREFLIGHT_BATCH, PREFLIGHT_READS, judgeDotnet35, judgeHost, judgeSqlTls12, windowsRelease } from '../../src/steps/requirements.js';
import { NOW, params, readsOf, verdict } from './preflight-helpers.js';
import { DOTNET35_INSTALLED } from '../../src/windows/facts/dotnet.js';
import { RESTART_MARKER } from '../../src/windows/restart-marker.js';
import { TLS13_VALUES } from '../../src/windows/schannel.js';

test('SQL Server CU builds older than the CU line\'s fix are refused, though above the GDR fix (KB3135244)', () => {
  for (const build of ['12.0.4436.0', '12.0.2560.0', '11.0.5623.0']) {
    assert.is(judgeSqlTls12(build).verdict, 'refuse', build);
  }
  for (const build of ['12.0.4439.1', '12.0.2564.0', '11.0.5644.2', '11.0.6518.0']) {
    assert.is(judgeSqlTls12(build).verdict, 'ok', build);
  }
  assert.match(judgeSqlTls12('12.0.4436.0').evidence, /SQL Server 2014 SP1 CU line build 12\.0\.4436\.0 is older than 12\.0\.4439\.1/);
});

test('SQL Server GDR builds are judged against the GDR fix, and registry forms by their build', () => {
  assert.is(judgeSqlTls12('12.0.4213.0').verdict, 'refuse');
  assert.is(judgeSqlTls12('12.0.4219.0').verdict, 'ok');
  assert.is(judgeSqlTls12('12.0.2271.0').verdict, 'ok');
  assert.is(judgeSqlTls12('11.0.5343.0').verdict, 'refuse');
  assert.is(judgeSqlTls12('11.0.6216.27').verdict, 'ok');
  assert.is(judgeSqlTls12('12.2.5000.0').verdict, 'ok', '2014 SP2: every build');
  assert.is(judgeSqlTls12('11.4.7001.0').verdict, 'ok', '2012 SP4: every build');
  assert.is(judgeSqlTls12('11.1.3000.0').verdict, 'refuse', '2012 SP1 has no TLS 1.2 build');
  assert.is(judgeSqlTls12('16.0.1000.6').verdict, 'ok');
});

test('SQL Server 2008 SP3: 10.0.5544.0 is refused; 10.0.5545.0, the first TLS 1.2 build, is not (unknown: the KB gives it for IA-64)', () => {
  assert.is(judgeSqlTls12('10.0.5544.0').verdict, 'refuse');
  const first = judgeSqlTls12('10.0.5545.0');
  assert.is.not(first.verdict, 'refuse');
  assert.match(first.evidence, /≥ 10\.0\.5545\.0, but KB3135244 gives that build for IA-64 only/);
  assert.is(judgeSqlTls12('10.3.6547.0').verdict, 'ok', '2008 SP4 at its TLS 1.2 build');
  assert.is(judgeSqlTls12('10.53.6542.0').verdict, 'ok', '2008 R2 SP3 at its TLS 1.2 build');
  assert.is(judgeSqlTls12('10.53.6000.34').verdict, 'refuse');
});

test('the .NET 3.5 fix: System.dll is not searched; Server 2016 and 2019 have it in the box, a listed KB proves it, silence is unknown', () => {
  const runtime = { installed: true, file: 'C:\\Windows\\Microsoft.NET\\Framework64\\v2.0.50727\\System.dll', version: '2.0.50727.8940' };
  for (const build of [14393, 17763]) {
    assert.is(judgeDotnet35({ version: `10.0.${build}`, build }, [], runtime).verdict, 'ok', `${build}`);
  }
  const r2 = { version: '6.3.9600', build: 9600 };
  assert.equal(judgeDotnet35(r2, ['KB3154520'], runtime).by, 'update');
  const silent = judgeDotnet35(r2, ['KB2919355'], runtime);
  assert.is(silent.verdict, 'unknown');
  assert.match(silent.evidence, /2\.0\.50727\.8940 was read, but Microsoft publishes no file version for the fix/);
  assert.is(judgeDotnet35(r2, ['KB4041085'], runtime, ['KB4041085']).verdict, 'ok');
  assert.is(judgeDotnet35(r2, [], { installed: false, file: null, version: null }).by, 'not-applicable');
});

test('the .NET 3.5 fix on a build no sentence covers (Server 2022, 2025, 30000) is unknown, never in the box; a KB named with hotfixSupersededBy and installed proves it', () => {
  const runtime = { installed: true, file: 'C:\\Windows\\Microsoft.NET\\Framework64\\v2.0.50727\\System.dll', version: '2.0.50727.8940' };
  for (const build of [20348, 26100, 30000]) {
    const j = judgeDotnet35({ version: `10.0.${build}`, build }, [], runtime);
    assert.is(j.verdict, 'unknown', `${build}`);
    assert.is(j.by, 'no-evidence');
    assert.match(j.evidence, new RegExp(`build ${build}\\): no Microsoft sentence says whether its \\.NET Framework 3\\.5 negotiates TLS 1\\.2`));
    assert.ok(j.factIds.includes('dotnet.v35-tls-in-the-box'));
  }
  const named = judgeDotnet35({ version: '10.0.26100', build: 26100 }, ['KB5000001'], runtime, ['KB5000001']);
  assert.is(named.verdict, 'ok');
  assert.is(named.by, 'update');
  assert.is(judgeDotnet35({ version: '10.0.26100', build: 26100 }, ['KB5000001'], runtime).verdict, 'unknown', 'an installed KB nobody named proves nothing');
  const v = verdict(judgeHost(readsOf(createPreset('server-2025', new Date(NOW))), params()), 'dotnet35-tls');
  assert.is(v.verdict, 'unknown', 'the server-2025 preset');
});

test('SQL Server 2016 to 2022 (13 to 16) support TLS 1.2 in every build; a later major version (2025 is 17, or one no list names) is unknown, never passed', () => {
  for (const build of ['13.0.5026.0', '14.0.3006.16', '15.0.2000.5', '16.0.1000.6', '16.0.4225.2']) assert.is(judgeSqlTls12(build).verdict, 'ok', build);
  for (const build of ['17.0.4006.2', '99.0.1000.0']) {
    const j = judgeSqlTls12(build);
    assert.is(j.verdict, 'unknown', build);
    assert.match(j.evidence, /is later than every release a Microsoft sentence says supports TLS 1\.2 \(SQL Server 2016 to 2022, major versions 13 to 16\)/);
    assert.ok(j.factIds.includes('sql.tls12-without-update'));
  }
  assert.match(judgeSqlTls12('17.0.4006.2').evidence, /SQL Server 2025 is later/);
  assert.match(judgeSqlTls12('99.0.1000.0').evidence, /major version 99 is later/);
  const host = createPreset('server-2025', new Date(NOW));
  host.sqlInstances = [{ name: 'MSSQLSERVER', version: '17.0.4006.2' }];
  assert.is(verdict(judgeHost(readsOf(host), params()), 'sql-tls12').verdict, 'unknown');
});

test('the TLS 1.2 procedure covers the releases the chosen revision of the page names: others it knows are unknown, naming what the page lists', () => {
  const on = (release: string, p: Record<string, unknown> = {}) => {
    const host = createPreset(release === '2025' ? 'server-2025' : 'server-2022', new Date(NOW));
    host.orchestrator = { installed: true, release, updateRollup: release === '2016' ? 4 : 0, version: null };
    return verdict(judgeHost(readsOf(host), params(p)), 'orchestrator-release');
  };
  const v2025 = on('2025');
  assert.is(v2025.verdict, 'unknown');
  assert.match(v2025.evidence, /Orchestrator 2025: "Set up TLS 1\.2 for Orchestrator" \(procedure=current\) lists 2016 UR4, 2019, 2022, not 2025/);
  assert.match(v2025.fix!, /run orchestrator-tls13/);
  assert.ok(v2025.factIds.includes('procedure.orchestrator-releases'));
  assert.is(on('2025', { procedure: '2019' }).verdict, 'unknown');
  assert.is(on('2022').verdict, 'ok');
  const v2022old = on('2022', { procedure: '2019' });
  assert.is(v2022old.verdict, 'unknown');
  assert.match(v2022old.evidence, /"Set up TLS for Orchestrator" \(procedure=2019\) lists 2016 UR4, 1801, 1807, 2019, not 2022; the current revision names it \(--param procedure=current\)/);
  for (const release of ['1801', '1807']) {
    assert.is(on(release).verdict, 'unknown', `${release} under current`);
    assert.is(on(release, { procedure: '2019' }).verdict, 'ok', `${release} under 2019`);
  }
  for (const procedure of ['current', '2019']) {
    assert.is(on('2019', { procedure }).verdict, 'ok');
    assert.is(on('2016', { procedure }).verdict, 'ok');
  }
  assert.is(on('2012').verdict, 'refuse', 'a release no page names');
});

test('the transport\'s TLS version is this run\'s own observation, not a Windows fact: an older protocol is refused citing the procedure values that turn it off', () => {
  const reads = readsOf(createPreset('server-2019', new Date(NOW)));
  const old = verdict(judgeHost({ ...reads, transportTls: 'TLSv1' }, params()), 'transport-tls');
  assert.is(old.verdict, 'refuse');
  assert.match(old.evidence, /this run's own connection to the target negotiated TLSv1 \(observed by the transport, not a Windows fact\): the procedure turns the server side of TLSv1 off/);
  assert.equal(old.factIds, ['procedure.schannel-values']);
  const ok = verdict(judgeHost({ ...reads, transportTls: 'TLSv1.2' }, params()), 'transport-tls');
  assert.is(ok.verdict, 'ok');
  assert.match(ok.evidence, /observed by the transport, not a Windows fact/);
});

test('a patched 2012 R2 and a Server 2016 whose System.dll lacks SslProtocolsExtensions are not refused', () => {
  for (const name of ['server-2012r2', 'server-2016', 'server-2012r2-no-hotfix']) {
    const host = createPreset(name, new Date(NOW));
    // What the old agent reported for a real server: the name is not in System.dll.
    (host.dotnet35 as unknown as Record<string, unknown>).systemDefaultTls = false;
    const v = verdict(judgeHost(readsOf(host), params()), 'dotnet35-tls');
    assert.is.not(v.verdict, 'refuse', `${name}: ${v.evidence}`);
  }
});

test('Orchestrator 2016 on a Server 2019 host is refused with its supported systems and the source fact', () => {
  const host = createPreset('server-2019', new Date(NOW));
  host.orchestrator = { installed: true, release: '2016', updateRollup: 4, version: '7.3.0.0' };
  host.sqlInstances = [{ name: 'MSSQLSERVER', version: '13.2.5026.0' }];
  const v = verdict(judgeHost(readsOf(host), params()), 'orchestrator-os');
  assert.is(v.verdict, 'refuse');
  assert.match(v.evidence, /Orchestrator 2016 on Windows Server 2019/);
  assert.match(v.fix!, /supports Windows Server 2012 R2 and Windows Server 2016 only/);
  assert.ok(v.factIds.includes('orchestrator.supported-os'));
});

test('Orchestrator\'s SQL Server: 2019 on SQL Server 2014 is refused; 2025 on SQL Server 2022 is accepted', () => {
  const host = createPreset('server-2019', new Date(NOW));
  host.sqlInstances = [{ name: 'MSSQLSERVER', version: '12.2.5000.0' }];
  assert.is(verdict(judgeHost(readsOf(host), params()), 'orchestrator-sql').verdict, 'refuse');
  assert.is(verdict(judgeHost(readsOf(createPreset('server-2025', new Date(NOW))), params()), 'orchestrator-sql').verdict, 'ok');
});

test('every preset is an Orchestrator server Microsoft supports: nothing refused', () => {
  for (const name of ['server-2012r2', 'server-2016', 'server-2019', 'server-2022', 'server-2025']) {
    const refused = judgeHost(readsOf(createPreset(name, new Date(NOW))), params()).filter((v) => v.verdict === 'refuse');
    assert.equal(refused, [], name);
  }
});

test('Native Client 11 is never passed silently: no document gives the QFE build, so it is unknown with the version read and the QFE as fix', () => {
  const v = verdict(judgeHost(readsOf(createPreset('server-2016', new Date(NOW))), params()), 'sql-client');
  assert.is(v.verdict, 'unknown');
  assert.match(v.evidence, /SQL Server Native Client 11\.0 11\.4\.7462\.6 found/);
  assert.match(v.fix!, /Microsoft SQL Server 2012 Native Client - QFE/);
});

test('the Windows release of a host comes from the facts: version for 6.x, build for 10.0 servers', () => {
  assert.is(windowsRelease({ version: '6.3.9600', build: 9600, productType: 'server' }), 'Windows Server 2012 R2');
  assert.is(windowsRelease({ version: '6.3.9600', build: 9600, productType: 'workstation' }), 'Windows 8.1');
  assert.is(windowsRelease({ version: '10.0.26100', build: 26100, productType: 'server' }), 'Windows Server 2025');
  assert.is(windowsRelease({ version: '10.0.18363', build: 18363, productType: 'server' }), null);
});

test('judgeHost is pure: its verdicts survive JSON unchanged and the same reads give the same verdicts', () => {
  const reads = readsOf(createPreset('server-2012r2-no-hotfix', new Date(NOW)));
  const a = judgeHost(reads, params());
  assert.equal(JSON.parse(JSON.stringify(a)), a);
  assert.equal(judgeHost(reads, params()), a);
});


test('the preflight\'s .NET 3.5 read carries where the fact says it is installed (key, name, data), as data for the agent', () => {
  const read = PREFLIGHT_READS.find((op) => op.op === 'dotnet35.tls');
  assert.equal(read, { op: 'dotnet35.tls', ...DOTNET35_INSTALLED.value });
  assert.equal(read, { op: 'dotnet35.tls', key: 'SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v3.5', name: 'Install', data: 1 });
});

test('the preflight reads what it judges, not what later steps read (the restart marker, TLS 1.3\'s values)', () => {
  assert.equal(Object.keys(PREFLIGHT_BATCH), ['os', 'orchestrator', 'sqlInstances', 'hotfixes', 'bootTime', 'dotnetRelease', 'dotnet35', 'clients']);
  const at = (op: (typeof PREFLIGHT_READS)[number]) => (op.op === 'registry.get' ? `${op.key}\\${op.name}`.toLowerCase() : op.op);
  const named = PREFLIGHT_READS.map(at);
  for (const v of [RESTART_MARKER, ...TLS13_VALUES]) assert.not.ok(named.includes(`${v.key}\\${v.name}`.toLowerCase()), `${v.key} ${v.name}`);
});

test.run();
