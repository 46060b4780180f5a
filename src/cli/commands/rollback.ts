/**
 * `runbook rollback`: compensates a succeeded or unfinished run on request, as a failure would. It
 * reads the target first and leaves alone the values someone changed since the run, unless `--force`.
 */
import { ExitCode, exitCodeFor } from '../exit-codes.js';
import { act, commandNamed, withCommonOptions, type CommonOptions, type RunbookCommand } from '../args.js';
import { follow, outputMode } from '../follow.js';
import { runnerFor, storeOf } from '../state.js';
import { connect } from '../targets.js';

interface RollbackOptions extends CommonOptions {
  force?: boolean;
  yes?: boolean;
  target?: string;
}

/**
 * `runbook rollback <run-id> | <fleet-id>`: undoes a run (or a fleet's runs) on request, as a failure would.
 *
 * @example
 * ```ts
 * rollback.declare().helpInformation(); // 'Usage: runbook rollback [options] <id>…'
 * ```
 */
export const rollback: RunbookCommand = {
  name: 'rollback',
  declare: () =>
    act(
      withCommonOptions(
        commandNamed('rollback')
          .usage('<run-id> | <fleet-id> [options]')
          .description(
            [
              'Undoes a run that succeeded, or one that waits (for a restart window, after an interruption): every',
              'step is compensated in reverse, restarting the target again when the run had restarted it.',
              'Values changed on the target since the run are shown and left alone, unless --force.',
              'With a fleet id: every host of the fleet that succeeded (or waits), the last wave first.',
            ].join(' '),
          )
          .argument('<id>', 'the run or fleet to undo')
          .option('--force', 'undo values even where they changed since the run; take --target as another address of the run’s machine')
          .option('-y, --yes', 'no confirmation before a fleet is rolled back (asked only on a terminal)')
          .option('-t, --target <target>', "reach the run's machine another way (transport, user, port); another host is refused unless --force, another Windows always"),
      ),
      async (values: RollbackOptions, [id]) => {
        const where = await storeOf(values);
        if (await where.store.isFleet(id)) return (await import('../fleet.js')).rollbackFleetCommand(where, id, values.force === true, values.json === true, values.yes === true);
        const runner = await runnerFor(where);
        // The runner reads the journal once and connects to the recorded target (or --target).
        const run = await runner.rollback(id, { connect: (target) => connect(target), target: values.target, force: values.force === true });
        const result = await follow(run, outputMode(values.json === true), where.stateDir);
        // A rollback that completed is this command's success.
        return result.status === 'rolled-back' ? ExitCode.ok : exitCodeFor(result.outcome);
      },
    ),
};
