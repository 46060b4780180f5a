/**
 * Where a fleet's host runs are driven: a lane connects to a host, drives its run to its end (or to a
 * safe point) and closes the connection. The main thread's lane drives them in this thread; a worker
 * thread's lane (`threads.ts`) hands them to a worker, which drives them with this same code. The fleet
 * itself — its record, its budget, its events — stays with the one thread that scheduled the host.
 */
import { DurabilityError, LeaseError, RunStoppedError, StoreRefusedError, StoreUnavailableError, ValidationError, journalDamaged, toErrorRecord, type ErrorRecord } from '../errors.js';
import type { Executor } from '../executors/types.js';
import type { Run, Runner } from '../engine/runner.js';
import { fingerprint, type LoadedRunbook, type RunbookDefinition } from '../engine/runbook.js';
import type { Json, RunResult } from '../engine/types.js';
import type { InventoryHost } from './inventory.js';
import type { JournalRecord } from '../engine/run-store.js';
import type { FleetRecord, HostStepEvent } from './types.js';

/**
 * How a host's drive ended, as the fleet reads it: its run's result, or the error that kept it from one
 * (`resumable` when the state directory refused a write before the change it guards: the host awaits a
 * resume; `stateDir` whenever the state directory refused a write, resumable or not: the fleet stops; `elsewhere` when another driver holds the run's lease, or took it over: the host is that
 * driver's, neither failed nor unreachable; otherwise its target could not be reached). Plain data: it
 * crosses threads as it is.
 */
export type HostRunEnd =
  | { ok: true; result: RunResult }
  | {
      ok: false;
      error: ErrorRecord;
      resumable: boolean;
      elsewhere?: boolean;
      /**
       * Input to fix first kept the host from being driven — a `ValidationError` (a bad lease record, a
       * state directory that cannot be used, a simulated host file that cannot be used or written) or a
       * damaged journal: `error` says what, where and what to do. Neither failed nor unreachable.
       */
      refused?: boolean;
      /**
       * The state directory refused a write (a {@link DurabilityError}: full, failing, read-only) — before
       * the run's first record (nothing of it exists) or later (`resumable`). The target is not to blame:
       * the fleet stops, awaiting its resume.
       */
      stateDir?: { file: string; errno: string };
      /**
       * The store of runs failed the host's run (a shared store: it could not be reached past its
       * retries, or refused a statement — a `RunStoppedError` once the run's start was durable, else the
       * store's own error): its error's first line, and the store's advice when it has one. The target is
       * not to blame: the fleet stops, awaiting its resume, as when the state directory refuses a write.
       */
      store?: { message: string; advice?: string };
    };

/**
 * What a lane needs to drive a host: the runner of its thread and a way to reach a target.
 *
 * @example
 * ```ts
 * const deps: HostDeps = { runner: new Runner({ kinds: bundledStepKinds(), stateDir: '.runbook' }), connect: (target) => createSimulatedExecutor(target.slice('sim:'.length)) };
 * ```
 */
export interface HostDeps {
  runner: Runner;
  /** Connects to a host's target (the CLI's `connect`); the fleet imports no transport. */
  connect: (target: string) => Promise<Executor>;
}

/** Drives one host of a fleet at a time, many at once. */
export interface HostLane {
  /** Hosts being driven by this lane now. */
  readonly inFlight: number;
  /** False once the lane can drive no more hosts (its worker stopped). */
  readonly alive: boolean;
  /**
   * Drives a host's run (resumed when `records`, its journal as the fleet read it, are given); `onStart`
   * once its run exists; `onStep`, when given, with each step event of the run, whichever thread drives it.
   */
  run(host: InventoryHost, records: readonly JournalRecord[] | undefined, onStart: () => void, onStep?: (step: HostStepEvent) => void): Promise<HostRunEnd>;
  /** Stops every run of this lane at its next safe point, and every one it starts from now on. */
  interrupt(): void;
  /** Lets go of the lane (a worker ends) once its runs have ended. */
  close(): Promise<void>;
}

/**
 * The run id of a host in a fleet: fixed, so that a resumed fleet finds the host's run (or knows it
 * never started).
 *
 * @example
 * ```ts
 * hostRunId('20260101-000000-fleet-a1b2c3', 'orch01'); // '20260101-000000-fleet-a1b2c3.orch01'
 * ```
 */
export function hostRunId(fleetId: string, host: string): string {
  return `${fleetId}.${host}`;
}

/** A host's parameters: the inventory's defaults, the host's own, then the fleet's. */
export function paramsFor(record: Pick<FleetRecord, 'inventory' | 'params'>, host: InventoryHost): Record<string, unknown> {
  return { ...record.inventory.defaults.params, ...host.params, ...record.params };
}

/** Each fleet record's runbook as its hosts' runs record it: made once per fleet, not once per host. */
const runbooks = new WeakMap<FleetRecord, LoadedRunbook | RunbookDefinition>();

/**
 * The runbook a fleet's host runs. With its source, the run records a runbook that `resume <run-id>`
 * loads again (not `runbook <name>`); its fingerprint hashes the whole definition, the same for every host.
 */
function fleetRunbook(record: FleetRecord): LoadedRunbook | RunbookDefinition {
  let runbook = runbooks.get(record);
  if (!runbook) {
    runbook = record.source ? { definition: record.runbook, source: record.source, fingerprint: fingerprint(record.runbook) } : record.runbook;
    runbooks.set(record, runbook);
  }
  return runbook;
}

/**
 * A host's run in its fleet: resumed from its journal when it has one, else started with the host's
 * parameters (the inventory's defaults, the host's own, then the fleet's); `overrides` (a resumed
 * fleet's `--allow-restart`) hold for this drive of the run, either way.
 */
export async function hostRun(runner: Runner, record: FleetRecord, host: InventoryHost, executor: Executor, records: readonly JournalRecord[] | undefined, overrides?: Record<string, Json>): Promise<Run> {
  const runId = hostRunId(record.fleetId, host.name);
  // Resumed from the records the caller read (its journal is not read again).
  if (records) return runner.resume(runId, { executor, records, overrides });
  return runner.start(fleetRunbook(record), { executor, runId, params: paramsFor(record, host), checkMode: record.checkMode, target: host.target, overrides });
}

/** Hands each step event of a run (already masked: events are) to `onStep`, as a fleet's `host:step` tells it. */
export function forwardSteps(run: Run, onStep: (step: HostStepEvent) => void): void {
  run.events.on('step:transition', (event) => onStep({ name: 'step:transition', event }));
  run.events.on('step:settled', (event) => onStep({ name: 'step:settled', event }));
  run.events.on('step:compensation', (event) => onStep({ name: 'step:compensation', event }));
  run.events.on('step:wait', (event) => onStep({ name: 'step:wait', event }));
}

/**
 * The lane of this thread: each host connected, driven and closed here, with `overrides` (run-wide,
 * e.g. a resumed fleet's `{ allowRestart: true }`) for every host run it drives.
 *
 * @example
 * ```ts
 * declare const runner: Runner; // the runner of this thread
 * declare const record: FleetRecord; // the fleet's record, as startFleet stores it
 * const lane = localLane({ runner, connect: (t) => createSimulatedExecutor(t.slice(4)) }, record);
 * const end = await lane.run(record.inventory.hosts[0], undefined, () => console.log('started'));
 * if (end.ok) console.log(end.result.status);
 * ```
 */
export function localLane(deps: HostDeps, record: FleetRecord, overrides?: Record<string, Json>): HostLane {
  const running = new Set<Run>();
  let interrupted = false;
  let inFlight = 0;
  return {
    get inFlight() {
      return inFlight;
    },
    alive: true,
    async run(host, records, onStart, onStep) {
      inFlight += 1;
      let executor: Executor | undefined;
      try {
        executor = await deps.connect(host.target);
        const run = await hostRun(deps.runner, record, host, executor, records, overrides);
        running.add(run);
        if (interrupted) run.interrupt();
        if (onStep) forwardSteps(run, onStep);
        onStart();
        try {
          return { ok: true, result: await run.result };
        } finally {
          running.delete(run);
        }
      } catch (error) {
        // Another driver has the run (LEASE_HELD), or took it over (FENCED): not this fleet's failure.
        if (error instanceof LeaseError) return { ok: false, error: toErrorRecord(error), resumable: false, elsewhere: true };
        // Input to fix first (a bad lease record, a host file that cannot be used): its own reason, not "unreachable".
        if (error instanceof ValidationError || journalDamaged(error)) return { ok: false, error: toErrorRecord(error), resumable: false, refused: true };
        if (error instanceof DurabilityError) return { ok: false, error: toErrorRecord(error), resumable: error.resumable, stateDir: { file: error.file, errno: error.errno } };
        // The store failed the run (lost past its retries, or refusing a write): every host's run would
        // meet it, and the target is not to blame.
        if (error instanceof RunStoppedError || error instanceof StoreUnavailableError || error instanceof StoreRefusedError) {
          const advice = (error instanceof RunStoppedError ? (error.cause as { advice?: unknown } | undefined)?.advice : error.advice) as string | undefined;
          return { ok: false, error: toErrorRecord(error), resumable: error instanceof RunStoppedError, store: { message: error.message.split('\n')[0], ...(advice ? { advice } : {}) } };
        }
        return { ok: false, error: toErrorRecord(error), resumable: false };
      } finally {
        await executor?.close().catch(() => undefined);
        inFlight -= 1;
      }
    },
    interrupt() {
      interrupted = true;
      for (const run of running) run.interrupt();
    },
    async close() {},
  };
}
