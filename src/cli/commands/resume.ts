/**
 * `runbook resume`: continues interrupted runs — one, or every unfinished run with `--all` (what the
 * start-up task on a target calls after a reboot). With `--all` every run is attempted; the runs that
 * are refused or damaged are listed at the end and make the exit code non-zero.
 */
import { ExitCode, exitCodeFor } from '../exit-codes.js';
import { UsageError, act, commandNamed, retriesOption, withCommonOptions, type CommonOptions, type RunbookCommand } from '../args.js';
import { explain } from '../explain.js';
import { follow, outputMode } from '../follow.js';
import { runnerFor, storeOf, type Where } from '../state.js';
import { red } from '../render.js';
import { connect } from '../targets.js';

interface ResumeOptions extends CommonOptions {
  all?: boolean;
  force?: boolean;
  allowRestart?: boolean;
  target?: string;
  onTarget?: boolean;
  retries?: number;
}

async function resumeOne(id: string, values: ResumeOptions, where: Where): Promise<number> {
  const runner = await runnerFor(where, values.retries);
  // The runner reads the journal once: the runbook reloaded from its recorded source and checked, then
  // the recorded target (or --target) connected, then the drive.
  const run = await runner.resume(id, {
    connect: (target) => connect(target, { onTarget: values.onTarget === true }),
    target: values.target,
    runbook: 'reload',
    force: values.force === true,
    overrides: values.allowRestart ? { allowRestart: true } : {},
  });
  return exitCodeFor((await follow(run, outputMode(values.json === true), where.stateDir)).outcome);
}

/**
 * `runbook resume <run-id> | <fleet-id> | --all`: continues interrupted runs from their journals.
 *
 * @example
 * ```ts
 * resume.declare().helpInformation(); // 'Usage: runbook resume [options] [id]…'
 * ```
 */
export const resume: RunbookCommand = {
  name: 'resume',
  declare: () =>
    act(
      withCommonOptions(
        commandNamed('resume')
          .usage('<run-id> | <fleet-id> | --all [options]')
          .description('Continues an interrupted run from its journal: after a controller crash, a reboot of the target, a signal, or a wait for a restart window.')
          .argument('[id]', 'the run or fleet to continue')
          .option('--all', 'every unfinished run in the state directory; each is attempted, refusals listed')
          .option('--allow-restart', 'the restart window is open: the run may restart the target now')
          .option('--force', 'go on although the runbook changed (or its file is gone): the journaled definition is used')
          .option('-t, --target <target>', "reconnect another way than the run's own target")
          .option('--on-target', 'the engine runs on the target itself')
          .addOption(retriesOption()),
      ),
      resumeCommand,
    ),
};

async function resumeCommand(values: ResumeOptions, operands: string[]): Promise<number> {
  const retries = values.retries;
  const where = await storeOf(values);
  if (!values.all) {
    if (operands.length !== 1) throw new UsageError('resume takes one run id, or --all');
    if (await where.store.isFleet(operands[0])) return (await import('../fleet.js')).resumeFleetCommand(where, operands[0], values.json === true, retries);
    return resumeOne(operands[0], values, where);
  }
  if (operands.length > 0) throw new UsageError('resume takes one run id, or --all, not both');
  const runs = await where.store.listRuns();
  const damaged = runs.filter((r) => r.status === 'damaged');
  const ids = runs.filter((r) => r.status === 'running' || r.status === 'awaiting-resume').map((r) => r.runId);
  if (ids.length === 0 && damaged.length === 0) {
    process.stdout.write('no interrupted runs\n');
    return ExitCode.ok;
  }
  let worst: number = ExitCode.ok;
  const refused: string[] = damaged.map((r) => `${r.runId}: damaged — ${r.error}`);
  for (const id of ids) {
    try {
      worst = Math.max(worst, await resumeOne(id, values, where));
    } catch (error) {
      const { code, message } = explain(error);
      refused.push(`${id}: ${message.split('\n')[0]}`);
      worst = Math.max(worst, code);
    }
  }
  if (refused.length > 0) {
    process.stderr.write(`${red('error:')} ${refused.length} run(s) could not be resumed:\n${refused.map((r) => `  - ${r}`).join('\n')}\n`);
    if (values.json) process.stdout.write(`${JSON.stringify({ event: 'error', code: 'RESUME_REFUSED', refused })}\n`);
    worst = Math.max(worst, ExitCode.usage);
  }
  return worst;
}
