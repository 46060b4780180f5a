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
import { join } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { ValidationError, toErrorRecord, type ErrorRecord } from '../errors.js';
import type { Executor } from '../executors/types.js';
import type { StepKindRegistry } from '../engine/kinds.js';
import { checkStepParameters, resolveParameters } from '../engine/loader.js';
import type { Runner } from '../engine/runner.js';
import type { LoadedRunbook } from '../engine/runbook.js';
import type { RunResult } from '../engine/types.js';
import { writeFileAtomic } from '../util/write-atomic.js';
import type { Inventory, InventoryHost } from './inventory.js';
import type { FleetEvents, FleetResult, HostOutcome, HostStatus } from './types.js';

export type { FleetEvents, FleetResult, HostOutcome, HostStatus } from './types.js';
import { writeFleetReports } from './fleet-report.js';

export interface FleetOptions {
  runner: Runner;
  kinds: StepKindRegistry;
  runbook: LoadedRunbook;
  inventory: Inventory;
  /** Connects to a host's target (the CLI's `connect`); the fleet imports no transport. */
  connect: (target: string) => Promise<Executor>;
  stateDir: string;
  checkMode?: boolean;
  /** Parameters that win over the inventory's (e.g. from the command line). */
  params?: Record<string, unknown>;
  /** Hosts driven at once. @default 10 */
  concurrency?: number;
  /** Failed hosts tolerated: a number, or a percentage of the fleet (`"10%"`). @default 0 */
  maxFailures?: number | string;
  fleetId?: string;
}

export interface Fleet {
  id: string;
  events: EventEmitter<FleetEvents>;
  result: Promise<FleetResult>;
}

const FAILED: ReadonlySet<HostStatus> = new Set(['rolled-back', 'rollback-failed', 'cancelled', 'unreachable', 'running']);

/** The failure budget as a number of hosts. */
export function budgetOf(maxFailures: number | string | undefined, hosts: number): number {
  if (maxFailures === undefined) return 0;
  const text = String(maxFailures).trim();
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text);
  if (!m || (m[2] === '' && !Number.isInteger(Number(m[1])))) throw new RangeError(`max failures is a whole number or a percentage (e.g. 2 or 10%), got "${text}"`);
  return m[2] === '%' ? Math.floor((Number(m[1]) / 100) * hosts) : Number(m[1]);
}

function paramsFor(options: FleetOptions, host: InventoryHost): Record<string, unknown> {
  return { ...options.inventory.defaults.params, ...host.params, ...(options.params ?? {}) };
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
 *   stateDir: '.runbook',
 *   maxFailures: '10%',
 * });
 * fleet.events.on('host:end', (h) => console.log(h.wave, h.host, h.status));
 * const result = await fleet.result;
 * ```
 */
export function startFleet(options: FleetOptions): Fleet {
  const { inventory, runbook } = options;
  const maxFailures = budgetOf(options.maxFailures, inventory.hosts.length);
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency is a whole number of at least 1, got ${concurrency}`);
  // Every host's parameters, checked before any host is contacted.
  for (const host of inventory.hosts) {
    try {
      const { params } = resolveParameters(runbook.definition, paramsFor(options, host));
      checkStepParameters(runbook.definition, params, options.kinds);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      throw new ValidationError(`host ${host.name} of ${inventory.file}: ${error.message.split('\n')[0]}`, error.issues, { hint: 'fix its params (or the defaults) in the inventory; no host was contacted' });
    }
  }
  const fleetId = options.fleetId ?? `${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-fleet-${randomBytes(3).toString('hex')}`;
  const dir = join(options.stateDir, 'fleets', fleetId);
  const events = new EventEmitter<FleetEvents>();
  const startedAt = new Date().toISOString();

  const result = (async (): Promise<FleetResult> => {
    await new Promise((r) => setImmediate(r));
    await mkdir(dir, { recursive: true });
    const waves: FleetResult['waves'] = inventory.waves.map((w) => ({
      name: w.name,
      hosts: w.hosts.map((h) => ({ host: h.name, wave: w.name, target: h.target, status: 'skipped' as HostStatus, changes: 0, roundTrips: 0 })),
    }));
    let failures = 0;
    let spent = false;
    const save = () => writeFileAtomic(join(dir, 'fleet.json'), `${JSON.stringify({ fleetId, runbook: runbook.definition.name, inventory: inventory.file, checkMode: Boolean(options.checkMode), waves }, null, 2)}\n`);
    await save();

    async function drive(host: InventoryHost, outcome: HostOutcome): Promise<void> {
      outcome.startedAt = new Date().toISOString();
      let executor: Executor | undefined;
      try {
        executor = await options.connect(host.target);
        const run = options.runner.start(runbook, { executor, params: paramsFor(options, host), checkMode: options.checkMode, target: host.target });
        outcome.runId = run.id;
        outcome.status = 'running';
        events.emit('host:start', { fleetId, wave: outcome.wave, host: host.name, runId: run.id });
        const r: RunResult = await run.result;
        outcome.status = r.status;
        if (r.error) outcome.error = r.error;
        outcome.roundTrips = r.roundTrips;
        outcome.changes = r.steps.reduce((n, s) => n + (s.status === 'succeeded' || s.status === 'planned' ? s.changes.filter((c) => c.action !== 'run').length : 0), 0);
      } catch (error) {
        outcome.status = 'unreachable';
        outcome.error = toErrorRecord(error);
      } finally {
        await executor?.close().catch(() => undefined);
      }
      outcome.endedAt = new Date().toISOString();
      if (FAILED.has(outcome.status)) failures += 1;
      if (failures > maxFailures) spent = true;
      await save();
      events.emit('host:end', { ...outcome, fleetId });
    }

    for (const [i, wave] of inventory.waves.entries()) {
      if (spent) break;
      const outcomes = waves[i].hosts;
      events.emit('wave:start', { fleetId, wave: wave.name, hosts: wave.hosts.map((h) => h.name) });
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, wave.hosts.length) }, async () => {
          while (!spent && next < wave.hosts.length) {
            const k = next++;
            await drive(wave.hosts[k], outcomes[k]);
          }
        }),
      );
      events.emit('wave:end', { fleetId, wave: wave.name, hosts: outcomes });
    }

    const all = waves.flatMap((w) => w.hosts);
    const counts = {
      succeeded: all.filter((h) => h.status === 'succeeded' || h.status === 'planned').length,
      failed: all.filter((h) => FAILED.has(h.status) && h.status !== 'rolled-back').length,
      rolledBack: all.filter((h) => h.status === 'rolled-back').length,
      waiting: all.filter((h) => h.status === 'awaiting-resume').length,
      skipped: all.filter((h) => h.status === 'skipped').length,
    };
    const ok = counts.succeeded === all.length;
    const fleet: FleetResult = {
      fleetId,
      runbook: runbook.definition.name,
      checkMode: Boolean(options.checkMode),
      status: ok ? (options.checkMode ? 'planned' : 'succeeded') : counts.waiting > 0 && counts.waiting + counts.succeeded === all.length ? 'awaiting-resume' : 'failed',
      budget: { maxFailures, failures, spent },
      waves,
      counts,
      startedAt,
      endedAt: new Date().toISOString(),
      dir,
    };
    await writeFleetReports(fleet);
    events.emit('fleet:end', fleet);
    return fleet;
  })();
  return { id: fleetId, events, result };
}
