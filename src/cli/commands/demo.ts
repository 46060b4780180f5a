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
import { presetOrRefuse } from './sim.js';

export const demo: Command = {
  name: 'demo',
  usage: 'Usage: runbook demo [--preset <name>] [--json] [--state-dir <dir>]\n\nCreates a simulated host in a temporary folder and runs orchestrator-tls12 against it (the host is down for 3 s while it restarts).',
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
    return runOnce(['orchestrator-tls12', '--target', `sim:${hostFile}`, '--state-dir', stateDir, '--param', 'pollIntervalMs=500', ...(values.json ? ['--json'] : [])], false);
  },
};
