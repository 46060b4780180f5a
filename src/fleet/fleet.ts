/**
 * A fleet: one runbook over the hosts of an inventory, each host its own run (its own journal, lease and
 * saga), wave after wave, a few hosts at a time, within a failure budget. Once more hosts failed than
 * the budget allows, no new host starts: the running ones finish (or roll back), and every host not
 * started is reported as skipped — the next waves are never touched.
 *
 * Every host's parameters are resolved and every step's checked before the first host is contacted: a
 * bad parameter for any host refuses the whole fleet, and nothing is changed anywhere.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { EventEmitter } from 'eventemitter3';
import { JournalError, ValidationError, journalDamaged, type ErrorRecord } from '../errors.js';
import type { StepKindRegistry } from '../engine/kinds.js';
import { checkStepParameters, resolveParameters } from '../engine/loader.js';
import type { Run, Runner } from '../engine/runner.js';
import type { JournalRecord, Lease, RunStore } from '../engine/run-store.js';
import type { LoadedRunbook, RunbookDefinition } from '../engine/runbook.js';
import { replay, resultOf } from '../engine/replay.js';
import type { Json, RunResult } from '../engine/types.js';
import { OUTCOMES, countOutcomes, exitCodeOf, fleetRefusedAsInput, outcomeOf, changedValues, type Outcome } from '../engine/outcome.js';
import type { Inventory, InventoryHost } from './inventory.js';
import { hostRunId, localLane, paramsFor, type HostDeps, type HostLane } from './host-lane.js';
import { laneGroup, threadCountOf, workerLane, type FleetThreads } from './threads.js';
import type { FleetEvents, FleetRecord, FleetResult, FleetStore, HostOutcome, HostStatus, HostStepEvent } from './types.js';

export type { FleetEvents, FleetRecord, FleetResult, HostOutcome, HostStatus, HostStepEvent } from './types.js';
import { writeFleetReportsNoting } from './fleet-report.js';
import { MAX_ID_LENGTH, isId, notAnId } from '../util/id.js';

/** A runner whose store keeps fleets too (both stores of `src/store/` do). */
export type FleetRunner = Runner<RunStore & FleetStore>;

/**
 * What a fleet is given: the runner and the step kinds, the runbook and the inventory, how to reach a
 * target, and how many hosts run at once and may fail.
 *
 * @example
 * ```ts
 * const kinds = bundledStepKinds();
 * const options: FleetOptions = {
 *   runner: new Runner({ kinds, stateDir: '.runbook' }),
 *   kinds,
 *   runbook: await loadRunbook('orchestrator-tls12', kinds),
 *   inventory: await loadInventory('inventory.yaml'),
 *   connect: (target) => createSimulatedExecutor(target.slice('sim:'.length)),
 *   concurrency: 5,
 *   maxFailures: '10%',
 * };
 * const fleet = startFleet(options);
 * ```
 */
export interface FleetOptions extends HostDeps {
  runner: FleetRunner;
  kinds: StepKindRegistry;
  runbook: LoadedRunbook;
  inventory: Inventory;
  checkMode?: boolean;
  /** Parameters that win over the inventory's (e.g. from the command line). */
  params?: Record<string, unknown>;
  /** Hosts driven at once. @default 10 */
  concurrency?: number;
  /** Failed hosts tolerated: a number, or a percentage of the fleet (`"10%"`). @default 0 */
  maxFailures?: number | string;
  /**
   * The fleet's id (made when not given). Refused up front unless it is an id (letters, digits, `.`, `_`,
   * `-`) short enough that `<fleet-id>.<host>`, each host's run id, holds at most 255 characters.
   */
  fleetId?: string;
  /**
   * Spread the hosts over worker threads (see {@link FleetThreads}): the main thread keeps the fleet and
   * drives a share of the hosts, each worker the rest. @default every host in the main thread
   */
  threads?: FleetThreads;
}

/**
 * A fleet under way: its id, its events (each naming its wave and host), its result, and how to stop
 * it at a safe point.
 *
 * @example
 * ```ts
 * declare const options: FleetOptions;
 * const fleet: Fleet = startFleet(options);
 * fleet.events.on('host:end', (h) => console.log(h.host, h.outcome));
 * process.once('SIGINT', () => fleet.interrupt());
 * console.log((await fleet.result).exitCode);
 * ```
 */
export interface Fleet {
  id: string;
  events: EventEmitter<FleetEvents>;
  result: Promise<FleetResult>;
  /**
   * Stops the fleet at a safe point (SIGINT, SIGTERM): no new host starts, and each running host stops
   * at its next safe point, awaiting a resume; `runbook resume <fleet-id>` goes on.
   */
  interrupt(): void;
}


/** Outcomes that spend the failure budget (a run left `running` by a driver that stopped counts too). */
const fails = (o: Outcome) => OUTCOMES[o].failure || o === 'running';
const UNFINISHED: ReadonlySet<string> = new Set(['running', 'awaiting-resume']);

/**
 * The failure budget as a number of hosts.
 *
 * @example
 * ```ts
 * budgetOf('10%', 25); // 2
 * budgetOf(3, 25); // 3
 * budgetOf(undefined, 25); // 0
 * ```
 */
export function budgetOf(maxFailures: number | string | undefined, hosts: number): number {
  if (maxFailures === undefined) return 0;
  const text = String(maxFailures).trim();
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text);
  const refuse = (what: string) => new ValidationError('invalid failure budget', [`maxFailures: ${what}, got "${text}"`], { hint: 'give a number of hosts (0 or more) or a percentage from 0% to 100%' });
  if (!m || (m[2] === '' && !Number.isInteger(Number(m[1])))) throw refuse('a whole number or a percentage (e.g. 2 or 10%)');
  if (m[2] === '%' && Number(m[1]) > 100) throw refuse('a percentage is at most 100%');
  return m[2] === '%' ? Math.floor((Number(m[1]) / 100) * hosts) : Number(m[1]);
}

/** A host's outcome from its run's result. */
export function settleOutcome(outcome: HostOutcome, r: RunResult): void {
  outcome.status = r.status;
  outcome.outcome = outcomeOf(r);
  if (r.error) outcome.error = r.error;
  outcome.roundTrips = r.roundTrips;
  outcome.changes = changedValues(r);
  outcome.startedAt = r.startedAt;
  outcome.endedAt = r.endedAt;
}

/** The outcomes of a fleet's hosts before any has run: every one `skipped` until it starts. */
export function initialOutcomes(record: FleetRecord): FleetResult['waves'] {
  return record.inventory.waves.map((w) => ({
    name: w.name,
    hosts: w.hosts.map((h) => ({ host: h.name, wave: w.name, target: h.target, status: 'skipped' as HostStatus, outcome: 'skipped' as Outcome, changes: 0, roundTrips: 0 })),
  }));
}

/**
 * The fleet's result from its hosts' outcomes. `drivenElsewhere` names the hosts whose runs another
 * driver held, `refused` those not driven for input to fix first (a damaged journal, a bad lease
 * record, a simulated host file that cannot be used or written): the fleet stopped
 * after their wave, as a signal stops it — with `refused`, exit 2 unless a host failed (1) or needs an
 * operator (3). `awaitingRestart` names the hosts of a wave that await their restart window with a
 * later wave to go: the fleet stopped after their wave, awaiting its resume.
 */
export function fleetResultOf(
  record: FleetRecord,
  waves: FleetResult['waves'],
  budget: FleetResult['budget'],
  dir: string,
  interrupted = false,
  drivenElsewhere: readonly string[] = [],
  refused: readonly string[] = [],
  awaitingRestart: readonly string[] = [],
): FleetResult {
  const all = waves.flatMap((w) => w.hosts);
  const counts = countOutcomes(all.map((h) => h.outcome));
  const done = all.filter((h) => OUTCOMES[h.outcome].exitCode === 0 && h.outcome !== 'skipped').length;
  const waits = all.filter((h) => OUTCOMES[h.outcome].exitCode === 75).length;
  const ok = done === all.length;
  // Stopped by a signal, or after a wave that left a host driven elsewhere, with its budget unspent and
  // hosts left (not started, or waiting): the fleet waits for its resume — a failure within the budget
  // does not end it.
  const left = all.some((h) => h.outcome === 'skipped' || OUTCOMES[h.outcome].exitCode === 75);
  const stopped = interrupted || drivenElsewhere.length > 0 || refused.length > 0 || awaitingRestart.length > 0;
  const waiting = (waits > 0 && waits + done === all.length) || (stopped && !budget.spent && left);
  const code = exitCodeOf(all.map((h) => h.outcome));
  const status = ok ? (record.checkMode ? 'planned' : 'succeeded') : waiting ? 'awaiting-resume' : 'failed';
  // Every host started refused for a parameter: nothing changed anywhere, an input error (exit 2).
  const exitCode = status === 'failed' && fleetRefusedAsInput(all) ? 2 : code === 0 && (waiting || !ok) ? (waiting ? 75 : 1) : code;
  return {
    fleetId: record.fleetId,
    runbook: record.runbook.name,
    checkMode: record.checkMode,
    status,
    budget,
    ...(interrupted ? { interrupted } : {}),
    ...(drivenElsewhere.length > 0 ? { drivenElsewhere: [...drivenElsewhere] } : {}),
    ...(refused.length > 0 ? { refused: [...refused] } : {}),
    ...(awaitingRestart.length > 0 ? { awaitingRestart: [...awaitingRestart] } : {}),
    waves,
    counts,
    // A host not driven for input to fix first: waiting (75), unreachable (69) or done (0) would say to
    // wait or that all is well; a failure (1) or an operator needed (3) says more.
    exitCode: refused.length > 0 && exitCode !== 1 && exitCode !== 3 ? 2 : exitCode,
    startedAt: record.startedAt,
    endedAt: new Date().toISOString(),
    dir,
  };
}

/**
 * True when a host's outcome (or its run's status, where no outcome is at hand) counts against the
 * failure budget. A run status that is not an outcome (`succeeded`, `planned`, `awaiting-resume`) never does.
 */
export function countsAsFailure(outcome: Outcome | HostStatus): boolean {
  return outcome in OUTCOMES && fails(outcome as Outcome);
}

export { hostRun, hostRunId, type HostRunEnd } from './host-lane.js';

/**
 * Whether a host the store records as held without a run (`heldHosts`) was refused at its turn for
 * input to fix first (a `ValidationError`, a damaged journal) rather than held by another run's lease.
 */
export function refusedForInput(error: { code?: string }): boolean {
  return error.code === 'VALIDATION' || (error.code?.startsWith('JOURNAL_') ?? false);
}

/**
 * Starts a fleet. Throws before anything starts when a host's parameters are wrong or the budget is not
 * a number or a percentage.
 *
 * @example
 * ```ts
 * const kinds = bundledStepKinds();
 * const fleet = startFleet({
 *   runner: new Runner({ kinds, stateDir: '.runbook' }),
 *   kinds,
 *   runbook: await loadRunbook('orchestrator-tls12', kinds),
 *   inventory: await loadInventory('fleet/inventory.yaml'),
 *   connect: (target) => createSimulatedExecutor(target.slice('sim:'.length)),
 *   maxFailures: '10%',
 * });
 * fleet.events.on('host:end', (h) => console.log(h.wave, h.host, h.status));
 * const result = await fleet.result;
 * ```
 */
export function startFleet(options: FleetOptions): Fleet {
  const record = fleetRecordOf(options);
  // Write-ahead: the fleet is stored before its first host starts.
  return driveFleet(record, options, () => options.runner.store.createFleet(record));
}

/**
 * A fleet's record, every host's parameters checked first: throws (and nothing is stored or contacted)
 * when one is wrong, or when the budget or the concurrency is not a number.
 *
 * @example
 * ```ts
 * const kinds = bundledStepKinds();
 * // Throws a ValidationError naming the host whose parameters do not fit; nothing is stored or contacted.
 * const record = fleetRecordOf({ kinds, runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory('inventory.yaml'), concurrency: 4 });
 * ```
 */
export function fleetRecordOf(options: Omit<FleetOptions, 'runner' | 'connect'>): FleetRecord {
  const { inventory, runbook } = options;
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ValidationError('invalid fleet concurrency', [`concurrency: a whole number of at least 1, got ${concurrency}`], { hint: 'nothing was stored or contacted' });
  }
  if (options.fleetId !== undefined) checkFleetId(options.fleetId, inventory);
  const record: FleetRecord = {
    format: 1,
    fleetId: options.fleetId ?? `${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-fleet-${randomBytes(3).toString('hex')}`,
    runbook: runbook.definition,
    source: runbook.source,
    checkMode: Boolean(options.checkMode),
    inventory,
    concurrency,
    maxFailures: budgetOf(options.maxFailures, inventory.hosts.length),
    params: options.params ?? {},
    startedAt: new Date().toISOString(),
  };
  // Every host's parameters, checked before any host is contacted.
  for (const host of inventory.hosts) {
    try {
      const { params } = resolveParameters(runbook.definition, paramsFor(record, host));
      checkStepParameters(runbook.definition, params, options.kinds);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      throw new ValidationError(`host ${host.name} of ${inventory.file}: ${error.message.split('\n')[0]}`, error.issues, { hint: `${paramSources(error.issues, record, host)}; no host was contacted` });
    }
  }
  return record;
}

/**
 * A fleet id given by its caller, checked before anything is stored: an id at all, and short enough that
 * each host's run id (`<fleet-id>.<host>`, a folder's name) is one too — else every host would be refused
 * at its turn, the fleet made and its first wave's hosts leased for nothing.
 */
function checkFleetId(fleetId: string, inventory: Inventory): void {
  const hint = 'nothing was stored or contacted';
  if (!isId(fleetId)) throw new ValidationError(`invalid fleet id: ${notAnId(fleetId, 'fleet')}`, [], { hint: `give another fleet id (or none: one is made); ${hint}` });
  const longest = inventory.hosts.reduce<InventoryHost | undefined>((a, h) => (a === undefined || h.name.length > a.name.length ? h : a), undefined);
  if (longest === undefined) return;
  const room = MAX_ID_LENGTH - 1 - longest.name.length;
  if (fleetId.length <= room) return;
  const shown = fleetId.length > 80 ? `${fleetId.slice(0, 80)}…` : fleetId;
  throw new ValidationError(
    `fleet id "${shown}" (${fleetId.length} characters) is too long for the run ids of its hosts: host ${longest.name} of ${inventory.file} would run as "<fleet id>.${longest.name}", ${fleetId.length + 1 + longest.name.length} characters, and a run id (a folder's name) holds at most ${MAX_ID_LENGTH}`,
    [],
    { hint: `give a fleet id of at most ${room} characters (or none: one is made), or shorten the host's name; ${hint}` },
  );
}

/**
 * Where a host's bad parameters were given, as the fix to make: the fleet's own (`--param` on the
 * command line) win over the host's params, which win over the inventory's defaults.
 */
function paramSources(issues: readonly string[], record: FleetRecord, host: InventoryHost): string {
  const fixes = new Set<string>();
  for (const issue of issues) {
    const name = /^([^\s:]+):/.exec(issue)?.[1];
    if (name === undefined) continue;
    if (Object.hasOwn(record.params, name)) fixes.add(`fix --param ${name}=… (the fleet's params, which every host takes)`);
    else if (Object.hasOwn(host.params, name)) fixes.add(`fix ${name} in host ${host.name}'s params in the inventory`);
    else if (Object.hasOwn(record.inventory.defaults.params, name)) fixes.add(`fix ${name} in the inventory's defaults.params`);
  }
  return fixes.size > 0 ? [...fixes].join('; ') : "fix the value in --param, the host's params or the defaults in the inventory";
}

/**
 * Continues a fleet after its controller stopped: hosts whose run ended stay as they ended, runs under
 * way are resumed from their journals, and hosts never started start now — within the budget, wave by
 * wave, as if the fleet had not stopped. `overrides` hold for every host run this resume drives,
 * resumed or started: `{ allowRestart: true }` is `runbook resume <fleet-id> --allow-restart` (the
 * restart window is open).
 *
 * @example
 * ```ts
 * const kinds = bundledStepKinds();
 * const runner = new Runner({ kinds, stateDir: '.runbook' });
 * const fleet = await resumeFleet({ runner, kinds, connect: (t) => createSimulatedExecutor(t.slice('sim:'.length)), fleetId: '20260101-000000-fleet-a1b2c3' });
 * console.log((await fleet.result).status);
 * ```
 */
export async function resumeFleet(options: Pick<FleetOptions, 'runner' | 'kinds' | 'connect' | 'threads'> & { fleetId: string; overrides?: Record<string, Json> }): Promise<Fleet> {
  const record = await options.runner.store.readFleet(options.fleetId);
  // Refused here (LEASE_HELD) while another controller drives the fleet: no Fleet, nothing followed.
  const lease = await options.runner.store.leaseFleet(record.fleetId);
  try {
    return driveFleet(record, options, async () => undefined, lease, options.overrides);
  } catch (error) {
    await lease.release();
    throw error;
  }
}

/** A host's damaged journal as its outcome's error: what, where (the file, in its message), and what to do. */
function damagedJournal(host: string, fleetId: string, error: JournalError): ErrorRecord {
  return {
    name: error.name,
    code: error.code,
    message: `the journal of host ${host}'s run is damaged: ${error.message}\n  → nothing was sent to ${host} and no failure was counted; once its journal is fixed, \`runbook resume ${fleetId}\` goes on with it`,
  };
}

function driveFleet(record: FleetRecord, deps: Pick<FleetOptions, 'runner' | 'connect' | 'threads'>, prepare: () => Promise<void>, taken?: Lease, overrides?: Record<string, Json>): Fleet {
  const { fleetId, inventory } = record;
  const dir = deps.runner.store.fleetDir(fleetId);
  const events = new EventEmitter<FleetEvents>();
  let interrupted = false;
  // Throws before anything starts when the count is not a number.
  const threads = threadCountOf(deps.threads, inventory.hosts.length);
  let lanes: HostLane | undefined;
  // Set when another controller took the fleet's lease over: this one starts no host and writes nothing more.
  let fenced: unknown;
  const result = (async (): Promise<FleetResult> => {
    await new Promise((r) => setImmediate(r));
    // One controller per fleet: its lease is taken (a resume's already) before anything is stored, a
    // host's journal read or a host contacted, and a fleet another controller drives is refused
    // (LEASE_HELD, naming it). Only this thread holds it: worker threads drive hosts, the fleet's
    // record stays here.
    const lease = taken ?? (await deps.runner.store.leaseFleet(fleetId));
    try {
      await prepare();
      // The main thread's lane, and a lane per worker thread when the fleet spreads over more.
      const local = localLane(deps, record, overrides);
      lanes = threads > 1 && deps.threads ? laneGroup([local, ...Array.from({ length: threads - 1 }, () => workerLane(deps.threads as FleetThreads, record, overrides))]) : local;
      try {
        return await driveHosts(lanes, lease);
      } finally {
        await lanes.close();
      }
    } finally {
      await lease.release();
    }
  })();
  /** False (and the lanes stopped) once the fleet's lease is no longer this controller's. */
  async function stillOurs(lease: Lease): Promise<boolean> {
    if (fenced) return false;
    try {
      await lease.check();
      return true;
    } catch (error) {
      fenced = error;
      lanes?.interrupt();
      return false;
    }
  }
  async function driveHosts(lanes: HostLane, lease: Lease): Promise<FleetResult> {
    await mkdir(dir, { recursive: true });
    const waves = initialOutcomes(record);
    const settle = settleOutcome;

    // What the store says of every host before any starts: a resumed fleet counts the failures it
    // recorded (ended runs, hosts found unreachable) first, so that a budget spent before the controller
    // stopped stays spent — its skipped hosts stay skipped — whatever order the hosts are read in.
    const known = new Map<string, RunResult>();
    // Each unfinished host's records as read here: its run, resumed later, goes on from them (and takes
    // them: nothing here keeps them once its run has them). An ended host's are not kept: it is not driven.
    const recordsOf = new Map<string, readonly JournalRecord[]>();
    const unreachable = await deps.runner.store.unreachableHosts(fleetId).catch(() => ({}) as Record<string, unknown>);
    let failures = 0;
    // Hosts whose run another driver holds: their outcome is unknown until it ends, so no later wave starts.
    const elsewhere: string[] = [];
    // Hosts not driven for input to fix first (a damaged journal): nothing is sent to them, nothing of
    // the budget spent, and no later wave starts — their outcome is not known.
    const refused: string[] = [];
    // Hosts of a wave that await their restart window, a later wave still to go: no later wave starts.
    const awaitingRestart: string[] = [];
    // Hosts whose run's journal is damaged (corrupt, cut, emptied), with why, where and what to do: never
    // driven — a new run over it would take the host's half-changed values for its "before" and lose the
    // records that undo the first run's changes.
    const damaged = new Map<string, ErrorRecord>();
    for (const host of inventory.hosts) {
      try {
        const records = await deps.runner.store.readJournal(hostRunId(fleetId, host.name));
        const r = resultOf(replay(records), deps.runner.store.location);
        known.set(host.name, r);
        if (UNFINISHED.has(r.status)) recordsOf.set(host.name, records);
        if (!UNFINISHED.has(r.status) && fails(outcomeOf(r))) failures += 1;
      } catch (error) {
        if (journalDamaged(error)) damaged.set(host.name, damagedJournal(host.name, fleetId, error));
        // An earlier "unreachable" is not what the host is now: it has a run, whose journal is damaged.
        else if (unreachable[host.name]) failures += 1;
      }
    }
    // A plan changes nothing: one host's failure never keeps the others from being planned.
    const budgeted = !record.checkMode;
    let spent = budgeted && failures > record.maxFailures;

    // Set when the state directory refused a host's write: the fleet stops there.
    let stateDir: FleetResult['stateDir'];
    // Set when the store of runs failed a host's run (lost, or refusing): the fleet stops there too.
    let storeStopped: FleetResult['storeStopped'];
    /** What a host's run changed before it stopped, as its journal says (none when it has none). */
    async function changesOf(outcome: HostOutcome, runId: string): Promise<void> {
      const records = await deps.runner.store.readJournal(runId).catch(() => undefined);
      if (!records) return;
      const r = resultOf(replay(records), deps.runner.store.location);
      outcome.changes = changedValues(r);
      outcome.roundTrips = r.roundTrips;
      outcome.startedAt = r.startedAt;
    }

    async function drive(host: InventoryHost, outcome: HostOutcome, wave: number, position: number): Promise<void> {
      const runId = hostRunId(fleetId, host.name);
      const ended = known.get(host.name);
      if (ended && !UNFINISHED.has(ended.status)) {
        // Ended before the controller stopped: as it ended (already counted).
        outcome.runId = runId;
        settle(outcome, ended);
        events.emit('host:end', { ...outcome, fleetId });
        return;
      }
      // Another controller took the fleet over: this one starts (or resumes) no host.
      if (!(await stillOurs(lease))) return;
      outcome.runId = runId;
      const broken = damaged.get(host.name);
      if (broken) {
        // Not driven, nothing sent to it: neither failed nor unreachable, it waits for its journal.
        Object.assign(outcome, { status: 'awaiting-resume', outcome: 'interrupted', error: broken, endedAt: new Date().toISOString() });
        refused.push(host.name);
        events.emit('host:end', { ...outcome, fleetId });
        return;
      }
      // Tried again: its earlier "unreachable" no longer counts; this attempt does.
      if (!ended && unreachable[host.name]) failures -= 1;
      const records = ended && recordsOf.get(host.name);
      recordsOf.delete(host.name);
      const at = { fleetId, wave: outcome.wave, host: host.name };
      // Each running host's steps, from whichever thread drives it, when someone listens (a live view).
      const onStep = events.listenerCount('host:step') > 0 ? (step: HostStepEvent) => events.emit('host:step', { ...at, ...step }) : undefined;
      const end = await lanes.run(
        host,
        records,
        () => {
          outcome.status = 'running';
          events.emit('host:start', { fleetId, wave: outcome.wave, host: host.name, runId });
        },
        onStep,
      );
      if (end.ok) settle(outcome, end.result);
      else {
        outcome.error = end.error;
        outcome.endedAt = new Date().toISOString();
        if (end.elsewhere) {
          // Another driver holds the host's run (its lease): the run is that driver's. Neither failed
          // nor unreachable, it spends nothing; it awaits a resume once that driver is done with it.
          outcome.status = 'awaiting-resume';
          outcome.outcome = 'interrupted';
          elsewhere.push(host.name);
          // No run of the fleet's may say so: the store keeps it, with who holds the host, for
          // `status <fleet-id>` and the console (as an unreachable host's).
          if (await stillOurs(lease)) {
            await deps.runner.store.recordHeldHost(fleetId, { host: host.name, wave, position, runId, error: outcome.error, at: outcome.endedAt }).catch(() => undefined);
          }
          events.emit('host:end', { ...outcome, fleetId });
          return;
        }
        if (end.refused) {
          // Input to fix first kept it from being driven (a bad lease record, a host file that cannot be
          // used): its own reason, no failure counted; its outcome unknown, no later wave starts.
          await changesOf(outcome, runId);
          const sent = outcome.roundTrips > 0 ? `its run had reached ${host.name} (${outcome.changes} change(s), as its journal says)` : `nothing was sent to ${host.name}`;
          outcome.error = { ...end.error, message: `${end.error.message}\n  → ${sent} and no failure was counted; once this is fixed, \`runbook resume ${fleetId}\` goes on with it` };
          outcome.status = 'awaiting-resume';
          outcome.outcome = 'interrupted';
          refused.push(host.name);
          // Often it has no run (refused before its journal): the store keeps it, with its reason, for
          // `status <fleet-id>` and the console — refused, not "not started" (a run of it wins).
          if (await stillOurs(lease)) {
            await deps.runner.store.recordHeldHost(fleetId, { host: host.name, wave, position, runId, error: outcome.error, at: outcome.endedAt }).catch(() => undefined);
          }
          events.emit('host:end', { ...outcome, fleetId });
          return;
        }
        if (end.resumable || end.stateDir || end.store) {
          // The state directory would not take a write: the host's run stopped before the change it
          // guards and waits for a resume — it did not fail, and its target is not to blame (nor is it
          // when the refused write was the run's first: nothing of the run exists, and the fleet's resume
          // starts it). What it changed is its journal's to say.
          outcome.status = 'awaiting-resume';
          outcome.outcome = 'interrupted';
          await changesOf(outcome, runId);
          // The next host's writes would meet the same disk: no new host starts, the running ones stop
          // at their next safe point, and the fleet awaits its resume (exit 75).
          if (end.stateDir && !stateDir) {
            stateDir = { host: host.name, ...end.stateDir };
            interrupted = true;
            lanes.interrupt();
          }
          // So would the next host's statements meet the same store (a shared one: the file store's
          // failures are the state directory's): the fleet stops the same way, naming the host.
          if (end.store && !storeStopped) {
            storeStopped = { host: host.name, ...end.store };
            interrupted = true;
            lanes.interrupt();
          }
          events.emit('host:end', { ...outcome, fleetId });
          return;
        }
        outcome.status = 'unreachable';
        outcome.outcome = 'unreachable';
        // No run says so: the store keeps it for `status <fleet-id>` and the reports made from it.
        if (await stillOurs(lease)) {
          await deps.runner.store
            .recordUnreachableHost(fleetId, { host: host.name, wave, position, runId, error: outcome.error, at: outcome.endedAt })
            .catch(() => undefined);
        }
      }
      if (fails(outcome.outcome)) failures += 1;
      if (budgeted && failures > record.maxFailures) spent = true;
      events.emit('host:end', { ...outcome, fleetId });
    }

    // The budget stops new hosts from starting, never a run under way: a host whose run has a journal
    // and has not ended (a resumed fleet's) is driven to its end, spent or not — else it would stay
    // half-changed, its restart owed, however often the fleet is resumed.
    const underWay = (host: InventoryHost) => recordsOf.has(host.name) || damaged.has(host.name);
    for (const [i, wave] of inventory.waves.entries()) {
      if (interrupted || fenced) break;
      if (spent && !wave.hosts.some(underWay)) continue;
      const outcomes = waves[i].hosts;
      events.emit('wave:start', { fleetId, wave: wave.name, hosts: wave.hosts.map((h) => h.name) });
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(record.concurrency, wave.hosts.length) }, async () => {
          while (!interrupted && !fenced && next < wave.hosts.length) {
            const k = next++;
            if (spent && !underWay(wave.hosts[k])) continue;
            await drive(wave.hosts[k], outcomes[k], i, k);
          }
        }),
      );
      events.emit('wave:end', { fleetId, wave: wave.name, hosts: outcomes });
      // A host driven elsewhere may yet fail (and spend the budget) or succeed: the next wave waits for
      // its end, as the budget asks — the fleet stops here, awaiting its resume (as after a signal).
      if (elsewhere.length > 0 || refused.length > 0) break;
      // A wave proves the change before the next starts, and a host that has not restarted has not
      // proven it (its restart and the checks after it are still to come): a wave that leaves a host
      // awaiting its restart window stops the fleet, awaiting its resume in the window
      // (`--allow-restart`). A plan restarts nothing: its waves go on.
      const owed = record.checkMode ? [] : outcomes.filter((h) => h.outcome === 'awaiting-restart-window').map((h) => h.host);
      if (owed.length > 0 && i < inventory.waves.length - 1) {
        awaitingRestart.push(...owed);
        break;
      }
    }
    // Hosts the loop did not reach: as their runs ended (a fleet resumed after its budget was spent).
    waves.forEach((w, i) =>
      w.hosts.forEach((outcome, k) => {
        const ended = known.get(inventory.waves[i].hosts[k].name);
        if (outcome.status === 'skipped' && ended) {
          outcome.runId = ended.runId;
          settle(outcome, ended);
        }
      }),
    );

    const ran = fleetResultOf(record, waves, { maxFailures: record.maxFailures, failures, spent }, dir, interrupted, elsewhere, refused, awaitingRestart);
    const fleet = { ...ran, ...(stateDir ? { stateDir } : {}), ...(storeStopped ? { storeStopped } : {}) };
    // The reports are the fleet's driver's: one that lost the fleet writes none over its successor's.
    if (!(await stillOurs(lease))) throw fenced;
    // A report the disk refuses changes nothing of what the fleet did: it is noted, its exit code stands.
    const unwritten = await writeFleetReportsNoting(fleet);
    const ended = unwritten.length > 0 ? { ...fleet, unwritten } : fleet;
    events.emit('fleet:end', ended);
    return ended;
  }
  return {
    id: fleetId,
    events,
    result,
    interrupt() {
      interrupted = true;
      lanes?.interrupt();
    },
  };
}
