/**
 * `runbook sim capture`'s library part: a host read through the executor contract becomes a simulated
 * host that plans exactly as the host does.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSimulatedExecutor, listPresets, writeHost, type Executor, type HostOp, type RunResult } from '../../src/index.js';
import { WRITE_OPS } from '../../src/executors/types.js';
import { CAPTURE_KEYS, captureHost, maskHost, namesInTarget } from '../../src/simulator/capture.js';
import { assumptionLines, unmodelledDefaults } from '../../src/simulator/model.js';
import { RESTART_MARKER } from '../../src/steps/restart.js';
import { createLocalExecutor } from '../../src/executors/local.js';
import { hostOf, makeHost, runToEnd, tempDir } from '../helpers.js';
import { PWSH, needPwsh } from '../pwsh.js';

/** An executor that records every op it is asked to send. */
function spy(executor: Executor): Executor & { sent: HostOp[] } {
  const sent: HostOp[] = [];
  return Object.assign(Object.create(executor) as Executor, {
    sent,
    target: executor.target,
    run: (batch: readonly HostOp[], o?: Parameters<Executor['run']>[1]) => {
      sent.push(...batch);
      return executor.run(batch, o);
    },
    tlsEndpoints: executor.tlsEndpoints ? () => executor.tlsEndpoints!() : undefined,
    close: () => executor.close(),
  });
}

/** Captures a host file into a new one; returns its path and the ops sent. */
async function captured(file: string, mask = false): Promise<{ copy: string; sent: HostOp[] }> {
  const executor = spy(await createSimulatedExecutor(file));
  try {
    const host = await captureHost(executor, { mask });
    const copy = join(await tempDir('rbe-capture-'), 'copy.json');
    await writeHost(copy, host);
    return { copy, sent: executor.sent };
  } finally {
    await executor.close();
  }
}

/** What a plan says, step by step: what a rehearsal must reproduce (the run's own id, in backup file names, aside). */
function planOf(result: RunResult) {
  const plan = { status: result.status, steps: result.steps.map((s) => ({ id: s.id, status: s.status, summary: s.summary, changes: s.changes })) };
  return JSON.parse(JSON.stringify(plan).replaceAll(result.runId, '<run id>'));
}

async function samePlan(original: string, copy: string, label: string, params: Record<string, unknown> = {}, withHandshakes = true) {
  const a = await runToEnd(original, { checkMode: true, params });
  const b = await runToEnd(copy, { checkMode: true, params });
  const keep = (r: RunResult) => ({ ...r, steps: r.steps.filter((s) => withHandshakes || s.kind !== 'tls/handshakes') });
  assert.equal(planOf(keep(b.result)), planOf(keep(a.result)), label);
}

test('every preset: the capture of the preset plans exactly as the preset does (changes and summaries), and capturing sends reads only', async () => {
  for (const { name } of listPresets()) {
    const file = await makeHost(name);
    const before = await readFile(file, 'utf8');
    const { copy, sent } = await captured(file);
    assert.equal(sent.filter((op) => WRITE_OPS.has(op.op)), [], `${name}: reads only`);
    assert.is(await readFile(file, 'utf8'), before, `${name}: the host is unchanged`);
    const [host, capture] = [await hostOf(file), await hostOf(copy)];
    assert.equal(capture.registry, host.registry, `${name}: the registry the runbook reads, key for key`);
    for (const field of ['os', 'hotfixes', 'dotnet35', 'sqlInstances', 'orchestrator', 'services', 'bootTime', 'inEffect', 'tls13InEffect'] as const) {
      assert.equal(capture[field], host[field], `${name}: ${field}`);
    }
    // No read gives Windows' defaults: the capture states none, and names those the facts leave open.
    assert.is(capture.schannelDefaults, undefined, `${name}: no assumption is captured`);
    assert.equal(unmodelledDefaults(capture), unmodelledDefaults({ os: host.os }), `${name}: the open defaults are the build's`);
    if (host.schannelDefaults) {
      assert.ok(assumptionLines(capture).some((l) => l.startsWith('not modelled: ')), `${name}: said`);
      // The rehearsal on the copy takes the preset's stated assumption, as a user would write it in.
      await writeHost(copy, { ...capture, schannelDefaults: host.schannelDefaults });
    }
    await samePlan(file, copy, name);
    await samePlan(file, copy, `${name}, procedure 2019`, { procedure: '2019' });
  }
});

test('a compliant server and one that owes a restart are captured as they are: the plans match', async () => {
  const file = await makeHost('server-2019');
  assert.is((await runToEnd(file)).result.status, 'succeeded');
  await samePlan(file, (await captured(file)).copy, 'compliant');
  const owing = await makeHost('server-2016', (h) => {
    h.registry['SOFTWARE\\runbook-engine'] = { RestartOwed: { type: 'REG_SZ', data: 'owed by run r1' } };
  });
  const { copy } = await captured(owing);
  assert.equal((await hostOf(copy)).registry['SOFTWARE\\runbook-engine'], { RestartOwed: { type: 'REG_SZ', data: 'owed by run r1' } });
  await samePlan(owing, copy, 'restart owed');
});

test('the keys captured include the engine\'s restart marker', () => {
  assert.ok(CAPTURE_KEYS.some((k) => k.view === RESTART_MARKER.view && k.key === RESTART_MARKER.key));
});

test('--mask: the document\'s name, named SQL instances and the target\'s host and user names are replaced; default instance names stay', async () => {
  assert.equal(namesInTarget('ssh://admin@orch01.contoso.com:22'), ['orch01.contoso.com', 'orch01', 'admin']);
  assert.equal(namesInTarget('winrm://ORCH01:5986'), ['ORCH01']);
  assert.equal(namesInTarget('sim:/tmp/host.json'), []);
  const file = await makeHost('server-2016', (h) => {
    h.sqlInstances = [{ name: 'ORCH01\\ORCHDB', version: '13.2.5026.0' }, { name: 'MSSQLSERVER', version: '13.2.5026.0' }];
    h.registry['SOFTWARE\\runbook-engine'] = { RestartOwed: { type: 'REG_SZ', data: 'owed by run of orch01.contoso.com for ADMIN' }, Instance: { type: 'REG_SZ', data: 'orch01\\orchdb' } };
  });
  const executor = await createSimulatedExecutor(file);
  const host = await captureHost(executor, { name: 'orch01' });
  await executor.close();
  const masked = maskHost(host, namesInTarget('ssh://admin@orch01.contoso.com'));
  assert.is(masked.name, 'host');
  assert.equal(masked.sqlInstances.map((i) => i.name), ['INSTANCE1', 'MSSQLSERVER']);
  assert.is(masked.registry['SOFTWARE\\runbook-engine'].RestartOwed.data, 'owed by run of host for host');
  // The instance's whole name, in another case than the host's list gives it, is the instance's new name
  // — not the host's name with the instance's left after it.
  assert.is(masked.registry['SOFTWARE\\runbook-engine'].Instance.data, 'INSTANCE1');
  assert.not.match(JSON.stringify(masked), /orch01|admin/i);
  assert.equal(masked.registry['SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL'], host.registry['SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL']);
});

if (needPwsh('test/simulator/capture.test.ts')) {
  test('through the real agent (PowerShell, file-backed registry): the capture plans as the host does', async () => {
    const file = await makeHost('server-2012r2');
    const agent = createLocalExecutor({ shell: PWSH!, env: { RUNBOOK_AGENT_HOST_FILE: file } });
    let copy: string;
    try {
      const host = await captureHost(agent);
      copy = join(await tempDir('rbe-capture-'), 'copy.json');
      await writeHost(copy, host);
      assert.equal(host.registry, (await hostOf(file)).registry, 'the registry as the agent reads it, key for key');
    } finally {
      await agent.close();
    }
    // The local transport knows no TLS endpoint (WinRM's would be its own): the handshake steps differ by that alone.
    assert.is((await hostOf(copy)).endpoints, undefined);
    await samePlan(file, copy, 'via the agent', {}, false);
  });
}

test.run();
