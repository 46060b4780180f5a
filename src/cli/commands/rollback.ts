/**
 * `runbook rollback`: compensates a succeeded or unfinished run on request, as a failure would. It
 * reads the target first and leaves alone the values someone changed since the run, unless `--force`.
 */
import { ExitCode, exitCodeFor } from '../exit-codes.js';
import { COMMON_OPTIONS, UsageError, follow, outputMode, parse, runnerFor, storeOf, type Command } from '../common.js';
import { connect } from '../targets.js';

const usage = `Usage: runbook rollback <run-id> | <fleet-id> [--force] [--target <target>]

Undoes a run that succeeded, or one that waits (for a restart window, after an interruption): every
step is compensated in reverse, restarting the target again when the run had restarted it.
Values changed on the target since the run are shown and left alone, unless --force.
With a fleet id: every host of the fleet that succeeded (or waits), the last wave first.

Options
  --force           undo values even where they changed since the run
  -y, --yes         no confirmation before a fleet is rolled back (asked only on a terminal)
  -t, --target <t>  reconnect another way than the run's own target

${COMMON_OPTIONS}`;

export const rollback: Command = {
  name: 'rollback',
  usage,
  async run(args) {
    const { values, positionals } = parse(args, { target: { type: 'string', short: 't' }, force: { type: 'boolean', default: false }, yes: { type: 'boolean', short: 'y', default: false } });
    if (positionals.length !== 1) throw new UsageError('rollback takes one run id');
    const where = await storeOf(values);
    if (await where.store.isFleet(positionals[0])) return (await import('../fleet.js')).rollbackFleetCommand(where, positionals[0], values.force, values.json, values.yes);
    const runner = await runnerFor(where);
    // The runner reads the journal once and connects to the recorded target (or --target).
    const run = await runner.rollback(positionals[0], { connect: (target) => connect(target), target: values.target, force: values.force });
    const result = await follow(run, outputMode(values.json), where.stateDir);
    // A rollback that completed is this command's success.
    return result.status === 'rolled-back' ? ExitCode.ok : exitCodeFor(result.outcome);
  },
};
