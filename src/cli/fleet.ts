/**
 * `runbook run|plan <runbook> --inventory <file>`: the runbook over a fleet. What it prints as it goes
 * is fleet-output.ts's: a live block of the running hosts on a terminal, one line per step outcome and
 * per host in a pipe; `--json` streams the fleet's events as NDJSON, each with its host. Exit 0 when every host succeeded (or was planned), 75 when some wait for
 * a resume, 1 otherwise.
 */
import type { LoadedRunbook } from '../engine/runbook.js';
import { limitInventory, loadInventory, unmatchedLimitPatterns } from '../fleet/inventory.js';
import { runResult } from '../engine/run-index.js';
import { replay, resultOf } from '../engine/replay.js';
import type { JournalRecord } from '../engine/run-store.js';
import type { Change, RunResult } from '../engine/types.js';
import type { FleetRecord, HostOutcome } from '../fleet/types.js';
import { makeFolder } from '../util/make-folder.js';
import { basename, dirname, join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { budgetOf, countsAsFailure, refusedForInput, fleetRecordOf, fleetResultOf, hostRunId, initialOutcomes, resumeFleet, settleOutcome, startFleet, type Fleet, type FleetResult } from '../fleet/fleet.js';
import { writeFleetReports } from '../fleet/fleet-report.js';
import type { PostgresStore } from '../store/postgres.js';
import { bundledStepKinds } from '../steps/index.js';
import { ExitCode, detailedExitCode } from './exit-codes.js';
import { OUTCOMES, countOutcomes, describeCounts, exitCodeOf, outcomeOf, shortLabel, type Outcome } from '../engine/outcome.js';
import { UsageError } from './args.js';
import { stopOnSignals } from './signals.js';
import { reportsFolderRefusal, runnerFor, stateDirOf, type Where } from './state.js';
import { resumeWhere } from '../util/resume-where.js';
import { bold, green, red, renderChanges, yellow } from './render.js';
import { attachFleetOutput, operatorAlert, paintOutcome } from './fleet-output.js';

export { progressLine } from './fleet-view.js';
import { checkSimulatedHostWritable, checkTarget, connect, simulatedHostProblem } from './targets.js';
import { confirm } from './confirm.js';
import { fleetThreadsFor } from './fleet-thread.js';
import { JournalError, ValidationError, diskAdvice, diskProblem, journalDamaged } from '../errors.js';

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
  /** `plan --detailed-exitcode`: 0 nothing to do, 2 changes pending on some host, 1 an error. */
  detailedExitCode?: boolean;
  /** `--yes`: no confirmation on a terminal before the hosts are changed and restarted. */
  yes?: boolean;
}

/** An outcome's label in its colour. */

export async function runFleetCommand(o: FleetCommandOptions): Promise<number> {
  // An empty pattern (an unset shell variable: `--limit "$HOSTS"`) must not widen the run to every host.
  if (o.limit !== undefined) {
    const tokens = o.limit.split(/[,:]/).map((t) => t.trim());
    if (tokens.every((t) => t === '')) throw new UsageError(`--limit "${o.limit}" names no host (an unset shell variable?): give host names, groups or patterns, or leave --limit out to run every host`);
    // `!$SKIP` with SKIP unset is a lone `!`: excluding nothing, it would select every host.
    const bare = tokens.find((t) => /^[!&@]$/.test(t));
    if (bare) throw new UsageError(`--limit "${o.limit}": "${bare}" names no host (an unset shell variable?): give a host, group or pattern after it`);
  }
  let inventory = await loadInventory(o.inventory);
  if (o.limit !== undefined) {
    const refs = await limitRefs(o.where, o.limit);
    const whole = inventory;
    inventory = limitInventory(whole, o.limit, refs);
    // As Ansible's "Could not match supplied host pattern, ignoring": a mistyped `!web03x` must not pass unseen.
    for (const t of unmatchedLimitPatterns(whole, o.limit, refs)) process.stderr.write(`warning: --limit ${t} matches no host of ${whole.file}: ignored\n`);
  }
  // Plain decimal numbers only: `0x2`, `1e1` or `1.0` are typing errors, not 2, 10 and 1.
  if (o.concurrency !== undefined && !/^\d+$/.test(o.concurrency)) throw new UsageError(`--concurrency takes a whole number of at least 1 (e.g. 10), got "${o.concurrency}"`);
  const concurrency = o.concurrency === undefined ? 10 : Number(o.concurrency);
  if (concurrency < 1) throw new UsageError(`--concurrency takes a whole number of at least 1, got "${o.concurrency}"`);
  try {
    if (o.maxFailures !== undefined && !/^(\d+|\d+(\.\d+)?%)$/.test(o.maxFailures)) throw new Error('not a plain number');
    budgetOf(o.maxFailures, inventory.hosts.length);
  } catch {
    throw new UsageError(`--max-failures takes a whole number of hosts (0 or more) or a percentage from 0% to 100% (e.g. 2 or 10%), got "${o.maxFailures}"`);
  }
  // Every host's target checked before any host is contacted: `ftp://x` is a usage error here as with
  // --target, and so is a simulated host whose file is not there, not JSON or no simulated host (not a
  // host that does not answer). Each document is read, checked and dropped (measured: about 0.5
  // CPU-seconds for 5,000 hosts of ~11 KB; docs/fleets.md).
  for (const host of inventory.hosts) {
    const refuse = (message: string, issues: readonly string[], fix: string) =>
      new ValidationError(`host ${host.name} of ${inventory.file}: ${message}`, issues, { hint: `${fix}; no host was contacted, nothing was changed` });
    const relative = "(a sim: path is relative to the inventory's folder)";
    if (host.target.startsWith('sim:')) {
      const found = await simulatedHostProblem(host.target);
      if (!found) {
        // A run writes each simulated host's file (and its folder): a read-only one is refused here, as
        // `run --target` refuses it, before any host is changed — not met at its turn, after the others.
        if (o.checkMode) continue;
        try {
          checkSimulatedHostWritable(host.target);
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
          throw refuse(error.message.split('\n')[0], error.issues, `make the file and its folder writable by this user (a read-only copy can still be planned: \`runbook plan … --inventory\`), or fix the host's target in the inventory ${relative}`);
        }
        continue;
      }
      if (found.kind === 'file') throw refuse(found.message, found.issues, `create the file (\`runbook sim create --preset server-2016 --out ${host.target.slice(4)}\`) or fix the host's target in the inventory ${relative}`);
      throw refuse(found.message, found.issues, `${found.fix}; or fix the host's target in the inventory ${relative}`);
    }
    try {
      await checkTarget(host.target);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      throw refuse(error.message.split('\n')[0], error.issues, 'fix its target in the inventory');
    }
  }
  const fleetOptions = { kinds: bundledStepKinds(), runbook: o.runbook, inventory, checkMode: o.checkMode, params: o.params, concurrency, maxFailures: o.maxFailures };
  // Every host's parameters and $RUNBOOK_FLEET_THREADS checked before the question and before the
  // state directory is made: a bad --param is refused with nothing asked, created or contacted.
  const record = fleetRecordOf(fleetOptions);
  // $RUNBOOK_FLEET_THREADS=N spreads the hosts over N threads (src/cli/fleet-thread.ts).
  const threads = o.noWait ? undefined : fleetThreadsFor(o.where, o.retries, !o.checkMode);
  if (!o.checkMode && !(await confirm(`Run ${o.runbook.definition.name} on ${inventory.hosts.length} host(s) (${inventory.hosts.slice(0, 5).map((h) => h.name).join(', ')}${inventory.hosts.length > 5 ? ', …' : ''})? Each may be restarted.`, { yes: Boolean(o.yes) }))) {
    process.stderr.write('not confirmed: nothing was started (--yes skips this question)\n');
    return ExitCode.usage;
  }
  await stateDirOf(o.where.stateDir); // confirmed: the state directory and its runs/ are made now
  if (o.noWait) {
    // Checked as for a fleet driven here; then the workers take it from the store.
    const { enqueueFleet } = await import('../worker/entry.js');
    await enqueueFleet(o.where.store as PostgresStore, record);
    if (o.json) process.stdout.write(`${JSON.stringify({ event: 'fleet:queued', fleetId: record.fleetId, hosts: inventory.hosts.length })}\n`);
    else process.stdout.write(`${record.fleetId}\nqueued: ${inventory.hosts.length} host(s) in ${inventory.waves.length} wave(s) for \`runbook worker\`; follow with \`runbook status ${record.fleetId}\`\n`);
    return ExitCode.ok;
  }
  const runner = await runnerFor(o.where, o.retries);
  const fleet = startFleet({ ...fleetOptions, fleetId: record.fleetId, runner, connect: (target) => connect(target, { writes: !o.checkMode }), threads });
  if (o.detailedExitCode) {
    const code = await follow(fleet, { json: o.json, where: o.where, heading: `${o.runbook.definition.name} on ${inventory.hosts.length} host(s) (plan: nothing is changed)` });
    return detailedExitCode(code, (await fleet.result).counts['changes-pending'] > 0);
  }
  return follow(fleet, { json: o.json, where: o.where, heading: `${o.runbook.definition.name} on ${inventory.hosts.length} host(s) in ${inventory.waves.length} wave(s), ${concurrency} at a time${o.checkMode ? ' (plan: nothing is changed)' : ''}` });
}

/**
 * The `@<fleet-id>` of a `--limit`: the hosts of that fleet that failed (rolled back, rollback failed,
 * cancelled, unreachable), as AWX's "relaunch on failed hosts" and Ansible's retry files.
 */
async function limitRefs(where: Where, pattern: string): Promise<Record<string, string[]>> {
  const refs: Record<string, string[]> = {};
  for (const token of pattern.split(/[,:]/).map((t) => t.trim().replace(/^[!&]/, ''))) {
    if (!token.startsWith('@') || refs[token]) continue;
    const fleetId = token.slice(1);
    if (!(await where.store.isFleet(fleetId))) throw new UsageError(`--limit ${token}: no fleet ${fleetId} in ${where.store.location} (\`runbook status\` lists them)`);
    const record = await where.store.readFleet(fleetId);
    const unreachable = await where.store.unreachableHosts(fleetId);
    const failed: string[] = [];
    for (const host of record.inventory.hosts) {
      try {
        if (countsAsFailure(outcomeOf(await runResult(where.store, hostRunId(fleetId, host.name))))) failed.push(host.name);
      } catch {
        if (unreachable[host.name]) failed.push(host.name);
      }
    }
    refs[token] = failed;
  }
  return refs;
}

/**
 * `runbook resume <fleet-id>`: the fleet goes on from where its controller stopped; `overrides`
 * (`--allow-restart`) hold for every host run it drives.
 */
export async function resumeFleetCommand(where: Where, fleetId: string, json: boolean, retries?: number, overrides: Record<string, boolean> = {}): Promise<number> {
  const runner = await runnerFor(where, retries);
  // A run writes each simulated host's file: one read-only since the fleet started is refused at its
  // turn (not driven, its own reason), not met mid-run. A plan's fleet writes none.
  const writes = !(await where.store.readFleet(fleetId).then((r) => r.checkMode, () => false));
  const fleet = await resumeFleet({ runner, kinds: bundledStepKinds(), connect: (target) => connect(target, { writes }), fleetId, threads: fleetThreadsFor(where, retries, writes), overrides });
  return follow(fleet, { json, where, heading: 'resumed: finished hosts stay as they ended, runs under way resume from their journals, hosts not started start now' });
}

/**
 * Each host's outcome as its journal says now, or — a host without a run — the store's record of it:
 * unreachable, or held by another run's lease (interrupted, awaiting the fleet's resume).
 */
async function fleetNow(where: Where, record: FleetRecord) {
  const waves = initialOutcomes(record);
  const unreachable = await where.store.unreachableHosts(record.fleetId);
  const held = await where.store.heldHosts(record.fleetId);
  const hosts: { wave: string; host: string; r?: RunResult; gone?: { error: { message: string; code?: string } }; damaged?: boolean; outcome: HostOutcome }[] = [];
  let failures = 0;
  for (const [w, wave] of record.inventory.waves.entries()) {
    for (const [h, host] of wave.hosts.entries()) {
      let r: RunResult | undefined;
      let damaged: JournalError | undefined;
      try {
        r = await runResult(where.store, hostRunId(record.fleetId, host.name));
      } catch (error) {
        r = undefined;
        if (journalDamaged(error)) damaged = error;
      }
      const outcome = waves[w].hosts[h];
      if (damaged) {
        // It has a run, whose journal cannot be read: not "not started", nor an earlier "unreachable".
        const error = { name: damaged.name, code: damaged.code, message: `its journal is damaged: ${damaged.message}` };
        Object.assign(outcome, { status: 'awaiting-resume', outcome: 'interrupted', error, runId: hostRunId(record.fleetId, host.name) });
        hosts.push({ wave: wave.name, host: host.name, gone: { error }, damaged: true, outcome });
        continue;
      }
      // Tried, and its target could not be reached, or another run held it: it has no run.
      const gone = r ? undefined : (unreachable[host.name] ?? held[host.name]);
      if (r) {
        settleOutcome(outcome, r);
        outcome.runId = r.runId;
        if (countsAsFailure(outcome.outcome)) failures += 1;
      } else if (unreachable[host.name]) {
        Object.assign(outcome, { status: 'unreachable', outcome: 'unreachable', error: unreachable[host.name].error, endedAt: unreachable[host.name].at || undefined });
        failures += 1;
      } else if (gone) {
        Object.assign(outcome, { status: 'awaiting-resume', outcome: 'interrupted', error: gone.error, endedAt: gone.at || undefined });
      }
      hosts.push({ wave: wave.name, host: host.name, r, gone, outcome });
    }
  }
  // A run that says `running` while no driver holds it stopped without recording it: it awaits a resume
  // (as `runbook status` and the console show it), it is not under way.
  const undriven = await where.store.undrivenRuns(hosts.filter((h) => h.r?.status === 'running').map((h) => h.r!.runId));
  for (const h of hosts) if (h.r && undriven.has(h.r.runId)) h.outcome.outcome = 'interrupted';
  return { waves, hosts, failures };
}

/** `runbook status <fleet-id>`: a host × step matrix from each host's journal. */
export async function fleetStatus(where: Where, fleetId: string, json: boolean, reportsDir?: string): Promise<number> {
  const record = await where.store.readFleet(fleetId);
  // One column per id: steps that share an id under exclusive `when:` conditions are one column.
  const steps = [...new Set(record.runbook.steps.map((s) => s.id))];
  const { waves, hosts, failures } = await fleetNow(where, record);
  // Hosts a worker took and put off: their machine is another run's (a shared store's queue).
  const waiting = (await where.store.waitingHosts?.(fleetId)) ?? {};
  const rows = hosts.map(({ wave, host, r, gone, damaged, outcome }) => {
    const wait = waiting[host];
    return {
      wave,
      host,
      status: damaged ? 'damaged' : r && !(wait && r.status === 'running') ? r.status : gone ? (refusedForInput(gone.error) ? 'refused' : outcome.status) : wait ? 'waiting' : 'not started',
      outcome: r || gone ? outcome.outcome : ('not-started' as const),
      steps: steps.map((id) => r?.steps.find((s) => s.id === id)?.status ?? '-'),
      ...(gone ? { error: gone.error.message } : {}),
      ...(wait ? { waiting: `${wait.waiting}; tried again after ${wait.retryAt}` } : {}),
    };
  });
  if (reportsDir) {
    const fleet = fleetResultOf(record, waves, { maxFailures: record.maxFailures, failures, spent: failures > record.maxFailures }, resolve(reportsDir));
    await makeFolder(fleet.dir, reportsFolderRefusal(reportsDir));
    await writeFleetReports(fleet);
    process.stderr.write(`reports written to ${fleet.dir}\n`);
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ fleetId, steps, hosts: rows })}\n`);
    return ExitCode.ok;
  }
  const cell = (status: string) => CELL[status] ?? status;
  const counts = countOutcomes(rows.flatMap((r) => (r.outcome === 'not-started' ? [] : [r.outcome])));
  const notStarted = rows.filter((r) => r.outcome === 'not-started').length;
  process.stdout.write(`${bold(`Fleet ${fleetId}`)}: ${record.runbook.name}${record.checkMode ? ' (plan)' : ''}, ${rows.length} host(s): ${describeCounts(counts)}${notStarted ? `, ${notStarted} not started` : ''}\n`);
  // Columns as wide as their longest value; steps numbered (their ids may share a prefix), named below.
  // An outcome in the words of the fleet's lines and reports (its label), not its key (kept by --json).
  const words = (o: Outcome | 'not-started') => (o === 'not-started' ? 'not started' : shortLabel(o));
  const w = { wave: Math.max(4, ...rows.map((r) => r.wave.length)), host: Math.max(4, ...rows.map((r) => r.host.length)), outcome: Math.max(7, ...rows.map((r) => words(r.outcome).length)) };
  const heads = steps.map((_, i) => `${i + 1}`.padEnd(3));
  process.stdout.write(`${'wave'.padEnd(w.wave)}  ${'host'.padEnd(w.host)}  ${'outcome'.padEnd(w.outcome)}  ${heads.join('')}\n`);
  for (const row of rows) process.stdout.write(`${row.wave.padEnd(w.wave)}  ${row.host.padEnd(w.host)}  ${words(row.outcome).padEnd(w.outcome)}  ${row.steps.map((s) => cell(s).padEnd(3)).join('')}\n`);
  process.stdout.write(`steps: ${steps.map((s, i) => `${i + 1} ${s}`).join(', ')}\n${Object.entries(CELL).map(([k, v]) => `${v} ${k}`).join(' · ')} · - not reached\n`);
  for (const row of rows) if (row.error) process.stdout.write(`${row.host}: ${words(row.outcome)}: ${row.error.split('\n')[0]}\n`);
  for (const row of rows) if (row.waiting) process.stdout.write(`${row.host}: waiting: ${row.waiting}\n`);
  for (const row of rows) if (row.outcome === 'rollback-failed') process.stderr.write(operatorAlert(row.host, hostRunId(fleetId, row.host)));
  return ExitCode.ok;
}

const CELL: Record<string, string> = { succeeded: 'ok', skipped: '=', planned: 'pl', failed: 'X', compensated: 'un', 'compensation-failed': 'UX', running: '..', pending: '.' };

/** `runbook rollback <fleet-id>`: every host the fleet changed is rolled back, the last wave first. */
export async function rollbackFleetCommand(where: Where, fleetId: string, force: boolean, json: boolean, yes = false): Promise<number> {
  const record = await where.store.readFleet(fleetId);
  if (!(await confirm(`Roll back fleet ${fleetId} (${record.inventory.hosts.length} host(s))? Each host it changed is restored and may be restarted.`, { yes }))) {
    process.stderr.write('not confirmed: nothing was rolled back (--yes skips this question)\n');
    return ExitCode.usage;
  }
  // One controller per fleet: a rollback while `run --inventory` or `resume <fleet-id>` drives it would
  // skip the hosts that driver has yet to start (and it would then start them) and race it for the
  // reports — refused (LEASE_HELD, naming the driver), nothing contacted.
  const lease = await where.store.leaseFleet(fleetId);
  try {
    return await rollbackHosts(where, record, force, json);
  } finally {
    await lease.release();
  }
}

/** The hosts of a fleet rolled back, last wave first, under the fleet's lease; its reports rewritten. */
async function rollbackHosts(where: Where, record: FleetRecord, force: boolean, json: boolean): Promise<number> {
  const { fleetId } = record;
  const runner = await runnerFor(where);
  const outcomes: Outcome[] = [];
  /** The outcomes of the hosts left as they were: a plan, a run already rolled back. */
  const left: Outcome[] = [];
  for (const wave of [...record.inventory.waves].reverse()) {
    for (const host of [...wave.hosts].reverse()) {
      const runId = hostRunId(fleetId, host.name);
      let r: RunResult;
      let records: JournalRecord[];
      try {
        // Read once: what the run says now, and what its rollback goes on from.
        records = await where.store.readJournal(runId);
        r = resultOf(replay(records), where.store.location);
      } catch {
        continue; // never started: nothing to undo
      }
      // A host whose rollback failed is still changed: its undos that failed are retried, as
      // `rollback <run-id>` retries them (a plan, or a run rolled back already, is left as it is).
      if (r.checkMode || !['succeeded', 'awaiting-resume', 'running', 'rollback-failed'].includes(r.status)) {
        left.push(outcomeOf(r));
        continue;
      }
      const executor = await connect(host.target);
      try {
        const done = await (await runner.rollback(runId, { executor, force, records })).result;
        const outcome = outcomeOf(done);
        outcomes.push(outcome);
        if (json) process.stdout.write(`${JSON.stringify({ event: 'host:rollback', fleetId, wave: wave.name, host: host.name, status: done.status, outcome })}\n`);
        else process.stdout.write(`  ${host.name.padEnd(24)} ${paintOutcome(outcome)}\n`);
        if (outcome === 'rollback-failed') process.stderr.write(operatorAlert(host.name, done.runId));
      } finally {
        await executor.close();
      }
    }
  }
  if (outcomes.length === 0) {
    // As a single run's rollback of a run already rolled back: it says so, contacts nothing and exits
    // with the hosts' own outcomes (0 rolled back on request, 1 failed and rolled back).
    const what = left.length > 0 ? describeCounts(countOutcomes(left)) : 'no host started';
    const note = `fleet ${fleetId}: nothing to roll back — no host is left changed (${what}); no host was contacted`;
    if (json) process.stdout.write(`${JSON.stringify({ event: 'log', at: new Date().toISOString(), fleetId, level: 'info', message: note })}\n`);
    else process.stdout.write(`${note}\n`);
    return exitCodeOf(left);
  }
  await rewriteFleetReports(where, record);
  return exitCodeOf(outcomes);
}

/**
 * After a fleet's rollback, its reports say what its hosts are now (`rolled back on request`), as
 * `runbook status` does: the fleet's report.json, report.md and junit.xml, where its run wrote them
 * (none are made where there were none). The budget, the interruption and the start stay the fleet
 * run's, as its report.json recorded them, and so is its end.
 */
async function rewriteFleetReports(where: Where, record: FleetRecord): Promise<void> {
  const dir = where.store.fleetDir(record.fleetId);
  let before: Partial<FleetResult>;
  try {
    before = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as Partial<FleetResult>;
  } catch {
    return; // no reports here (the fleet stopped before its end, or ran on another machine)
  }
  const { waves, failures } = await fleetNow(where, record);
  const budget = before.budget ?? { maxFailures: record.maxFailures, failures, spent: failures > record.maxFailures };
  await writeFleetReports({ ...fleetResultOf(record, waves, budget, dir, Boolean(before.interrupted), before.drivenElsewhere, before.refused, before.awaitingRestart), ...(before.endedAt ? { endedAt: before.endedAt } : {}) });
}

async function follow(fleet: Fleet, o: { json: boolean; heading: string; where: Where }): Promise<number> {
  const out = (s: string) => process.stdout.write(s);
  const stop = attachFleetOutput(fleet.events, o.json ? 'json' : process.stdout.isTTY ? 'tty' : 'plain', { heading: `${bold(`Fleet ${fleet.id}`)}: ${o.heading}` });
  // The first SIGINT or SIGTERM stops the fleet at a safe point, as for a single run: no new host
  // starts, each running host stops at its next safe point; the fleet then exits 75. A second aborts.
  // Once the fleet's reports are written, its exit code is theirs: a second signal from then on (the
  // summary being printed, the lanes closing) exits with it, not 130/143.
  let reported: number | undefined;
  fleet.events.on('fleet:end', (f) => (reported = f.exitCode));
  const detach = stopOnSignals({
    first: (signal) => `${signal}: stopping the fleet at a safe point: no new host starts, running hosts stop at their next safe point (${signal} again aborts at once; \`runbook resume ${fleet.id}\` goes on)`,
    again: (signal) => `${signal} again: aborting now; \`runbook resume ${fleet.id}\` continues from the journals`,
    closed: (stream) => `${stream} was closed (its reader ended): stopping the fleet at a safe point, as one SIGINT does: no new host starts, running hosts stop at their next safe point; further output is discarded; \`runbook resume ${fleet.id}\` goes on`,
    interrupt: () => fleet.interrupt(),
    reported: () => reported,
  });
  try {
    let result: FleetResult;
    try {
      result = await fleet.result;
    } finally {
      stop();
    }
    const plans = result.checkMode ? await planDiffs(o.where, result) : undefined;
    if (o.json) out(`${JSON.stringify({ event: 'summary', ...result })}\n`);
    else out(summary(result, plans));
    // What the disk refused is said where alerts are read, --json or not: the outcome and exit code stand.
    process.stderr.write(diskNotes(result, o.where));
    // Settled with the result (a fleet refused for a parameter exits 2): the summary and reports say the same.
    return result.exitCode;
  } finally {
    detach();
  }
}

/** A plan's diffs, hosts that share the same diff grouped: `[hosts, diff]`, the largest group first. */
async function planDiffs(where: Where, f: FleetResult): Promise<[string[], string][]> {
  const groups = new Map<string, string[]>();
  for (const h of f.waves.flatMap((w) => w.hosts)) {
    if (h.outcome !== 'changes-pending' || !h.runId) continue;
    let diff: string;
    try {
      const r = await runResult(where.store, h.runId);
      // An action's "before" is the host's own (a restart: when it booted), and its file names — and the
      // RestartOwed marker a run that may not restart writes — carry the host's run id: none of these is
      // part of the diff hosts share.
      const own = (v: Change['after']) => (typeof v === 'string' ? v.split(r.runId).join('<run-id>') : v);
      const shared = (c: Change): Change => (c.action === 'run' ? { ...c, before: '…', after: own(c.after) } : { ...c, after: own(c.after) });
      diff = renderChanges({ ...r, steps: r.steps.map((st) => ({ ...st, changes: st.changes.map(shared) })) });
    } catch {
      continue;
    }
    groups.set(diff, [...(groups.get(diff) ?? []), h.host]);
  }
  return [...groups.entries()].map(([diff, hosts]) => [hosts, diff] as [string[], string]).sort((a, b) => b[0].length - a[0].length);
}

/**
 * A fleet's disk troubles in the operator's words: the state directory that stopped it (which file,
 * why, then `runbook resume <fleet-id>`), the store that stopped it (which host, what the store said, what to do), and each report its end could not write (the outcome stands;
 * `status <fleet-id> --reports DIR` writes them elsewhere, `resume <fleet-id>` here again).
 */
function diskNotes(f: FleetResult, where: Where): string {
  const lines: string[] = [];
  if (f.stateDir) {
    const { host, file, errno } = f.stateDir;
    lines.push(
      `${yellow('stopped:')} the state directory ${where.stateDir} would not take a write for host ${host}: ${file} (${errno}: ${diskProblem(errno)}); the fleet stopped there — no host started after it, running hosts stopped at a safe point, no target was blamed and no failure counted\n  → ${diskAdvice(errno, where.stateDir)}, then \`runbook resume ${f.fleetId}\` goes on`,
    );
  }
  // A host not driven for input to fix first: its error says what, where and what to do.
  for (const h of f.waves.flatMap((w) => w.hosts)) if (f.refused?.includes(h.host) && h.error) lines.push(`${red('error:')} host ${h.host} was not driven: ${h.error.message}`);
  if (f.storeStopped) {
    const { host, message, advice } = f.storeStopped;
    lines.push(
      `${yellow('stopped:')} the store failed the run of host ${host}: ${message}; the fleet stopped there — no host started after it, running hosts stopped at a safe point, no target was blamed and no failure counted\n  → ${advice ?? "check the store (its server's log)"}; then \`runbook resume ${f.fleetId}${resumeWhere(where.store.location)}\` goes on`,
    );
  }
  for (const u of f.unwritten ?? []) {
    lines.push(
      `${yellow('warning:')} ${u.file} could not be written (${u.errno}: ${diskProblem(u.errno)}); the fleet's outcome and exit code stand, its hosts' journals are intact\n  → ${diskAdvice(u.errno, dirname(u.file))}, then \`runbook status ${f.fleetId} --reports DIR\` writes the fleet's reports into DIR, or \`runbook resume ${f.fleetId}\` writes them here again`,
    );
  }
  return lines.map((l) => `${l}\n`).join('');
}

const FLEET_STATUS_TEXT: Record<FleetResult['status'], string> = { succeeded: 'done', planned: 'planned (nothing was changed)', 'awaiting-resume': 'awaiting resume', failed: 'failed' };

function summary(f: FleetResult, plans?: [string[], string][]): string {
  const tone = f.exitCode === 0 ? green : f.exitCode === 75 ? yellow : red;
  const lines = [''];
  for (const [hosts, diff] of plans ?? []) lines.push(`${bold(`${hosts.length} host(s)`)} (${hosts.join(', ')}) would change:`, diff);
  lines.push(`${bold('Fleet:')} ${tone(FLEET_STATUS_TEXT[f.status])} — ${describeCounts(f.counts)}`);
  if (f.interrupted) lines.push(`  interrupted: running hosts stopped at a safe point, the others were not started; \`runbook resume ${f.fleetId}\` goes on`);
  if (f.drivenElsewhere) {
    const one = f.drivenElsewhere.length === 1;
    const later = f.counts.skipped > 0 ? 'the fleet stopped after its wave, no later wave was started' : `${one ? 'its outcome is' : 'their outcomes are'} not known yet`;
    const runs = one ? ['another process drives its run (its line above names it)', 'that run has ended'] : ['other processes drive their runs (their lines above name them)', 'those runs have ended'];
    lines.push(`  driven elsewhere: ${f.drivenElsewhere.join(', ')} — ${runs[0]}; ${later}: \`runbook resume ${f.fleetId}\` goes on once ${runs[1]}`);
  }
  if (f.awaitingRestart) {
    const one = f.awaitingRestart.length === 1;
    lines.push(`  awaiting a restart window: ${f.awaitingRestart.join(', ')} — a wave restarts (and checks) its hosts before the next starts: the fleet stopped after ${one ? 'its' : 'their'} wave; \`runbook resume ${f.fleetId} --allow-restart\` in the window restarts ${one ? 'it' : 'them'} and goes on`);
  }
  if (f.refused) {
    lines.push(`  not driven: ${f.refused.join(', ')} — input to fix first (said on stderr); nothing was sent to ${f.refused.length === 1 ? 'it' : 'them'} and no failure counted; the fleet stopped after ${f.refused.length === 1 ? 'its' : 'their'} wave: \`runbook resume ${f.fleetId}\` goes on once it is fixed`);
  }
  if (f.budget.spent) {
    const rest = f.counts.skipped ? 'no host started after that; the skipped ones were never touched' : 'every host had already started';
    lines.push(`  the failure budget (${f.budget.maxFailures}) was spent after ${f.budget.failures} failure(s): ${rest}`);
  }
  const missing = (f.unwritten ?? []).map((u) => `${basename(u.file)} (${u.errno})`);
  lines.push(`  reports: ${f.dir}/report.md, report.json, junit.xml${missing.length > 0 ? ` — ${red(`not written: ${missing.join(', ')}`)}` : ''}`);
  return `${lines.join('\n')}\n`;
}
