/**
 * `runbook status`: the runs in the state directory, or one run's steps. Damaged runs are listed with
 * the reason they cannot be read.
 */
import { ExitCode } from '../exit-codes.js';
import { runResult } from '../../engine/run-index.js';
import { readdir } from 'node:fs/promises';
import { LEASE_EXPIRED, OUTCOMES, earlierError, outcomeLabel, shortLabel } from '../../engine/outcome.js';
import type { RunSummary } from '../../engine/run-index.js';
import { dirname, join, resolve } from 'node:path';
import { Option } from 'commander';
import { RunStatus } from '../../engine/types.js';
import { UsageError, act, refuseEmptyPath, commandNamed, withCommonOptions, type CommonOptions, type RunbookCommand } from '../args.js';
import { missingStateDirNote, reportsFolderRefusal, storeOf, type Where } from '../state.js';
import { checkFolder, makeFolder } from '../../util/make-folder.js';
import { writeFileAtomic } from '../../util/write-atomic.js';
import type { RunFiles } from '../../store/types.js';
import { bold, describeChange, red } from '../render.js';
import { existsSync } from 'node:fs';
import type { RunResult } from '../../engine/types.js';
import { resumeWhere } from '../../util/resume-where.js';

/**
 * What `--status` filters on: an outcome, a status, or a word `status` lists (a run whose driver died,
 * one that waits, a damaged journal).
 */
const STATUS_CHOICES = [...new Set([...Object.keys(OUTCOMES), ...Object.values(RunStatus), 'damaged', LEASE_EXPIRED, 'awaiting restart window', 'awaiting target restart'])];

interface StatusOptions extends CommonOptions {
  fleet?: string;
  status?: string;
  reports?: string;
}

/** How a status reads for people: an `awaiting-resume` run says what it waits for. */
export function statusText(status: string, awaiting?: RunResult['awaiting']): string {
  if (status !== 'awaiting-resume' || !awaiting) return status;
  return { 'restart-window': 'awaiting restart window', interrupted: 'interrupted', 'target-restart': 'awaiting target restart' }[awaiting];
}

/**
 * `runbook status [run-id | fleet-id]`: the fleets and runs of the store, or one run's steps, or a
 * fleet's matrix. Reads only.
 *
 * @example
 * ```ts
 * status.declare().helpInformation(); // 'Usage: runbook status [options] [id]…'
 * ```
 */
export const status: RunbookCommand = {
  name: 'status',
  declare: () =>
    act(
      withCommonOptions(
        commandNamed('status')
          .usage('[run-id | fleet-id] [options]')
          .description(
            [
              "Without an id: the fleets with their hosts' outcomes, then every run with its outcome and current step",
              '(a run whose driver died, its lease expired, shows as interrupted). Reads only: a read-only state',
              "directory will do. With a run id: that run's steps. With a fleet id: a host × step matrix of the fleet.",
            ].join(' '),
          )
          .argument('[id]', 'a run or a fleet')
          .option('--fleet <id>', 'only the runs of this fleet')
          .addOption(new Option('--status <outcome>', 'only the runs with this outcome or status').choices(STATUS_CHOICES))
          .option('--reports <dir>', "also write the run's files (report.md, report.json, undo files, backups) or the fleet's reports (report.md, report.json, junit.xml) into <dir>, from the store"),
        { json: 'the runs (or the run, or the fleet) as one JSON document' },
      ),
      statusCommand,
    ),
};

async function statusCommand(values: StatusOptions, positionals: string[]): Promise<number> {
  // An empty --reports is an unset shell variable, as an empty --state-dir is: never the current folder, never ignored.
  refuseEmptyPath('--reports', values.reports, 'give the folder to write the files into, or leave --reports out');
  if (values.reports && !positionals[0]) throw new UsageError('--reports goes with a run id or a fleet id');
  if ((values.fleet ?? values.status) !== undefined && positionals[0]) throw new UsageError('--fleet and --status filter the list of runs: give them without an id');
  // Journals only: no engine, no step kinds, no transport is loaded to list runs; nothing is written
  // (but --reports, which writes elsewhere).
  const where = await storeOf(values, { readOnly: true });
  // Before anything is read: a --reports that cannot take the files is refused, nothing made.
  if (values.reports) await checkFolder(values.reports, reportsFolderRefusal(values.reports));
  if (positionals[0] && (await where.store.isFleet(positionals[0]))) {
    const { fleetStatus } = await import('../fleet.js');
    return fleetStatus(where, positionals[0], values.json === true, values.reports);
  }
  if (positionals[0]) {
    const result = await runResult(where.store, positionals[0]);
    // A journal that says `running` with no driver holding the run: it stopped without recording it.
    const expired = result.status === 'running' && (await where.store.undrivenRuns([result.runId])).has(result.runId);
    if (values.reports) await writeFiles(values.reports, await where.store.runFiles(positionals[0]));
    if (values.json) process.stdout.write(`${JSON.stringify(expired ? { ...result, outcome: 'interrupted', leaseExpired: true } : result)}\n`);
    else {
      process.stdout.write(`${bold(result.runId)}  ${expired ? LEASE_EXPIRED : statusText(result.status, result.awaiting)}  ${result.runbook} → ${result.target}\n`);
      if (result.reason) process.stdout.write(`  ${result.reason}\n`);
      if (expired) process.stdout.write(`  ${undrivenNote(result.runId, where.store.location)}\n`);
      // The words the run's own result ends with (a failed plan: "plan failed (nothing changed)").
      process.stdout.write(`  outcome: ${expired ? LEASE_EXPIRED : outcomeLabel(result)}\n`);
      const earlier = earlierError(result);
      if (earlier) process.stdout.write(`  earlier: ${earlier.message} (${earlier.code})\n`);
      const idWidth = Math.max(4, ...result.steps.map((s) => s.id.length));
      for (const s of result.steps) process.stdout.write(`  ${s.id.padEnd(idWidth)}  ${s.status.padEnd(19)}  ${s.summary}\n`);
      process.stdout.write(whatIsLeft(result, where.store.location));
    }
    return ExitCode.ok;
  }
  let runs = await interruptedWhenLeaseExpired(where, await where.store.listRuns());
  const fleets = await fleetsOf(where, runs);
  if (values.fleet) {
    if (!fleets.some((f) => f.fleetId === values.fleet)) throw new UsageError(`--fleet ${values.fleet}: no such fleet in ${where.store.location}`);
    runs = runs.filter((r) => r.runId.startsWith(`${values.fleet}.`));
  }
  if (values.status) runs = runs.filter((r) => r.status === values.status || shownOutcome(r) === values.status);
  const shownFleets = values.fleet ? fleets.filter((f) => f.fleetId === values.fleet) : values.status ? [] : fleets;
  if (values.json) process.stdout.write(`${JSON.stringify(runs.map(({ expired, ...r }) => (expired ? { ...r, outcome: 'interrupted', leaseExpired: true } : r)))}\n`);
  else if (runs.length === 0 && shownFleets.length === 0) process.stdout.write(`no runs in ${where.store.location}${values.fleet || values.status ? ' match' : ''}${missingStateDirNote(where)}\n`);
  else {
    if (shownFleets.length > 0) {
      const w = Math.max(5, ...shownFleets.map((f) => f.fleetId.length));
      process.stdout.write(`${bold('FLEET'.padEnd(w))}  ${bold('RUNBOOK'.padEnd(20))}  ${bold('HOSTS')}\n`);
      for (const f of shownFleets) process.stdout.write(`${f.fleetId.padEnd(w)}  ${f.runbook.padEnd(20)}  ${f.hosts}: ${f.text}\n`);
      process.stdout.write('\n');
    }
    // A run still `running` has not ended (its summary's end is only its last record's time), whether
    // its driver lives or died.
    const rows = runs.map((r) => [r.runId, shownWords(shownOutcome(r)), r.currentStep ?? '-', r.startedAt || '-', (r.status !== 'running' && r.endedAt) || '-', r.status === 'damaged' ? (r.error ?? '') : r.target]);
    const head = ['RUN', 'OUTCOME', 'STEP', 'STARTED', 'ENDED', 'TARGET'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
    process.stdout.write(`${bold(line(head))}\n`);
    for (const r of rows) process.stdout.write(`${line(r)}\n`);
  }
  return ExitCode.ok;
}

/**
 * What a run left on its target, as its report and the end of its drive told it: each change still
 * there, where its undo files are, and the command that goes on — so that an operator sent here (a
 * fleet's ROLLBACK FAILED line names `runbook status <id>`) finds what to undo and how, as the run's own
 * output said it. Empty for a run that left nothing.
 */
function whatIsLeft(result: RunResult, location: string): string {
  const lines: string[] = [];
  if (result.remaining && result.remaining.length > 0) {
    lines.push(`  ${red(`still changed on the target (${result.remaining.length}):`)}`);
    for (const c of result.remaining) lines.push(`    ${describeChange(c)}`);
    // The files are written beside the journal when the drive ends; a shared store keeps them (filesAt says how to get them).
    const dir = result.filesAt;
    if (dir && existsSync(join(dir, 'undo.reg')) && existsSync(join(dir, 'undo.ps1'))) {
      lines.push(`  to undo on the target's console: ${join(dir, 'undo.reg')} (reg import) or ${join(dir, 'undo.ps1')}, then restart`);
    } else if (dir && !existsSync(dir)) {
      lines.push(`  undo.reg and undo.ps1 are kept in ${dir}`);
    }
  }
  const where = resumeWhere(location);
  if (result.status === 'awaiting-resume') {
    lines.push(`  continue with: runbook resume ${result.runId}${result.awaiting === 'restart-window' ? ' --allow-restart' : ''}${where}`);
    lines.push(`  or undo it:    runbook rollback ${result.runId}${where}`);
  }
  if (result.status === 'rollback-failed') lines.push(`  once the cause is fixed: runbook rollback ${result.runId}${where} retries the undos that failed`);
  return lines.map((l) => `${l}\n`).join('');
}

/** How a run whose journal says `running` is shown when no driver holds it (its lease lapsed, or was let go of). */

/** What a run no driver holds waits for, and the command that continues it. */
function undrivenNote(runId: string, location: string): string {
  return `no driver holds it (its lease expired or was let go of: its driver died, or lost its store, before the journal could record the stop) — resume with \`runbook resume ${runId}${resumeWhere(location)}\``;
}

/** How a run is listed: its outcome (`interrupted (lease expired)` for a run whose driver died). */
function shownOutcome(r: Listed): string {
  if (r.status === 'damaged') return 'damaged';
  if (r.expired) return LEASE_EXPIRED;
  if (r.outcome) return r.outcome;
  return statusText(r.status, r.awaiting);
}

/** An outcome key as people read it (its label, as the fleet lines and reports say it); other words as they are. */
function shownWords(shown: string): string {
  return shown in OUTCOMES ? shortLabel(shown as keyof typeof OUTCOMES) : shown;
}

type Listed = RunSummary & { expired?: boolean };

/**
 * Runs that say `running` but whose lease is no longer live (expired, released, its process gone):
 * their driver died or lost its store, and they wait for `runbook resume`. In either store: a run a
 * worker of another machine drives holds its lease, and stays `running`.
 */
async function interruptedWhenLeaseExpired(where: Where, runs: RunSummary[]): Promise<Listed[]> {
  const undriven = await where.store.undrivenRuns(runs.filter((r) => r.status === 'running').map((r) => r.runId));
  return runs.map((r) => (undriven.has(r.runId) ? { ...r, expired: true } : r));
}

/** The fleets of the store, each with its hosts' outcomes counted (from their runs, and the records of hosts unreachable or held). */
async function fleetsOf(where: Where, runs: RunSummary[]): Promise<{ fleetId: string; runbook: string; hosts: number | '?'; text: string }[]> {
  const ids = new Set(runs.map((r) => r.runId.split('.')[0]).filter((id) => /-fleet-/.test(id)));
  if (where.store.kind === 'file') {
    for (const id of await readdir(join(where.stateDir, 'fleets')).catch(() => [] as string[])) ids.add(id);
  }
  const out = [];
  for (const fleetId of [...ids].sort()) {
    if (!(await where.store.isFleet(fleetId).catch(() => false))) continue;
    let record;
    try {
      record = await where.store.readFleet(fleetId);
    } catch (error) {
      // One damaged record hides nothing else: the fleet is listed as damaged (its runs stay listed
      // below), as a damaged run is; `status <fleet-id>` names the file and the fields.
      out.push({ fleetId, runbook: '-', hosts: '?' as const, text: `damaged — ${(error as Error).message.split('\n')[0]}` });
      continue;
    }
    const unreachable = await where.store.unreachableHosts(fleetId).catch(() => ({}) as Record<string, unknown>);
    // A host another run's lease held: no run, it waits for the fleet's resume.
    const held = await where.store.heldHosts(fleetId).catch(() => ({}) as Record<string, unknown>);
    const counts: Record<string, number> = {};
    for (const host of record.inventory.hosts) {
      const run = runs.find((r) => r.runId === `${fleetId}.${host.name}`);
      const shown = run ? shownOutcome(run) : unreachable[host.name] ? 'unreachable' : held[host.name] ? 'interrupted' : 'not started';
      counts[shown] = (counts[shown] ?? 0) + 1;
    }
    out.push({ fleetId, runbook: record.runbook.name, hosts: record.inventory.hosts.length, text: Object.entries(counts).map(([k, n]) => `${n} ${shownWords(k)}`).join(', ') });
  }
  return out;
}

/** A run's files, as the store keeps them, under a folder. */
async function writeFiles(dir: string, files: RunFiles): Promise<void> {
  // Level by level (a recursive mkdir never returns on /proc); a full disk names the file (exit 2).
  await makeFolder(dir, reportsFolderRefusal(dir));
  const made = new Set([resolve(dir)]);
  for (const [name, content] of Object.entries(files)) {
    const file = resolve(dir, name);
    // Names come from the store: none may leave the folder.
    if (!file.startsWith(`${resolve(dir)}/`)) continue;
    // Each folder checked and made once (its backups/ holds many files).
    if (!made.has(dirname(file))) {
      await makeFolder(dirname(file), reportsFolderRefusal(dir), { named: true });
      made.add(dirname(file));
    }
    await writeFileAtomic(file, content);
  }
  process.stderr.write(`files written to ${join(resolve(dir), '')}\n`);
}
