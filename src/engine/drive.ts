/**
 * Drives one run from wherever its journal says it stands: forward through the steps, then — when a
 * step fails, the run is cancelled or an operator rolls it back — backward through the saga.
 *
 * Outcomes are what happened: a target that could not be reached before anything changed ends the run
 * `unreachable` (no saga: there is nothing to undo); a step whose parameters fail validation mid-run is
 * a failed step that goes through the saga, never a stuck run; an interruption stops at a safe point
 * and leaves the run awaiting a resume.
 */
import type { InspectionEvent, Observer } from 'xstate';
import { DurabilityError, LeaseError, RunStateError, StateError, StepError, StoreRefusedError, StoreUnavailableError, diskErrorOf, toErrorRecord, type ErrorRecord } from '../errors.js';
import type { Executor } from '../executors/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { RunEmitter, SettledBeforeStep } from './events.js';
import { transformedWriter, type JournalWriter } from './run-store.js';
import type { StepKindRegistry } from './kinds.js';
import { ReadCache } from './read-cache.js';
import { ReadAhead } from './read-ahead.js';
import { settledFromSnapshot, type SagaStarted } from './records.js';
import { positionOf, replay, resultOf, type RunState, type RunStartedRecord } from './replay.js';
import type { RetryPolicy } from './retry.js';
import { sharedRunbook, type RunbookDefinition } from './runbook.js';
import { runStep, type StepScope } from './run-step.js';
import { DEFAULT_COMPENSATION_BUDGET_MS, compensateSteps } from './saga.js';
import { MASK, createMasker, journaledRecord, secretFree, type Masker } from './secrets.js';
import { checkStepParams } from './step-params.js';
import { SuspendSignal, takeCounters, type RuntimeServices } from './step-runtime.js';
import { isRolledBack } from './outcome.js';
import { isDoneStatus, statusAllows, type AwaitingReason, type Change, type Json, type RunResult, type RunStatus, type StepStatus } from './types.js';
import { remainingOf } from './undo-set.js';
import { encodeRegFile, regFileTexts } from '../windows/reg-file.js';

/** How many drives may start from the same position before the run needs an operator. */
export const MAX_RESUMES_WITHOUT_PROGRESS = 3;

/** Waits that do not count against {@link MAX_RESUMES_WITHOUT_PROGRESS}: nobody failed, the run was told to wait. */
const EXPECTED_WAITS: ReadonlySet<AwaitingReason> = new Set(['restart-window', 'interrupted']);

export interface DriveOptions {
  /**
   * Keeps one of the run's files (a backup) where the run lives, durably, before the change it guards:
   * the store's `RunStore.saveFile` for this drive's lease. `name` is relative to the run's files.
   */
  saveFile: (name: string, content: Buffer) => Promise<void>;
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

/** How a drive ends: the run ended with a status, or it stopped to await a resume. */
export type DriveEnd = { kind: 'ended'; status: RunStatus; error?: ErrorRecord; reason?: string } | { kind: 'suspended'; signal: SuspendSignal };

/** What one drive knows of its run: the journal (written through a masking writer), its state as replayed, its data. */
interface OpenRun {
  runId: string;
  started: RunStartedRecord;
  /** The steps this run drives (those whose `when:` holds). */
  definition: RunbookDefinition;
  journal: JournalWriter;
  events: RunEmitter;
  masker: Masker;
  state: RunState;
  kinds: StepKindRegistry;
  /** The run's parameters, secrets included. */
  params: Record<string, Json>;
  /** Values of the secret parameters: never journaled. */
  secrets: Record<string, Json>;
  /** Outputs published by the steps done, by step id. */
  outputs: Record<string, Json>;
  /**
   * The outputs read back from the journal that hold the mask (a secret's value was in them): a later
   * step must not be given the mask in place of the secret (see {@link usesMaskedOutput}).
   */
  maskedOutputs: ReadonlySet<string>;
  stateDir: string;
  /** Set once this drive journals a saga's start: the backward pass then replays the journal to run it. */
  sagaStarted?: boolean;
}

const CANCELLED: ErrorRecord = { name: 'AbortError', code: 'CANCELLED', message: 'the run was cancelled' };

/**
 * Drives a run from where its journal stands — the table of contents: open the run, start this drive's
 * segment, build the services once, go forward through the steps, then backward through the saga when
 * one is under way.
 */
export async function drive(options: DriveOptions): Promise<RunResult> {
  const run = openRun(options);
  const settled = refuseOrResult(run, options);
  if (settled) return settled;
  const stuck = await startSegment(run, options);
  if (stuck) return endDrive(run, stuck);
  const scope = stepScope(run, options);
  const forward = options.mode === 'rollback' ? await startOperatorSaga(run, options) : await driveForward(run, scope, options);
  if (forward) return endDrive(run, forward);
  return endDrive(run, await driveBackward(run, scope, options));
}

/** The run as its journal tells it, with a writer that masks secrets in every record. */
function openRun(options: DriveOptions): OpenRun {
  const masker = createMasker(options.secrets);
  options.events.mask = masker.mask;
  // The runs of this process whose journals record the same runbook drive one copy of it.
  const state = replay(options.journal.records, sharedRunbook);
  const { started } = state;
  const definition = started.runbook;
  // A memo of a step that can undo must reach the journal exactly (see journaledRecord).
  const undoes = (index: number) => {
    const uses = definition.steps[index]?.uses;
    const kind = uses !== undefined && options.kinds.has(uses) ? options.kinds.get(uses) : undefined;
    return Boolean(kind?.compensate || kind?.registryPriors);
  };
  const journal = transformedWriter(options.journal, (record) => journaledRecord(record, masker, undoes));
  const outputs: Record<string, Json> = {};
  const maskedOutputs = new Set<string>();
  state.steps.forEach((st, i) => {
    if (!isDoneStatus(st.status)) return;
    outputs[definition.steps[i].id] = st.output;
    if (JSON.stringify(st.output ?? null).includes(MASK)) maskedOutputs.add(definition.steps[i].id);
  });
  const params = { ...started.params, ...options.secrets };
  state.steps.forEach((st, i) => revealStartedParams(st, definition.steps[i], i, { kinds: options.kinds, params, outputs, secrets: options.secrets, masker }));
  return {
    runId: started.runId,
    started,
    definition,
    journal,
    events: options.events,
    masker,
    state,
    kinds: options.kinds,
    params,
    secrets: options.secrets,
    outputs,
    maskedOutputs,
    stateDir: options.stateDir,
  };
}

/**
 * A step started before this drive has its parameters from the journal, where a secret inside a longer
 * string (`Bearer <token>`) is kept only masked (a whole secret is kept as `{ $secret: name }` and put
 * back when the step runs): resumed part-way, the step would act on `Bearer ***`. Its `with:` is resolved
 * again with the secrets read from the environment; when that masks to what the journal holds, the
 * step takes it (in memory only: the journal keeps its mask).
 */
function revealStartedParams(st: RunState['steps'][number], step: RunbookDefinition['steps'][number] | undefined, index: number, run: { kinds: StepKindRegistry; params: Record<string, Json>; outputs: Record<string, Json>; secrets: Record<string, Json>; masker: Masker }) {
  if (st.params === undefined || isDoneStatus(st.status) || step === undefined || !run.kinds.has(step.uses)) return;
  if (!JSON.stringify(st.params).includes(MASK)) return;
  const checked = checkStepParams(run.kinds.get(step.uses), step, index, { params: run.params, steps: run.outputs });
  if (!checked.ok) return;
  const again = secretFree(checked.value, run.secrets);
  if (JSON.stringify(run.masker.mask(again)) === JSON.stringify(st.params)) st.params = again;
}

/**
 * A rollback the run cannot take is refused; a run that has ended is not driven again: its result. A
 * rollback of a run already rolled back is not refused either: its result, as a resume gives it.
 */
function refuseOrResult(run: OpenRun, options: DriveOptions): RunResult | null {
  const { state, started, runId } = run;
  if (options.mode === 'rollback') {
    const refuse = (why: string, hint: string) => new RunStateError('NOT_RESUMABLE', `run ${runId} ${why}`, { hint });
    if (started.checkMode) throw refuse('is a plan: it changed nothing', 'nothing to roll back');
    if (state.ended && isRolledBack(state.ended.status)) return resultOf(state, options.stateDir);
    // A run whose rollback failed may be rolled back again: the undos that failed are retried.
    if (state.ended && state.ended.status !== 'succeeded' && state.ended.status !== 'rollback-failed') {
      throw refuse(`is ${state.ended.status}`, 'only a succeeded or unfinished run, or one whose rollback failed, can be rolled back');
    }
    return null;
  }
  return state.ended ? resultOf(state, options.stateDir) : null;
}

/** The steps an earlier drive of the run settled (none for a new run), as `run:start` tells them. */
function settledBefore(run: OpenRun): SettledBeforeStep[] {
  return run.state.steps.flatMap((st, index) => {
    if (st.status === 'pending' || st.status === 'running') return [];
    const took = st.startedAt && st.endedAt ? Date.parse(st.endedAt) - Date.parse(st.startedAt) : Number.NaN;
    return [{ stepId: run.definition.steps[index].id, index, status: st.status, summary: st.summary, changes: st.changes.length, ...(Number.isFinite(took) ? { tookMs: took } : {}) }];
  });
}

/** Journals this drive's start; a run resumed again and again at the same point ends for an operator. */
async function startSegment(run: OpenRun, options: DriveOptions): Promise<DriveEnd | null> {
  const { state, started, definition, journal } = run;
  const resumed = state.segments.length > 0;
  const position = positionOf(state);
  const stuck = state.segments.filter((s) => s.resume && s.position === position && !(s.awaiting && EXPECTED_WAITS.has(s.awaiting))).length;
  // The target this drive reaches, journaled when it is not the one the run recorded (`--target`).
  const target = options.executor.target;
  await journal.append({ type: 'segment.started', position, resume: resumed, pid: process.pid, mode: options.mode, ...(target !== started.target ? { target } : {}) });
  run.events.emit('run:start', {
    runId: run.runId,
    runbook: definition.name,
    target,
    checkMode: started.checkMode,
    resumed,
    steps: definition.steps.map((s) => s.id),
    mode: options.mode,
    settled: settledBefore(run),
  });
  if (!resumed || stuck < MAX_RESUMES_WITHOUT_PROGRESS || options.mode !== 'drive') return null;
  return {
    kind: 'ended',
    status: 'rollback-failed',
    reason: `resumed ${stuck} times at the same point (${position}) without progress; an operator must look at the target and the journal`,
    error: { name: 'JournalError', code: 'NO_PROGRESS', message: `no progress after ${stuck} resumes at ${position}` },
  };
}

/** Journals how this drive ends, and tells the listeners the run's result. */
async function endDrive(run: OpenRun, end: DriveEnd): Promise<RunResult> {
  // What is still changed, exactly, as the step kinds read it from the journal: recorded with the end,
  // so that every reader of the run (status, a worker, a fleet) lists the same as the report.
  const status = end.kind === 'suspended' ? 'awaiting-resume' : end.status;
  // The records appended without a wait (a step's last state, when the drive stopped at the safe point
  // after it) are stored first: without them a write whose answer is journaled reads as "maybe".
  await run.journal.stored?.();
  const remaining = statusAllows(status, 'remaining') && !run.started.checkMode ? { remaining: remainingOf(replay(run.journal.records), run.kinds) } : {};
  // The records read for it are not held while the end is written and flushed (they are read again below).
  run.journal.forget?.();
  if (end.kind === 'suspended') {
    await run.journal.append({ type: 'run.suspended', reason: end.signal.reason, awaiting: end.signal.awaiting, ...remaining });
  } else {
    await run.journal.append({ type: 'run.ended', status: end.status, ...(end.error ? { error: end.error } : {}), ...(end.reason ? { reason: end.reason } : {}), ...remaining });
  }
  // How the drive ended is on disk before anyone is told.
  await run.journal.durable?.();
  const result = resultOf(replay(run.journal.records), run.stateDir);
  run.events.emit('run:end', result);
  return result;
}

/** The services, built once for this drive, and what running a step needs besides them. */
function stepScope(run: OpenRun, options: DriveOptions): StepScope {
  const { state, started, definition } = run;
  const services: RuntimeServices = {
    runId: run.runId,
    executor: options.executor,
    journal: run.journal,
    events: run.events,
    cache: new ReadCache(),
    // From the first step this drive has still to run: what is done reads nothing more.
    readAhead: new ReadAhead(firstToRun(state)),
    checkMode: started.checkMode,
    run: { steps: definition.steps, kinds: options.kinds, params: run.params, outputs: run.outputs, states: state.steps },
    overrides: options.overrides,
    resumeCommand: options.resumeCommand,
    signal: options.signal,
    memos: state.memos,
    saveFile: backupSaver(run, options.saveFile),
    holdsSecret: (text) => run.masker.text(text) !== text,
    mask: run.masker.mask,
    counters: new Map(),
    fence: options.fence,
    interrupted: () => options.interrupt.aborted,
    interruptSignal: options.interrupt,
    clock: options.clock ?? systemClock,
    saga: null,
  };
  const { kinds, secrets, retry, retries, inspect } = options;
  return { definition, kinds, states: state.steps, services, secrets, retry, retries, inspect };
}

/** The first step not done yet (the steps' count when all are). */
function firstToRun(state: RunState): number {
  const index = state.steps.findIndex((st) => !isDoneStatus(st.status));
  return index < 0 ? state.steps.length : index;
}

/**
 * Keeps a file in the run's `backups` folder — through the store, which holds it durably where any
 * later driver of the run finds it (a shared store: in the store, not on this machine's disk alone) —
 * before the change it guards, then journals it once by its name among the run's files
 * (`backups/<file>`), never by a path of the machine that made it. A name or a content that holds a
 * secret's value is refused, nothing written: masked, the file would not be a copy of what it keeps (a
 * .reg file would import `***`); in clear, the secret would be in the store (and a name in the
 * console's links and in `status --reports`). A step checks before its first change; this is the last
 * guard.
 */
function backupSaver(run: OpenRun, save: DriveOptions['saveFile']): (file: string, content: string) => Promise<string> {
  const saved = new Set(run.state.backups);
  return async (file, content) => {
    const name = `backups/${file}`;
    const shown = run.masker.text(file);
    // A .reg file's hex values are read as the text they hold too (see regFileTexts); other files have none.
    const where = shown !== file ? 'its name' : regFileTexts(content).some((t) => run.masker.text(t) !== t) ? 'its content' : null;
    if (where) {
      throw new StepError('SECRET_IN_FILE', `the file ${shown} for the run's backups folder holds the value of a secret parameter in ${where}; it can be kept neither in clear nor masked`, {
        hint: 'nothing was written to the state directory; choose a secret value that does not occur in what the step backs up',
      });
    }
    // The target names the file: one that is no plain file name is kept under no name.
    if (!/^[^\\/:\x00-\x1f\x7f]+$/.test(file) || file === '.' || file === '..') {
      throw new StepError('BACKUP_MISSING', `the target named a backup ${JSON.stringify(file)}, which is no plain file name; it was not kept`, {
        hint: 'nothing was written to the state directory; check the backup step\'s targetDir',
      });
    }
    try {
      // A .reg file as regedit writes one (UTF-16LE with its byte order mark): imported again as it was.
      await save(name, file.toLowerCase().endsWith('.reg') ? encodeRegFile(content) : Buffer.from(content, 'utf8'));
    } catch (cause) {
      // A backup guards the change after it: the run stops here, before that change, and no later
      // record may say that it went on (the step's failure must not start a rollback either) — when the
      // disk refused it, the shared store could not be reached or refused it, or another driver took the
      // run over.
      const errno = diskErrorOf(cause);
      const error = errno ? new DurabilityError(`a backup could not be kept (${errno})`, { file: (cause as NodeJS.ErrnoException).path ?? name, errno }, { cause }) : cause;
      if (errno || cause instanceof StoreUnavailableError || cause instanceof StoreRefusedError || cause instanceof LeaseError) run.journal.fail?.(error);
      throw error;
    }
    if (!saved.has(name)) {
      saved.add(name);
      await run.journal.append({ type: 'file.saved', name });
    }
    return name;
  };
}

/** `runbook rollback`: the saga starts from the last step that ran, unless one is under way. */
async function startOperatorSaga(run: OpenRun, options: DriveOptions): Promise<null> {
  const { saga, ended } = run.state;
  if (saga && ended?.status === 'rollback-failed') {
    // Its undos failed: a saga started again from the same step retries those that failed.
    await startSaga(run, { failedIndex: saga.failedIndex, reason: 'operator', force: Boolean(options.force) });
    return null;
  }
  if (saga) return null;
  const failedIndex = run.state.steps.reduce((last, st, i) => (st.snapshot !== undefined ? i : last), -1);
  await startSaga(run, { failedIndex, reason: 'operator', force: Boolean(options.force) });
  return null;
}

/**
 * The forward pass: every step not done yet, in order. Returns how the drive ends, or null when the
 * steps are all done or a saga was started (the backward pass takes over).
 */
async function driveForward(run: OpenRun, scope: StepScope, options: DriveOptions): Promise<DriveEnd | null> {
  if (run.state.saga) return null;
  for (let index = 0; index < run.definition.steps.length; index++) {
    if (isDoneStatus(run.state.steps[index].status)) continue;
    if (options.interrupt.aborted) return { kind: 'suspended', signal: new SuspendSignal('interrupted: stopped at a safe point', 'interrupted') };
    const step = await forwardStep(run, scope, index, options.signal);
    if (step.kind === 'went-on') continue;
    if (step.kind === 'suspended') return step;
    return failForward(run, index, step.failure);
  }
  return null;
}

/** How one step of the forward pass went: on to the next, failed, or this drive suspended. */
type ForwardStep = { kind: 'went-on' } | { kind: 'failed'; failure: ErrorRecord } | { kind: 'suspended'; signal: SuspendSignal };

/** Starts and runs one step, and settles it. */
async function forwardStep(run: OpenRun, scope: StepScope, index: number, signal: AbortSignal): Promise<ForwardStep> {
  if (signal.aborted) return { kind: 'failed', failure: CANCELLED };
  const invalid = startStep(run, index);
  if (invalid) {
    await settle(run, scope.services, index, 'failed', { summary: invalid.message, changes: [], output: null, error: invalid });
    return { kind: 'failed', failure: invalid };
  }
  const outcome = await runStep(scope, index, 'forward');
  if (outcome.kind === 'suspended') return outcome;
  const { context: ctx, status } = outcome;
  const plan = ctx.plan;
  // A step that stopped at its plan publishes what the plan found.
  const output = status === 'planned' || status === 'skipped' ? ((plan?.data ?? null) as Json) : ctx.output;
  await settle(run, scope.services, index, status, { summary: ctx.summary || plan?.summary || '', changes: plan?.changes ?? [], output, ...(ctx.error ? { error: ctx.error } : {}) });
  // The settled step's machine (its plan, results, priors) is not kept for the rest of this drive: nothing
  // of the forward pass reads it again, and what does — a saga, the run's result — replays the journal.
  run.state.steps[index].snapshot = undefined;
  if (status !== 'failed') return { kind: 'went-on' };
  if (signal.aborted) return { kind: 'failed', failure: CANCELLED };
  return { kind: 'failed', failure: ctx.error ?? { name: 'StepError', code: 'FAILED', message: `step ${run.definition.steps[index].id} failed` } };
}

/**
 * Starts a step: resolves its `with:` from the parameters and the outputs published so far, checks it
 * against its kind, and journals it without secrets. A problem is the step's failure (returned).
 */
function startStep(run: OpenRun, index: number): ErrorRecord | null {
  const step = run.definition.steps[index];
  const st = run.state.steps[index];
  if (st.params !== undefined) return null;
  const checked = checkStepParams(run.kinds.get(step.uses), step, index, { params: run.params, steps: run.outputs });
  if (!checked.ok) {
    // A kind's message may quote the value it refuses: masked, as the journal would mask it.
    return { name: 'ValidationError', code: 'VALIDATION', message: run.masker.text(`invalid parameters for step ${step.id}: ${checked.issues.join('; ')}`) };
  }
  const masked = usesMaskedOutput(run, index);
  if (masked) return toErrorRecord(secretInOutput(step.id, masked));
  const stored = secretFree(checked.value, run.secrets);
  // Not waited for: nothing acts on it before a later record that is (journal order keeps it first).
  later(run.journal.append({ type: 'step.started', index, stepId: step.id, params: stored }));
  st.params = stored;
  st.status = 'running';
  return null;
}

/**
 * The earlier step whose journaled output, masked where it held a secret's value, this step's `with:`
 * takes a masked part of; null when none. The output of a step done before this drive is read back from
 * the journal, which keeps only the mask: given to the step, the target would get `***` where the first
 * drive would have given the secret. The `with:` is resolved again with each mask of those outputs
 * replaced by a marker: a marker in what it resolves to is a masked part taken.
 */
function usesMaskedOutput(run: OpenRun, index: number): string | null {
  const step = run.definition.steps[index];
  if (run.maskedOutputs.size === 0 || step.with === undefined) return null;
  for (const id of run.maskedOutputs) {
    const marker = `\u2063masked output of ${id}\u2063`;
    const marked = JSON.parse(JSON.stringify(run.outputs[id] ?? null).split(MASK).join(marker)) as Json;
    const checked = checkStepParams(run.kinds.get(step.uses), step, index, { params: run.params, steps: { ...run.outputs, [id]: marked } });
    // A marker the kind's schema refuses is still a masked part taken: the value is looked at, not its check.
    const value = checked.ok ? checked.value : null;
    if (value === null ? JSON.stringify(step.with).includes(`steps.${id}.`) : JSON.stringify(value).includes(marker)) return id;
  }
  return null;
}

/** The failure of a step, after a resume, whose parameters take a secret from an earlier step's output, which the journal keeps only masked. */
function secretInOutput(stepId: string, from: string): StepError {
  return new StepError('SECRET_IN_OUTPUT', `step ${stepId} takes a parameter from the output of step ${from}, which held the value of a secret parameter; the journal keeps that output only masked, so after the resume the step would be given *** in place of the secret: it does not start, and the run's changes are undone`, {
    hint: 'start the run again once it is rolled back: the output is published anew with the secret in it',
  });
}

/** Journals a step's end, publishes its output, and tells the listeners. */
async function settle(run: OpenRun, services: RuntimeServices, index: number, status: StepStatus, fields: { summary: string; changes: Change[]; output: Json; error?: ErrorRecord }) {
  const stepId = run.definition.steps[index].id;
  const st = run.state.steps[index];
  // What the step's last snapshot already holds is not written again (replay takes it from there).
  const repeated = settledFromSnapshot(status, st.snapshot);
  const { changes, output, ...rest } = fields;
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  // This drive's counts, taken once: the journal record and the event carry the same figures.
  const counted = takeCounters(services, index);
  later(run.journal.append({
    type: 'step.settled',
    index,
    stepId,
    status,
    ...rest,
    ...(repeated && same(repeated.changes, changes) ? {} : { changes }),
    ...(repeated && same(repeated.output, output) ? {} : { output }),
    ...counted,
  }));
  Object.assign(st, { status, output });
  if (isDoneStatus(status)) run.outputs[stepId] = output;
  run.events.emit('step:settled', {
    runId: run.runId,
    stepId,
    index,
    status,
    summary: fields.summary,
    changes,
    // Earlier drives' round trips (from the journal) and this drive's, as report.json counts them.
    roundTrips: st.roundTrips + counted.roundTrips,
    ...(fields.error ? { error: fields.error } : {}),
  });
}

/**
 * A step failed: a target not reached before anything changed ends the run `unreachable`, a plan ends
 * there, and otherwise the saga starts (null: the backward pass takes over).
 */
async function failForward(run: OpenRun, index: number, failure: ErrorRecord): Promise<DriveEnd | null> {
  const { started } = run;
  if (unreachableBeforeChange(failure, run.state.memos)) {
    const how = failure.transient ? 'could not be reached' : 'could not be used';
    return { kind: 'ended', status: 'unreachable', error: failure, reason: `the target ${started.target} ${how}; nothing was changed` };
  }
  if (started.checkMode) return { kind: 'ended', status: 'rolled-back', error: failure, reason: 'the plan stopped at a failed step; nothing was changed' };
  const reason = failure.code === 'CANCELLED' ? 'cancel' : 'failure';
  await startSaga(run, { failedIndex: index, reason, error: failure });
  return null;
}

/** Journals a saga's start, and marks the run so that its backward pass replays the journal to run it. */
async function startSaga(run: OpenRun, saga: Omit<SagaStarted, 'type'>): Promise<void> {
  await run.journal.append({ type: 'saga.started', ...saga });
  run.sagaStarted = true;
}

/** The backward pass, when a saga is under way: every step that ran is compensated. */
async function driveBackward(run: OpenRun, scope: StepScope, options: DriveOptions): Promise<DriveEnd> {
  // No saga under way (none found at the start, none started since): the records are not read again.
  const state = run.state.saga || run.sagaStarted ? replay(run.journal.records) : null;
  if (!state?.saga) return { kind: 'ended', status: run.started.checkMode ? 'planned' : 'succeeded' };
  try {
    const outcome = await compensateSteps({ steps: scope, state, budgetMs: options.compensationBudgetMs ?? DEFAULT_COMPENSATION_BUDGET_MS });
    return outcome;
  } catch (error) {
    if (error instanceof StateError) throw error;
    return { kind: 'ended', status: 'rollback-failed', error: toErrorRecord(error), reason: 'the rollback stopped on an unexpected error' };
  }
}

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
