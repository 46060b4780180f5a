/**
 * The runs of a store, read from their journals (and, for the file store, the listing of a state
 * directory): what `status` shows. Light on purpose —
 * journals and their replay only, no step kinds, validation or machines — so that listing runs stays
 * fast however large the engine grows.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/write-atomic.js';
import { JournalError } from '../errors.js';
import { readJournal, type JournalRecord } from './journal.js';
import { replay, resultOf, type RunStartedRecord } from './replay.js';
import { fingerprint } from './runbook.js';
import { isDoneStatus, type RunResult } from './types.js';

/** What reading a run needs of a store (any store: see `RunStore`). */
export type JournalSource = { readonly location: string; readJournal(runId: string): Promise<JournalRecord[]> };

/** A run as listed from the state directory. */
export interface RunSummary {
  runId: string;
  runbook: string;
  target: string;
  status: RunResult['status'] | 'damaged';
  /** What the run did (absent in summaries kept before outcomes were). */
  outcome?: RunResult['outcome'];
  currentStep: string | null;
  startedAt: string;
  endedAt: string;
  /** Why an `awaiting-resume` run waits. */
  awaiting?: RunResult['awaiting'];
  /** Why a `damaged` run cannot be read. */
  error?: string;
}

/** The directory of a run; refuses what is not a run id (no path can be smuggled in). */
export function runDirOf(stateDir: string, runId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(runId)) throw new JournalError('JOURNAL_MISSING', `"${runId}" is not a run id`);
  return join(stateDir, 'runs', runId);
}

/** What the journal of a run says now. */
export async function runResult(store: JournalSource, runId: string): Promise<RunResult> {
  return resultOf(replay(await store.readJournal(runId)), store.location);
}

/** The recorded start of a run (its runbook, target, parameters), checked against its fingerprint. */
export async function startedRecordOf(store: Pick<JournalSource, 'readJournal'>, runId: string): Promise<RunStartedRecord> {
  const records = await store.readJournal(runId);
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

/** `summary.json` beside a journal: the summary as of a journal of `journalBytes` bytes. */
type SummaryFile = { journalBytes: number; journalModified: number; summary: RunSummary };

/**
 * Keeps the run's summary beside its journal when a drive ends, so that `status` over many runs reads
 * one small file per run instead of replaying every journal. It is used only while the journal still
 * has the size and modification time it had then: a run that was resumed (or crashed mid-drive), or a
 * journal changed by anything else since, is replayed.
 */
export async function writeRunSummary(runDir: string, summary: RunSummary): Promise<void> {
  const { size, mtimeMs } = await stat(join(runDir, 'journal.jsonl'));
  const file: SummaryFile = { journalBytes: size, journalModified: mtimeMs, summary };
  await writeFileAtomic(join(runDir, 'summary.json'), JSON.stringify(file));
}

async function summaryFromFile(runDir: string): Promise<RunSummary | null> {
  try {
    const [text, { size, mtimeMs }] = await Promise.all([readFile(join(runDir, 'summary.json'), 'utf8'), stat(join(runDir, 'journal.jsonl'))]);
    const file = JSON.parse(text) as SummaryFile;
    return file.journalBytes === size && file.journalModified === mtimeMs ? file.summary : null;
  } catch {
    return null;
  }
}

/** Every run in the state directory, oldest first; a run whose journal cannot be read is listed as `damaged`. */
export async function listRuns(stateDir: string): Promise<RunSummary[]> {
  let ids: string[];
  try {
    ids = (await readdir(join(stateDir, 'runs'))).sort();
  } catch {
    return [];
  }
  const out: RunSummary[] = [];
  // A few at a time: the file reads overlap, the replays (of runs without a current summary) do not pile up.
  for (let i = 0; i < ids.length; i += 16) {
    const batch = ids.slice(i, i + 16);
    out.push(
      ...(await Promise.all(
        batch.map(async (id) => {
          const cached = await summaryFromFile(runDirOf(stateDir, id));
          if (cached) return { ...cached, runId: id };
          try {
            const { records } = await readJournal(join(runDirOf(stateDir, id), 'journal.jsonl'));
            return summaryOf(id, resultOf(replay(records), stateDir));
          } catch (error) {
            return damagedSummary(id, error);
          }
        }),
      )),
    );
  }
  return out;
}
