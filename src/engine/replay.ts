/**
 * Rebuilds what is known of a run from its journal records.
 */
import { InternalError, JournalError, type ErrorRecord } from '../errors.js';
import { outcomeOf } from './outcome.js';
import type { JournalRecord } from './run-store.js';
import { JOURNAL_FORMAT, settledFromSnapshot, type Entry, type JournaledStep, type RunStartedRecord, type StepCounters } from './records.js';
import { selectSteps, type RunbookDefinition } from './runbook.js';
import { fitsStatus, isDoneStatus, statusAllows, type RunResultFields, type AwaitingReason, type Change, type Json, type StepMachineContext, type RunResult, type RunStatus, type StepResult, type StepStatus } from './types.js';

export { JOURNAL_FORMAT } from './records.js';
export type { RunStartedRecord } from './records.js';

export interface StepState {
  params: Json | undefined;
  /** The step's machine as last journaled; undefined until it reaches its first phase (or settles). */
  snapshot: JournaledStep | undefined;
  stateValue: string | null;
  status: StepStatus;
  summary: string;
  changes: Change[];
  output: Json;
  error?: ErrorRecord;
  compensation?: StepResult['compensation'];
  /** The failed undo a saga started again retries (`compensation` is cleared for it). */
  retryUndo?: StepResult['compensation'];
  /** The journal position (`seq`) of the `step.compensated` record that set `compensation`. */
  compensationSeq?: number;
  roundTrips: number;
  pollRoundTrips: number;
  retries: number;
  startedAt?: string;
  endedAt?: string;
}

export interface RunState {
  started: RunStartedRecord;
  steps: StepState[];
  memos: Map<string, Json>;
  saga: { failedIndex: number; reason: 'failure' | 'cancel' | 'operator'; force: boolean; error?: ErrorRecord; seq: number } | null;
  ended: { status: RunStatus; error?: ErrorRecord; reason?: string; at: string; remaining?: Change[] } | null;
  suspended: { reason: string; awaiting: AwaitingReason; remaining?: Change[] } | null;
  /** Each drive: where it started, and why it stopped when it stopped to wait. */
  segments: { position: string; resume: boolean; awaiting?: AwaitingReason }[];
  /** The backups kept with the run's files, by their names among them (`backups/<file>`). */
  backups: string[];
  firstAt: string;
  lastAt: string;
}

/** The position a drive starts from; a resume that keeps starting from the same one makes no progress. */
export function positionOf(state: RunState): string {
  if (state.saga) {
    const i = state.steps.findIndex((s, idx) => idx <= state.saga!.failedIndex && s.snapshot && !s.compensation);
    return `saga:${i}:${i >= 0 ? state.steps[i].stateValue : ''}`;
  }
  const i = state.steps.findIndex((s) => !isDoneStatus(s.status));
  return `step:${i}:${i >= 0 ? state.steps[i].stateValue : ''}`;
}

/**
 * What a run's records say: its start, each step's state, the saga, how it ended. `runbookOf` turns the
 * runbook the journal recorded into the one the state holds (a drive's: {@link sharedRunbook}); by
 * default the journal's copy itself.
 */
export function replay(records: readonly JournalRecord[], runbookOf: (recorded: RunbookDefinition) => RunbookDefinition = (recorded) => recorded): RunState {
  // Records come off the disk untyped; the type is checked on the next line before anything is read.
  const first = records[0] as unknown as JournalRecord<RunStartedRecord> | undefined;
  if (!first || first.type !== 'run.started') {
    throw new JournalError('JOURNAL_CORRUPT', 'the journal does not begin with run.started', { hint: 'the run cannot be read; inspect the file' });
  }
  const format = first.format ?? 1;
  if (format !== JOURNAL_FORMAT) {
    throw new JournalError('JOURNAL_VERSION', `the run was journaled in format ${format}; this runbook-engine reads format ${JOURNAL_FORMAT}`, {
      where: first.runId,
      hint:
        format < JOURNAL_FORMAT
          ? 'finish (resume or roll back) this run with the runbook-engine version that started it'
          : 'use the newer runbook-engine that started this run',
    });
  }
  // The steps this run drives: those whose `when:` holds for its recorded parameters.
  const started = { ...first, runbook: selectSteps(runbookOf(first.runbook), first.params) };
  const state: RunState = {
    started,
    steps: started.runbook.steps.map(() => ({
      params: undefined,
      snapshot: undefined,
      stateValue: null,
      status: 'pending',
      summary: '',
      changes: [],
      output: null,
      roundTrips: 0,
      pollRoundTrips: 0,
      retries: 0,
    })),
    memos: new Map(),
    saga: null,
    ended: null,
    suspended: null,
    segments: [],
    backups: [],
    firstAt: first.at,
    lastAt: first.at,
  };
  for (const r of records as JournalRecord<Entry>[]) {
    state.lastAt = r.at;
    switch (r.type) {
      case 'run.started':
        break;
      case 'segment.started':
        state.segments.push({ position: r.position, resume: r.resume });
        state.suspended = null;
        break;
      case 'step.started': {
        const step = stepAt(state, r.index, r.seq);
        step.params = r.params;
        step.status = 'running';
        step.startedAt ??= r.at;
        break;
      }
      case 'step.snapshot': {
        const step = stepAt(state, r.index, r.seq);
        const context = { ...step.snapshot?.context, ...r.context, priors: state.memos.get(`${r.index}:capture`) ?? null };
        // Masked once, masked after: a later record holds only the fields that changed.
        const masked = Boolean(step.snapshot?.masked || r.masked);
        step.snapshot = { value: r.value, ...(r.status ? { status: r.status } : {}), context: context as StepMachineContext, children: r.children ?? [], ...(masked ? { masked } : {}) };
        step.stateValue = r.state;
        break;
      }
      case 'memo':
        state.memos.set(`${r.index}:${r.name}`, r.value);
        break;
      case 'step.attempt':
        break;
      case 'step.settled': {
        const step = stepAt(state, r.index, r.seq);
        const repeated = settledFromSnapshot(r.status, step.snapshot);
        const changes = r.changes ?? repeated?.changes ?? [];
        const output = r.output !== undefined ? r.output : (repeated?.output ?? null);
        Object.assign(step, { status: r.status, summary: r.summary, changes, output, error: r.error, endedAt: r.at });
        addCounters(step, r);
        break;
      }
      case 'step.compensated': {
        const step = stepAt(state, r.index, r.seq);
        step.compensation = { status: r.status, detail: r.detail, changes: r.changes, error: r.error, ...(r.left ? { left: r.left } : {}) };
        step.compensationSeq = r.seq;
        step.status = r.status;
        addCounters(step, r);
        break;
      }
      case 'saga.started':
        // A saga started again (`runbook rollback` of a run whose rollback failed) retries the undos that
        // failed: their steps are to be compensated again, from what the failed undo left. (A restart
        // whose undo succeeded decides again too: the saga, which knows the kinds, resets it.)
        for (const st of state.steps) {
          if (st.compensation?.status !== 'compensation-failed') continue;
          st.retryUndo = st.compensation;
          st.compensation = undefined;
        }
        state.saga = { failedIndex: r.failedIndex, reason: r.reason, force: Boolean(r.force), error: state.saga?.error ?? r.error, seq: r.seq };
        state.ended = null;
        break;
      case 'file.saved': {
        const name = backupName(r);
        if (!state.backups.includes(name)) state.backups.push(name);
        break;
      }
      case 'run.suspended': {
        const awaiting: AwaitingReason = r.awaiting ?? 'target-restart';
        state.suspended = { reason: r.reason, awaiting, ...(r.remaining ? { remaining: r.remaining } : {}) };
        const segment = state.segments[state.segments.length - 1];
        if (segment) segment.awaiting = awaiting;
        break;
      }
      case 'run.ended':
        state.ended = { status: r.status, error: r.error, reason: r.reason, at: r.at, ...(r.remaining ? { remaining: r.remaining } : {}) };
        state.suspended = null;
        break;
      default: {
        // Every record type is handled above; a new one must be added there.
        const unknown: never = r;
        throw new JournalError('JOURNAL_CORRUPT', `unknown journal record type "${(unknown as { type: string }).type}"`, {
          where: `record ${(unknown as { seq: number }).seq}`,
        });
      }
    }
  }
  return state;
}

/** The step a record names; a record naming no step of the runbook is corruption. */
function stepAt(state: RunState, index: number, seq: number): StepState {
  const step = state.steps[index];
  if (!step) throw new JournalError('JOURNAL_CORRUPT', `record ${seq} names step ${index}, which the runbook does not have`);
  return step;
}

function addCounters(step: StepState, r: StepCounters): void {
  step.roundTrips += r.roundTrips;
  step.pollRoundTrips += r.pollRoundTrips;
  step.retries += r.retries;
}

/**
 * A backup's name among the run's files: as journaled, or — a record written before names were kept —
 * from the path of the machine that made it (its last part, in the run's `backups` folder).
 */
function backupName(r: { name?: unknown; path?: unknown }): string {
  if (typeof r.name === 'string') return r.name;
  return `backups/${String(r.path).split(/[\\/]/).pop()}`;
}

/** The result of a run as its journal tells it. */
export function resultOf(state: RunState, stateDir: string): RunResult {
  const s = state.started;
  const steps: StepResult[] = state.steps.map((st, i) => ({
    id: s.runbook.steps[i].id,
    kind: s.runbook.steps[i].uses,
    status: st.status,
    summary: st.summary,
    changes: st.changes,
    output: st.output,
    ...(st.error ? { error: st.error } : {}),
    ...(st.compensation ? { compensation: st.compensation } : {}),
    roundTrips: st.roundTrips,
    pollRoundTrips: st.pollRoundTrips,
    retries: st.retries,
    startedAt: st.startedAt,
    endedAt: st.endedAt,
  }));
  const status: RunStatus = state.ended?.status ?? (state.suspended ? 'awaiting-resume' : 'running');
  // As the drive that ended (or suspended) it recorded, from its step kinds; a run under way, or one
  // whose driver died, by the changes its steps reported.
  const recorded = state.ended?.remaining ?? state.suspended?.remaining;
  const remaining = statusAllows(status, 'remaining') && !s.checkMode ? (recorded ?? remainingChanges(state)) : undefined;
  const rebootRequired = steps.some((st) => {
    const out = st.output as { rebootRequired?: boolean } | null;
    return Boolean(out && typeof out === 'object' && out.rebootRequired);
  });
  const reason = state.ended?.reason ?? state.suspended?.reason;
  const awaiting = status === 'awaiting-resume' && state.suspended ? state.suspended.awaiting : undefined;
  const result: RunResultFields = {
    runId: s.runId,
    runbook: s.runbook.name,
    target: s.target,
    status,
    outcome: outcomeOf({ status, steps, reason, awaiting }),
    checkMode: s.checkMode,
    ...(state.ended?.error ?? state.saga?.error ? { error: state.ended?.error ?? state.saga?.error } : {}),
    ...(reason ? { reason } : {}),
    steps,
    roundTrips: steps.reduce((n, st) => n + st.roundTrips, 0),
    pollRoundTrips: steps.reduce((n, st) => n + st.pollRoundTrips, 0),
    retries: steps.reduce((n, st) => n + st.retries, 0),
    rebootRequired: status === 'planned' ? rebootRequired : false,
    ...(awaiting ? { awaiting } : {}),
    ...(remaining ? { remaining } : {}),
    startedAt: state.firstAt,
    endedAt: state.ended?.at ?? state.lastAt,
    stateDir,
    backups: state.backups,
  };
  if (!fitsStatus(result)) throw new InternalError(`run ${s.runId}: a ${status} result cannot have the fields ${JSON.stringify(Object.keys(result))}`);
  return result;
}

/**
 * What a step whose kind does not say what it writes left: the changes it reported (else planned),
 * while it is not compensated and has captured its prior state (and so may have acted).
 */
export function stepChangesLeft(state: RunState, index: number): Change[] {
  const st = state.steps[index];
  if (!state.memos.has(`${index}:capture`) || st.compensation?.status === 'compensated') return [];
  return st.changes.length > 0 ? st.changes : (st.snapshot?.context.plan?.changes ?? []);
}

/**
 * The changes a run made that are still on the target as far as its journal knows, without its step
 * kinds (a run under way, or whose driver died): those of every step that captured its prior state (and
 * so may have acted) and was not compensated. A drive that ends records the exact list (`undo-set.ts`).
 */
export function remainingChanges(state: RunState): Change[] {
  return state.steps.flatMap((_, index) => stepChangesLeft(state, index));
}
