/**
 * `runbook demo`: the bundled runbook against a fresh simulated host, reboot included.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHost } from '../../executors/simulated.js';
import { parse, type Command } from '../common.js';
import { bold } from '../render.js';
import { runOnce } from './run.js';
import { presetOrRefuse, sim } from './sim.js';
import { ExitCode } from '../exit-codes.js';

export const demo: Command = {
  name: 'demo',
  usage: 'Usage: runbook demo [--preset <name>] [--json] [--state-dir <dir>]\n\nCreates a simulated host in a temporary folder and runs orchestrator-tls12 against it (the host is down for 3 s while it restarts),\nthen the same over a small simulated fleet: a canary host first, then three more, two at a time.',
  async run(args) {
    const { values } = parse(args, { preset: { type: 'string', default: 'server-2016' } });
    const host = presetOrRefuse(values.preset);
    const dir = await mkdtemp(join(tmpdir(), 'runbook-demo-'));
    const hostFile = join(dir, 'host.json');
    host.downtimeMs = 3000;
    await writeHost(hostFile, host);
    const stateDir = values['state-dir'] ?? join(dir, 'state');
    process.stdout.write(
      [
        bold('runbook-engine demo'),
        `A simulated ${host.os.caption} (Orchestrator ${host.orchestrator.release}, SQL Server ${host.sqlInstances[0]?.version}) at ${hostFile}.`,
        'The bundled runbook orchestrator-tls12 sets it to TLS 1.2 only, as Microsoft\'s "Set up TLS for Orchestrator" describes:',
        'preflight, registry backup, SCHANNEL, .NET Framework, hotfix check, restart (the simulated host is down for 3 s), Integration Packs.',
        '',
      ].join('\n'),
    );
    const single = await runOnce(['orchestrator-tls12', '--target', `sim:${hostFile}`, '--state-dir', stateDir, '--param', 'pollIntervalMs=500', ...(values.json ? ['--json'] : [])], false);
    if (single !== ExitCode.ok) return single;
    const fleetDir = join(dir, 'fleet');
    if (!values.json) process.stdout.write(`\n${bold('And a small fleet')}: four simulated hosts in ${fleetDir}, a canary wave first, then the rest (each host down for 1 s while it restarts).\n`);
    await sim.run(['fleet', '--preset', values.preset, '--count', '4', '--out', fleetDir, '--downtime-ms', '1000']);
    return runOnce(['orchestrator-tls12', '--inventory', join(fleetDir, 'inventory.yaml'), '--concurrency', '2', '--state-dir', stateDir, '--param', 'pollIntervalMs=250', ...(values.json ? ['--json'] : [])], false);
  },
};
