/**
 * `runbook rollback`: compensates a succeeded or unfinished run on request, as a failure would. It
 * reads the target first and leaves alone the values someone changed since the run, unless `--force`.
 */
import { exitCodeFor } from '../exit-codes.js';
import { alreadyRolledBack, printAlreadyRolledBack } from '../already-rolled-back.js';
import { act, commandNamed, once, withCommonOptions, type CommonOptions, type RunbookCommand } from '../args.js';
import { follow, outputMode } from '../follow.js';
import { runnerFor, storeOf } from '../state.js';
import { connect, refuseTargetPassword } from '../targets.js';

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
          .option('-t, --target <target>', "reach the run's machine another way (transport, user, port); another host is refused unless --force, another Windows always", once('--target')),
      ),
      async (values: RollbackOptions, [id]) => {
        refuseTargetPassword(values.target);
        const where = await storeOf(values);
        if (await where.store.isFleet(id)) return (await import('../fleet.js')).rollbackFleetCommand(where, id, values.force === true, values.json === true, values.yes === true);
        const runner = await runnerFor(where);
        // The journal is read once, here, and handed to the runner, which connects to the recorded
        // target (or --target) — not for a run already rolled back, which is not driven again.
        const records = await where.store.readJournal(id);
        const note = alreadyRolledBack(records, id);
        if (note) printAlreadyRolledBack(note, id, values.json === true);
        const run = await runner.rollback(id, { connect: (target) => connect(target, { writes: true }), target: values.target, force: values.force === true, records });
        const result = await follow(run, outputMode(values.json === true), where.stateDir);
        // The run's outcome decides, as for `run` and `resume`: rolled back on request is 0; a rollback
        // that finished the undo of a failed (or cancelled) run reports that run, 1 — as its resume does.
        return exitCodeFor(result.outcome);
      },
    ),
};
