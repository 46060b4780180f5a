/**
 * `runbook run` and `runbook plan`: one run of a runbook against one target.
 */
import { resolve } from 'node:path';
import { loadRunbook } from '../../engine/bundled.js';
import { bundledStepKinds } from '../../steps/index.js';
import { detailedExitCode, exitCodeFor } from '../exit-codes.js';
import { Option, type Command } from 'commander';
import { UsageError, act, commandNamed, once, paramOption, paramsFrom, retriesOption, withCommonOptions, type CommonOptions, type RunbookCommand } from '../args.js';
import { follow, outputMode } from '../follow.js';
import { runnerFor, storeOf } from '../state.js';
import { ON_TARGET_SIM_ONLY, TARGET_FORMS, checkTarget, connect } from '../targets.js';
import { checkStepParameters, resolveParameters } from '../../engine/loader.js';

/** The target as typed, with a simulated host's file made absolute so that a resume from elsewhere finds it. */
export function targetSpec(target: string): string {
  return target.startsWith('sim:') ? `sim:${resolve(target.slice(4))}` : target;
}

interface RunOptions extends CommonOptions {
  target?: string;
  param?: string[];
  onTarget?: boolean;
  inventory?: string;
  concurrency?: string;
  maxFailures?: string;
  limit?: string;
  /** `--no-wait`: false. */
  wait: boolean;
  detailedExitcode?: boolean;
  yes?: boolean;
  retries?: number;
}

/** `run` and `plan`: one declaration, `--detailed-exitcode` for plan only. */
function declare(name: 'run' | 'plan'): Command {
  const checkMode = name === 'plan';
  const what = checkMode ? 'Check mode: prints the exact diff and whether a restart is owed; changes nothing.' : 'Runs a runbook against a target.';
  const command = commandNamed(name)
    .usage(`<runbook> --target <target> [options]\n       runbook ${name} <runbook> --inventory <file> [options]`)
    .description(`${what}\nEvery parameter is checked before the target is contacted: a bad one exits 2 and nothing is changed.`)
    .argument('<runbook>', 'a bundled name (see `runbook list`) or a .yaml/.json file')
    .addOption(new Option('-t, --target <target>', 'where to run (forms below)').argParser(once('--target', 'use --inventory for several hosts')).conflicts('inventory'))
    .addOption(paramOption())
    .option('--on-target', 'sim: targets only: rehearse the engine running on the host itself (its restart ends this process)')
    .addOption(retriesOption().conflicts('wait'))
    .option('-i, --inventory <file>', 'a fleet: every host of the inventory, its waves in order (instead of --target)')
    .option('--concurrency <N>', 'hosts driven at once (default 10)')
    .option('--max-failures <N|P%>', 'failed hosts tolerated before no new host starts (default 0)')
    .option('--limit <pattern>', "only some hosts, as Ansible's: names (* and ?), groups, comma lists, !host to exclude, &group to intersect, @<fleet-id> the hosts that failed in that fleet")
    .option('-y, --yes', "no confirmation before a fleet's hosts are changed (asked only on a terminal)");
  if (checkMode) command.option('--detailed-exitcode', "as Terraform's: exit 0 nothing to do, 2 changes pending, 1 an error");
  command.option('--no-wait', "queue the fleet's hosts for `runbook worker` (needs --store) and print its id");
  withCommonOptions(command).addHelpText('after', `\nTargets\n${TARGET_FORMS.map((f) => `  ${f}`).join('\n')}`);
  return act(command, (options: RunOptions, operands) => runOnce(operands[0], options, checkMode));
}

/** Runs (or plans) one runbook; shared by `run` and `plan`. */
async function runOnce(source: string, values: RunOptions, checkMode: boolean): Promise<number> {
  const detailed = values.detailedExitcode === true;
  const noWait = !values.wait;
  const retries = values.retries;
  if (!values.inventory && (values.concurrency ?? values.maxFailures ?? values.limit) !== undefined) throw new UsageError('--concurrency, --max-failures and --limit go with --inventory');
  if (noWait && !values.inventory) throw new UsageError('--no-wait goes with --inventory (and a --store the workers share)');
  if (values.onTarget && values.inventory) throw new UsageError(ON_TARGET_SIM_ONLY + '; a fleet\'s hosts are never driven from one of them');
  if (values.onTarget && values.target && !values.target.startsWith('sim:')) throw new UsageError(`${ON_TARGET_SIM_ONLY}, not to ${values.target.split(':')[0]}`);
  if (values.inventory) {
    const kinds = bundledStepKinds();
    const runbook = await loadRunbook(source, kinds);
    // Checked, not made: nothing is created before the operator confirms (runFleetCommand makes it).
    const where = await storeOf(values, { checkOnly: true });
    if (noWait && where.store.kind !== 'postgres') throw new UsageError('--no-wait queues the fleet for workers: give a shared --store postgres://… (or $RUNBOOK_STORE)');
    const { runFleetCommand } = await import('../fleet.js');
    return runFleetCommand({
      detailedExitCode: detailed,
      yes: values.yes === true,
      runbook,
      inventory: values.inventory,
      where,
      noWait,
      checkMode,
      params: paramsFrom(values.param),
      concurrency: values.concurrency,
      maxFailures: values.maxFailures,
      limit: values.limit,
      json: values.json === true,
      retries,
    });
  }
  if (!values.target) throw new UsageError('give --target <target> (one host; its forms are listed by --help) or --inventory <file> (a fleet)');
  const kinds = bundledStepKinds();
  const runbook = await loadRunbook(source, kinds);
  // Everything that can be checked without the target is checked before it is contacted.
  await checkTarget(values.target);
  const params = paramsFrom(values.param);
  checkStepParameters(runbook.definition, resolveParameters(runbook.definition, params).params, kinds);
  const where = await storeOf(values);
  const runner = await runnerFor(where, retries);
  const executor = await connect(values.target, { onTarget: values.onTarget === true, writes: !checkMode });
  try {
    // A rehearsal says what it assumes where the facts leave Windows' behaviour open.
    if (values.target.startsWith('sim:')) await noteAssumptions(values.target);
    // Parameters are resolved and every step's are checked here, before the target is contacted.
    const run = runner.start(runbook, { executor, params, checkMode, target: targetSpec(values.target) });
    const result = await follow(run, outputMode(values.json === true), where.stateDir);
    const code = exitCodeFor(result.outcome, result.error);
    return detailed ? detailedExitCode(code, result.outcome === 'changes-pending') : code;
  } finally {
    await executor.close();
  }
}

/** `runbook run`: one run of a runbook against a target, or over an inventory's hosts. */
export const run: RunbookCommand = { name: 'run', declare: () => declare('run') };

/**
 * `runbook plan`: check mode — the exact diff, nothing changed.
 *
 * @example
 * ```ts
 * plan.declare().helpInformation(); // 'Usage: runbook plan <runbook> --target <target> [options]…'
 * ```
 */
export const plan: RunbookCommand = { name: 'plan', declare: () => declare('plan') };

/** Writes on stderr what a simulated host assumes (its `schannelDefaults`), before its plan or run. */
async function noteAssumptions(target: string): Promise<void> {
  const [{ readHost }, { assumptionLines }, { notice }] = await Promise.all([import('../../simulator/executor.js'), import('../../simulator/model.js'), import('../notice.js')]);
  for (const line of assumptionLines(await readHost(resolve(target.slice(4))))) notice(`${target}: ${line}\n`);
}
