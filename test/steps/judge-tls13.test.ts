/**
 * The TLS 1.3 procedure's prerequisites (`judgeHost` with `tlsProcedure: tls13`) against the facts table:
 * SQL Server 2022 CU1, an OS with TLS 1.3, Orchestrator 2022/2025, the OLE DB Driver 19.2 — and an
 * undocumented driver key that never refuses.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPreset } from '../../src/simulator/presets.js';
import { applyOp, type SimHostState } from '../../src/simulator/model.js';
import { PREFLIGHT_READS, judgeHost, judgeSqlTls13, preflightReadsFrom, type HostVerdict, type PreflightReads } from '../../src/steps/requirements.js';
import { preflightParams } from '../../src/steps/preflight.js';
import { TLS13_SQL_SERVER } from '../../src/windows/facts/tls13.js';

const NOW = '2026-01-01T00:00:00.000Z';
const tls13 = (p: Record<string, unknown> = {}) => preflightParams.parse({ ...p, tlsProcedure: 'tls13' });
const readsOf = (host: SimHostState): PreflightReads => preflightReadsFrom(PREFLIGHT_READS.map((op) => applyOp(host, op, NOW)));
const verdict = (vs: HostVerdict[], check: string) => vs.find((v) => v.check === check)!;

test('SQL Server and TLS 1.3: 2022 from CU1 (16.0.4003.1, the fact\'s value), later releases; 2022 RTM and GDRs below CU1, 2019 and earlier refused', () => {
  assert.is(TLS13_SQL_SERVER.value.firstBuild, '16.0.4003.1');
  for (const v of ['16.0.4003.1', '16.0.4225.2', '17.0.4006.2']) assert.is(judgeSqlTls13(v).verdict, 'ok', v);
  for (const v of ['16.0.1000.6', '16.0.1050.5', '16.0.4002.9', '15.0.2000.5', '14.0.3006.16']) assert.is(judgeSqlTls13(v).verdict, 'refuse', v);
  assert.match(judgeSqlTls13('15.0.2000.5').evidence, /SQL Server 2019 and earlier do not support TLS 1\.3/);
});

test('the TLS 1.2 procedure is unchanged by default: no TLS 1.3 check, Native Client / driver judged as before', () => {
  const vs = judgeHost(readsOf(createPreset('server-2016', new Date(NOW))), preflightParams.parse({}));
  assert.not.ok(vs.some((v) => ['os-tls13', 'sql-tls13', 'sql-driver-tls13'].includes(v.check)));
  assert.is(verdict(vs, 'sql-client').verdict, 'unknown');
});

test('an OLE DB Driver 19 older than 19.2.0, or none at the undocumented key, is unknown — never refused', () => {
  const host = createPreset('server-2025', new Date(NOW));
  host.registry['SOFTWARE\\Microsoft\\MSOLEDBSQL19'] = { InstalledVersion: { type: 'REG_SZ', data: '19.1.0.0' } };
  const old = verdict(judgeHost(readsOf(host), tls13()), 'sql-driver-tls13');
  assert.is(old.verdict, 'unknown');
  assert.match(old.evidence, /19\.1\.0\.0 is older than 19\.2\.0/);
  delete host.registry['SOFTWARE\\Microsoft\\MSOLEDBSQL19'];
  assert.is(verdict(judgeHost(readsOf(host), tls13()), 'sql-driver-tls13').verdict, 'unknown');
});

test('the database elsewhere: sqlServerVersion decides; none given is unknown', () => {
  const host = createPreset('server-2025', new Date(NOW));
  host.sqlInstances = [];
  assert.is(verdict(judgeHost(readsOf(host), tls13()), 'sql-tls13').verdict, 'unknown');
  assert.is(verdict(judgeHost(readsOf(host), tls13({ sqlServerVersion: '15.0.4430.1' })), 'sql-tls13').verdict, 'refuse');
  assert.is(verdict(judgeHost(readsOf(host), tls13({ sqlServerVersion: '16.0.4135.4' })), 'sql-tls13').verdict, 'ok');
});

test('Orchestrator 2022 on Server 2022 passes the release and OS checks (2022 is one of the page\'s releases)', () => {
  const vs = judgeHost(readsOf(createPreset('server-2022', new Date(NOW))), tls13());
  assert.is(verdict(vs, 'orchestrator-release').verdict, 'ok');
  assert.is(verdict(vs, 'os-tls13').verdict, 'ok');
});

test('TLS 1.3 in SCHANNEL as the protocols table has it: Server 2022 ok, Server 2019 refused, Server 2025 and build 30000 (no row) unknown', () => {
  assert.is(verdict(judgeHost(readsOf(createPreset('server-2022', new Date(NOW))), tls13()), 'os-tls13').verdict, 'ok');
  assert.is(verdict(judgeHost(readsOf(createPreset('server-2019', new Date(NOW))), tls13()), 'os-tls13').verdict, 'refuse');
  for (const build of [26100, 30000]) {
    const host = createPreset('server-2025', new Date(NOW));
    host.os = { ...host.os, version: `10.0.${build}`, build };
    const v = verdict(judgeHost(readsOf(host), tls13()), 'os-tls13');
    assert.is(v.verdict, 'unknown', `${build}`);
    assert.match(v.evidence, new RegExp(`the protocols table ends with build 20348 \\(Windows Server 2022\\); no Microsoft row or sentence found says whether build ${build} has TLS 1\\.3`));
  }
});

test('a TLS 1.3-only server side is refused while the engine reaches the target over TLS 1.2: it could not reach it after the restart', () => {
  const reads = { ...readsOf(createPreset('server-2025', new Date(NOW))), transportTls: 'TLSv1.2' };
  const refused = verdict(judgeHost(reads, tls13({ tls12Server: 'disabled' })), 'transport-tls');
  assert.is(refused.verdict, 'refuse');
  assert.match(refused.evidence, /negotiated TLSv1\.2 \(observed by the transport, not a Windows fact\): the TLS 1\.3-only server side \(tls12Server=disabled\) refuses it after the restart/);
  assert.equal(refused.factIds, ['tls13.keep-tls12']);
  assert.is(verdict(judgeHost(reads, tls13()), 'transport-tls').verdict, 'ok', 'TLS 1.2 kept: fine');
  assert.is(verdict(judgeHost({ ...reads, transportTls: 'TLSv1.3' }, tls13({ tls12Server: 'disabled' })), 'transport-tls').verdict, 'ok');
});

test.run();
