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
import { act, commandNamed, commonOptions, invoke, type RunbookCommand } from '../args.js';
import { stateDirOf } from '../state.js';
import { bold } from '../render.js';
import { plan, run } from './run.js';
import { rollback } from './rollback.js';
import { presetOrRefuse, sim } from './sim.js';
import { ExitCode } from '../exit-codes.js';

/**
 * `runbook demo` (`npm start`): plan, run and roll back the bundled runbook on a fresh simulated host,
 * then a small simulated fleet.
 *
 * @example
 * ```ts
 * demo.declare().helpInformation(); // 'Usage: runbook demo [options]…'
 * ```
 */
export const demo: RunbookCommand = {
  name: 'demo',
  declare: () =>
    act(
      commandNamed('demo')
        .description(
          [
            'Creates a simulated host in a temporary folder; plans orchestrator-tls12 against it, runs it (the host is down for 3 s while it restarts)',
            'and rolls it back on request; then runs it over a small simulated fleet: a canary host first, then three more, two at a time.',
            'The runs stay in the state directory (default .runbook, or $RUNBOOK_STATE_DIR), where `runbook status` finds them.',
          ].join(' '),
        )
        .option('--preset <name>', 'the simulated host (runbook sim presets lists them)', 'server-2016')
        .addOption(commonOptions.stateDir())
        .addOption(commonOptions.json()),
      demoCommand,
    ),
};

async function demoCommand(values: { preset: string; stateDir?: string; json?: boolean }): Promise<number> {
  const host = presetOrRefuse(values.preset);
  const dir = await mkdtemp(join(tmpdir(), 'runbook-demo-'));
  const hostFile = join(dir, 'host.json');
  host.downtimeMs = 3000;
  await writeHost(hostFile, host);
  // The state directory a later `runbook status` reads (not a temporary one).
  const stateDir = await stateDirOf(values.stateDir);
  const json = values.json ? ['--json'] : [];
  const say = (text: string) => {
    if (!values.json) process.stdout.write(text);
  };
  say(
    [
      bold('runbook-engine demo'),
      `A simulated ${host.os.caption} (Orchestrator ${host.orchestrator.release}, SQL Server ${host.sqlInstances[0]?.version}) at ${hostFile}.`,
      'The bundled runbook orchestrator-tls12 sets it to TLS 1.2 only, as Microsoft\'s "Set up TLS 1.2 for Orchestrator" (revision 11/01/2024) describes:',
      'preflight, TLS handshakes before, registry backup, .NET Framework, SCHANNEL, WinHTTP (Server 2012 / 2008 R2 only), hotfix check,',
      'restart (the simulated host is down for 3 s), Integration Packs, TLS handshakes after.',
      '',
      `${bold('1. plan')}: what would change, nothing changed.`,
      '',
    ].join('\n'),
  );
  const target = ['orchestrator-tls12', '--target', `sim:${hostFile}`, '--state-dir', stateDir];
  const planned = await invoke(plan, [...target, ...json]);
  if (planned !== ExitCode.ok) return planned;
  say(`\n${bold('2. run')}: the same changes, the restart, and the proof by handshake.\n\n`);
  const single = await invoke(run, [...target, '--param', 'pollIntervalMs=500', ...json]);
  if (single !== ExitCode.ok) return single;
  const runs = await fileStore(stateDir).listRuns();
  const ran = runs.filter((r) => r.target === `sim:${hostFile}` && r.status === 'succeeded').at(-1);
  if (ran) {
    say(`\n${bold('3. rollback')}: every value as it was before the run (the host restarts again).\n\n`);
    const undone = await invoke(rollback, [ran.runId, '--state-dir', stateDir, ...json]);
    if (undone !== ExitCode.ok) return undone;
  }
  const fleetDir = join(dir, 'fleet');
  say(`\n${bold('4. a small fleet')}: four simulated hosts in ${fleetDir}, a canary wave first, then the rest (each host down for 1 s while it restarts).\n`);
  await invoke(sim, ['fleet', '--preset', values.preset, '--count', '4', '--out', fleetDir, '--downtime-ms', '1000']);
  const fleet = await invoke(run, ['orchestrator-tls12', '--inventory', join(fleetDir, 'inventory.yaml'), '--concurrency', '2', '--state-dir', stateDir, '--param', 'pollIntervalMs=250', '--yes', ...json]);
  const where = values.stateDir ? ` --state-dir ${stateDir}` : '';
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
}
