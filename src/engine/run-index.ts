/**
 * What a run's journal says, in any store: its result, its recorded start, and the summary `status`
 * lists. Light on purpose — journals and their replay only, no step kinds, validation or machines — so
 * that listing runs stays fast however large the engine grows. (How a store keeps summaries beside its
 * journals is the store's: `store/file-runs.ts` for the files of a state directory.)
 */
import { JournalError } from '../errors.js';
import { replay, resultOf, type RunStartedRecord } from './replay.js';
import { fingerprint } from './runbook.js';
import type { JournalRecord, RunSummary } from './run-store.js';
import { isDoneStatus, type RunResult } from './types.js';

export type { RunSummary } from './run-store.js';

/** What reading a run needs of a store (any store: see `RunStore`). */
export type JournalSource = { readonly location: string; readJournal(runId: string): Promise<JournalRecord[]>; filesAt?(runId: string): string };

/** What the journal of a run says now, and where its files are kept (when the store says). */
export async function runResult(store: JournalSource, runId: string): Promise<RunResult> {
  const result = resultOf(replay(await store.readJournal(runId)), store.location);
  return store.filesAt ? { ...result, filesAt: store.filesAt(runId) } : result;
}

/** The recorded start of a run (its runbook, target, parameters), checked against its fingerprint. */
export async function startedRecordOf(store: Pick<JournalSource, 'readJournal'>, runId: string): Promise<RunStartedRecord> {
  return startedRecordIn(await store.readJournal(runId), runId);
}

/** The first of a run's records, checked: `run.started`, whose runbook matches its fingerprint. */
export function startedRecordIn(records: readonly JournalRecord[], runId: string): RunStartedRecord {
  // Records come off the disk untyped; the type is checked on the next line before anything is read.
  const started = records[0] as unknown as RunStartedRecord | undefined;
  if (!started || started.type !== 'run.started') throw new JournalError('JOURNAL_CORRUPT', 'the journal does not begin with run.started', { where: runId });
  if (started.fingerprint !== fingerprint(started.runbook)) {
    throw new JournalError('JOURNAL_CORRUPT', 'the runbook recorded in the journal does not match its fingerprint', { where: runId });
  }
  return started;
}

/** The summary `status` shows, from a run's result. */
export function summaryOf(id: string, r: RunResult): RunSummary {
  const current = r.steps.find((s) => !isDoneStatus(s.status) && s.status !== 'compensated');
  return {
    runId: id,
    runbook: r.runbook,
    target: r.target,
    status: r.status,
    outcome: r.outcome,
    currentStep: current?.id ?? null,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    ...(r.awaiting ? { awaiting: r.awaiting } : {}),
  };
}

/** How a run that cannot be read is listed. */
export function damagedSummary(id: string, error: unknown): RunSummary {
  return { runId: id, runbook: '?', target: '?', status: 'damaged', currentStep: null, startedAt: '', endedAt: '', error: (error as Error).message.split('\n')[0] };
}
