/**
 * The runs of a state directory (the file store's): each run's folder, the summary kept beside its
 * journal, and the listing `status` shows — replaying a journal only when its summary is not current.
 * What a summary holds is the engine's (`engine/run-index.ts`).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomicUnsyncedAsync } from '../util/write-atomic.js';
import { JournalError } from '../errors.js';
import { readJournal } from './file-journal.js';
import { replay, resultOf } from '../engine/replay.js';
import { damagedSummary, summaryOf, type RunSummary } from '../engine/run-index.js';

/** The directory of a run; refuses what is not a run id (no path can be smuggled in). */
export function runDirOf(stateDir: string, runId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(runId)) throw new JournalError('JOURNAL_MISSING', `"${runId}" is not a run id`);
  return join(stateDir, 'runs', runId);
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
  // Not flushed to disk: a summary lost to a power loss (or left behind by one) is one that no longer
  // matches its journal, and the journal is replayed instead.
  await writeFileAtomicUnsyncedAsync(join(runDir, 'summary.json'), JSON.stringify(file));
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
