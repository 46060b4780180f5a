/**
 * The data of a fleet: how each host ended, the fleet's result, and its events. JSON only.
 */
import type { ErrorRecord } from '../errors.js';
import type { RunStatus, UnwrittenFile } from '../engine/types.js';
import type { CompensationEvent, StepSettledEvent, StepTransitionEvent, StepWaitEvent } from '../engine/events.js';
import type { Outcome } from '../engine/outcome.js';
import type { RunbookDefinition } from '../engine/runbook.js';
import type { Inventory } from './inventory.js';
import type { Lease, LeaseOptions } from '../engine/run-store.js';

/**
 * How a host ended: its run's status, or `skipped` (never started: the budget was spent).
 *
 * @example
 * ```ts
 * declare const fleet: FleetResult;
 * const status: HostStatus = fleet.waves[0].hosts[0].status;
 * if (status === 'skipped') console.log('never started: the failure budget was spent');
 * ```
 */
export type HostStatus = RunStatus | 'skipped';

/**
 * How one host of a fleet ended: its wave and target, its run's status and outcome, its run id and
 * error, and what it changed.
 *
 * @example
 * ```ts
 * declare const fleet: Fleet;
 * fleet.events.on('host:end', (h: HostOutcome) => {
 *   console.log(`${h.wave}/${h.host}: ${OUTCOMES[h.outcome].label}, ${h.changes} change(s)${h.error ? ` — ${h.error.message}` : ''}`);
 * });
 * ```
 */
export type HostOutcome = {
  host: string;
  wave: string;
  target: string;
  status: HostStatus;
  /** What the host's run did, as every rendering says it (`src/engine/outcome.ts`). */
  outcome: Outcome;
  runId?: string;
  error?: ErrorRecord;
  /** Values and keys changed (or planned), actions not counted; round trips. */
  changes: number;
  roundTrips: number;
  startedAt?: string;
  endedAt?: string;
};

/**
 * How a fleet ended: its status, failure budget, every host's outcome by wave, the counts per outcome
 * and its exit code.
 *
 * @example
 * ```ts
 * declare const fleet: Fleet;
 * const result: FleetResult = await fleet.result;
 * console.log(`${result.status}: ${result.budget.failures} of ${result.budget.maxFailures} failure(s) tolerated`);
 * process.exitCode = result.exitCode;
 * ```
 */
export type FleetResult = {
  fleetId: string;
  runbook: string;
  checkMode: boolean;
  /**
   * `succeeded` (or `planned`) when every host did; `awaiting-resume` when some wait, or a signal (or a
   * host driven elsewhere) stopped the fleet with its budget unspent and hosts left; `failed` otherwise.
   */
  status: 'succeeded' | 'planned' | 'awaiting-resume' | 'failed';
  budget: { maxFailures: number; failures: number; spent: boolean };
  /**
   * True when a signal stopped the fleet, the state directory refused a write (`stateDir`), or the store
   * failed a host's run (`storeStopped`): running
   * hosts stopped at a safe point, the rest were not started.
   */
  interrupted?: boolean;
  /**
   * The hosts whose run another driver held (a `resume <run-id>`, another fleet): their outcome is not
   * known yet, so the fleet stopped after their wave, awaiting its resume once those runs have ended.
   */
  drivenElsewhere?: string[];
  /**
   * The hosts not driven for input to fix first — a damaged journal, a bad lease record, a simulated
   * host file that cannot be used or written (each host's `error` says what, where and what to do): nothing was sent to them and nothing of the budget spent; the fleet stopped
   * after their wave, and exits 2 unless a host failed (1) or needs an operator (3).
   */
  refused?: string[];
  /**
   * The hosts of a wave that await their restart window (`allowRestart: false`, a maintenance window)
   * while a later wave is still to go: a wave proves the change before the next starts, and a host not
   * yet restarted has not proven it — the fleet stopped after their wave, awaiting its resume
   * (`runbook resume <fleet-id> --allow-restart` in the window restarts them, then the next waves go on).
   */
  awaitingRestart?: string[];
  /**
   * The state directory refused a write for a host's run (full, failing, read-only: a `DurabilityError`):
   * which file, its errno, and the host. The fleet stopped there, awaiting `runbook resume <fleet-id>`
   * once there is room — never blaming the target, never spending the failure budget.
   */
  stateDir?: { host: string; file: string; errno: string };
  /**
   * The store of runs (a shared one, PostgreSQL) failed a host's run — lost past its retries, or refusing
   * a statement (a grant revoked, its disk full, read-only): the host and the store's error (its first
   * line; the store's password masked) and what to do about the store, when it says. The fleet stopped
   * there, awaiting `runbook resume <fleet-id>` once the store is back or fixed — never blaming the
   * target, never spending the failure budget.
   */
  storeStopped?: { host: string; message: string; advice?: string };
  /**
   * The fleet's reports the disk refused when it ended (report.json, report.md, junit.xml): the fleet's
   * outcome and exit code stand; `runbook status <fleet-id> --reports DIR` or `runbook resume <fleet-id>`
   * writes them from the hosts' journals.
   */
  unwritten?: UnwrittenFile[];
  waves: { name: string; hosts: HostOutcome[] }[];
  /** Hosts per outcome, every outcome present. */
  counts: Record<Outcome, number>;
  /**
   * The fleet's exit code: its most urgent host's (3 an operator is needed, 1, 69, 75, else 0); 2 when
   * every host started was refused for a parameter (nothing changed anywhere, an input error).
   */
  exitCode: number;
  startedAt: string;
  endedAt: string;
  dir: string;
};

/**
 * A step event of a host's run, by the run event's name: what a live view of the fleet shows.
 *
 * @example
 * ```ts
 * declare const fleet: Fleet;
 * fleet.events.on('host:step', (e) => {
 *   const step: HostStepEvent = e;
 *   if (step.name === 'step:settled') console.log(e.host, step.event.stepId, step.event.status);
 * });
 * ```
 */
export type HostStepEvent =
  | { name: 'step:transition'; event: StepTransitionEvent }
  | { name: 'step:settled'; event: StepSettledEvent }
  | { name: 'step:compensation'; event: CompensationEvent }
  | { name: 'step:wait'; event: StepWaitEvent };

/**
 * The events of a fleet, each naming its host or wave.
 *
 * @example
 * ```ts
 * declare const fleet: Fleet;
 * const onWave = (...[wave]: FleetEvents['wave:end']) => console.log(`wave ${wave.wave} done: ${wave.hosts.length} host(s)`);
 * fleet.events.on('wave:end', onWave);
 * ```
 */
export type FleetEvents = {
  'wave:start': [{ fleetId: string; wave: string; hosts: string[] }];
  'host:start': [{ fleetId: string; wave: string; host: string; runId: string }];
  /** A running host's step moved on, settled, was undone, or waits on the target (a restart). */
  'host:step': [{ fleetId: string; wave: string; host: string } & HostStepEvent];
  'host:end': [HostOutcome & { fleetId: string }];
  'wave:end': [{ fleetId: string; wave: string; hosts: HostOutcome[] }];
  'fleet:end': [FleetResult];
};


/**
 * `fleet.json`: what a fleet is, written once before its first host starts — the runbook's definition,
 * the inventory as it was, the options. Each host's state is its run's journal (run id
 * `<fleet-id>.<host>`), so that a resumed fleet knows every host's run without anything else written.
 *
 * @example
 * ```ts
 * const kinds = bundledStepKinds();
 * const record: FleetRecord = fleetRecordOf({ kinds, runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory('inventory.yaml'), maxFailures: '10%' });
 * console.log(record.fleetId, record.maxFailures, record.inventory.hosts.length);
 * ```
 */
export type FleetRecord = {
  format: 1;
  fleetId: string;
  runbook: RunbookDefinition;
  /**
   * Where the runbook was loaded from (a bundled name or a file), so that each host's run records a
   * runbook that `runbook resume <run-id>` can load again. Absent in fleets recorded before it was kept.
   */
  source?: string;
  checkMode: boolean;
  inventory: Inventory;
  concurrency: number;
  maxFailures: number;
  params: Record<string, unknown>;
  startedAt: string;
};

/**
 * A fleet's host whose target could not be reached (see {@link FleetStore.recordUnreachableHost}).
 *
 * @example
 * ```ts
 * const unreachable: UnreachableHost = {
 *   host: 'orch02', wave: 0, position: 1, runId: hostRunId('20260101-000000-fleet-a1b2c3', 'orch02'),
 *   error: { name: 'ExecutorError', code: 'EXECUTOR', message: 'no answer from orch02:5985', transient: true },
 *   at: new Date().toISOString(),
 * };
 * ```
 */
export type UnreachableHost = {
  host: string;
  /** The wave (index) and place in it, and the run id the host would have had. */
  wave: number;
  position: number;
  runId: string;
  error: ErrorRecord;
  at: string;
};

/**
 * A fleet's host refused because another run holds its target (the machine's lease) or its run (see
 * {@link FleetStore.recordHeldHost}): it has no run of the fleet's, and waits for the fleet's resume.
 * The same fields as an {@link UnreachableHost}; `error` says who holds it.
 *
 * @example
 * ```ts
 * const held: HeldHost = {
 *   host: 'orch02', wave: 0, position: 1, runId: hostRunId('20260101-000000-fleet-a1b2c3', 'orch02'),
 *   error: { name: 'LeaseError', code: 'LEASE_HELD', message: 'target orch02 is being driven by run 20260101-000000-orchestrator-tls12-d4e5f6' },
 *   at: new Date().toISOString(),
 * };
 * ```
 */
export type HeldHost = UnreachableHost;

/**
 * The fleets' port: what a fleet needs of the store its hosts' runs live in, beside the engine's
 * `RunStore`. The backends of `src/store/` implement both.
 *
 * @example
 * ```ts
 * const store: FleetStore = fileStore('.runbook');
 * if (await store.isFleet('f1')) console.log((await store.readFleet('f1')).inventory.hosts.length);
 * ```
 */
export interface FleetStore {
  /** A folder on this machine for a fleet's reports. */
  fleetDir(fleetId: string): string;
  /** Records a fleet before its first host starts; refuses an id already used. */
  createFleet(record: FleetRecord): Promise<void>;
  /** A fleet's record; `JOURNAL_MISSING` when there is none. */
  readFleet(fleetId: string): Promise<FleetRecord>;
  /** True when the id names a fleet of this store. */
  isFleet(id: string): Promise<boolean>;
  /**
   * Records that a fleet's host could not be reached, so it has no run: `status <fleet-id>` and the
   * fleet's reports say so instead of "not started". A later run of the host (a resume) wins.
   */
  recordUnreachableHost(fleetId: string, host: UnreachableHost): Promise<void>;
  /** The hosts of a fleet recorded as unreachable, by name (the last record of each). */
  unreachableHosts(fleetId: string): Promise<Record<string, UnreachableHost>>;
  /**
   * Records that a fleet's host was refused because another run drives its target or its run (a
   * lease): it has no run of the fleet's, and `status <fleet-id>` and the console say it waits for a
   * resume, and why, instead of "not started". A later record of the host (unreachable, held again)
   * or a run of it wins.
   */
  recordHeldHost(fleetId: string, host: HeldHost): Promise<void>;
  /** The hosts of a fleet whose last record says held (see {@link FleetStore.recordHeldHost}), by name. */
  heldHosts(fleetId: string): Promise<Record<string, HeldHost>>;
  /**
   * Takes the lease of a fleet — one controller drives it (schedules its hosts, keeps its budget,
   * writes its reports) at a time — with a fencing generation, as a run's lease: `LEASE_HELD`, naming
   * its holder, while another holds it. Its hosts' runs still take their own leases.
   */
  leaseFleet(fleetId: string, options?: LeaseOptions): Promise<Lease>;
}
