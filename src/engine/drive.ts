/**
 * Drives one run from wherever its journal says it stands: forward through the steps, then — when a
 * step fails, the run is cancelled or an operator rolls it back — backward through the saga.
 *
 * Outcomes are what happened: a target that could not be reached before anything changed ends the run
 * `unreachable` (no saga: there is nothing to undo); a step whose parameters fail validation mid-run is
 * a failed step that goes through the saga, never a stuck run; an interruption stops at a safe point
 * and leaves the run awaiting a resume.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { InspectionEvent, Observer } from 'xstate';
import { DurabilityError, JournalError, diskErrorOf, toErrorRecord, type ErrorRecord } from '../errors.js';
import type { Executor } from '../executors/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { RunEmitter } from './events.js';
import { transformedWriter, type JournalWriter } from './run-store.js';
import type { StepKindRegistry } from './kinds.js';
import { stepParamIssues } from './loader.js';
import { ReadCache } from './read-cache.js';
import { settledFromSnapshot } from './records.js';
import { positionOf, replay, resultOf } from './replay.js';
import { resolvePolicy, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
import { resolveWith } from './runbook.js';
import { DEFAULT_COMPENSATION_BUDGET_MS, compensateSteps } from './saga.js';
import { createMasker, maskRecord, restoreSecrets, secretFree } from './secrets.js';
import { hostStep, type StepOutcome } from './step-host.js';
import type { DeclaredWrite } from '../windows/registry.js';
import { SuspendSignal, createStepRuntime, type RuntimeServices } from './step-runtime.js';
import type { AwaitingReason, Change, Json, RunResult, RunStatus, StepStatus } from './types.js';
import { writeFileAtomic } from '../util/write-atomic.js';
import * as z from '../util/zod.js';

/** How many drives may start from the same position before the run needs an operator. */
export const MAX_RESUMES_WITHOUT_PROGRESS = 3;

/** Waits that do not count against {@link MAX_RESUMES_WITHOUT_PROGRESS}: nobody failed, the run was told to wait. */
const EXPECTED_WAITS: ReadonlySet<AwaitingReason> = new Set(['restart-window', 'interrupted']);

export interface DriveOptions {
  runDir: string;
  stateDir: string;
  /** The run's journal; the driver writes it through a typed, masking writer. */
  journal: JournalWriter;
  executor: Executor;
  kinds: StepKindRegistry;
  events: RunEmitter;
  /** Cancels the run: the steps done are compensated. */
  signal: AbortSignal;
  /** Interrupts the run: it stops at the next safe point and awaits a resume. */
  interrupt: AbortSignal;
  /** Throws when this process lost the run's lease. */
  fence: () => Promise<void>;
  /** Values of secret parameters, read from the environment for this drive only. */
  secrets: Record<string, Json>;
  overrides: Record<string, Json>;
  resumeCommand: string[];
  retry?: Partial<RetryPolicy>;
  /** Retries of a transient failure for every step, over the runbook's and the steps' own. */
  retries?: number;
  /** @default systemClock */
  clock?: Clock;
  /** @default DEFAULT_COMPENSATION_BUDGET_MS */
  compensationBudgetMs?: number;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** `rollback`: compensate the run on an operator's request. */
  mode: 'drive' | 'rollback';
  /** With `rollback`: undo values even where they changed since the run. */
  force?: boolean;
}

const DONE = new Set(['succeeded', 'skipped', 'planned']);

/** The target could not be reached (or its transport not set up) before any step captured anything. */
function unreachableBeforeChange(failure: ErrorRecord, memos: Map<string, Json>): boolean {
  const captured = [...memos.keys()].some((k) => k.endsWith(':capture'));
  return failure.name === 'ExecutorError' && !captured;
}

/**
 * An append not waited for. The journal keeps the order of appends, so a later append that is waited
 * for — before any actor acts on the target, and at the end of the drive — is durable only once this
 * one is; records that come together are flushed together. A failed append is kept by the journal,
 * which refuses every later append with it.
 */
function later(appended: Promise<unknown>): void {
  appended.catch(() => undefined);
}

export async function drive(options: DriveOptions): Promise<RunResult> {
  const { events, executor, kinds } = options;
  const masker = createMasker(options.secrets);
  events.mask = masker.mask;
  const journal = transformedWriter(options.journal, (record) => maskRecord(record, masker));
  let state = replay(journal.records);
  const started = state.started;
  const runId = started.runId;
  const definition = started.runbook;

  if (options.mode === 'rollback') {
    const refuse = (why: string, hint: string) => new JournalError('NOT_RESUMABLE', `run ${runId} ${why}`, { hint });
    if (started.checkMode) throw refuse('is a plan: it changed nothing', 'nothing to roll back');
    if (state.ended && state.ended.status !== 'succeeded') throw refuse(`is ${state.ended.status}`, 'only a succeeded or unfinished run can be rolled back');
  } else if (state.ended) {
    return resultOf(state, options.stateDir);
  }

  const resumed = state.segments.length > 0;
  const position = positionOf(state);
  const stuck = state.segments.filter((s) => s.resume && s.position === position && !(s.awaiting && EXPECTED_WAITS.has(s.awaiting))).length;
  await journal.append({ type: 'segment.started', position, resume: resumed, pid: process.pid, mode: options.mode });
  events.emit('run:start', {
    runId,
    runbook: definition.name,
    target: started.target,
    checkMode: started.checkMode,
    resumed,
    steps: definition.steps.map((s) => s.id),
    mode: options.mode,
  });

  const finish = async (status: RunStatus, extra: { error?: ErrorRecord; reason?: string } = {}) => {
    await journal.append({ type: 'run.ended', status, ...extra });
    const result = resultOf(replay(journal.records), options.stateDir);
    events.emit('run:end', result);
    return result;
  };
  const suspend = async (signal: SuspendSignal) => {
    await journal.append({ type: 'run.suspended', reason: signal.reason, awaiting: signal.awaiting });
    const result = resultOf(replay(journal.records), options.stateDir);
    events.emit('run:end', result);
    return result;
  };

  if (resumed && stuck >= MAX_RESUMES_WITHOUT_PROGRESS && options.mode === 'drive') {
    return finish('rollback-failed', {
      reason: `resumed ${stuck} times at the same point (${position}) without progress; an operator must look at the target and the journal`,
      error: { name: 'JournalError', code: 'NO_PROGRESS', message: `no progress after ${stuck} resumes at ${position}` },
    });
  }

  const params: Record<string, Json> = { ...started.params, ...options.secrets };
  const outputs: Record<string, Json> = {};
  const publish = (index: number) => {
    if (DONE.has(state.steps[index].status)) outputs[definition.steps[index].id] = state.steps[index].output;
  };
  state.steps.forEach((_, i) => publish(i));

  const services: RuntimeServices = {
    runId,
    executor,
    journal,
    events,
    cache: new ReadCache(),
    policy: DEFAULT_RETRY_POLICY,
    checkMode: started.checkMode,
    outputs,
    overrides: options.overrides,
    resumeCommand: options.resumeCommand,
    signal: options.signal,
    memos: state.memos,
    plannedWrites: (index) => plannedWrites(index),
    saveFile: async (name, content) => {
      const dir = join(options.runDir, 'backups');
      const file = join(dir, name);
      try {
        await mkdir(dir, { recursive: true });
        await writeFileAtomic(file, masker.text(content));
      } catch (cause) {
        const errno = diskErrorOf(cause);
        if (!errno) throw cause;
        // A backup guards the change after it: the run stops here, before that change, and no later
        // record may say that it went on (the step's failure must not start a rollback either).
        const error = new DurabilityError(`a backup could not be kept (${errno})`, { file, errno }, { cause });
        journal.fail?.(error);
        throw error;
      }
      if (!state.backups.includes(file)) {
        state.backups.push(file);
        await journal.append({ type: 'file.saved', path: file });
      }
      return file;
    },
    counters: new Map(),
    fence: options.fence,
    interrupted: () => options.interrupt.aborted,
    interruptSignal: options.interrupt,
    clock: options.clock ?? systemClock,
    compensation: null,
    deadline: null,
    hostGone: false,
  };

  const stepParams = (index: number): Json => {
    const step = definition.steps[index];
    const known = state.steps[index].params;
    if (known !== undefined) return known;
    return resolveWith(step.with ?? {}, { params, steps: outputs }, `steps[${index}] (id ${step.id}).with`);
  };

  async function plannedWrites(after: number): Promise<DeclaredWrite[]> {
    const writes: DeclaredWrite[] = [];
    for (let i = after + 1; i < definition.steps.length; i++) {
      const kind = kinds.get(definition.steps[i].uses);
      if (!kind.declares) continue;
      let raw: Json;
      try {
        raw = stepParams(i);
      } catch {
        continue;
      }
      const p = z.safeParse(kind.params, raw);
      if (!p.success) continue;
      const rt = createStepRuntime(services, definition.steps[i].id, i, () => 'declares');
      writes.push(...(await kind.declares({ params: p.data, rt })));
    }
    return writes;
  }

  const counters = (index: number) => {
    const c = services.counters.get(index) ?? { roundTrips: 0, polls: 0, retries: 0 };
    services.counters.delete(index);
    return { roundTrips: c.roundTrips, pollRoundTrips: c.polls, retries: c.retries };
  };

  /** Resolves and checks a step's parameters before it starts; a problem is the step's failure. */
  async function startStep(index: number): Promise<ErrorRecord | null> {
    const step = definition.steps[index];
    const st = state.steps[index];
    if (st.params !== undefined) return null;
    let value: Json;
    let issues: string[];
    try {
      value = stepParams(index);
      issues = stepParamIssues(kinds.get(step.uses), value, `steps[${index}] (id ${step.id}).with`);
    } catch (error) {
      value = null;
      issues = [(error as Error).message];
    }
    if (issues.length > 0) {
      return { name: 'ValidationError', code: 'VALIDATION', message: `invalid parameters for step ${step.id}: ${issues.join('; ')}` };
    }
    const stored = secretFree(value, options.secrets);
    // Not waited for: nothing acts on it before a later record that is (journal order keeps it first).
    later(journal.append({ type: 'step.started', index, stepId: step.id, params: stored }));
    st.params = stored;
    st.status = 'running';
    return null;
  }

  function runStep(index: number, mode: 'forward' | 'compensate'): Promise<StepOutcome> {
    const step = definition.steps[index];
    const policy = resolvePolicy(resolvePolicy(resolvePolicy(DEFAULT_RETRY_POLICY, options.retry), definition.retry), step.retry);
    services.policy = options.retries === undefined ? policy : resolvePolicy(policy, { retries: options.retries });
    let phase = 'probe';
    return hostStep({
      runId,
      stepId: step.id,
      index,
      kind: kinds.get(step.uses),
      state: state.steps[index],
      checkMode: started.checkMode,
      mode,
      rt: createStepRuntime(services, step.id, index, () => phase),
      journal,
      events,
      setPhase: (name) => {
        phase = name;
      },
      reveal: (p) => restoreSecrets(p, options.secrets),
      inspect: options.inspect,
    });
  }

  async function settle(index: number, status: StepStatus, fields: { summary: string; changes: Change[]; output: Json; error?: ErrorRecord }) {
    const stepId = definition.steps[index].id;
    // What the step's last snapshot already holds is not written again (replay takes it from there).
    const repeated = settledFromSnapshot(status, state.steps[index].snapshot);
    const { changes, output, ...rest } = fields;
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    // This drive's counts, taken once: the journal record and the event carry the same figures.
    const counted = counters(index);
    later(journal.append({
      type: 'step.settled',
      index,
      stepId,
      status,
      ...rest,
      ...(repeated && same(repeated.changes, changes) ? {} : { changes }),
      ...(repeated && same(repeated.output, output) ? {} : { output }),
      ...counted,
    }));
    Object.assign(state.steps[index], { status, output: fields.output });
    publish(index);
    events.emit('step:settled', {
      runId,
      stepId,
      index,
      status,
      summary: fields.summary,
      changes: fields.changes,
      // Earlier drives' round trips (from the journal) and this drive's, as report.json counts them.
      roundTrips: state.steps[index].roundTrips + counted.roundTrips,
    });
  }

  // Forward.
  if (options.mode === 'rollback') {
    if (!state.saga) {
      const failedIndex = state.steps.reduce((last, st, i) => (st.snapshot !== undefined ? i : last), -1);
      await journal.append({ type: 'saga.started', failedIndex, reason: 'operator', force: Boolean(options.force) });
    }
  } else if (!state.saga) {
    for (let index = 0; index < definition.steps.length; index++) {
      if (DONE.has(state.steps[index].status)) continue;
      if (options.interrupt.aborted) return suspend(new SuspendSignal('interrupted: stopped at a safe point', 'interrupted'));
      let failure: ErrorRecord | null = null;
      if (options.signal.aborted) {
        failure = { name: 'AbortError', code: 'CANCELLED', message: 'the run was cancelled' };
      } else {
        failure = await startStep(index);
        if (failure) {
          await settle(index, 'failed', { summary: failure.message, changes: [], output: null, error: failure });
        } else {
          const outcome = await runStep(index, 'forward');
          if (outcome.kind === 'suspended') return suspend(outcome.signal);
          const { context: ctx, status } = outcome;
          const plan = ctx.plan;
          // A step that stopped at its plan publishes what the plan found.
          const output = status === 'planned' || status === 'skipped' ? ((plan?.data ?? null) as Json) : ctx.output;
          await settle(index, status, { summary: ctx.summary || plan?.summary || '', changes: plan?.changes ?? [], output, ...(ctx.error ? { error: ctx.error } : {}) });
          if (status !== 'failed') continue;
          failure = ctx.error ?? { name: 'StepError', code: 'FAILED', message: `step ${definition.steps[index].id} failed` };
          if (options.signal.aborted) failure = { name: 'AbortError', code: 'CANCELLED', message: 'the run was cancelled' };
        }
      }
      if (unreachableBeforeChange(failure, state.memos)) {
        const how = failure.transient ? 'could not be reached' : 'could not be used';
        return finish('unreachable', { error: failure, reason: `the target ${started.target} ${how}; nothing was changed` });
      }
      if (started.checkMode) return finish('rolled-back', { error: failure, reason: 'the plan stopped at a failed step; nothing was changed' });
      const reason = failure.code === 'CANCELLED' ? 'cancel' : 'failure';
      await journal.append({ type: 'saga.started', failedIndex: index, reason, error: failure });
      break;
    }
  }

  state = replay(journal.records);
  if (!state.saga) return finish(started.checkMode ? 'planned' : 'succeeded');

  let outcome;
  try {
    outcome = await compensateSteps({
      runId,
      definition,
      kinds,
      state,
      services,
      journal,
      events,
      budgetMs: options.compensationBudgetMs ?? DEFAULT_COMPENSATION_BUDGET_MS,
      runStep: (index, mode) => runStep(index, mode),
      counters,
    });
  } catch (error) {
    if (error instanceof JournalError) throw error;
    return finish('rollback-failed', { error: toErrorRecord(error), reason: 'the rollback stopped on an unexpected error' });
  }
  if (outcome.kind === 'suspended') return suspend(outcome.signal);
  return finish(outcome.status, outcome.reason ? { reason: outcome.reason } : {});
}
