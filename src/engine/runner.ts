/**
 * The runner: starts, plans, resumes and rolls back runs, many at once in one process, each with its
 * own journal, lease and event emitter under a state directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import type { InspectionEvent, Observer } from 'xstate';
import { DurabilityError, RunStateError, diskErrorOf } from '../errors.js';
import type { Executor } from '../executors/types.js';
import type { Clock } from '../util/clock.js';
import { drive } from './drive.js';
import { RunEmitter } from './events.js';
import type { JournalRecord, JournalWriter } from './journal.js';
import type { StepKindRegistry } from './kinds.js';
import type { LeaseOptions } from './lease.js';
import { checkStepParameters, resolveParameters, validateRunbook } from './loader.js';
import { JOURNAL_FORMAT, type RunStartedRecord } from './replay.js';
import { runResult, startedRecordOf, summaryOf, type RunSummary } from './run-index.js';
import { fileStore } from '../store/file-store.js';
import type { RunJournal, RunStore } from '../store/types.js';
import { withUndoFiles, writeReports, writeUndoFiles } from './report.js';
import type { RetryPolicy } from './retry.js';
import type { LoadedRunbook, RunbookDefinition } from './runbook.js';
import type { Json, RunResult } from './types.js';

/** A run under way. Attach listeners to `events` right away: the run starts on the next tick. */
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

/** Options of {@link Runner}. */
export interface RunnerOptions {
  /**
   * This machine's folder for runs: the file store's home, and, with a shared store, where a run's
   * files (backups, reports) are written while it is driven.
   * @default `$RUNBOOK_STATE_DIR` or `.runbook` under the working directory
   */
  stateDir?: string;
  /** Where runs, journals, leases and fleets live. @default the file store of `stateDir` */
  store?: RunStore;
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

export interface StartOptions {
  executor: Executor;
  params?: Record<string, unknown>;
  /** Check mode: stop every step after its plan; nothing on the target changes. */
  checkMode?: boolean;
  runId?: string;
  /** The target as the user typed it, kept to reconnect on resume. @default executor.target */
  target?: string;
}

export interface ResumeOptions {
  executor: Executor;
  /** The runbook as it is now; refused when its fingerprint differs from the run's, unless `force`. */
  runbook?: LoadedRunbook | RunbookDefinition;
  force?: boolean;
  /** Run-wide overrides for this resume, e.g. `{ allowRestart: true }`. */
  overrides?: Record<string, Json>;
}

export type { RunSummary } from './run-index.js';

function newRunId(name: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${name}-${randomBytes(3).toString('hex')}`;
}

function toLoaded(runbook: LoadedRunbook | RunbookDefinition, kinds: StepKindRegistry): LoadedRunbook {
  return 'definition' in runbook ? runbook : validateRunbook(runbook, kinds, `runbook ${runbook.name}`);
}

/**
 * Drives runs of runbooks against executors, journaling every step under a state directory.
 *
 * @example
 * ```ts
 * const kinds = bundledStepKinds();
 * const runner = new Runner({ kinds });
 * const run = runner.start(await loadRunbook('orchestrator-tls12', kinds), {
 *   executor: await createSimulatedExecutor('host.json'),
 * });
 * run.events.on('step:settled', (e) => console.log(e.stepId, e.status));
 * const result = await run.result;
 * if (result.status === 'awaiting-resume') await (await runner.resume(run.id, { executor })).result;
 * ```
 */
export class Runner {
  readonly stateDir: string;
  readonly store: RunStore;
  private readonly options: RunnerOptions;

  constructor(options: RunnerOptions) {
    this.options = options;
    this.stateDir = resolve(options.stateDir ?? process.env.RUNBOOK_STATE_DIR ?? '.runbook');
    this.store = options.store ?? fileStore(this.stateDir);
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
    return this.launch(runId, options.executor, secretValues, {}, { mode: 'drive', checkMode }, async (journal) => {
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

  /** Continues an interrupted run (after a crash, a reboot, or a wait for a restart window). */
  async resume(runId: string, options: ResumeOptions): Promise<Run> {
    const started = await this.startedRecord(runId);
    if (options.runbook) {
      const now = toLoaded(options.runbook, this.options.kinds);
      if (now.fingerprint !== started.fingerprint && !options.force) {
        throw new RunStateError('FINGERPRINT_MISMATCH', `runbook ${started.runbook.name} changed since run ${runId} started`, {
          where: now.source,
          hint: 'resume with the runbook as it was, or pass --force to continue with the recorded definition',
        });
      }
    }
    const secrets = this.readSecrets(started);
    return this.launch(runId, options.executor, secrets, options.overrides ?? {}, { mode: 'drive', checkMode: started.checkMode });
  }

  /**
   * Compensates a succeeded or unfinished run on an operator's request, exactly as a failure would;
   * values changed since the run are left alone unless `force`.
   */
  async rollback(runId: string, options: { executor: Executor; force?: boolean }): Promise<Run> {
    const started = await this.startedRecord(runId);
    return this.launch(runId, options.executor, this.readSecrets(started), {}, { mode: options.force ? 'force-rollback' : 'rollback', checkMode: started.checkMode });
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
    const { params } = resolveParameters({ ...started.runbook, parameters: Object.fromEntries(Object.entries(started.runbook.parameters ?? {}).filter(([k]) => started.secrets.includes(k))) }, {});
    return params;
  }

  /**
   * A write to the state directory that failed as a full or failing disk does becomes a
   * {@link DurabilityError} that tells the truth: which file, whether the run can be resumed, whether
   * a durable record shows that the target was changed (a step began to act, or to undo). Any other
   * error is returned as it is.
   */
  private async stopped(error: unknown, runId: string, durable: readonly JournalRecord[]): Promise<unknown> {
    const errno = error instanceof DurabilityError ? error.errno : diskErrorOf(error);
    const file = error instanceof DurabilityError ? error.file : (error as NodeJS.ErrnoException | null)?.path;
    if (!errno || !file) return error;
    const home = resolve(this.store.location);
    if (!(error instanceof DurabilityError) && !inside(home, file) && !inside(this.stateDir, file)) return error;
    // Stopped before this drive opened the journal (its lease): what earlier drives made durable counts.
    const records = durable.length > 0 ? durable : await this.store.readJournal(runId).catch(() => [] as JournalRecord[]);
    const resumable = records.some((r) => r.type === 'run.started');
    // A step acts on the target only from a durable `acting` (or compensating) record on.
    const acted = [...new Set(records.filter((r) => r.type === 'step.snapshot' && (r.value === 'acting' || r.value === 'compensating')).map((r) => String(r.stepId)))];
    const ended = records.find((r) => r.type === 'run.ended');
    const what = errno === 'ENOSPC' || errno === 'EDQUOT' || errno === 'EFBIG' ? 'the disk is full' : errno === 'EROFS' ? 'the file system is read-only' : errno === 'EACCES' || errno === 'EPERM' ? 'writing is not permitted' : 'the disk failed the write';
    const target = ended
      ? `the run had ended ${String(ended.status)} (its journal says so); its reports were not all written`
      : acted.length > 0
        ? `the target holds changes of this run (steps ${acted.join(', ')}), each journaled before it was made; nothing after the last durable record was done`
        : 'nothing was changed on the target';
    const dir = this.store.kind === 'file' ? home : this.stateDir;
    return new DurabilityError(
      `run ${runId} stopped: ${file} could not be written durably (${errno}: ${what}); ${target}`,
      { file, errno, runId, resumable, targetChanged: acted.length > 0 },
      {
        where: undefined,
        hint: resumable
          ? `free space in ${dir} (or make it writable again), then \`runbook resume ${runId}\` continues the run exactly where it stopped`
          : `free space in ${dir} (or make it writable again), then run again`,
        cause: error,
      },
    );
  }

  private launch(
    runId: string,
    executor: Executor,
    secrets: Record<string, Json>,
    overrides: Record<string, Json>,
    { mode, checkMode }: { mode: 'drive' | 'rollback' | 'force-rollback'; checkMode: boolean },
    init?: (journal: JournalWriter) => Promise<void>,
  ): Run {
    const events = new RunEmitter();
    const controller = new AbortController();
    const interrupter = new AbortController();
    const runDir = this.runDir(runId);
    const result = (async () => {
      await new Promise((r) => setImmediate(r));
      let lease;
      try {
        lease = await this.store.lease(runId, this.options.lease);
        // This machine's folder for the run's files (the file store made it; a shared store did not).
        await mkdir(runDir, { recursive: true });
      } catch (error) {
        throw await this.stopped(error, runId, []);
      }
      let journal: RunJournal | undefined;
      let failure: unknown = null;
      try {
        // A plan changes nothing on the target: its records protect no undo, and are flushed to disk
        // once, when the journal closes, instead of before each step goes on.
        journal = await this.store.openJournal(runId, lease, { sync: checkMode ? 'on-close' : 'each-batch' });
        if (init) await init(journal);
        const result = await drive({
          runDir,
          // Where the run is found again: the state directory, or the shared store's URL.
          stateDir: this.store.location,
          journal,
          executor,
          kinds: this.options.kinds,
          events,
          signal: controller.signal,
          interrupt: interrupter.signal,
          fence: lease.check,
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
        const reported = withUndoFiles(result, await writeUndoFiles(result, journal.records, this.options.kinds, runDir));
        await writeReports(reported, runDir);
        await this.store.saveRun(runId, summaryOf(runId, reported));
        return reported;
      } catch (error) {
        failure = await this.stopped(error, runId, journal?.records ?? []);
        throw failure;
      } finally {
        // Each is let go even when the other fails; a failure to let go (a full disk refuses the lease's
        // "released" too) never hides the run's own error — and after a run that ended, the lease
        // lapses by itself.
        for (const letGo of [() => journal?.close(), () => lease.release()]) {
          try {
            await letGo();
          } catch (error) {
            if (failure === null) events.emit('log', { runId, level: 'warn', message: `could not let go of the run's journal or lease: ${(error as Error).message.split('\n')[0]}` });
          }
        }
        // A run whose first record never reached the disk does not exist: its folder goes, so that it is
        // not listed as damaged nor offered to `resume --all`.
        if (failure instanceof DurabilityError && !failure.resumable && journal && journal.records.length === 0 && this.store.kind === 'file') {
          await rm(runDir, { recursive: true, force: true }).catch(() => undefined);
        }
      }
    })();
    return { id: runId, events, result, cancel: () => controller.abort(), interrupt: () => interrupter.abort() };
  }
}

/** Whether `file` is `dir` or below it (`/x/state-2` is not below `/x/state`, as a prefix test would say). */
function inside(dir: string, file: string): boolean {
  const r = relative(resolve(dir), resolve(file));
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}
