/**
 * `runbook resume`: continues interrupted runs — one, or every unfinished run with `--all` (what the
 * start-up task on a target calls after a reboot). With `--all` every run is attempted; the runs that
 * are refused or damaged are listed at the end and make the exit code non-zero.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunSummary } from '../../engine/run-store.js';
import { fleetDirOf } from '../../store/fleet-dir.js';
import { hostRunId } from '../../fleet/host-lane.js';
import { ExitCode, exitCodeFor } from '../exit-codes.js';
import { UsageError, act, commandNamed, once, retriesOption, withCommonOptions, type CommonOptions, type RunbookCommand } from '../args.js';
import { explain } from '../explain.js';
import { follow, outputMode } from '../follow.js';
import { runnerFor, storeOf, type Where } from '../state.js';
import { red } from '../render.js';
import { ON_TARGET_SIM_ONLY, connect, refuseTargetPassword } from '../targets.js';
import { alreadyRolledBack, printAlreadyRolledBack } from '../already-rolled-back.js';
import { withoutPassword } from '../../util/without-password.js';

interface ResumeOptions extends CommonOptions {
  all?: boolean;
  force?: boolean;
  allowRestart?: boolean;
  target?: string;
  onTarget?: boolean;
  retries?: number;
}

/** The run-wide overrides of a resume: `--allow-restart`, the restart window is open. */
function overridesOf(values: ResumeOptions): Record<string, boolean> {
  return values.allowRestart ? { allowRestart: true } : {};
}

async function resumeOne(id: string, values: ResumeOptions, where: Where): Promise<number> {
  const runner = await runnerFor(where, values.retries);
  // The journal is read once, here, and handed to the runner: the runbook reloaded from its recorded
  // source and checked, then the recorded target (or --target) connected, then the drive. A run that
  // ended is not driven again; one already rolled back is said to be, as `rollback` says it.
  const records = await where.store.readJournal(id);
  const note = alreadyRolledBack(records, id);
  if (note) printAlreadyRolledBack(note, id, values.json === true);
  const run = await runner.resume(id, {
    records,
    connect: (target) => {
      // The recorded target (or --target) is known only now: --on-target changes a simulated host only.
      if (values.onTarget && !target.startsWith('sim:')) throw new UsageError(`${ON_TARGET_SIM_ONLY}; run ${id} is on ${withoutPassword(target)}`);
      return connect(target, { onTarget: values.onTarget === true, writes: true });
    },
    target: values.target,
    runbook: 'reload',
    force: values.force === true,
    overrides: overridesOf(values),
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
          .option('--allow-restart', "the restart window is open: the run (a fleet's every host run) may restart its target now")
          .option('--force', 'go on although the runbook changed (or its file is gone): the journaled definition is used; take --target as another address of the run’s machine (not with a fleet id)')
          .option('-t, --target <target>', "reach the run's machine another way (transport, user, port); another host is refused unless --force, another Windows always (not with a fleet id)", once('--target'))
          .option('--on-target', 'sim: targets only: rehearse the engine running on the host itself')
          .addOption(retriesOption()),
      ),
      resumeCommand,
    ),
};

async function resumeCommand(values: ResumeOptions, operands: string[]): Promise<number> {
  const retries = values.retries;
  refuseTargetPassword(values.target);
  if (values.onTarget && values.target && !values.target.startsWith('sim:')) throw new UsageError(`${ON_TARGET_SIM_ONLY}, not to ${values.target.split(':')[0]}`);
  const where = await storeOf(values);
  if (!values.all) {
    if (operands.length !== 1) throw new UsageError('resume takes one run id, or --all');
    if (await where.store.isFleet(operands[0])) {
      if (values.onTarget) throw new UsageError(`${ON_TARGET_SIM_ONLY}; a fleet's hosts are never driven from one of them`);
      // A fleet has many targets, and its hosts' runs are resumed with the runbook the fleet recorded:
      // neither option has a meaning here, and neither is dropped unsaid.
      if (values.target) throw new UsageError(`--target reaches one run's machine another way; fleet ${operands[0]} has a target per host (its inventory): resume one host's run with \`runbook resume ${operands[0]}.<host> --target …\`, or leave --target out`);
      if (values.force) throw new UsageError(`--force has no meaning for fleet ${operands[0]}: its hosts' runs go on with the runbook the fleet recorded, never a changed file; leave --force out`);
      return (await import('../fleet.js')).resumeFleetCommand(where, operands[0], values.json === true, retries, overridesOf(values));
    }
    return resumeOne(operands[0], values, where);
  }
  if (operands.length > 0) throw new UsageError('resume takes one run id, or --all, not both');
  const runs = await where.store.listRuns();
  const damaged = runs.filter((r) => r.status === 'damaged');
  const fleets = await unfinishedFleets(where, runs);
  // A fleet resumed as a fleet drives its own hosts' runs (its waves, its budget, its reports): they are
  // not resumed one by one first.
  const fleetRuns = new Set(fleets.flatMap((f) => f.runIds));
  const ids = runs.filter((r) => (r.status === 'running' || r.status === 'awaiting-resume') && !fleetRuns.has(r.runId)).map((r) => r.runId);
  // --target and --force mean something for one run only (`resume <fleet-id>` refuses them): with a fleet
  // among what --all would resume, they are refused before anything is resumed, never dropped unsaid for
  // the fleet while the single runs take them.
  const single = values.target !== undefined ? '--target' : values.force ? '--force' : undefined;
  if (single && fleets.length > 0) {
    const names = fleets.map((f) => f.id).join(', ');
    const what = single === '--target' ? "reaches one run's machine another way; a fleet has a target per host (its inventory)" : "has no meaning for a fleet: its hosts' runs go on with the runbook the fleet recorded";
    throw new UsageError(
      `${single} ${what}, and resume --all would also resume fleet(s) ${names} in ${where.store.location}; nothing was resumed. Resume the fleet(s) without it (\`runbook resume --all\` without ${single}, or \`runbook resume <fleet-id>\`), and give ${single} to one run at a time (\`runbook resume <run-id> ${single}${single === '--target' ? ' …' : ''}\`)`,
    );
  }
  if (ids.length === 0 && damaged.length === 0 && fleets.length === 0) {
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
  // Then the fleets the controller left before their end, as `resume <fleet-id>` does: their runs under
  // way resume, their hosts never started start now (a spent budget stays spent), and their reports are
  // written again.
  if (fleets.length > 0) {
    const { resumeFleetCommand } = await import('../fleet.js');
    for (const { id } of fleets) {
      try {
        if (values.onTarget) throw new UsageError(`${ON_TARGET_SIM_ONLY}; a fleet's hosts are never driven from one of them`);
        worst = Math.max(worst, await resumeFleetCommand(where, id, values.json === true, retries, overridesOf(values)));
      } catch (error) {
        const { code, message } = explain(error);
        refused.push(`${id}: ${message.split('\n')[0]}`);
        worst = Math.max(worst, code);
      }
    }
  }
  if (refused.length > 0) {
    process.stderr.write(`${red('error:')} ${refused.length} run(s) could not be resumed:\n${refused.map((r) => `  - ${r}`).join('\n')}\n`);
    if (values.json) process.stdout.write(`${JSON.stringify({ event: 'error', code: 'RESUME_REFUSED', refused })}\n`);
    worst = Math.max(worst, ExitCode.usage);
  }
  return worst;
}

/**
 * The fleets of a file store that stopped before their end — no report yet (the controller died) or
 * one awaiting a resume (a signal stopped it, its budget unspent) — with their hosts' run ids:
 * `resume --all` goes on with them as `resume <fleet-id>` does, which writes their reports again, even
 * when every host has a run already (a signal stopped them all under way). A fleet with a damaged host
 * run is left to its runs (the damaged one is listed). A shared store's fleets are its workers' to finish.
 */
async function unfinishedFleets(where: Where, runs: RunSummary[]): Promise<{ id: string; runIds: string[] }[]> {
  if (where.store.kind !== 'file') return [];
  const damaged = new Set(runs.filter((r) => r.status === 'damaged').map((r) => r.runId));
  const out: { id: string; runIds: string[] }[] = [];
  for (const id of (await readdir(join(where.stateDir, 'fleets')).catch(() => [] as string[])).sort()) {
    if (!(await where.store.isFleet(id).catch(() => false))) continue;
    const report = await readFile(join(fleetDirOf(where.stateDir, id), 'report.json'), 'utf8').then(
      (text) => JSON.parse(text) as { status?: string; interrupted?: boolean; budget?: { spent?: boolean } },
      () => undefined,
    );
    // Stopped by a signal with its budget unspent, a failure within it or not (a report written before
    // such a fleet read `awaiting-resume` says `failed`): its hosts not started are still to start.
    const stopped = report?.status === 'awaiting-resume' || (report?.interrupted === true && report.budget?.spent === false);
    if (report !== undefined && !stopped) continue;
    const record = await where.store.readFleet(id).catch(() => null);
    const runIds = record ? record.inventory.hosts.map((h) => hostRunId(id, h.name)) : [];
    if (record && !runIds.some((r) => damaged.has(r))) out.push({ id, runIds });
  }
  return out;
}
