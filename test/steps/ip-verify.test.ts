/**
 * `orchestrator/ip-verify` decides "restart owed" from the engine's own marker, never from when SCHANNEL
 * keys were written: a Group Policy refresh that rewrites them unchanged after the boot does not fail
 * (nor roll back) a compliant server. What it reports of the protocols counts DisabledByDefault. An
 * Orchestrator service the server does not have is reported as unknown, never a failure on its own.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readHost, writeHost, type SimHostState } from '../../src/index.js';
import { createLocalExecutor } from '../../src/executors/local.js';
import { RESTART_MARKER } from '../../src/steps/restart.js';
import { hostOf, makeHost, registryText, runToEnd, single, tempDir } from '../helpers.js';
import { PWSH, needPwsh } from '../pwsh.js';

const SCH = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';

/** A Group Policy refresh after the boot: every SCHANNEL key rewritten with the values it had. */
function policyRefresh(host: SimHostState): void {
  const after = new Date(Date.parse(host.bootTime) + 90 * 60_000).toISOString();
  for (const key of Object.keys(host.registry)) if (key.startsWith(SCH)) host.keyTimes[key] = after;
}

/** A server the runbook already made compliant (and restarted), then a policy refresh. */
async function compliantRefreshed(): Promise<string> {
  const file = await makeHost('server-2016');
  const first = await runToEnd(file);
  assert.is(first.result.status, 'succeeded', JSON.stringify(first.result.error));
  const host = await readHost(file);
  policyRefresh(host);
  await writeHost(file, host);
  return file;
}

test('simulated host: a policy refresh that rewrote the SCHANNEL keys unchanged after the boot: the run succeeds, nothing changed, no restart', async () => {
  const file = await compliantRefreshed();
  const before = await registryText(file);
  const restarts = (await hostOf(file)).restarts;
  const { result } = await runToEnd(file);
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  assert.match(result.steps.find((s) => s.id === 'ip-verify')!.summary, /no restart owed/);
  assert.is(await registryText(file), before);
  assert.is((await hostOf(file)).restarts, restarts);
});

if (needPwsh('test/steps/ip-verify.test.ts')) {
  test('through the agent (real PowerShell): a policy refresh after the boot does not make the protocols "pending" nor roll back a compliant server', async () => {
    const file = await compliantRefreshed();
    const agentFile = join(await tempDir(), 'host.json');
    await copyFile(file, agentFile);
    const before = await registryText(agentFile);
    const executor = createLocalExecutor({ shell: PWSH!, env: { RUNBOOK_AGENT_HOST_FILE: agentFile } });
    try {
      const [effect] = await executor.run([{ op: 'tls.inEffect' }]);
      const protocols = (effect as { protocols: Record<string, Record<string, unknown>> }).protocols;
      assert.equal(protocols['TLS 1.0'], { Client: false, Server: false }, 'what the values make SCHANNEL negotiate, not a write-time guess');
      assert.equal(protocols['TLS 1.2'], { Client: true, Server: true });
      const { result } = await runToEnd(agentFile, { executor });
      assert.is(result.status, 'succeeded', JSON.stringify(result.error));
      assert.is(await registryText(agentFile), before, 'nothing rolled back');
    } finally {
      await executor.close();
    }
  });
}

test("a restart still owed (the engine's marker) fails ip-verify, whatever the key times say", async () => {
  const file = await makeHost('server-2016', (h) => {
    h.registry[RESTART_MARKER.key] = { [RESTART_MARKER.name]: { type: 'REG_SZ', data: 'owed by run r0' } };
  });
  const { result } = await runToEnd(file, { runbook: single('orchestrator/ip-verify') });
  assert.is(result.status, 'rolled-back');
  assert.is(result.error?.code, 'IP_VERIFY_FAILED');
  assert.match(result.error!.message, /a restart is still owed \(owed by run r0\)/);
});

test('the protocols it reports count DisabledByDefault: Enabled=1 with DisabledByDefault=1 is not negotiated', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.registry[`${SCH}\\TLS 1.0`] = {};
    h.registry[`${SCH}\\TLS 1.0\\Server`] = { Enabled: { type: 'REG_DWORD', data: 1 }, DisabledByDefault: { type: 'REG_DWORD', data: 1 } };
  });
  const { result } = await runToEnd(file, { runbook: single('orchestrator/ip-verify') });
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  const output = result.steps[0].output as { protocolsInEffect: Record<string, Record<string, boolean | null>> };
  assert.is(output.protocolsInEffect['TLS 1.0'].Server, false);
  assert.is(output.protocolsInEffect['TLS 1.1'].Server, null, "nothing set: Windows' default");
});

test('a server without oremoting: the run succeeds with one restart, and ip-verify and the restart report the service as absent (unknown) instead of rolling back', async () => {
  const file = await makeHost('server-2016', (h) => {
    delete h.services.oremoting;
  });
  const { result } = await runToEnd(file);
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  assert.is((await hostOf(file)).restarts, 1, 'no second restart: nothing was rolled back');
  const ip = result.steps.find((s) => s.id === 'ip-verify')!;
  assert.match(ip.summary, /services running: omanagement, omonitor, orunbook; unknown: service oremoting is absent/);
  assert.equal((ip.output as { absentServices: string[] }).absentServices, ['oremoting']);
  assert.match(result.steps.find((s) => s.id === 'restart')!.summary, /not waited for, absent on this server \(unknown\): service oremoting/);
});

test('the plan names the services it will check after the restart, and says unknown for one the server does not have', async () => {
  const file = await makeHost('server-2016', (h) => {
    delete h.services.oremoting;
  });
  const { result } = await runToEnd(file, { checkMode: true });
  assert.is(result.status, 'planned', JSON.stringify(result.error));
  const ip = result.steps.find((s) => s.id === 'ip-verify')!;
  assert.match(ip.summary, /after the restart, checks that omanagement, oremoting, omonitor, orunbook run/);
  assert.match(ip.summary, /unknown: service oremoting is absent/);
  assert.match(result.steps.find((s) => s.id === 'restart')!.summary, /then waits for services omanagement, oremoting, omonitor, orunbook/);
});

test('the operator names the services (orchestratorServices): only those are checked, and one that exists and does not run still fails the run', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.services.oremoting = { state: 'stopped', startType: 'disabled' };
  });
  const only = await runToEnd(file, { params: { orchestratorServices: 'omanagement, orunbook' } });
  assert.is(only.result.status, 'succeeded', JSON.stringify(only.result.error));
  assert.match(only.result.steps.find((s) => s.id === 'ip-verify')!.summary, /services running: omanagement, orunbook; no restart owed/);

  const file2 = await makeHost('server-2016', (h) => {
    h.services.oremoting = { state: 'stopped', startType: 'disabled' };
  });
  const all = await runToEnd(file2);
  assert.is(all.result.status, 'rolled-back');
  assert.is(all.result.error?.code, 'IP_VERIFY_FAILED');
  assert.match(all.result.error!.message, /service oremoting is stopped/);
});

test.run();
