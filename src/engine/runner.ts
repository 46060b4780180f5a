/**
 * The runner: starts, plans, resumes and rolls back runs, many at once in one process, each with its
 * own journal, lease and event emitter under a state directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { InspectionEvent, Observer } from 'xstate';
import { JournalError } from '../errors.js';
import type { Executor } from '../executors/types.js';
import { drive } from './drive.js';
import { RunEmitter } from './events.js';
import { Journal, readJournal } from './journal.js';
import type { StepKindRegistry } from './kinds.js';
import { acquireLease } from './lease.js';
import { resolveParameters, validateRunbook } from './loader.js';
import { replay, resultOf, type RunStartedRecord } from './replay.js';
import { writeReports } from './report.js';
import type { RetryPolicy } from './retry.js';
import { fingerprint, type LoadedRunbook, type RunbookDefinition } from './runbook.js';
import type { Json, RunResult } from './types.js';

/** A run under way. Attach listeners to `events` right away: the run starts on the next tick. */
export interface Run {
  readonly id: string;
  readonly events: RunEmitter;
  /** Settles with the result of this drive: final, or `awaiting-resume`. */
  readonly result: Promise<RunResult>;
  /** Stops the run; steps already done are compensated (compensation itself cannot be cancelled). */
  cancel(): void;
}

/** Options of {@link Runner}. */
export interface RunnerOptions {
  /** @default `$RUNBOOK_STATE_DIR` or `.runbook` under the working directory */
  stateDir?: string;
  kinds: StepKindRegistry;
  /** Overrides of the default retry policy for every run. */
  retry?: Partial<RetryPolicy>;
  /** The command a start-up task runs to resume a run. @default ['runbook','resume',id,'--state-dir',dir] */
  resumeCommand?: (runId: string, stateDir: string) => string[];
  /** XState inspection, passed through to every step actor. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

export interface StartOptions {
  executor: Executor;
  params?: Record<string, unknown>;
  /** Check mode: stop every step after its plan; nothing on the target changes. */
  checkMode?: boolean;
  runId?: string;
}

export interface ResumeOptions {
  executor: Executor;
  /** The runbook as it is now; refused when its fingerprint differs from the run's, unless `force`. */
  runbook?: LoadedRunbook | RunbookDefinition;
  force?: boolean;
  /** Run-wide overrides for this resume, e.g. `{ allowRestart: true }`. */
  overrides?: Record<string, Json>;
}

/** A run as listed from the state directory. */
export interface RunSummary {
  runId: string;
  runbook: string;
  target: string;
  status: RunResult['status'];
  currentStep: string | null;
  startedAt: string;
  endedAt: string;
}

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
 * const runner = new Runner({ kinds: bundledStepKinds() });
 * const run = runner.start(await loadBundledRunbook('orchestrator-tls12'), {
 *   executor: await createSimulatedExecutor('host.json'),
 * });
 * run.events.on('step:settled', (e) => console.log(e.stepId, e.status));
 * const result = await run.result;
 * if (result.status === 'awaiting-resume') await (await runner.resume(run.id, { executor })).result;
 * ```
 */
export class Runner {
  readonly stateDir: string;
  private readonly options: RunnerOptions;

  constructor(options: RunnerOptions) {
    this.options = options;
    this.stateDir = resolve(options.stateDir ?? process.env.RUNBOOK_STATE_DIR ?? '.runbook');
  }

  runDir(runId: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(runId)) throw new JournalError('JOURNAL_MISSING', `"${runId}" is not a run id`);
    return join(this.stateDir, 'runs', runId);
  }

  /** Starts a run. Parameters are validated first: a bad one throws before anything is journaled. */
  start(runbook: LoadedRunbook | RunbookDefinition, options: StartOptions): Run {
    const loaded = toLoaded(runbook, this.options.kinds);
    const { params, secrets } = resolveParameters(loaded.definition, options.params ?? {});
    const runId = options.runId ?? newRunId(loaded.definition.name);
    const secretValues = Object.fromEntries(secrets.map((s) => [s, params[s]]));
    const publicParams = Object.fromEntries(Object.entries(params).filter(([k]) => !secrets.includes(k)));
    return this.launch(runId, options.executor, secretValues, {}, 'drive', async (journal) => {
      if (journal.records.length > 0) throw new JournalError('NOT_RESUMABLE', `run ${runId} already exists`, { hint: 'use `runbook resume`' });
      const record: RunStartedRecord = {
        type: 'run.started',
        runId,
        runbook: loaded.definition,
        source: loaded.source,
        fingerprint: loaded.fingerprint,
        params: publicParams,
        secrets,
        target: options.executor.target,
        executor: options.executor.name,
        checkMode: options.checkMode ?? false,
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
        throw new JournalError('FINGERPRINT_MISMATCH', `runbook ${started.runbook.name} changed since run ${runId} started`, {
          where: now.source,
          hint: 'resume with the runbook as it was, or pass --force to continue with the recorded definition',
        });
      }
    }
    const secrets = this.readSecrets(started);
    return this.launch(runId, options.executor, secrets, options.overrides ?? {}, 'drive');
  }

  /** Compensates a finished, succeeded run on demand, exactly as a failure would. */
  async rollback(runId: string, options: { executor: Executor }): Promise<Run> {
    const started = await this.startedRecord(runId);
    return this.launch(runId, options.executor, this.readSecrets(started), {}, 'rollback');
  }

  /** What the journal of a run says now. */
  async status(runId: string): Promise<RunResult> {
    const { records } = await readJournal(join(this.runDir(runId), 'journal.jsonl'));
    return resultOf(replay(records), this.stateDir);
  }

  /** Every run in the state directory, oldest first. */
  async list(): Promise<RunSummary[]> {
    let ids: string[];
    try {
      ids = (await readdir(join(this.stateDir, 'runs'))).sort();
    } catch {
      return [];
    }
    const out: RunSummary[] = [];
    for (const id of ids) {
      try {
        const r = await this.status(id);
        const current = r.steps.find((s) => !['succeeded', 'skipped', 'planned', 'compensated'].includes(s.status));
        out.push({ runId: id, runbook: r.runbook, target: r.target, status: r.status, currentStep: current?.id ?? null, startedAt: r.startedAt, endedAt: r.endedAt });
      } catch {
        // an unreadable run is reported by `status <id>` with its own error
      }
    }
    return out;
  }

  /** The recorded start of a run (its runbook, target, parameters). */
  async startedRecord(runId: string): Promise<RunStartedRecord> {
    const { records } = await readJournal(join(this.runDir(runId), 'journal.jsonl'));
    const started = records[0] as unknown as RunStartedRecord;
    if (started.fingerprint !== fingerprint(started.runbook)) {
      throw new JournalError('JOURNAL_CORRUPT', 'the runbook recorded in the journal does not match its fingerprint', { where: runId });
    }
    return started;
  }

  private readSecrets(started: RunStartedRecord): Record<string, Json> {
    if (started.secrets.length === 0) return {};
    const { params } = resolveParameters({ ...started.runbook, parameters: Object.fromEntries(Object.entries(started.runbook.parameters ?? {}).filter(([k]) => started.secrets.includes(k))) }, {});
    return params;
  }

  private launch(
    runId: string,
    executor: Executor,
    secrets: Record<string, Json>,
    overrides: Record<string, Json>,
    mode: 'drive' | 'rollback',
    init?: (journal: Journal) => Promise<void>,
  ): Run {
    const events = new RunEmitter();
    const controller = new AbortController();
    const runDir = this.runDir(runId);
    const result = (async () => {
      await new Promise((r) => setImmediate(r));
      await mkdir(runDir, { recursive: true });
      const lease = await acquireLease(join(runDir, 'lease.json'));
      let journal: Journal | undefined;
      try {
        journal = await Journal.open(join(runDir, 'journal.jsonl'));
        if (init) await init(journal);
        const result = await drive({
          runDir,
          stateDir: this.stateDir,
          journal,
          executor,
          kinds: this.options.kinds,
          events,
          signal: controller.signal,
          secrets,
          overrides,
          resumeCommand: (this.options.resumeCommand ?? ((id, dir) => ['runbook', 'resume', id, '--state-dir', dir]))(runId, this.stateDir),
          retry: this.options.retry,
          inspect: this.options.inspect,
          mode,
        });
        await writeReports(result, runDir);
        return result;
      } finally {
        await journal?.close();
        await lease.release();
      }
    })();
    return { id: runId, events, result, cancel: () => controller.abort() };
  }
}
