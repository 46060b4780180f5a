/**
 * `runbook run|plan <runbook> --inventory <file>`: the runbook over a fleet. One line per host as it
 * ends (and per wave as it starts), not one per step of every host; `--json` streams the fleet's events
 * as NDJSON, each with its host. Exit 0 when every host succeeded (or was planned), 75 when some wait for
 * a resume, 1 otherwise.
 */
import type { LoadedRunbook } from '../engine/runbook.js';
import { limitInventory, loadInventory } from '../fleet/inventory.js';
import { startFleet, type FleetResult } from '../fleet/fleet.js';
import { bundledStepKinds } from '../steps/index.js';
import { ExitCode } from './exit-codes.js';
import { UsageError, runnerFor } from './common.js';
import { bold, green, red, yellow } from './render.js';
import { connect } from './targets.js';

export interface FleetCommandOptions {
  runbook: LoadedRunbook;
  inventory: string;
  stateDir: string;
  checkMode: boolean;
  params: Record<string, string>;
  concurrency?: string;
  maxFailures?: string;
  limit?: string;
  json: boolean;
}

const paint = (status: string) => (status === 'succeeded' || status === 'planned' ? green(status) : status === 'skipped' || status === 'awaiting-resume' ? yellow(status) : red(status));

export async function runFleetCommand(o: FleetCommandOptions): Promise<number> {
  let inventory = await loadInventory(o.inventory);
  if (o.limit) inventory = limitInventory(inventory, o.limit);
  const concurrency = o.concurrency === undefined ? 10 : Number(o.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency takes a whole number of at least 1, got "${o.concurrency}"`);
  if (o.maxFailures !== undefined && !/^\d+(\.\d+)?%$|^\d+$/.test(o.maxFailures)) throw new UsageError(`--max-failures takes a number or a percentage (e.g. 2 or 10%), got "${o.maxFailures}"`);
  const runner = await runnerFor(o.stateDir);
  const fleet = startFleet({
    runner,
    kinds: bundledStepKinds(),
    runbook: o.runbook,
    inventory,
    connect: (target) => connect(target),
    stateDir: o.stateDir,
    checkMode: o.checkMode,
    params: o.params,
    concurrency,
    maxFailures: o.maxFailures,
  });
  const out = (s: string) => process.stdout.write(s);
  if (o.json) {
    for (const event of ['wave:start', 'host:start', 'host:end', 'wave:end'] as const) {
      fleet.events.on(event, (e: object) => out(`${JSON.stringify({ event, ...e })}\n`));
    }
  } else {
    out(`${bold(`Fleet ${fleet.id}`)}: ${o.runbook.definition.name} on ${inventory.hosts.length} host(s) in ${inventory.waves.length} wave(s), ${concurrency} at a time${o.checkMode ? ' (plan: nothing is changed)' : ''}\n`);
    fleet.events.on('wave:start', (e) => out(`\n${bold(`wave ${e.wave}`)}: ${e.hosts.length} host(s)\n`));
    fleet.events.on('host:end', (h) => {
      const error = h.error && h.status !== 'succeeded' ? ` — ${h.error.message.split('\n')[0]}` : '';
      out(`  ${h.host.padEnd(24)} ${paint(h.status)}  ${h.changes} change(s), ${h.roundTrips} round trip(s)${error}\n`);
    });
  }
  const result = await fleet.result;
  if (o.json) out(`${JSON.stringify({ event: 'summary', ...result })}\n`);
  else out(summary(result));
  if (result.status === 'succeeded' || result.status === 'planned') return ExitCode.ok;
  return result.status === 'awaiting-resume' ? ExitCode.awaitingResume : ExitCode.failed;
}

function summary(f: FleetResult): string {
  const c = f.counts;
  const lines = [
    '',
    `${bold('Fleet:')} ${paint(f.status)} — ${c.succeeded} ${f.checkMode ? 'planned' : 'succeeded'}, ${c.rolledBack} rolled back, ${c.failed} failed, ${c.waiting} waiting, ${c.skipped} skipped`,
  ];
  if (f.budget.spent) lines.push(`  the failure budget (${f.budget.maxFailures}) was spent after ${f.budget.failures} failure(s): no host started after that; the skipped ones were never touched`);
  lines.push(`  reports: ${f.dir}/report.md, report.json, junit.xml`);
  return `${lines.join('\n')}\n`;
}
