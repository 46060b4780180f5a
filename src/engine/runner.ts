/**
 * The runner: starts, plans, resumes and rolls back runs, many at once in one process, each with its
 * own journal, lease and event emitter, in the store it is given (the engine's port, `run-store.ts`:
 * the caller picks the backend, as it picks the executor).
 */
import { randomBytes } from 'node:crypto';
import { isAbsolute, relative, resolve } from 'node:path';
import type { InspectionEvent, Observer } from 'xstate';
import { DurabilityError, InternalError, JournalError, LeaseError, RunStateError, RunStoppedError, StoreRefusedError, StoreUnavailableError, ValidationError, diskAdvice, diskErrorOf, diskProblem } from '../errors.js';
import type { Executor } from '../executors/types.js';
import type { Clock } from '../util/clock.js';
import { drive } from './drive.js';
import { isRolledBack } from './outcome.js';
import { checkSameMachine, machineKeyOf } from './target-machine.js';
import { RunEmitter } from './events.js';
import type { StepKindRegistry } from './kinds.js';
import { checkStepParameters, MAX_RUNBOOK_NAME, resolveParameters, validateRunbook } from './loader.js';
import { JOURNAL_FORMAT, replay, type RunStartedRecord } from './replay.js';
import { runResult, startedRecordIn, startedRecordOf, summaryOf, type RunSummary } from './run-index.js';
import { loadRunbook } from './bundled.js';
import type { JournalRecord, JournalWriter, Lease, LeaseOptions, RunJournal, RunStore, TargetLease } from './run-store.js';
import { reportFiles, undoContentsOf, withUndoFiles, writeUndoContents } from './report.js';
import { writeFileAtomic } from '../util/write-atomic.js';
import type { RetryPolicy } from './retry.js';
import type { LoadedRunbook, RunbookDefinition } from './runbook.js';
import type { Json, RunResult, UnsavedSummary, Unwritten, UnwrittenFile } from './types.js';
import { urlWithoutPassword } from '../util/without-password.js';
import { resumeWhere } from '../util/resume-where.js';
import { makeSubfolder } from '../util/make-folder.js';

/**
 * A run under way. Attach listeners to `events` right away: the run starts on the next tick.
 *
 * @example
 * ```ts
 * const started: Run = new Runner({ kinds, store: fileStore('.runbook') }).start(definition, { executor });
 * started.events.on('step:settled', (e) => console.log(e.stepId, e.status));
 * process.once('SIGINT', () => started.interrupt());
 * console.log((await started.result).status);
 * ```
 */
export interface Run {
  readonly id: string;
  readonly events: RunEmitter;
  /** Settles with the result of this drive: final, or `awaiting-resume`. */
  readonly result: Promise<RunResult>;
  /** Stops the run; steps already done are compensated (compensation itself cannot be cancelled). */
  cancel(): void;
  /**
   * Stops the run at the next safe point (before an action starts, or between polls) and leaves it
   * awaiting a resume — what the CLI does on SIGINT or SIGTERM.
   */
  interrupt(): void;
}

/** Options of the engine's {@link Runner} (the library's `Runner` gives the file store when no store is given). */
export interface RunnerOptions<S extends RunStore = RunStore> {
  /**
   * This machine's state directory, as a resume names it (`--state-dir`) and the journal records it.
   * @default the store's `localDir`
   */
  stateDir?: string;
  /** Where runs, journals and leases live: the file store of a state directory, PostgreSQL, or a store of your own. */
  store: S;
  kinds: StepKindRegistry;
  /** Overrides of the default retry policy for every run (a runbook's or step's own `retry` wins). */
  retry?: Partial<RetryPolicy>;
  /**
   * How many times a transient failure is retried, for every step of every run, whatever the runbook
   * and its steps say (the CLI's `--retries`: 0 fails fast on a host that does not answer).
   * @default the runbook's or step's, else 3
   */
  retries?: number;
  /** The command a start-up task runs to resume a run. @default ['runbook','resume',id,'--state-dir',dir] */
  resumeCommand?: (runId: string, stateDir: string) => string[];
  /** XState inspection, passed through to every step actor. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** How long a saga may keep calling the target before it gives up. @default 900000 (15 minutes) */
  compensationBudgetMs?: number;
  /** Lease settings (tests pause holders past their expiry with `renew: false`). */
  lease?: LeaseOptions;
  /** The clock of every wait, deadline and budget (tests and simulations give a {@link VirtualClock}). @default systemClock */
  clock?: Clock;
}

/**
 * How a run starts: the executor that reaches its target, its parameters, and whether it only plans
 * (check mode).
 *
 * @example
 * ```ts
 * const options: StartOptions = { executor, params: { allowRestart: false }, checkMode: true };
 * const plan = await new Runner({ kinds, store: fileStore('.runbook') }).start(definition, options).result;
 * ```
 */
export interface StartOptions {
  executor: Executor;
  params?: Record<string, unknown>;
  /** Check mode: stop every step after its plan; nothing on the target changes. */
  checkMode?: boolean;
  runId?: string;
  /** The target as the user typed it, kept to reconnect on resume. @default executor.target */
  target?: string;
  /**
   * Run-wide overrides for this drive, as a resume's (e.g. `{ allowRestart: true }`: a fleet resumed
   * with `--allow-restart` starts its hosts not started yet with it). Not journaled: a later resume
   * gives its own. @default {}
   */
  overrides?: Record<string, Json>;
}

/**
 * How a drive reaches its target: an executor at hand, or a function that connects to the target the
 * run recorded.
 *
 * @example
 * ```ts
 * const reach: Reach = { connect: (target) => createSimulatedExecutor(target.slice('sim:'.length)), target: 'sim:copy-of-host.json' };
 * ```
 */
export type Reach =
  | { executor: Executor; connect?: undefined; target?: undefined }
  | {
      executor?: undefined;
      /**
       * Connects to the run's target — the one it recorded (as the user typed it), unless `target` —
       * once its journal has been read and checked; the runner closes it when the drive ends.
       */
      connect: (target: string) => Promise<Executor>;
      /** Reach the target another way than the run recorded (e.g. `--target`). */
      target?: string;
    };

/**
 * How a run is resumed: how to reach its target again (an executor, or a function that connects to the
 * target it recorded), the runbook as it is now, and run-wide overrides.
 *
 * @example
 * ```ts
 * const options: ResumeOptions = {
 *   connect: (target) => createSimulatedExecutor(target.slice('sim:'.length)),
 *   runbook: 'reload',
 *   overrides: { allowRestart: true },
 * };
 * declare const runId: string;
 * await (await new Runner({ kinds, store: fileStore('.runbook') }).resume(runId, options)).result;
 * ```
 */
export type ResumeOptions = Reach & {
  /**
   * The runbook as it is now, refused when its fingerprint differs from the run's (unless `force`);
   * `'reload'` loads it again from the source the run recorded (a file, or a bundled runbook's name) —
   * one that cannot be loaded any more is refused (`RUNBOOK_CHANGED`) unless `force`, which goes on
   * with the recorded definition.
   */
  runbook?: LoadedRunbook | RunbookDefinition | 'reload';
  force?: boolean;
  /** Run-wide overrides for this resume, e.g. `{ allowRestart: true }`. */
  overrides?: Record<string, Json>;
  /**
   * The run's records, when the caller has read them already (a fleet that counted its hosts): taken
   * instead of reading the journal again. Its first record must be the run's start; the store checks
   * that nothing came after the last of them before it goes on from them.
   */
  records?: readonly JournalRecord[];
};

export type { RunSummary } from './run-index.js';

/** A new run's id, a folder's name: the loader keeps a runbook's name to {@link MAX_RUNBOOK_NAME} characters, and so does this (a `LoadedRunbook` made by hand is not checked). */
function newRunId(name: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${name.slice(0, MAX_RUNBOOK_NAME)}-${randomBytes(3).toString('hex')}`;
}

function toLoaded(runbook: LoadedRunbook | RunbookDefinition, kinds: StepKindRegistry): LoadedRunbook {
  return 'definition' in runbook ? runbook : validateRunbook(runbook, kinds, `runbook ${runbook.name}`);
}

/**
 * Drives runs of runbooks against executors, journaling every step in the store it is given.
 *
 * @example
 * ```ts
 * const kinds = bundledStepKinds();
 * const runner = new Runner({ kinds, store: fileStore('.runbook') });
 * const run = runner.start(await loadRunbook('orchestrator-tls12', kinds), {
 *   executor: await createSimulatedExecutor('host.json'),
 * });
 * run.events.on('step:settled', (e) => console.log(e.stepId, e.status));
 * const result = await run.result;
 * if (result.status === 'awaiting-resume') await (await runner.resume(run.id, { executor })).result;
 * ```
 */
export class Runner<S extends RunStore = RunStore> {
  readonly stateDir: string;
  readonly store: S;
  private readonly options: RunnerOptions<S>;

  constructor(options: RunnerOptions<S>) {
    this.options = options;
    this.store = options.store;
    this.stateDir = resolve(options.stateDir ?? options.store.localDir);
  }

  runDir(runId: string): string {
    return this.store.runDir(runId);
  }

  /** Starts a run. Parameters are validated first: a bad one throws before anything is journaled. */
  start(runbook: LoadedRunbook | RunbookDefinition, options: StartOptions): Run {
    const loaded = toLoaded(runbook, this.options.kinds);
    const { params, secrets } = resolveParameters(loaded.definition, options.params ?? {});
    // Every step's parameters, resolved and checked before the run exists or the target is touched.
    checkStepParameters(loaded.definition, params, this.options.kinds);
    const runId = options.runId ?? newRunId(loaded.definition.name);
    const secretValues = Object.fromEntries(secrets.map((s) => [s, params[s]]));
    const publicParams = Object.fromEntries(Object.entries(params).filter(([k]) => !secrets.includes(k)));
    const checkMode = options.checkMode ?? false;
    // A run that changes its target holds its machine's lease (a plan reads only: it takes none).
    return this.launch(runId, options.executor, secretValues, options.overrides ?? {}, { mode: 'drive', checkMode, machine: checkMode ? undefined : 'start' }, async (journal) => {
      if (journal.records.length > 0) throw new RunStateError('NOT_RESUMABLE', `run ${runId} already exists`, { hint: 'use `runbook resume`' });
      const record: RunStartedRecord = {
        type: 'run.started',
        format: JOURNAL_FORMAT,
        runId,
        runbook: loaded.definition,
        source: loaded.source,
        fingerprint: loaded.fingerprint,
        params: publicParams,
        secrets,
        target: options.executor.target,
        targetSpec: options.target ?? options.executor.target,
        executor: options.executor.name,
        checkMode,
        stateDir: this.stateDir,
      };
      await journal.append(record);
    });
  }

  /**
   * Continues an interrupted run (after a crash, a reboot, or a wait for a restart window). Its journal
   * is read once: the start it recorded (checked against its fingerprint, and against the runbook as it
   * is now), the target to reconnect to, and the records the drive goes on from. Bad input and a
   * changed runbook are refused before the target is contacted.
   *
   * @example
   * ```ts
   * const runner = new Runner({ kinds, store: fileStore('.runbook') });
   * const run = await runner.resume('20260101-000000-orchestrator-tls12-a1b2c3', {
   *   connect: (target) => createSimulatedExecutor(target.slice('sim:'.length)),
   *   runbook: 'reload',
   *   overrides: { allowRestart: true },
   * });
   * console.log((await run.result).status);
   * ```
   */
  async resume(runId: string, options: ResumeOptions): Promise<Run> {
    const records = options.records ?? (await this.store.readJournal(runId));
    const started = startedRecordIn(records, runId);
    const now = options.runbook === 'reload' ? await reloadRunbook(started, this.options.kinds, options.force ?? false) : options.runbook && toLoaded(options.runbook, this.options.kinds);
    if (now && now.fingerprint !== started.fingerprint && !options.force) {
      throw new RunStateError('FINGERPRINT_MISMATCH', `runbook ${started.runbook.name} changed since run ${runId} started`, {
        where: now.source,
        hint: 'resume with the runbook as it was, or pass --force to continue with the recorded definition',
      });
    }
    const secrets = this.readSecrets(started);
    // A run that ended is not driven again: its resume writes its files again from the journal (those a
    // full disk refused when it ended) and needs no connection to its target.
    // Ended as the journal replays: an operator's rollback after a run ended (`saga.started`) makes it
    // run again, and its resume must reach the target.
    const ended = !options.executor && replay(records).ended !== null;
    const { executor, owned } = ended ? { executor: unconnected(options.target ?? started.targetSpec ?? started.target, started.executor), owned: false } : await reach(options, started, records, options.force ?? false);
    return this.launch(runId, executor, secrets, options.overrides ?? {}, { mode: 'drive', checkMode: started.checkMode, records, owned, machine: ended || started.checkMode ? undefined : 'take-over' });
  }

  /**
   * Compensates a succeeded or unfinished run on an operator's request, exactly as a failure would;
   * values changed since the run are left alone unless `force`. Its journal is read once, as a resume's
   * (not at all when the caller hands over the `records` it read).
   */
  async rollback(runId: string, options: Reach & { force?: boolean; records?: readonly JournalRecord[] }): Promise<Run> {
    const records = options.records ?? (await this.store.readJournal(runId));
    const started = startedRecordIn(records, runId);
    const secrets = this.readSecrets(started);
    // A run already rolled back (on request, after its failure, or cancelled) is not driven again: its
    // result, as its resume gives it, without a connection to its target.
    const undone = !options.executor && isRolledBack(replay(records).ended?.status);
    const { executor, owned } = undone ? { executor: unconnected(options.target ?? started.targetSpec ?? started.target, started.executor), owned: false } : await reach(options, started, records, options.force ?? false);
    return this.launch(runId, executor, secrets, {}, { mode: options.force ? 'force-rollback' : 'rollback', checkMode: started.checkMode, records, owned, machine: undone || started.checkMode ? undefined : 'take-over' });
  }

  /** What the journal of a run says now. */
  status(runId: string): Promise<RunResult> {
    return runResult(this.store, runId);
  }

  /** Every run in the state directory, oldest first; unreadable runs are listed as `damaged`. */
  list(): Promise<RunSummary[]> {
    return this.store.listRuns();
  }

  /** The recorded start of a run (its runbook, target, parameters). */
  startedRecord(runId: string): Promise<RunStartedRecord> {
    return startedRecordOf(this.store, runId);
  }

  private readSecrets(started: RunStartedRecord): Record<string, Json> {
    if (started.secrets.length === 0) return {};
    // A run started before secrets had to be four characters long goes on with the ones it started with.
    const { params } = resolveParameters({ ...started.runbook, parameters: Object.fromEntries(Object.entries(started.runbook.parameters ?? {}).filter(([k]) => started.secrets.includes(k))) }, {}, process.env, { shortSecrets: true });
    return params;
  }

  /**
   * Writes the files of a drive that ended: undo files, reports, the store's summary. Each that fails
   * as a full or failing disk does (any system error of a file) is noted in the result's `unwritten`
   * and told as a warning; the others are still written. A summary whose write was never tried because
   * reading the journal failed (its `stat`) is told as that read; one a shared store could not take
   * because its connection was lost, as that (which store, why, what to do — no disk is involved).
   * Anything else (a bug) is thrown.
   */
  private async writeRunFiles(result: RunResult, journal: RunJournal, runId: string, runDir: string, events: RunEmitter, secrets: Record<string, Json>): Promise<RunResult> {
    const unwritten: Unwritten[] = [];
    const ended = result.status !== 'awaiting-resume' && result.status !== 'running';
    const warn = (message: string) => events.emit('log', { runId, level: 'warn', message });
    const attempt = async <T>(what: string, write: () => Promise<T>): Promise<T | null> => {
      try {
        return await write();
      } catch (error) {
        if ((error instanceof StoreUnavailableError && error.transient) || error instanceof StoreRefusedError) {
          const entry: UnsavedSummary =
            error instanceof StoreRefusedError
              ? { kind: 'store', store: this.store.location, reason: `${error.sqlstate}: the store refused it`, message: firstLine((error.cause as Error | undefined)?.message ?? error.message), advice: error.advice }
              : { kind: 'store', store: this.store.location, reason: error.reason ?? 'the connection was lost', message: firstLine((error.cause as Error | undefined)?.message ?? error.message) };
          unwritten.push(entry);
          warn(unsavedWarning(runId, entry, ended));
          return null;
        }
        const e = error as NodeJS.ErrnoException | null;
        if (typeof e?.code !== 'string' || !(diskErrorOf(e) || e.syscall)) throw error;
        const target = resolve(runDir, what);
        const path = typeof e.path === 'string' ? e.path : target;
        // A read that failed before the write (the journal's stat, for a summary): the write was never tried.
        if (READ_CALLS.has(String(e.syscall)) && path !== target) {
          const entry: UnwrittenFile = { kind: 'file', file: target, errno: e.code, message: firstLine(e.message), unread: { file: path, syscall: String(e.syscall) } };
          unwritten.push(entry);
          warn(unreadWarning(runId, entry, ended));
          return null;
        }
        unwritten.push({ kind: 'file', file: path, errno: e.code, message: firstLine(e.message) });
        warn(unwrittenWarning(runId, path, e.code, this.store.localDir, ended));
        return null;
      }
    };
    // Where the run's files are kept (a shared store's backups are not on this machine's disk).
    // The undo files' contents are made from the run's records; the journal then lets go of them (it
    // reads them again if asked) rather than hold them while the files below are written and flushed.
    const undo = undoContentsOf(result, journal.records, this.options.kinds, runDir, secrets);
    journal.forget?.();
    let reported = withUndoFiles({ ...result, filesAt: this.store.filesAt(runId) }, await attempt('undo.reg', () => writeUndoContents(undo)));
    const withUnwritten = (): RunResult => (unwritten.length > 0 ? { ...reported, unwritten: [...unwritten] } : reported);
    // The report says which files are missing (an undo file the disk refused).
    reported = withUnwritten();
    // Each report apart: one the disk refuses does not keep the other from being written.
    for (const { file, content } of reportFiles(reported, runDir)) await attempt(file, () => writeFileAtomic(file, content()));
    reported = withUnwritten();
    await attempt('summary.json', () => this.store.saveRun(runId, summaryOf(runId, reported)));
    return withUnwritten();
  }

  /**
   * A write to the state directory that failed as a full or failing disk does becomes a
   * {@link DurabilityError} that tells the truth: which file, whether the run can be resumed, whether
   * a durable record shows that the target was changed (a step began to act, or to undo). Any other
   * error is returned as it is.
   */
  private async stopped(error: unknown, runId: string, durable: readonly JournalRecord[]): Promise<unknown> {
    if ((error instanceof StoreUnavailableError && error.transient) || error instanceof StoreRefusedError) return this.storeStopped(error, runId, durable);
    const errno = error instanceof DurabilityError ? error.errno : diskErrorOf(error);
    const file = error instanceof DurabilityError ? error.file : (error as NodeJS.ErrnoException | null)?.path;
    if (!errno || !file) return error;
    const home = resolve(this.store.localDir);
    if (!(error instanceof DurabilityError) && !inside(home, file) && !inside(this.stateDir, file)) return error;
    // Stopped before this drive opened the journal (its lease): what earlier drives made durable counts.
    const records = durable.length > 0 ? durable : await this.store.readJournal(runId).catch(() => [] as JournalRecord[]);
    const resumable = records.some((r) => r.type === 'run.started');
    // A step acts on the target only from a durable `acting` (or compensating) record on.
    const acted = actedSteps(records);
    const target = targetState(records, acted);
    const what = diskProblem(errno);
    const dir = home;
    return new DurabilityError(
      `run ${runId} stopped: ${file} could not be written durably (${errno}: ${what}); ${target}`,
      { file, errno, runId, resumable, targetChanged: acted.length > 0 },
      {
        where: undefined,
        hint: resumable
          ? `${diskAdvice(errno, dir)}, then \`runbook resume ${runId}\` continues the run exactly where it stopped`
          : `${diskAdvice(errno, dir)}, then run again`,
        cause: error,
      },
    );
  }

  /**
   * A store that failed (it could not be reached after its retries, or refused a statement) once the
   * run's start was durable stops the run for a resume ({@link RunStoppedError}: what failed, where,
   * what the target holds, what to do, the command that continues it). Before that, nothing of the run
   * exists: the store's own error, as it is (a store that cannot be reached, refused).
   */
  private async storeStopped(error: StoreUnavailableError | StoreRefusedError, runId: string, durable: readonly JournalRecord[]): Promise<unknown> {
    const records = durable.length > 0 ? durable : await this.store.readJournal(runId).catch(() => [] as JournalRecord[]);
    if (!records.some((r) => r.type === 'run.started')) return error;
    const acted = actedSteps(records);
    const resumeCommand = `runbook resume ${runId}${resumeWhere(this.store.location)}`;
    const what = firstLine(error.message).replace(/ \([^()]*\)$/, '');
    const advice = error.advice ?? 'check that the store is up and reachable from here';
    const ended = records.some((r) => r.type === 'run.ended');
    return new RunStoppedError(
      `run ${runId} stopped: ${what}; ${targetState(records, acted)}${ended ? '' : '; the run awaits its resume'}`,
      { runId, store: this.store.location, resumeCommand, targetChanged: acted.length > 0 },
      { where: this.store.location, hint: `${advice}, then \`${resumeCommand}\` continues the run exactly where it stopped`, cause: error },
    );
  }

  /**
   * Takes the lease of the machine `target` names for `runId`. Another run (a start, or another run's
   * resume or rollback) is refused when the run that held the machine last, of another id, stopped
   * mid-drive — interrupted, stopped by its store, or its driver dead (as its journal says when its lease
   * lapsed): it would take that run's half-applied values for the host's own. That run is resumed or
   * rolled back first. A run awaiting only a restart window made every change and left its
   * `RestartOwed` marker: a later run follows it, as designed (it pays the restart).
   */
  private async leaseMachine(target: string, runId: string, as: 'start' | 'take-over'): Promise<TargetLease> {
    const machine = machineKeyOf(target);
    return this.store.leaseTarget(machine, runId, {
      ...this.options.lease,
      takeOver: as === 'take-over',
      admit: async (last) => {
        if (last.unfinished === false) return;
        let why = 'interrupted mid-drive, awaiting its resume';
        // A run the store does not know (its first record never reached the disk: forgotten) changed nothing.
        if (last.unfinished === true && (await this.store.readJournal(last.runId).catch((e: unknown) => (e instanceof JournalError && e.code === 'JOURNAL_MISSING' ? [] : null)))?.length === 0) return;
        if (last.unfinished === undefined) {
          // Its lease lapsed: its journal tells whether it ended (one that cannot be read is driven no more).
          const records = await this.store.readJournal(last.runId).catch(() => null);
          const started = records?.find((r) => r.type === 'run.started') as RunStartedRecord | undefined;
          if (!records || !started || started.checkMode) return;
          try {
            const state = replay(records);
            if (state.ended !== null || state.suspended?.awaiting === 'restart-window') return;
          } catch {
            return;
          }
          why = 'its driver stopped mid-drive';
        }
        const where = resumeWhere(this.store.location);
        throw new LeaseError(
          'LEASE_HELD',
          `target ${machine} holds unfinished run ${last.runId} (${why}); a new run would take its half-applied values for the host's own — nothing was sent to the target`,
          {
            where: this.store.location,
            hint: `finish that run first: \`runbook resume ${last.runId}${where}\` continues it, or \`runbook rollback ${last.runId}${where}\` undoes its changes; then run again`,
          },
          { heldBy: { machine, runId: last.runId, what: `holds unfinished run ${last.runId} (${why}): resume it or roll it back` } },
        );
      },
    });
  }

  private launch(
    runId: string,
    executor: Executor,
    secrets: Record<string, Json>,
    overrides: Record<string, Json>,
    {
      mode,
      checkMode,
      records,
      owned = false,
      machine,
    }: {
      mode: 'drive' | 'rollback' | 'force-rollback';
      checkMode: boolean;
      records?: readonly JournalRecord[];
      owned?: boolean;
      /** Take the lease of the executor's machine before the drive: as a new run (`start`), or as this run's resume or rollback (`take-over`). */
      machine?: 'start' | 'take-over';
    },
    init?: (journal: JournalWriter) => Promise<void>,
  ): Run {
    const events = new RunEmitter();
    const controller = new AbortController();
    const interrupter = new AbortController();
    const runDir = this.runDir(runId);
    const result = (async () => {
      await new Promise((r) => setImmediate(r));
      let lease: Lease | undefined;
      let held: TargetLease | undefined;
      try {
        lease = await this.store.lease(runId, this.options.lease);
        // This machine's folder for the run's files (the file store made it; a shared store did not).
        await makeSubfolder(runDir);
        // One run drives a machine at a time: its lease is taken before anything is sent to the target
        // (another run's, live, or an unfinished run's of another id, is refused: LEASE_HELD).
        if (machine) held = await this.leaseMachine(executor.target, runId, machine);
      } catch (error) {
        // Not driven (another driver holds the run or its machine, or the disk refused): what this runner connected goes.
        if (owned) await executor.close().catch(() => undefined);
        await lease?.release().catch(() => undefined);
        // A start refused for its machine made nothing: its folder goes (never listed, never resumed) —
        // unless a run of that id exists (a start given the id of one is refused later, as it was). So
        // does the folder of a start whose own lease the disk refused (full, read-only): else an empty
        // folder is left that `status` lists as damaged.
        if ((lease || diskErrorOf(error)) && machine === 'start' && (await this.store.readJournal(runId).then(() => false, (e: { code?: string }) => e?.code === 'JOURNAL_MISSING'))) {
          await this.store.discardRun?.(runId).catch(() => undefined);
        }
        throw await this.stopped(error, runId, []);
      }
      const runLease = lease;
      const fence = held ? async () => (await runLease.check(), await held.check()) : runLease.check;
      let journal: RunJournal | undefined;
      let failure: unknown = null;
      let outcome: RunResult['status'] | undefined;
      let awaiting: RunResult['awaiting'];
      try {
        // A run's records are flushed to disk before each change to the target (write-ahead), all those
        // since the last change at once. A plan changes nothing on the target: its records protect no
        // undo, and are flushed once, when the journal closes.
        // The records a resume read already are handed on: the store reads the journal again only when
        // something was appended since.
        journal = await this.store.openJournal(runId, runLease, { sync: checkMode ? 'on-close' : 'before-writes', records });
        if (init) await init(journal);
        const result = await drive({
          // A backup is kept by the store for this lease when it is made (a shared store: in the store).
          saveFile: (name, content) => this.store.saveFile(runId, runLease, name, content),
          // Where the run is found again: the state directory, or the shared store's URL.
          stateDir: this.store.location,
          journal,
          executor,
          kinds: this.options.kinds,
          events,
          signal: controller.signal,
          interrupt: interrupter.signal,
          // Before each change to the target: this process still drives the run, and its machine.
          fence,
          compensationBudgetMs: this.options.compensationBudgetMs,
          clock: this.options.clock,
          secrets,
          overrides,
          resumeCommand: (this.options.resumeCommand ?? ((id, dir) => ['runbook', 'resume', id, '--state-dir', dir]))(runId, this.stateDir),
          retry: this.options.retry,
          retries: this.options.retries,
          inspect: this.options.inspect,
          mode: mode === 'drive' ? 'drive' : 'rollback',
          force: mode === 'force-rollback',
        });
        // The drive is over and its journal durable (its end, or its wait, recorded): the files written
        // from it now — undo files, reports, summary — are copies. One the disk refuses does not undo the
        // run's outcome: the result says which could not be written (`unwritten`), and the run's next
        // `runbook resume` writes them again from the journal.
        outcome = result.status;
        awaiting = result.awaiting;
        return await this.writeRunFiles(result, journal, runId, runDir, events, secrets);
      } catch (error) {
        failure = await this.stopped(error, runId, journal?.records ?? []);
        throw failure;
      } finally {
        // Each is let go even when the other fails; a failure to let go (a full disk refuses the lease's
        // "released" too) never hides the run's own error — and after a run that ended, the lease
        // lapses by itself.
        // The machine is let go of with whether the run stopped mid-drive (interrupted, stopped by its store
        // or disk): then another run is kept off it until this one is resumed or rolled back. A run that
        // ended, or awaits only a restart window (every change made, its RestartOwed marker left), is not.
        // A run whose first record never reached the disk made no change and is forgotten (below): nothing
        // of it is left on the machine.
        // (A journal the disk would not even open has no records either.)
        const discarded = failure instanceof DurabilityError && !failure.resumable && (journal === undefined || journal.records.length === 0);
        const unfinished = !discarded && (outcome === undefined || outcome === 'running' || (outcome === 'awaiting-resume' && awaiting !== 'restart-window'));
        for (const letGo of [() => journal?.close(), () => held?.release({ unfinished }), () => runLease.release(), () => (owned ? executor.close() : undefined)]) {
          try {
            await letGo();
          } catch (error) {
            // A lease the store could not take back (it was lost) is told even after the run's own error:
            // the operator learns that it expires by itself, and when.
            if (failure === null || error instanceof StoreUnavailableError) events.emit('log', { runId, level: 'warn', message: `could not let go of the run's journal or lease: ${(error as Error).message.split('\n')[0]}` });
          }
        }
        // A run whose first record never reached the disk does not exist: the store forgets it, so that
        // it is not listed as damaged nor offered to `resume --all`.
        if (discarded) {
          await this.store.discardRun?.(runId).catch(() => undefined);
        }
      }
    })();
    return { id: runId, events, result, cancel: () => controller.abort(), interrupt: () => interrupter.abort() };
  }
}

/** The executor of a drive that calls no target (a run that ended): any call is a bug. */
function unconnected(target: string, name: string): Executor {
  return {
    name: name as Executor['name'],
    target,
    onTarget: false,
    roundTrips: 0,
    run: () => Promise.reject(new InternalError(`run on ${target} ended: nothing is sent to its target`)),
    close: async () => undefined,
  };
}

/**
 * The executor a resume or rollback drives with: the one given, or one connected to the run's target
 * (the runner's to close) — refused (`TARGET_MISMATCH`, closed) before anything changes when it reaches
 * another machine than the run's ({@link checkSameMachine}; `force` accepts another address of it).
 */
async function reach(options: Reach, started: RunStartedRecord, records: readonly JournalRecord[], force: boolean): Promise<{ executor: Executor; owned: boolean }> {
  if (!options.executor && typeof options.connect !== 'function') throw new ValidationError('a resume or rollback needs an executor, or a connect function for the target the run recorded', ['executor', 'connect']);
  const executor = options.executor ?? (await options.connect!(options.target ?? started.targetSpec ?? started.target));
  const owned = !options.executor;
  try {
    await checkSameMachine(executor, started, records, { force, handed: !owned });
  } catch (error) {
    if (owned) await executor.close().catch(() => undefined);
    throw error;
  }
  return { executor, owned };
}

/**
 * The runbook of a run as it is now, loaded again from the source it recorded. A fleet host's run
 * recorded before fleets kept their runbook's source says `runbook <name>`: the bundled runbook of that
 * name is its runbook when its fingerprint is the recorded one. One that cannot be loaded is refused
 * (`RUNBOOK_CHANGED`) unless `force`: then the recorded definition is driven (undefined here).
 */
async function reloadRunbook(started: RunStartedRecord, kinds: StepKindRegistry, force: boolean): Promise<LoadedRunbook | undefined> {
  try {
    return await loadRunbook(started.source, kinds);
  } catch (cause) {
    const legacy = started.source === `runbook ${started.runbook.name}` ? await loadRunbook(started.runbook.name, kinds).catch(() => undefined) : undefined;
    if (legacy?.fingerprint === started.fingerprint) return legacy;
    if (force) return undefined;
    throw new RunStateError('RUNBOOK_CHANGED', `the runbook of run ${started.runId} cannot be loaded from ${started.source}: ${(cause as Error).message.split('\n')[0]}`, {
      where: started.source,
      hint: 'restore the file, or resume with --force to continue with the definition recorded in the journal',
      cause,
    });
  }
}

/** The steps a durable record shows began to act on the target (or to undo): a step acts only from its `acting` (or `compensating`) record on. */
function actedSteps(records: readonly JournalRecord[]): string[] {
  return [...new Set(records.filter((r) => r.type === 'step.snapshot' && (r.value === 'acting' || r.value === 'compensating')).map((r) => String(r.stepId)))];
}

/** What the target holds, as the durable records say, for a run that stopped. */
function targetState(records: readonly JournalRecord[], acted: readonly string[]): string {
  const ended = records.find((r) => r.type === 'run.ended');
  return ended
    ? `the run had ended ${String(ended.status)} (its journal says so); its reports were not all written`
    : acted.length > 0
      ? `the target holds changes of this run (steps ${acted.join(', ')}), each journaled before it was made; nothing after the last durable record was done`
      : 'nothing was changed on the target';
}


/** Whether `file` is `dir` or below it (`/x/state-2` is not below `/x/state`, as a prefix test would say). */
function inside(dir: string, file: string): boolean {
  const r = relative(resolve(dir), resolve(file));
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}

/** System calls that only read: a file they fail on was not being written. */
const READ_CALLS: ReadonlySet<string> = new Set(['stat', 'lstat', 'fstat', 'read', 'scandir', 'readdir', 'access']);

const firstLine = (text: string) => String(text).split('\n')[0];

/** What "then" says after the advice: how the run's files (or summary) come back. */
function thenResume(runId: string, ended: boolean, where = ''): string {
  return ended
    ? `\`runbook resume ${runId}${where}\` writes the run's files again from its journal (it neither connects to nor changes the target)`
    : `\`runbook resume ${runId}${where}\` continues the run and writes its files when it ends`;
}

/**
 * The warning for a summary whose write was never tried because a read before it failed (the
 * journal's `stat`): which read, why, and that the outcome stands as the journal recorded it.
 */
export function unreadWarning(runId: string, entry: UnwrittenFile, ended = true): string {
  const read = entry.unread!;
  const why = entry.errno === 'ENOENT' ? 'it is not there' : entry.errno === 'EACCES' || entry.errno === 'EPERM' ? 'reading it is not permitted' : entry.errno === 'EIO' ? 'the disk failed the read' : entry.message;
  return `${entry.file} was not written: ${read.file} could not be read first (${read.syscall} ${entry.errno}: ${why}) — not a failed write; the run's outcome stands as its journal recorded it when the drive ended. Check ${read.file} (is it there, readable, its disk sound), then ${thenResume(runId, ended)}; \`runbook status ${runId}\` shows the run meanwhile`;
}

/**
 * The warning for a run's summary that a shared store could not take, its connection lost: what was not
 * saved and where (the store's URL without its password), why (the code), and what to do — nothing
 * of a disk: there is no file.
 */
export function unsavedWarning(runId: string, entry: UnsavedSummary, ended = true): string {
  const url = urlWithoutPassword(entry.store);
  const where = /^postgres(ql)?:/.test(url) ? resumeWhere(entry.store) : '';
  const then = ended
    ? `\`runbook resume ${runId}${where}\` saves it again from the run's journal (it neither connects to nor changes the target)`
    : `\`runbook resume ${runId}${where}\` continues the run and saves it when it ends`;
  const why = entry.advice ? `the store refused it (${entry.reason}: ${entry.message})` : `the connection was lost (${entry.reason})`;
  const advice = entry.advice ? `${entry.advice[0].toUpperCase()}${entry.advice.slice(1)}` : 'Check that the database is up and reachable from here';
  return `the run's summary (and the copies of its files) could not be saved in the store ${url}: ${why}; the run's journal in the store is intact and its outcome stands. ${advice}, then ${then}; \`runbook status ${runId}\` shows the run meanwhile`;
}

/**
 * The warning for a file of an ended drive that the disk refused: which file, why, that the journal is
 * intact (the run's outcome stands), and how to get the file once there is room.
 */
export function unwrittenWarning(runId: string, file: string, errno: string, stateDir: string, ended = true): string {
  const undo = /undo\.(reg|ps1)$/.test(file) ? ' (the by-hand undo of the changes this run left on the target)' : '';
  return `${file}${undo} could not be written (${errno}: ${diskProblem(errno)}); the run's journal is intact and its outcome stands. ${diskAdvice(errno, stateDir)}, then ${thenResume(runId, ended)}; \`runbook status ${runId}\` shows the run meanwhile`;
}
