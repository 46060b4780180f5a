/**
 * `runbook run|plan <runbook> --inventory <file>`: the runbook over a fleet. One line per host as it
 * ends (and per wave as it starts), not one per step of every host; `--json` streams the fleet's events
 * as NDJSON, each with its host. Exit 0 when every host succeeded (or was planned), 75 when some wait for
 * a resume, 1 otherwise.
 */
import type { LoadedRunbook } from '../engine/runbook.js';
import { limitInventory, loadInventory } from '../fleet/inventory.js';
import { runResult } from '../engine/run-index.js';
import type { RunResult } from '../engine/types.js';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { budgetOf, countsAsFailure, fleetRecordOf, fleetResultOf, hostRunId, initialOutcomes, resumeFleet, settleOutcome, startFleet, type Fleet, type FleetResult } from '../fleet/fleet.js';
import { writeFleetReports } from '../fleet/fleet-report.js';
import type { PostgresStore } from '../store/postgres.js';
import { bundledStepKinds } from '../steps/index.js';
import { ExitCode, exitCodeFor, fleetRefusedAsInput } from './exit-codes.js';
import { UsageError, runnerFor, type Where } from './common.js';
import { bold, green, red, yellow } from './render.js';
import { connect } from './targets.js';

export interface FleetCommandOptions {
  runbook: LoadedRunbook;
  inventory: string;
  where: Where;
  /** Queue the hosts for workers and return at once (a PostgreSQL store). */
  noWait?: boolean;
  checkMode: boolean;
  params: Record<string, string>;
  concurrency?: string;
  maxFailures?: string;
  limit?: string;
  json: boolean;
  /** `--retries`: retries of a transient failure for every step of every host. */
  retries?: number;
}

const paint = (status: string) => (status === 'succeeded' || status === 'planned' ? green(status) : status === 'skipped' || status === 'awaiting-resume' ? yellow(status) : red(status));

export async function runFleetCommand(o: FleetCommandOptions): Promise<number> {
  let inventory = await loadInventory(o.inventory);
  if (o.limit) inventory = limitInventory(inventory, o.limit);
  const concurrency = o.concurrency === undefined ? 10 : Number(o.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency takes a whole number of at least 1, got "${o.concurrency}"`);
  try {
    budgetOf(o.maxFailures, inventory.hosts.length);
  } catch {
    throw new UsageError(`--max-failures takes a whole number of hosts (0 or more) or a percentage from 0% to 100% (e.g. 2 or 10%), got "${o.maxFailures}"`);
  }
  const fleetOptions = { kinds: bundledStepKinds(), runbook: o.runbook, inventory, checkMode: o.checkMode, params: o.params, concurrency, maxFailures: o.maxFailures };
  if (o.noWait) {
    // Checked as for a fleet driven here; then the workers take it from the store.
    const record = fleetRecordOf(fleetOptions);
    const { enqueueFleet } = await import('../store/shared.js');
    await enqueueFleet(o.where.store as PostgresStore, record);
    if (o.json) process.stdout.write(`${JSON.stringify({ event: 'fleet:queued', fleetId: record.fleetId, hosts: inventory.hosts.length })}\n`);
    else process.stdout.write(`${record.fleetId}\nqueued: ${inventory.hosts.length} host(s) in ${inventory.waves.length} wave(s) for \`runbook worker\`; follow with \`runbook status ${record.fleetId}\`\n`);
    return ExitCode.ok;
  }
  const runner = await runnerFor(o.where, o.retries);
  const fleet = startFleet({ ...fleetOptions, runner, connect: (target) => connect(target) });
  return follow(fleet, { json: o.json, heading: `${o.runbook.definition.name} on ${inventory.hosts.length} host(s) in ${inventory.waves.length} wave(s), ${concurrency} at a time${o.checkMode ? ' (plan: nothing is changed)' : ''}` });
}

/** `runbook resume <fleet-id>`: the fleet goes on from where its controller stopped. */
export async function resumeFleetCommand(where: Where, fleetId: string, json: boolean, retries?: number): Promise<number> {
  const runner = await runnerFor(where, retries);
  const fleet = await resumeFleet({ runner, kinds: bundledStepKinds(), connect: (target) => connect(target), fleetId });
  return follow(fleet, { json, heading: 'resumed: finished hosts stay as they ended, runs under way resume from their journals, hosts not started start now' });
}

/** `runbook status <fleet-id>`: a host × step matrix from each host's journal. */
export async function fleetStatus(where: Where, fleetId: string, json: boolean, reportsDir?: string): Promise<number> {
  const record = await where.store.readFleet(fleetId);
  // One column per id: steps that share an id under exclusive `when:` conditions are one column.
  const steps = [...new Set(record.runbook.steps.map((s) => s.id))];
  const rows: { wave: string; host: string; status: string; steps: string[]; error?: string }[] = [];
  const waves = initialOutcomes(record);
  const unreachable = await where.store.unreachableHosts(fleetId);
  let failures = 0;
  for (const [w, wave] of record.inventory.waves.entries()) {
    for (const [h, host] of wave.hosts.entries()) {
      let r: RunResult | undefined;
      try {
        r = await runResult(where.store, hostRunId(fleetId, host.name));
      } catch {
        r = undefined;
      }
      const outcome = waves[w].hosts[h];
      // Tried, and its target could not be reached: it has no run.
      const gone = r ? undefined : unreachable[host.name];
      if (r) {
        settleOutcome(outcome, r);
        outcome.runId = r.runId;
        if (countsAsFailure(r.status)) failures += 1;
      } else if (gone) {
        Object.assign(outcome, { status: 'unreachable', error: gone.error, endedAt: gone.at || undefined });
        failures += 1;
      }
      const status = r?.status ?? (gone ? 'unreachable' : 'not started');
      rows.push({ wave: wave.name, host: host.name, status, steps: steps.map((id) => r?.steps.find((s) => s.id === id)?.status ?? '-'), ...(gone ? { error: gone.error.message } : {}) });
    }
  }
  if (reportsDir) {
    const fleet = fleetResultOf(record, waves, { maxFailures: record.maxFailures, failures, spent: failures > record.maxFailures }, resolve(reportsDir));
    await mkdir(fleet.dir, { recursive: true });
    await writeFleetReports(fleet);
    process.stderr.write(`reports written to ${fleet.dir}\n`);
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ fleetId, steps, hosts: rows })}\n`);
    return ExitCode.ok;
  }
  const cell = (status: string) => CELL[status] ?? status;
  process.stdout.write(`${bold(`Fleet ${fleetId}`)}: ${record.runbook.name}${record.checkMode ? ' (plan)' : ''}, ${rows.length} host(s)\n`);
  process.stdout.write(`${'wave'.padEnd(12)} ${'host'.padEnd(20)} ${'status'.padEnd(18)} ${steps.map((s) => s.slice(0, 3).padEnd(4)).join('')}\n`);
  for (const row of rows) process.stdout.write(`${row.wave.padEnd(12)} ${row.host.padEnd(20)} ${row.status.padEnd(18)} ${row.steps.map((s) => cell(s).padEnd(4)).join('')}\n`);
  process.stdout.write(`steps: ${steps.join(', ')}\n${Object.entries(CELL).map(([k, v]) => `${v} ${k}`).join(' · ')} · - not reached\n`);
  for (const row of rows) if (row.error) process.stdout.write(`${row.host}: ${row.status}: ${row.error.split('\n')[0]}\n`);
  return ExitCode.ok;
}

const CELL: Record<string, string> = { succeeded: 'ok', skipped: '=', planned: 'pl', failed: 'X', compensated: 'un', 'compensation-failed': 'UX', running: '..', pending: '.' };

/** `runbook rollback <fleet-id>`: every host the fleet changed is rolled back, the last wave first. */
export async function rollbackFleetCommand(where: Where, fleetId: string, force: boolean, json: boolean): Promise<number> {
  const record = await where.store.readFleet(fleetId);
  const runner = await runnerFor(where);
  let worst: number = ExitCode.ok;
  for (const wave of [...record.inventory.waves].reverse()) {
    for (const host of [...wave.hosts].reverse()) {
      const runId = hostRunId(fleetId, host.name);
      let r: RunResult;
      try {
        r = await runResult(where.store, runId);
      } catch {
        continue; // never started: nothing to undo
      }
      if (r.checkMode || !['succeeded', 'awaiting-resume', 'running'].includes(r.status)) continue;
      const executor = await connect(host.target);
      try {
        const done = await (await runner.rollback(runId, { executor, force })).result;
        if (json) process.stdout.write(`${JSON.stringify({ event: 'host:rollback', fleetId, wave: wave.name, host: host.name, status: done.status })}\n`);
        else process.stdout.write(`  ${host.name.padEnd(24)} ${done.status === 'rolled-back' ? green('rolled back') : paint(done.status)}\n`);
        if (done.status !== 'rolled-back') worst = Math.max(worst, exitCodeFor(done.status));
      } finally {
        await executor.close();
      }
    }
  }
  return worst;
}

async function follow(fleet: Fleet, o: { json: boolean; heading: string }): Promise<number> {
  const out = (s: string) => process.stdout.write(s);
  if (o.json) {
    for (const event of ['wave:start', 'host:start', 'host:end', 'wave:end'] as const) {
      fleet.events.on(event, (e: object) => out(`${JSON.stringify({ event, ...e })}\n`));
    }
  } else if (process.stdout.isTTY) {
    // A terminal: one line per wave, rewritten as its hosts start and end, and each failure as it happens.
    out(`${bold(`Fleet ${fleet.id}`)}: ${o.heading}\n`);
    let wave = '';
    let counts = emptyCounts(0);
    const redraw = () => out(`\r\x1b[K${progressLine(wave, counts)}`);
    fleet.events.on('wave:start', (e) => {
      wave = e.wave;
      counts = emptyCounts(e.hosts.length);
      redraw();
    });
    fleet.events.on('host:start', () => {
      counts.pending -= 1;
      counts.running += 1;
      redraw();
    });
    fleet.events.on('host:end', (h) => {
      if (h.status !== 'skipped' && h.runId) counts.running = Math.max(0, counts.running - 1);
      else counts.pending -= 1;
      const key = h.status === 'succeeded' || h.status === 'planned' ? 'succeeded' : h.status === 'rolled-back' ? 'rolledBack' : h.status === 'awaiting-resume' ? 'waiting' : 'failed';
      counts[key] += 1;
      if (key === 'failed' || key === 'rolledBack') out(`\r\x1b[K  ${red(h.status)} ${h.host}: ${h.error?.message.split('\n')[0] ?? ''}\n`);
      redraw();
    });
    fleet.events.on('wave:end', () => out('\n'));
  } else {
    out(`${bold(`Fleet ${fleet.id}`)}: ${o.heading}\n`);
    fleet.events.on('wave:start', (e) => out(`\n${bold(`wave ${e.wave}`)}: ${e.hosts.length} host(s)\n`));
    fleet.events.on('host:end', (h) => {
      const error = h.error && h.status !== 'succeeded' ? ` — ${h.error.message.split('\n')[0]}` : '';
      out(`  ${h.host.padEnd(24)} ${paint(h.status)}  ${h.changes} change(s), ${h.roundTrips} round trip(s)${error}\n`);
    });
  }
  // The first SIGINT or SIGTERM stops the fleet at a safe point, as for a single run: no new host
  // starts, each running host stops at its next safe point; the fleet then exits 75. A second aborts.
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      process.stderr.write(`\n${signal}: stopping the fleet at a safe point: no new host starts, running hosts stop at their next safe point (${signal} again aborts at once; \`runbook resume ${fleet.id}\` goes on)\n`);
      fleet.interrupt();
      return;
    }
    process.stderr.write(`${signal} again: aborting now; \`runbook resume ${fleet.id}\` continues from the journals\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result: FleetResult;
  try {
    result = await fleet.result;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (o.json) out(`${JSON.stringify({ event: 'summary', ...result })}\n`);
  else out(summary(result));
  if (result.status === 'succeeded' || result.status === 'planned') return ExitCode.ok;
  if (result.status === 'failed' && fleetRefusedAsInput(result.waves.flatMap((w) => w.hosts))) return ExitCode.usage;
  return result.status === 'awaiting-resume' ? ExitCode.awaitingResume : ExitCode.failed;
}

type WaveCounts = { succeeded: number; failed: number; rolledBack: number; waiting: number; running: number; pending: number };
const emptyCounts = (hosts: number): WaveCounts => ({ succeeded: 0, failed: 0, rolledBack: 0, waiting: 0, running: 0, pending: hosts });

/** A wave's progress in one line: how many hosts succeeded, failed, rolled back, wait, run and are still to start. */
export function progressLine(wave: string, c: WaveCounts): string {
  return `wave ${bold(wave)}: ${green(`${c.succeeded} succeeded`)}, ${red(`${c.failed} failed`)}, ${c.rolledBack} rolled back, ${c.waiting} waiting, ${c.running} running, ${c.pending} pending`;
}

function summary(f: FleetResult): string {
  const c = f.counts;
  const lines = [
    '',
    `${bold('Fleet:')} ${paint(f.status)} — ${c.succeeded} ${f.checkMode ? 'planned' : 'succeeded'}, ${c.rolledBack} rolled back, ${c.failed} failed, ${c.waiting} waiting, ${c.skipped} skipped`,
  ];
  if (f.interrupted) lines.push(`  interrupted: running hosts stopped at a safe point, the others were not started; \`runbook resume ${f.fleetId}\` goes on`);
  if (f.budget.spent) lines.push(`  the failure budget (${f.budget.maxFailures}) was spent after ${f.budget.failures} failure(s): no host started after that; the skipped ones were never touched`);
  lines.push(`  reports: ${f.dir}/report.md, report.json, junit.xml`);
  return `${lines.join('\n')}\n`;
}
