/**
 * The read-only self-check's library part: every fact the bundled runbook decides on, read and judged,
 * with nothing sent that could change the target.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../../src/errors.js';
import { createSimulatedExecutor, listPresets, loadRunbook, validateRunbook, type Executor, type HostOp } from '../../src/index.js';
import { WRITE_OPS } from '../../src/executors/types.js';
import { inspectHost, readOnly, type InspectReport } from '../../src/steps/inspect.js';
import { createLocalExecutor } from '../../src/executors/local.js';
import { kinds, makeHost, runToEnd, tempDir } from '../helpers.js';
import { PWSH, needPwsh } from '../pwsh.js';

/** An executor that records every op it is asked to send. */
function spy(executor: Executor): Executor & { sent: HostOp[] } {
  const sent: HostOp[] = [];
  return Object.assign(Object.create(executor) as Executor, {
    sent,
    run: (batch: readonly HostOp[], o?: Parameters<Executor['run']>[1]) => {
      sent.push(...batch);
      return executor.run(batch, o);
    },
    tlsEndpoints: executor.tlsEndpoints ? () => executor.tlsEndpoints!() : undefined,
    close: () => executor.close(),
  });
}

async function inspectFile(file: string, params: Record<string, unknown> = {}): Promise<{ report: InspectReport; sent: HostOp[] }> {
  const executor = spy(await createSimulatedExecutor(file));
  try {
    const report = await inspectHost({ executor, runbook: await loadRunbook('orchestrator-tls12', kinds), kinds, params, handshakeTimeoutMs: 3000 });
    return { report, sent: executor.sent };
  } finally {
    await executor.close();
  }
}

const item = (r: InspectReport, check: RegExp) => r.items.filter((i) => check.test(i.check));

test('every preset: only read operations are sent, the host file is unchanged byte for byte, and only the hosts a run would refuse are refused', async () => {
  // The .NET 3.5 evidence of server-2012r2-no-hotfix is silent, not absent: unknown, never refused (#22).
  const refused: Record<string, string[]> = { 'server-2016-sql2008r2': ['sql-tls12', 'orchestrator-sql'] };
  for (const { name } of listPresets()) {
    const file = await makeHost(name);
    const before = await readFile(file, 'utf8');
    const { report, sent } = await inspectFile(file);
    assert.equal(sent.filter((op) => WRITE_OPS.has(op.op)), [], `${name}: no write sent`);
    assert.is(report.opsSent, sent.length);
    assert.is(await readFile(file, 'utf8'), before, `${name}: nothing written`);
    assert.is(report.roundTrips, 2, `${name}: two batches`);
    const refuse = report.items.filter((i) => i.verdict === 'refuse').map((i) => i.check);
    assert.equal(refuse, refused[name] ?? [], name);
  }
});

test('a fresh server: each value a run sets is "would change" with what is read, what a run sets and the fact it is judged by', async () => {
  const { report } = await inspectFile(await makeHost('server-2016'));
  const strong = item(report, /v4\.0\.30319 \((64|32)-bit view\) SchUseStrongCrypto/);
  assert.is(strong.length, 2);
  for (const s of strong) {
    assert.is(s.verdict, 'would change');
    assert.is(s.evidence, '(absent)');
    assert.is(s.wouldSet, '0x00000001 (1)');
    assert.equal(s.sources, [{ id: 'procedure.strong-crypto', title: 'Set up TLS 1.2 for Orchestrator', url: 'https://learn.microsoft.com/system-center/orchestrator/install-enable-tls-1-2' }]);
  }
  assert.is(report.procedure?.msDate, '2024-11-01');
  assert.is(item(report, /SCHANNEL/).length, 20);
  assert.ok(item(report, /^TLS handshakes/).every((h) => h.verdict === 'would change' && /TLS 1\.0 accepted/.test(h.evidence)));
});

test('Windows Server 2012 (build 9200): the WinHTTP DefaultSecureProtocols values a run sets are listed as "would change", in both views, with their facts', async () => {
  const { report } = await inspectFile(
    await makeHost('server-2012r2', (h) => {
      h.os = { ...h.os, caption: 'Microsoft Windows Server 2012 Standard', version: '6.2.9200', build: 9200 };
    }),
  );
  const winhttp = item(report, /WinHttp \((64|32)-bit view\) DefaultSecureProtocols/);
  assert.is(winhttp.length, 2);
  for (const w of winhttp) {
    assert.is(w.verdict, 'would change');
    assert.is(w.evidence, '(absent)');
    assert.is(w.wouldSet, '0x00000800 (2048)');
    assert.equal(w.sources.map((s) => s.id), ['winhttp.default-secure-protocols-location', 'winhttp.default-secure-protocols-bits']);
  }
  // ip-verify's value is one dotnet-tls sets too: listed once.
  assert.is(item(report, /v4\.0\.30319 \(32-bit view\) SystemDefaultTlsVersions/).length, 1);
});

test('after a run: every value ok, no restart owed, and the handshakes show TLS 1.0 and 1.1 refused, TLS 1.2 accepted', async () => {
  const file = await makeHost('server-2016');
  assert.is((await runToEnd(file)).result.status, 'succeeded');
  const { report } = await inspectFile(file);
  // Only what no Microsoft document settles stays unknown: the Native Client's TLS 1.2 build (#22).
  assert.equal(report.items.filter((i) => i.verdict !== 'ok').map((i) => `${i.check}: ${i.verdict}`), ['sql-client: unknown']);
  const handshakes = item(report, /^TLS handshakes/);
  assert.is(handshakes.length, 2);
  for (const h of handshakes) assert.match(h.evidence, /TLS 1\.0 refused, TLS 1\.1 refused, TLS 1\.2 accepted/);
});

test('procedure=2019 judges by the 2019 values: no SchUseStrongCrypto; a restart owed by an earlier run is shown', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.registry['SOFTWARE\\runbook-engine'] = { RestartOwed: { type: 'REG_SZ', data: 'owed by run r1' } };
  });
  const { report } = await inspectFile(file, { procedure: '2019' });
  assert.is(report.procedure?.revision, '2019');
  assert.equal(item(report, /SchUseStrongCrypto/), []);
  assert.is(item(report, /SystemDefaultTlsVersions/).length, 4);
  const [marker] = item(report, /restart owed/);
  assert.is(marker.verdict, 'would change');
  assert.match(marker.evidence, /owed by run r1/);
});

test('a stopped Orchestrator service that will not start by itself is refused, with how to fix it', async () => {
  const { report } = await inspectFile(await makeHost('server-2016', (h) => {
    h.services.orunbook = { state: 'stopped', startType: 'disabled' };
  }));
  const [s] = item(report, /service orunbook/);
  assert.is(s.verdict, 'refuse');
  assert.match(s.fix!, /Start-Service orunbook/);
});

test('readOnly refuses a batch holding a write before anything is sent', async () => {
  const inner = spy(await createSimulatedExecutor(await makeHost('server-2016')));
  const guarded = readOnly(inner);
  try {
    await guarded.run([{ op: 'os.info' }, { op: 'registry.set', view: '64', key: 'SOFTWARE\\X', name: 'Y', value: { type: 'REG_DWORD', data: 1 } }]);
    assert.unreachable('a write');
  } catch (error) {
    assert.match((error as Error).message, /inspect refused to send registry\.set/);
  }
  assert.equal(inner.sent, []);
  await inner.close();
});

if (needPwsh('test/steps/inspect.test.ts')) {
  test('through the real agent (PowerShell, file-backed registry): the same items and verdicts as through the simulator', async () => {
    const file = await makeHost('server-2012r2-no-hotfix');
    const before = await readFile(file, 'utf8');
    const agent = spy(createLocalExecutor({ shell: PWSH!, env: { RUNBOOK_AGENT_HOST_FILE: file } }));
    let viaAgent: InspectReport;
    try {
      viaAgent = await inspectHost({ executor: agent, runbook: await loadRunbook('orchestrator-tls12', kinds), kinds });
    } finally {
      await agent.close();
    }
    assert.equal(agent.sent.filter((op) => WRITE_OPS.has(op.op)), []);
    assert.is(await readFile(file, 'utf8'), before);
    const { report: viaSim } = await inspectFile(file);
    // The local transport knows no TLS endpoint: the handshakes are the simulator's alone.
    const items = (r: InspectReport) => r.items.filter((i) => i.topic !== 'handshake');
    assert.equal(items(viaAgent), items(viaSim));
  });
}

test('a secret parameter never reaches the report, inside an endpoint it names or a version it gives', async () => {
  const SECRET = 's3cr3tvalue99';
  const bundled = await loadRunbook('orchestrator-tls12', kinds);
  const definition = structuredClone(bundled.definition);
  definition.parameters = { ...definition.parameters, token: { type: 'string', secret: true, env: 'RBE_INSPECT_TOKEN' } };
  for (const step of definition.steps.filter((s) => s.uses === 'tls/handshakes')) step.with = { ...step.with, endpoints: 'web=${{ params.token }}.invalid:443' };
  process.env.RBE_INSPECT_TOKEN = SECRET;
  const executor = await createSimulatedExecutor(await makeHost('server-2016'));
  try {
    const report = await inspectHost({ executor, runbook: validateRunbook(definition, kinds, 'inline'), kinds, handshakeTimeoutMs: 3000 });
    const text = JSON.stringify(report);
    assert.not.ok(text.includes(SECRET), 'the report holds the secret');
    assert.ok(item(report, /web/).length > 0 && text.includes('***.invalid'), text.slice(0, 400));
  } finally {
    delete process.env.RBE_INSPECT_TOKEN;
    await executor.close();
  }
});

test("a step's parameters are checked as a run checks them: a value its kind refuses names the step and the field", async () => {
  const file = join(await tempDir(), 'loose.yaml');
  // `mode` is a free string here: the runbook loads, and only the step's kind can refuse the value.
  await writeFile(file, 'name: loose\nparameters:\n  mode:\n    type: string\n    default: tls12-only\nsteps:\n  - id: schannel\n    uses: windows/schannel\n    with:\n      mode: ${{ params.mode }}\n');
  const executor = await createSimulatedExecutor(await makeHost('server-2016'));
  try {
    await inspectHost({ executor, runbook: await loadRunbook(file, kinds), kinds, params: { mode: 'tls99' }, handshakeTimeoutMs: 3000 });
    assert.unreachable('refused');
  } catch (error) {
    assert.instance(error, ValidationError);
    assert.match((error as ValidationError).issues.join('\n'), /^steps\[0\] \(id schannel\)\.with\.mode: /);
  } finally {
    await executor.close();
  }
});

test.run();

test('tls13=enabled on Server 2016: inspect shows the refusal a run\'s preflight would make, with the fact and its source', async () => {
  const file = await makeHost('server-2016');
  const { report } = await inspectFile(file, { tls13: 'enabled' });
  const [v] = item(report, /^param-tls13$/);
  assert.ok(v, report.items.map((i) => i.check).join(', '));
  assert.is(v.verdict, 'refuse');
  assert.match(v.evidence, /parameter tls13=enabled is impossible here/);
  assert.equal(v.sources.map((s) => s.id), ['schannel.tls13-first-build']);
  assert.match(v.sources[0].url ?? '', /^https:\/\/learn\.microsoft\.com\//);
});
