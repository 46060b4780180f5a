/**
 * Prints the round trips the bundled runbook takes per simulated-host preset and scenario.
 * Round trips are counted by the executor; the polls while a host restarts are shown apart.
 *
 *   node --import tsx bench/roundtrips.ts
 */
import { join } from 'node:path';
import {
  Runner,
  bundledStepKinds,
  createPreset,
  createSimulatedExecutor,
  listPresets,
  loadRunbook,
  writeHost,
  type SimHostState,
} from '../src/index.js';
import { tempDir } from '../test/helpers.js';

const kinds = bundledStepKinds();
const runbook = await loadRunbook('orchestrator-tls12', kinds);

async function scenario(preset: string, tweak?: (h: SimHostState) => void, runs = 1) {
  const dir = await tempDir('rbe-bench-');
  const file = join(dir, 'host.json');
  const host = createPreset(preset);
  host.downtimeMs = 20;
  tweak?.(host);
  await writeHost(file, host);
  const runner = new Runner({ stateDir: join(dir, 'state'), kinds, retry: { minTimeout: 5, maxTimeout: 10 } });
  let result;
  for (let i = 0; i < runs; i++) {
    const executor = await createSimulatedExecutor(file);
    result = await runner.start(runbook, { executor, params: { pollIntervalMs: 10 } }).result;
    if (i === runs - 1) return { result, calls: executor.roundTrips };
  }
  throw new Error('unreachable');
}

const rows: string[][] = [];
for (const { name } of listPresets()) {
  const fresh = await scenario(name);
  rows.push([name, 'fresh', fresh.result.status, String(fresh.result.roundTrips), String(fresh.result.pollRoundTrips), String(fresh.calls)]);
  if (fresh.result.status === 'succeeded') {
    const again = await scenario(name, undefined, 2);
    rows.push([name, 'already compliant (2nd run)', again.result.status, String(again.result.roundTrips), String(again.result.pollRoundTrips), String(again.calls)]);
  }
}
const ipDeleted = await scenario('server-2016', (h) => {
  h.bootActions = [{ op: 'registry.deleteValue', view: '32', key: 'SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319', name: 'SystemDefaultTlsVersions' }];
});
rows.push(['server-2016', 'IP value deleted during reboot', ipDeleted.result.status, String(ipDeleted.result.roundTrips), String(ipDeleted.result.pollRoundTrips), String(ipDeleted.calls)]);
const transient = await scenario('server-2016', (h) => {
  h.faults = [{ op: 'registry.set', keyContains: 'TLS 1.1', kind: 'transient', times: 2 }];
});
rows.push(['server-2016', 'transient fault on SCHANNEL write', transient.result.status, String(transient.result.roundTrips), String(transient.result.pollRoundTrips), String(transient.calls)]);

const header = ['preset', 'scenario', 'status', 'round trips', 'polls', 'executor calls'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(line(header));
console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
for (const r of rows) console.log(line(r));
console.log('\nBudget: fresh 64-bit host ≤ 8, compliant host ≤ 3 (polls not counted). Ansible, one task per value: about 30.');

// ---- Real transports on loopback: the same runbook over SSH and over WinRM, and the time per round trip.
// Both run the real agent in PowerShell on a simulated-host file: ssh through a real sshd, winrm through
// the simulated host's WinRM listener (NTLM, every message sealed over HTTP; channel-bound over HTTPS).
const { PWSH } = await import('../test/pwsh.js');
const { SSHD, startSshd } = await import('../test/sshd.js');
if (!PWSH || !SSHD) {
  console.log('\nTransports on loopback: skipped (needs PowerShell and sshd: bash .ci/install-pwsh; apt-get install openssh-server)');
} else {
  const { createSshExecutor } = await import('../src/executors/ssh.js');
  const { createWinrmExecutor } = await import('../src/executors/winrm.js');
  const { serveWinrm } = await import('../src/simulator/winrm-listener.js');
  const { readHost } = await import('../src/index.js');
  const hostFile = async () => {
    const file = join(await tempDir('rbe-bench-'), 'host.json');
    const host = createPreset('server-2016');
    host.downtimeMs = 40;
    await writeHost(file, host);
    return file;
  };
  const transports: { name: string; make: () => Promise<{ executor: () => ReturnType<typeof createSshExecutor>; stop: () => Promise<void> }> }[] = [
    {
      name: 'ssh',
      make: async () => {
        const file = await hostFile();
        const sshd = await startSshd(PWSH, { RUNBOOK_AGENT_HOST_FILE: file });
        const executor = () => createSshExecutor({ host: '127.0.0.1', port: sshd.port, username: sshd.username, privateKeyPath: sshd.keyPath, knownHostsPath: sshd.knownHostsPath, shell: PWSH, agentBackend: 'file' });
        return { executor, stop: () => sshd.stop() };
      },
    },
    ...(['http', 'https'] as const).map((scheme) => ({
      name: `winrm (NTLM, ${scheme.toUpperCase()})`,
      make: async () => {
        const file = await hostFile();
        const winrm = await serveWinrm(() => readHost(file), { hostFile: file, write: (h) => writeHost(file, h), pwsh: PWSH, user: 'bench', password: 'Bench-Pa55' });
        const port = Number(new URL(scheme === 'https' ? winrm.https : winrm.http).port);
        const env = { RUNBOOK_WINRM_USER: 'bench', RUNBOOK_WINRM_PASSWORD: 'Bench-Pa55' };
        const executor = () => createWinrmExecutor({ scheme, host: '127.0.0.1', port, user: '', fingerprint: winrm.certificateSha256, agentBackend: 'file', env });
        return { executor, stop: () => winrm.close() };
      },
    })),
  ];
  // Round trips of the whole runbook (fresh, then compliant); then the time per round trip, measured
  // with the transports interleaved call by call (this machine is shared: load shifts over a minute),
  // as the median of CALLS warm calls of one read each.
  const CALLS = 60;
  const measured: string[][] = [];
  const perCall = new Map<string, number>();
  const live: { name: string; executor: ReturnType<typeof createSshExecutor>; stop: () => Promise<void>; times: number[] }[] = [];
  try {
    for (const transport of transports) {
      const { executor, stop } = await transport.make();
      live.push({ name: transport.name, executor: executor(), stop, times: [] });
      const runner = new Runner({ stateDir: await tempDir('rbe-bench-'), kinds, retry: { minTimeout: 20, maxTimeout: 200 } });
      const counts: number[] = [];
      for (let i = 0; i < 2; i++) {
        const e = executor();
        const result = await runner.start(runbook, { executor: e, params: { pollIntervalMs: 20 } }).result;
        await e.close();
        if (result.status !== 'succeeded') throw new Error(`${transport.name}: the run ended ${result.status}: ${result.error?.message}`);
        counts.push(result.roundTrips);
      }
      measured.push([transport.name, String(counts[0]), String(counts[1])]);
    }
    for (const t of live) await t.executor.run([{ op: 'os.info' }]);
    for (let i = 0; i < CALLS; i++) {
      for (const t of live) {
        const started = process.hrtime.bigint();
        await t.executor.run([{ op: 'os.info' }]);
        t.times.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    }
    for (const t of live) {
      const sorted = [...t.times].sort((x, y) => x - y);
      perCall.set(t.name, sorted[Math.floor(sorted.length / 2)]);
    }
    for (const row of measured) row.push(perCall.get(row[0])!.toFixed(1));
  } finally {
    for (const t of live) {
      await t.executor.close();
      await t.stop();
    }
  }
  const ssh = perCall.get('ssh')!;
  for (const row of measured) row.push(`${(perCall.get(row[0])! / ssh).toFixed(2)}×`);
  const head = ['transport', 'round trips, fresh', 'round trips, compliant', 'ms per round trip (median)', 'vs ssh'];
  const w = head.map((h, i) => Math.max(h.length, ...measured.map((r) => r[i].length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  console.log(`\nTransports on loopback (server-2016; ${CALLS} warm calls of os.info each, interleaved):`);
  console.log(row(head));
  console.log(`| ${w.map((n) => '-'.repeat(n)).join(' | ')} |`);
  for (const r of measured) console.log(row(r));
}
