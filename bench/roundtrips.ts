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
