/**
 * `runbook inspect`: the read-only self-check as an administrator runs it first on a real server.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { cli } from './run-cli.js';
import { makeHost, tempDir } from '../helpers.js';

test('a fresh server: exit 0, each fact with what was read, its source and its verdict; nothing written', async () => {
  const host = await makeHost('server-2016');
  const before = await readFile(host, 'utf8');
  const r = await cli(['inspect', '--target', `sim:${host}`]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /judged by "Set up TLS 1\.2 for Orchestrator" \(2024-11-01, https:\/\/learn\.microsoft\.com\/system-center\/orchestrator\/install-enable-tls-1-2\)/);
  assert.match(r.stdout, /ok\s+dotnet35-tls\n\s+read: build 14393: the OS ships the support \(builds 14393, 17763: Windows Server 2016 and 2019\)\n\s+source: dotnet\.v35-tls-in-the-box — Transport Layer Security \(TLS\) best practices with the \.NET Framework </);
  assert.match(r.stdout, /unknown\s+sql-client\n\s+read: SQL Server Native Client 11\.0 11\.4\.7462\.6 found; no Microsoft document gives the build/);
  assert.match(r.stdout, /would change HKLM\\SOFTWARE\\Microsoft\\\.NETFramework\\v4\.0\.30319 \(32-bit view\) SchUseStrongCrypto\n\s+read: \(absent\) → a run sets "0x00000001 \(1\)"\n\s+source: procedure\.strong-crypto — Set up TLS 1\.2 for Orchestrator <https:\/\/learn\.microsoft\.com/);
  assert.match(r.stdout, /TLS handshakes: winrm-https .*\n\s+read: TLS 1\.0 accepted, TLS 1\.1 accepted, TLS 1\.2 accepted/);
  assert.match(r.stdout, /0 refuse, .* 2 round trip\(s\), \d+ read operation\(s\), nothing written/);
  assert.is(await readFile(host, 'utf8'), before);
});

test('--json prints one JSON document with every item, the counts and the operations sent', async () => {
  const r = await cli(['inspect', '--target', `sim:${await makeHost('server-2019')}`, '--json', '--param', 'procedure=2019']);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines.length, 1);
  const report = JSON.parse(lines[0]);
  assert.is(report.procedure.revision, '2019');
  assert.is(report.counts.refuse, 0);
  assert.ok(report.items.some((i: { topic: string }) => i.topic === 'handshake'));
  assert.not.ok(report.items.some((i: { check: string }) => i.check.includes('SchUseStrongCrypto')));
});

test('a prerequisite refused exits 1 and says how to fix it', async () => {
  const r = await cli(['inspect', '--target', `sim:${await makeHost('server-2016-sql2008r2')}`]);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stdout, /refuse\s+sql-tls12\n\s+read: SQL Server 2008 R2 SP3 build 10\.53\.6000\.34 \(10\.50\.6000\.34\) is older than 10\.50\.6542\.0/);
});

test('usage errors exit 2; a target that does not answer exits 69; nothing is changed', async () => {
  assert.is((await cli(['inspect'])).code, 2);
  assert.is((await cli(['inspect', '--target', 'sim:/nonexistent/host.json'])).code, 2);
  assert.is((await cli(['inspect', '--target', `sim:${await makeHost('server-2016')}`, '--param', 'procedure=2020'])).code, 2);
  const down = await makeHost('server-2016', (h) => {
    h.down = { since: new Date().toISOString(), until: new Date(Date.now() + 3600_000).toISOString() };
  });
  const before = await readFile(down, 'utf8');
  const r = await cli(['inspect', '--target', `sim:${down}`]);
  assert.is(r.code, 69, r.stderr);
  assert.match(r.stderr, /cannot reach the target/);
  assert.is(await readFile(down, 'utf8'), before);
});

test('missing WinRM credentials exit 69 as plan and run do, with what to set; nothing reached, nothing written', async () => {
  const env = { RUNBOOK_WINRM_USER: '', RUNBOOK_WINRM_PASSWORD: '' };
  const target = 'winrm+https://127.0.0.1:1';
  const plan = await cli(['plan', 'orchestrator-tls12', '--target', target, '--state-dir', await tempDir(), '--retries', '0'], env);
  assert.is(plan.code, 69, plan.stderr);
  for (const args of [['inspect', '--target', target], ['list', '--target', target], ['inspect', '--target', target, '--json']]) {
    const r = await cli(args, env);
    assert.is(r.code, plan.code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /cannot reach the target: no WinRM credentials: RUNBOOK_WINRM_USER is not set \(winrm\+https:\/\/127\.0\.0\.1:1\)\n  → nothing was changed\. set RUNBOOK_WINRM_USER/);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    if (args.includes('--json')) assert.equal(JSON.parse(r.stdout).exitCode, 69);
  }
});

test.run();
