/**
 * The runs of a state directory, read from their journals: what `status` shows. Light on purpose —
 * journals and their replay only, no step kinds, validation or machines — so that listing runs stays
 * fast however large the engine grows.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { JournalError } from '../errors.js';
import { readJournal } from './journal.js';
import { replay, resultOf, type RunStartedRecord } from './replay.js';
import { fingerprint } from './runbook.js';
import type { RunResult } from './types.js';

/** A run as listed from the state directory. */
export interface RunSummary {
  runId: string;
  runbook: string;
  target: string;
  status: RunResult['status'] | 'damaged';
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
export async function runResult(stateDir: string, runId: string): Promise<RunResult> {
  const { records } = await readJournal(join(runDirOf(stateDir, runId), 'journal.jsonl'));
  return resultOf(replay(records), stateDir);
}

/** The recorded start of a run (its runbook, target, parameters), checked against its fingerprint. */
export async function startedRecordOf(stateDir: string, runId: string): Promise<RunStartedRecord> {
  const file = join(runDirOf(stateDir, runId), 'journal.jsonl');
  const { records } = await readJournal(file);
  const started = records[0] as unknown as RunStartedRecord | undefined;
  if (!started || started.type !== 'run.started') throw new JournalError('JOURNAL_CORRUPT', 'the journal does not begin with run.started', { where: file });
  if (started.fingerprint !== fingerprint(started.runbook)) {
    throw new JournalError('JOURNAL_CORRUPT', 'the runbook recorded in the journal does not match its fingerprint', { where: runId });
  }
  return started;
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
  for (const id of ids) {
    try {
      const r = await runResult(stateDir, id);
      const current = r.steps.find((s) => !['succeeded', 'skipped', 'planned', 'compensated'].includes(s.status));
      out.push({
        runId: id,
        runbook: r.runbook,
        target: r.target,
        status: r.status,
        currentStep: current?.id ?? null,
        startedAt: r.startedAt,
        endedAt: r.endedAt,
        ...(r.awaiting ? { awaiting: r.awaiting } : {}),
      });
    } catch (error) {
      out.push({ runId: id, runbook: '?', target: '?', status: 'damaged', currentStep: null, startedAt: '', endedAt: '', error: (error as Error).message.split('\n')[0] });
    }
  }
  return out;
}
