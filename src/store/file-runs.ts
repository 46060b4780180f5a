/**
 * The runs of a state directory (the file store's): each run's folder, the summary kept beside its
 * journal, and the listing `status` shows — replaying a journal only when its summary is not current.
 * What a summary holds is the engine's (`engine/run-index.ts`).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { writeFileAtomicUnsyncedAsync } from '../util/write-atomic.js';
import { InternalError, JournalError } from '../errors.js';
import { readJournalFile } from './file-journal.js';
import { replay, resultOf } from '../engine/replay.js';
import { damagedSummary, summaryOf, type RunSummary } from '../engine/run-index.js';
import { isId, notAnId } from '../util/id.js';

/** The directory of a run; refuses what is not a run id (no path can be smuggled in). */
export function runDirOf(stateDir: string, runId: string): string {
  if (!isId(runId)) throw new JournalError('JOURNAL_MISSING', notAnId(runId, 'run'), { hint: '`runbook status` lists the runs and their ids' });
  return join(stateDir, 'runs', runId);
}

/**
 * A name under which a run's file is kept by `saveFile` (`backups/<file>`), checked: in a subfolder of
 * the run's (so never its journal, lease or summary), each part a plain name — no `.` or `..`, no
 * separator of either system, no `:` (a drive, a Windows stream), no control character. Anything else is a bug of its caller.
 */
export function checkRunFileName(name: string): string {
  const parts = name.split('/');
  if (parts.length < 2 || parts.some((p) => p === '' || p === '.' || p === '..' || /[\\:\x00-\x1f\x7f]/.test(p))) {
    throw new InternalError(`"${name}" cannot name a run's file: expected <folder>/<file>, each a plain name`);
  }
  return name;
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

/** The `summary.json` beside a journal, or null (none, or not readable as one). */
async function readSummaryFile(runDir: string): Promise<SummaryFile | null> {
  try {
    return JSON.parse(await readFile(join(runDir, 'summary.json'), 'utf8')) as SummaryFile;
  } catch {
    return null;
  }
}

/** A summary's run as of its journal: while the journal still has the size and time it had then. */
async function currentSummary(file: SummaryFile | null, runDir: string): Promise<RunSummary | null> {
  if (!file) return null;
  try {
    const { size, mtimeMs } = await stat(join(runDir, 'journal.jsonl'));
    return file.journalBytes === size && file.journalModified === mtimeMs ? file.summary : null;
  } catch {
    return null;
  }
}

/**
 * Refuses a journal shorter than it was when its run last ended a drive (`summary.json` says how long it
 * was then). A journal only grows — a torn last line or an unflushed batch is cut back to what was
 * durable, never below what a drive that ended had made durable — so a shorter one was cut by something
 * else, and replayed as it is it would tell a run that stopped half-way: a resume would take the lost
 * steps for never run, and a rollback would undo only what is left.
 *
 * @example
 * ```ts
 * await refuseCutJournal('.runbook/runs/20261207-101500-orchestrator-tls12-a1b2c3', 33_000); // throws JOURNAL_CORRUPT if summary.json says 67,487
 * // `summary`: the summary.json already read (null: none), so that it is not read again
 * ```
 */
export async function refuseCutJournal(runDir: string, size: number, summary?: SummaryFile | null): Promise<void> {
  const file = summary === undefined ? await readSummaryFile(runDir) : summary;
  if (!file) return;
  // A plan's journal is flushed only as it closes, after its summary is written: a power loss between
  // the two can leave it shorter — and a plan changed nothing a lost record could hide.
  const recorded = file.journalBytes;
  if (file.summary?.status !== 'planned' && typeof recorded === 'number' && size < recorded) {
    throw new JournalError('JOURNAL_CORRUPT', `the journal is ${size} bytes, shorter than the ${recorded} it had when its run last ended a drive (summary.json): it was cut, and the records it lost are not to be guessed`, {
      where: join(runDir, 'journal.jsonl'),
      hint: 'restore journal.jsonl from a backup; meanwhile `runbook inspect --target …` shows what the target holds (the undo.reg/undo.ps1 beside it, if any, undo what the run changed)',
    });
  }
}

/**
 * A journal without one whole record — empty (0 bytes), or only a first line whose write never ended —
 * tells nothing of its run, not even which runbook and target it had: refused as damaged, naming the
 * file and what to do, rather than read as a journal that "does not begin with run.started". A run
 * writes its first record before it contacts its target, so a run that stopped before that record was
 * durable never reached it; a journal emptied since is restored from a backup.
 *
 * @example
 * ```ts
 * refuseEmptyJournal('.runbook/runs/20261207-101500-orchestrator-tls12-a1b2c3', 0, 0); // throws JOURNAL_CORRUPT
 * ```
 */
export function refuseEmptyJournal(runDir: string, records: number, size: number): void {
  if (records > 0) return;
  const what = size === 0 ? 'empty (0 bytes)' : `${size} bytes without one complete record (its first line was never finished)`;
  throw new JournalError('JOURNAL_CORRUPT', `the journal of run ${basename(runDir)} is ${what}: nothing in it says what the run did`, {
    where: join(runDir, 'journal.jsonl'),
    hint: `if the file was emptied, restore journal.jsonl from a backup; if its run stopped before its first record (a run records its start before it contacts its target), it changed nothing: remove the folder ${runDir}. \`runbook inspect --target …\` shows what the target holds`,
  });
}

/** Every run in the state directory, oldest first; a run whose journal cannot be read is listed as `damaged`. */
export async function listRuns(stateDir: string): Promise<RunSummary[]> {
  let ids: string[];
  try {
    // A folder whose name is no run id (`...`, one with a space) is no run of this engine's: skipped.
    ids = (await readdir(join(stateDir, 'runs'))).filter(isId).sort();
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
          const dir = runDirOf(stateDir, id);
          const file = await readSummaryFile(dir);
          const cached = await currentSummary(file, dir);
          if (cached) return { ...cached, runId: id };
          try {
            const { records, size } = await readJournalFile(join(dir, 'journal.jsonl'));
            await refuseCutJournal(dir, size, file);
            refuseEmptyJournal(dir, records.length, size);
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
