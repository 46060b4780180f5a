/**
 * `runbook status`: the runs in the state directory, or one run's steps. Damaged runs are listed with
 * the reason they cannot be read.
 */
import { ExitCode } from '../exit-codes.js';
import { runResult } from '../../engine/run-index.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { COMMON_OPTIONS, UsageError, parse, storeOf, type Command } from '../common.js';
import { bold } from '../render.js';
import type { RunResult } from '../../engine/types.js';

const usage = `Usage: runbook status [run-id | fleet-id] [--reports <dir>]

Without an id: every run in the store, with its status and current step.
With a run id: that run's steps. With a fleet id: a host × step matrix of the fleet.

Options
  --reports <dir>     also write the run's files (report.md, report.json, undo files, backups) or the
                      fleet's reports (report.md, report.json, junit.xml) into <dir>, from the store

${COMMON_OPTIONS}`;

/** How a status reads for people: an `awaiting-resume` run says what it waits for. */
export function statusText(status: string, awaiting?: RunResult['awaiting']): string {
  if (status !== 'awaiting-resume' || !awaiting) return status;
  return { 'restart-window': 'awaiting restart window', interrupted: 'interrupted', 'target-restart': 'awaiting target restart' }[awaiting];
}

export const status: Command = {
  name: 'status',
  usage,
  async run(args) {
    const { values, positionals } = parse(args, { reports: { type: 'string' } });
    if (values.reports && !positionals[0]) throw new UsageError('--reports goes with a run id or a fleet id');
    // Journals only: no engine, no step kinds, no transport is loaded to list runs.
    const where = await storeOf(values);
    if (positionals[0] && (await where.store.isFleet(positionals[0]))) {
      const { fleetStatus } = await import('../fleet.js');
      return fleetStatus(where, positionals[0], values.json, values.reports);
    }
    if (positionals[0]) {
      const result = await runResult(where.store, positionals[0]);
      if (values.reports) await writeFiles(values.reports, await where.store.runFiles(positionals[0]));
      if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else {
        process.stdout.write(`${bold(result.runId)}  ${statusText(result.status, result.awaiting)}  ${result.runbook} → ${result.target}\n`);
        if (result.reason) process.stdout.write(`  ${result.reason}\n`);
        for (const s of result.steps) process.stdout.write(`  ${s.id.padEnd(10)} ${s.status.padEnd(20)} ${s.summary}\n`);
      }
      return ExitCode.ok;
    }
    const runs = await where.store.listRuns();
    if (values.json) process.stdout.write(`${JSON.stringify(runs)}\n`);
    else if (runs.length === 0) process.stdout.write(`no runs in ${where.store.location}\n`);
    else {
      for (const s of runs) {
        if (s.status === 'damaged') process.stdout.write(`${s.runId}  damaged          ${s.error}\n`);
        else process.stdout.write(`${s.runId}  ${statusText(s.status, s.awaiting).padEnd(24)} ${(s.currentStep ?? '-').padEnd(10)} ${s.startedAt} → ${s.endedAt}  ${s.target}\n`);
      }
    }
    return ExitCode.ok;
  },
};

/** A run's files, as the store keeps them, under a folder. */
async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const file = resolve(dir, name);
    // Names come from the store: none may leave the folder.
    if (!file.startsWith(`${resolve(dir)}/`)) continue;
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  process.stderr.write(`files written to ${join(resolve(dir), '')}\n`);
}
