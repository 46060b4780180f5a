/**
 * `runbook resume`: continues interrupted runs — one, or every unfinished run with `--all` (what the
 * start-up task on a target calls after a reboot). With `--all` every run is attempted; the runs that
 * are refused or damaged are listed at the end and make the exit code non-zero.
 */
import { loadRunbook } from '../../engine/bundled.js';
import { RunStateError } from '../../errors.js';
import { bundledStepKinds } from '../../steps/index.js';
import { ExitCode, exitCodeFor } from '../exit-codes.js';
import { COMMON_OPTIONS, RETRIES_OPTION, RETRIES_USAGE, UsageError, explain, follow, outputMode, parse, retriesFrom, runnerFor, storeOf, type Where, type Command } from '../common.js';
import { red } from '../render.js';
import { connect } from '../targets.js';

const usage = `Usage: runbook resume <run-id> | <fleet-id> | --all [--allow-restart] [--force] [--target <target>]

Continues an interrupted run from its journal: after a controller crash, a reboot of the target, a
signal, or a wait for a restart window.

Options
  --all             every unfinished run in the state directory; each is attempted, refusals listed
  --allow-restart   the restart window is open: the run may restart the target now
  --force           go on although the runbook changed (or its file is gone): the journaled definition is used
  -t, --target <t>  reconnect another way than the run's own target
  --on-target       the engine runs on the target itself
${RETRIES_USAGE}

${COMMON_OPTIONS}`;

async function resumeOne(id: string, values: { force: boolean; 'allow-restart': boolean; target?: string; 'on-target': boolean; json: boolean; retries?: string }, where: Where): Promise<number> {
  const runner = await runnerFor(where, retriesFrom(values.retries));
  const started = await runner.startedRecord(id);
  const kinds = bundledStepKinds();
  let current;
  try {
    current = await loadRunbook(started.source, kinds);
  } catch (cause) {
    // A fleet host run recorded before fleets kept their runbook's source says `runbook <name>`: the
    // bundled runbook of that name is its runbook when its fingerprint is the recorded one.
    const legacy = started.source === `runbook ${started.runbook.name}` ? await loadRunbook(started.runbook.name, kinds).catch(() => undefined) : undefined;
    if (legacy?.fingerprint === started.fingerprint) current = legacy;
    else if (!values.force) {
      throw new RunStateError('RUNBOOK_CHANGED', `the runbook of run ${id} cannot be loaded from ${started.source}: ${(cause as Error).message.split('\n')[0]}`, {
        where: started.source,
        hint: 'restore the file, or resume with --force to continue with the definition recorded in the journal',
        cause,
      });
    }
  }
  const executor = await connect(values.target ?? started.targetSpec ?? started.target, { onTarget: values['on-target'] });
  try {
    const run = await runner.resume(id, {
      executor,
      runbook: current,
      force: values.force,
      overrides: values['allow-restart'] ? { allowRestart: true } : {},
    });
    return exitCodeFor((await follow(run, outputMode(values.json), where.stateDir)).outcome);
  } finally {
    await executor.close();
  }
}

export const resume: Command = {
  name: 'resume',
  usage,
  async run(args) {
    const { values, positionals } = parse(args, {
      all: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      'allow-restart': { type: 'boolean', default: false },
      target: { type: 'string', short: 't' },
      'on-target': { type: 'boolean', default: false },
      ...RETRIES_OPTION,
    });
    const retries = retriesFrom(values.retries);
    const where = await storeOf(values);
    if (!values.all) {
      if (positionals.length !== 1) throw new UsageError('resume takes one run id, or --all');
      if (await where.store.isFleet(positionals[0])) return (await import('../fleet.js')).resumeFleetCommand(where, positionals[0], values.json, retries);
      return resumeOne(positionals[0], values, where);
    }
    if (positionals.length > 0) throw new UsageError('resume takes one run id, or --all, not both');
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
        const { code, message } = explain(error, usage);
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
  },
};
