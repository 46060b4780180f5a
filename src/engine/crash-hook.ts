/**
 * Test hook: with `RUNBOOK_CRASH_AFTER=<n>` in the environment the process kills itself (SIGKILL) right
 * after the n-th journal record of this process is in its file. Used by the crash-point sweep. The count and
 * the variable belong to the process (its PID): a process started from a V8 startup snapshot (the
 * sweep's children) sees its own environment and counts from zero, whatever ran while the snapshot
 * was made.
 */
let owner = 0;
let durable = 0;
let crashAfter = NaN;

/** Called by the journal after each record is in its file (a crash of the process no longer loses it). */
export function afterDurableRecord(): void {
  if (owner !== process.pid) {
    owner = process.pid;
    durable = 0;
    crashAfter = Number.parseInt(process.env.RUNBOOK_CRASH_AFTER ?? '', 10);
  }
  durable += 1;
  if (durable === crashAfter) process.kill(process.pid, 'SIGKILL');
}

/**
 * Test hook: a journal batch write that fails as a full or failing disk makes it fail. With
 * `RUNBOOK_JOURNAL_FAULT=<n>:<CODE>[:sync]` in the environment (or {@link injectJournalFault} in the
 * process), the n-th batch this process writes to a journal file fails with `CODE` (`ENOSPC`, `EIO`,
 * `EROFS`…): half of its bytes reach the file first (a short write, as a disk that fills mid-batch
 * gives), or, with `:sync`, all of them reach the file and the fsync fails.
 */
export interface JournalFault {
  /** The batch (1 = the first this process writes) that fails. */
  at: number;
  code: string;
  on: 'write' | 'sync';
}

let faultOwner = 0;
let batches = 0;
let fault: JournalFault | null = null;

function faultFromEnv(): JournalFault | null {
  const m = /^(\d+):([A-Z]+)(?::(sync))?$/.exec(process.env.RUNBOOK_JOURNAL_FAULT ?? '');
  return m ? { at: Number(m[1]), code: m[2], on: m[3] === 'sync' ? 'sync' : 'write' } : null;
}

/** Sets (or, with null, clears) the fault of this process and counts its journal batches from zero. */
export function injectJournalFault(next: JournalFault | null): void {
  faultOwner = process.pid;
  batches = 0;
  fault = next;
}

/** How many journal batches this process wrote since it started (or since {@link injectJournalFault}). */
export function journalBatches(): number {
  return faultOwner === process.pid ? batches : 0;
}

/** Called by the file journal before each batch: the fault for this batch, if it is the one. */
export function journalBatchFault(): JournalFault | null {
  if (faultOwner !== process.pid) {
    faultOwner = process.pid;
    batches = 0;
    fault = faultFromEnv();
  }
  batches += 1;
  return fault && fault.at === batches ? fault : null;
}

/** The error a faulty disk gives. */
export function faultError(code: string, op: string, file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault, ${op} '${file}'`), { code, syscall: op, path: file });
}
