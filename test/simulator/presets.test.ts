/**
 * The presets of the simulated host: only Orchestrator servers Microsoft supports, each carrying what
 * a real server would show.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPreset, listPresets } from '../../src/simulator/presets.js';
import { ORCHESTRATOR_SUPPORTED_OS, type OrchestratorRelease } from '../../src/windows/facts/orchestrator.js';
import { windowsRelease } from '../../src/steps/requirements.js';
import { compareVersions } from '../../src/steps/judge-sql.js';
import { TLS13_SQL_SERVER } from '../../src/windows/facts/tls13.js';
import { TLS10_TLS11_FROM_2022_FACT } from '../../src/windows/facts/schannel.js';
import { assumptionLines, unmodelledDefaults } from '../../src/simulator/model.js';
import { withWinrmDefaultPorts } from '../helpers.js';

const PROTOCOLS = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';

test("a preset's WinRM HTTPS listener is on the port the fact winrm.default-ports gives HTTPS", () => {
  assert.equal(createPreset('server-2016').endpoints?.find((e) => e.name === 'winrm-https'), { name: 'winrm-https', port: 5986 });
  withWinrmDefaultPorts({ http: 15985, https: 15986 }, () => {
    for (const { name } of listPresets()) assert.equal(createPreset(name).endpoints?.find((e) => e.name === 'winrm-https'), { name: 'winrm-https', port: 15986 }, name);
  });
});

test('presets that cannot exist are gone: Orchestrator 2016 on Server 2012, and 32-bit Windows 8.1', () => {
  const names = listPresets().map((p) => p.name);
  for (const gone of ['server-2012', 'windows-8.1-x86']) {
    assert.not.ok(names.includes(gone), gone);
    assert.throws(() => createPreset(gone), /unknown simulated-host preset .* known presets: .*server-2025/);
  }
});

test('every preset is a 64-bit Windows Server its Orchestrator release supports', () => {
  for (const { name } of listPresets()) {
    const host = createPreset(name);
    assert.is(host.os.architecture, '64-bit', name);
    assert.is(host.os.productType, 'server', name);
    const release = host.orchestrator.release as OrchestratorRelease;
    assert.ok(ORCHESTRATOR_SUPPORTED_OS.value[release].includes(windowsRelease(host.os)!), `${name}: Orchestrator ${release} on ${windowsRelease(host.os)}`);
  }
});

test('server-2025: Orchestrator 2025 on Windows Server 2025 (build 26100), .NET 4.8.1 (533325), OLE DB Driver 19', () => {
  const host = createPreset('server-2025');
  assert.equal([host.os.version, host.os.build, host.orchestrator.release], ['10.0.26100', 26100, '2025']);
  assert.equal(host.registry['SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full'].Release, { type: 'REG_DWORD', data: 533325 });
  assert.ok(host.registry['SOFTWARE\\Microsoft\\MSOLEDBSQL19']);
});

test('server-2022-orch2025 and server-2025: Orchestrator 2025 on SQL Server 2022 above CU1 (the TLS 1.3 threshold) with the OLE DB Driver 19', () => {
  for (const [name, build] of [['server-2022-orch2025', 20348], ['server-2025', 26100]] as const) {
    const host = createPreset(name);
    assert.equal([host.os.build, host.orchestrator.release], [build, '2025'], name);
    assert.ok(compareVersions(host.sqlInstances[0].version, TLS13_SQL_SERVER.value.firstBuild) >= 0, name);
    assert.ok(host.registry['SOFTWARE\\Microsoft\\MSOLEDBSQL19'], name);
    assert.not.ok(host.registry['SOFTWARE\\Microsoft\\MSOLEDBSQL'], `${name}: no OLE DB Driver 18`);
  }
});

test('no preset invents a runtime verdict: the .NET 3.5 evidence is what a server reports (installed, file, version)', () => {
  for (const { name } of listPresets()) {
    assert.equal(Object.keys(createPreset(name).dotnet35).sort(), ['file', 'installed', 'version'], name);
  }
});

test('no preset carries an SCHANNEL protocol value no fact states: a fresh install has no protocol subkey', () => {
  for (const { name } of listPresets()) {
    const keys = Object.keys(createPreset(name).registry).filter((k) => k.startsWith(`${PROTOCOLS}\\`));
    assert.equal(keys, [], name);
  }
});

test('a preset states every served default the facts leave open, as a rehearsal assumption naming the fact, and nothing the facts settle', () => {
  for (const { name } of listPresets()) {
    const host = createPreset(name);
    assert.equal(unmodelledDefaults(host), [], `${name}: nothing left for the simulator to make up`);
    const open = unmodelledDefaults({ os: host.os }).map((o) => o.protocol);
    const { note, ...stated } = host.schannelDefaults ?? {};
    assert.equal(Object.keys(stated), open, `${name}: states exactly what is open`);
    if (open.length > 0) {
      assert.match(note ?? '', /^Rehearsal assumption, not a fact: /, name);
      assert.ok(note!.includes(TLS10_TLS11_FROM_2022_FACT.id), `${name}: names the disputed fact`);
    }
  }
  // Windows Server 2025: TLS 1.0/1.1 off (the SQL Server article and the deprecation announcement), TLS 1.3 on (unknown, stated).
  const s2025 = createPreset('server-2025').schannelDefaults!;
  assert.equal([s2025['TLS 1.0'], s2025['TLS 1.1'], s2025['TLS 1.3']], [{ Server: false }, { Server: false }, { Server: true }]);
  assert.match(s2025.note!, /schannel\.protocol-defaults ends at 20348: unknown/);
  assert.match(assumptionLines(createPreset('server-2025'))[0], /^rehearsal assumption \(schannelDefaults\): TLS 1\.0 Server refused, TLS 1\.1 Server refused, TLS 1\.3 Server accepted — Rehearsal assumption/);
  assert.equal(assumptionLines(createPreset('server-2016')), [], 'a build the facts settle assumes nothing');
});

test.run();
