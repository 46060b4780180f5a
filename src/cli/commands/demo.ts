/**
 * `runbook demo` (`npm start`): the bundled runbook against a fresh simulated host — its plan, the run
 * with its restart, its rollback on request — then a small simulated fleet; and what to try next. The
 * runs are kept in the state directory `runbook status` reads by default, so that they can be looked at
 * afterwards.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHost } from '../../simulator/executor.js';
import { fileStore } from '../../store/file-store.js';
import { parse, stateDirOf, type Command } from '../common.js';
import { bold } from '../render.js';
import { runOnce } from './run.js';
import { rollback } from './rollback.js';
import { presetOrRefuse, sim } from './sim.js';
import { ExitCode } from '../exit-codes.js';

export const demo: Command = {
  name: 'demo',
  usage:
    'Usage: runbook demo [--preset <name>] [--json] [--state-dir <dir>]\n\nCreates a simulated host in a temporary folder; plans orchestrator-tls12 against it, runs it (the host is down for 3 s while it restarts)\nand rolls it back on request; then runs it over a small simulated fleet: a canary host first, then three more, two at a time.\nThe runs stay in the state directory (default .runbook, or $RUNBOOK_STATE_DIR), where `runbook status` finds them.',
  async run(args) {
    const { values } = parse(args, { preset: { type: 'string', default: 'server-2016' } });
    const host = presetOrRefuse(values.preset);
    const dir = await mkdtemp(join(tmpdir(), 'runbook-demo-'));
    const hostFile = join(dir, 'host.json');
    host.downtimeMs = 3000;
    await writeHost(hostFile, host);
    // The state directory a later `runbook status` reads (not a temporary one).
    const stateDir = await stateDirOf(values['state-dir']);
    const json = values.json ? ['--json'] : [];
    const say = (text: string) => {
      if (!values.json) process.stdout.write(text);
    };
    say(
      [
        bold('runbook-engine demo'),
        `A simulated ${host.os.caption} (Orchestrator ${host.orchestrator.release}, SQL Server ${host.sqlInstances[0]?.version}) at ${hostFile}.`,
        'The bundled runbook orchestrator-tls12 sets it to TLS 1.2 only, as Microsoft\'s "Set up TLS for Orchestrator" describes:',
        'preflight, registry backup, SCHANNEL, .NET Framework, hotfix check, restart (the simulated host is down for 3 s), Integration Packs.',
        '',
        `${bold('1. plan')}: what would change, nothing changed.`,
        '',
      ].join('\n'),
    );
    const target = ['orchestrator-tls12', '--target', `sim:${hostFile}`, '--state-dir', stateDir];
    const planned = await runOnce([...target, ...json], true);
    if (planned !== ExitCode.ok) return planned;
    say(`\n${bold('2. run')}: the same changes, the restart, and the proof by handshake.\n\n`);
    const single = await runOnce([...target, '--param', 'pollIntervalMs=500', ...json], false);
    if (single !== ExitCode.ok) return single;
    const runs = await fileStore(stateDir).listRuns();
    const ran = runs.filter((r) => r.target === `sim:${hostFile}` && r.status === 'succeeded').at(-1);
    if (ran) {
      say(`\n${bold('3. rollback')}: every value as it was before the run (the host restarts again).\n\n`);
      const undone = await rollback.run([ran.runId, '--state-dir', stateDir, ...json]);
      if (undone !== ExitCode.ok) return undone;
    }
    const fleetDir = join(dir, 'fleet');
    say(`\n${bold('4. a small fleet')}: four simulated hosts in ${fleetDir}, a canary wave first, then the rest (each host down for 1 s while it restarts).\n`);
    await sim.run(['fleet', '--preset', values.preset, '--count', '4', '--out', fleetDir, '--downtime-ms', '1000']);
    const fleet = await runOnce(['orchestrator-tls12', '--inventory', join(fleetDir, 'inventory.yaml'), '--concurrency', '2', '--state-dir', stateDir, '--param', 'pollIntervalMs=250', '--yes', ...json], false);
    const where = values['state-dir'] ? ` --state-dir ${stateDir}` : '';
    say(
      [
        '',
        bold('Try next'),
        `  runbook status${where}                      the runs and the fleet just made`,
        `  runbook status <run-id>${where}             one run's steps (its report.md is in ${join(stateDir, 'runs', '<run-id>')})`,
        `  runbook plan orchestrator-tls12 --target sim:${hostFile}${where}`,
        `  runbook sim create --preset server-2019 --out my-host.json   another simulated host (runbook sim presets lists them)`,
        '  runbook list                                 the bundled runbooks and their parameters',
        '  docs/real-servers.md                         before a real server',
        '',
      ].join('\n'),
    );
    return fleet;
  },
};
