/**
 * `runbook run` and `runbook plan`: one run of a runbook against one target.
 */
import { resolve } from 'node:path';
import { loadRunbook } from '../../engine/bundled.js';
import { bundledStepKinds } from '../../steps/index.js';
import { detailedExitCode, exitCodeFor } from '../exit-codes.js';
import { COMMON_OPTIONS, RETRIES_OPTION, RETRIES_USAGE, UsageError, follow, outputMode, paramsFrom, parse, retriesFrom, runnerFor, storeOf, type Command } from '../common.js';
import { TARGET_FORMS, checkTarget, connect } from '../targets.js';
import { checkStepParameters, resolveParameters } from '../../engine/loader.js';

/** The target as typed, with a simulated host's file made absolute so that a resume from elsewhere finds it. */
export function targetSpec(target: string): string {
  return target.startsWith('sim:') ? `sim:${resolve(target.slice(4))}` : target;
}

function usageOf(name: 'run' | 'plan'): string {
  const what = name === 'run' ? 'Runs a runbook against a target.' : 'Check mode: prints the exact diff and whether a restart is owed; changes nothing.';
  return `Usage: runbook ${name} <runbook> --target <target> [--param key=value …] [--on-target]
       runbook ${name} <runbook> --inventory <file> [--concurrency N] [--max-failures N|P%] [--limit <pattern>] [--param key=value …]

${what}
<runbook> is a bundled name (see \`runbook list\`) or a .yaml/.json file.
Every parameter is checked before the target is contacted: a bad one exits 2 and nothing is changed.

Options
  -t, --target <target>   where to run (forms below)
  -p, --param key=value   a runbook parameter; repeat for more
  --on-target             the engine runs on the target itself (a restart ends this process)
${RETRIES_USAGE}
  -i, --inventory <file>  a fleet: every host of the inventory, its waves in order (instead of --target)
  --concurrency N         hosts driven at once (default 10)
  --max-failures N|P%     failed hosts tolerated before no new host starts (default 0)
  --limit <pattern>       only some hosts, as Ansible's: names (* and ?), groups, comma lists, !host to
                          exclude, &group to intersect, @<fleet-id> the hosts that failed in that fleet
  -y, --yes               no confirmation before a fleet's hosts are changed (asked only on a terminal)
  --detailed-exitcode     plan only, as Terraform's: exit 0 nothing to do, 2 changes pending, 1 an error
  --no-wait               queue the fleet's hosts for \`runbook worker\` (needs --store) and print its id

${COMMON_OPTIONS}

Targets
${TARGET_FORMS.map((f) => `  ${f}`).join('\n')}`;
}

/** Runs (or plans) one runbook; shared by `run`, `plan` and `demo`. */
export async function runOnce(args: string[], checkMode: boolean): Promise<number> {
  const { values, positionals } = parse(args, {
    target: { type: 'string', short: 't' },
    param: { type: 'string', short: 'p', multiple: true },
    'on-target': { type: 'boolean', default: false },
    inventory: { type: 'string', short: 'i' },
    concurrency: { type: 'string' },
    'max-failures': { type: 'string' },
    limit: { type: 'string' },
    'no-wait': { type: 'boolean', default: false },
    'detailed-exitcode': { type: 'boolean', default: false },
    yes: { type: 'boolean', short: 'y', default: false },
    ...RETRIES_OPTION,
  });
  const detailed = values['detailed-exitcode'];
  if (detailed && !checkMode) throw new UsageError('--detailed-exitcode goes with plan (0 nothing to do, 2 changes pending, 1 error)');
  const retries = retriesFrom(values.retries);
  if (positionals.length !== 1) throw new UsageError(`${checkMode ? 'plan' : 'run'} takes one runbook: a bundled name or a .yaml/.json file`);
  if (values.inventory && values.target) throw new UsageError('give --target (one host) or --inventory (a fleet), not both');
  if (!values.inventory && (values.concurrency ?? values['max-failures'] ?? values.limit) !== undefined) throw new UsageError('--concurrency, --max-failures and --limit go with --inventory');
  if (values['no-wait'] && !values.inventory) throw new UsageError('--no-wait goes with --inventory (and a --store the workers share)');
  if (values['no-wait'] && retries !== undefined) throw new UsageError('--retries does not go with --no-wait: the workers retry as the runbook says');
  if (values.inventory) {
    const kinds = bundledStepKinds();
    const runbook = await loadRunbook(positionals[0], kinds);
    const where = await storeOf(values);
    if (values['no-wait'] && where.store.kind !== 'postgres') throw new UsageError('--no-wait queues the fleet for workers: give a shared --store postgres://… (or $RUNBOOK_STORE)');
    const { runFleetCommand } = await import('../fleet.js');
    return runFleetCommand({
      detailedExitCode: detailed,
      yes: values.yes,
      runbook,
      inventory: values.inventory,
      where,
      noWait: values['no-wait'],
      checkMode,
      params: paramsFrom(values.param),
      concurrency: values.concurrency,
      maxFailures: values['max-failures'],
      limit: values.limit,
      json: values.json,
      retries,
    });
  }
  if (!values.target) throw new UsageError(`--target is required; accepted forms:\n${TARGET_FORMS.map((f) => `  ${f}`).join('\n')}`);
  const kinds = bundledStepKinds();
  const runbook = await loadRunbook(positionals[0], kinds);
  // Everything that can be checked without the target is checked before it is contacted.
  await checkTarget(values.target);
  const params = paramsFrom(values.param);
  checkStepParameters(runbook.definition, resolveParameters(runbook.definition, params).params, kinds);
  const where = await storeOf(values);
  const runner = await runnerFor(where, retries);
  const executor = await connect(values.target, { onTarget: values['on-target'] });
  try {
    // Parameters are resolved and every step's are checked here, before the target is contacted.
    const run = runner.start(runbook, { executor, params, checkMode, target: targetSpec(values.target) });
    const result = await follow(run, outputMode(values.json), where.stateDir);
    const code = exitCodeFor(result.outcome, result.error);
    return detailed ? detailedExitCode(code, result.outcome === 'changes-pending') : code;
  } finally {
    await executor.close();
  }
}

export const run: Command = { name: 'run', usage: usageOf('run'), run: (args) => runOnce(args, false) };
export const plan: Command = { name: 'plan', usage: usageOf('plan'), run: (args) => runOnce(args, true) };
