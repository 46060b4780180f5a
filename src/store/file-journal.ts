/**
 * The durable, append-only journal of one run: JSON lines, each record numbered and checksummed, each
 * append flushed to disk (fsync) before it resolves. Appends that arrive while a flush is under way are
 * written and flushed together (group commit).
 */
import { hash } from 'node:crypto';
import { readSync, statSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic, writeFileAtomicUnsynced } from '../util/write-atomic.js';
import { DurabilityError, JournalError, LeaseError, diskErrorOf } from '../errors.js';
import { afterDurableRecord, faultError, journalBatchFault } from '../engine/crash-hook.js';
import type { JournalRecord, JournalSync, JournalWriter } from '../engine/run-store.js';

/**
 * The first 8 bytes of the body's SHA-256, in hex. One call (`crypto.hash`, no Hash object: a third of
 * the cost for a record's few hundred bytes); the 16 characters kept hold on to no more than the
 * digest's 64, never to the record's text.
 */
function checksum(body: Buffer): string {
  return hash('sha256', body, 'hex').slice(0, 16);
}

/** What follows a record's body on its line: the checksum's field (the body's closing brace moves after it). */
const SUM_FIELD = ',"sum":"';
/** The bytes of `,"sum":"<16 hex digits>"}`. */
const SUM_TAIL_BYTES = SUM_FIELD.length + 16 + 2;

/**
 * Serialises one record as the UTF-8 bytes of its line (the same in every store): its JSON, then the
 * checksum of that JSON, inside it as its last field. The JSON is encoded once, straight into the
 * line's bytes, and the checksum is taken over those bytes — no other copy of the text is made.
 */
export function sealRecord(record: { type: string; seq: number; at: string }): { data: Buffer; sum: string } {
  const body = JSON.stringify(record);
  const bodyBytes = Buffer.byteLength(body);
  const data = Buffer.allocUnsafe(bodyBytes - 1 + SUM_TAIL_BYTES + 1);
  data.write(body, 0, 'utf8');
  const sum = checksum(data.subarray(0, bodyBytes));
  // Over the body's closing brace: the checksum's field, the brace, the newline (all ASCII).
  data.write(`${SUM_FIELD}${sum}"}\n`, bodyBytes - 1, 'latin1');
  return { data, sum };
}

/**
 * Reads and verifies a journal. A torn last line (a crash mid-write) is dropped; any other bad line is
 * an error that names the file and the line.
 *
 * @example
 * ```ts
 * const { records, torn } = await readJournal('.runbook/runs/r1/journal.jsonl');
 * if (torn) console.warn('the last record was torn by a crash and is ignored');
 * console.log(`${records.length} record(s)`);
 * ```
 */
export async function readJournal(file: string): Promise<{ records: JournalRecord[]; validBytes: number; torn: boolean }> {
  const { records, validBytes, torn } = await readJournalFile(file);
  return { records, validBytes, torn };
}

/**
 * One reading of a journal file: its verified records, its bytes, and which file it was (inode, size,
 * modification time) — so that {@link Journal.open} can take it instead of reading the file again
 * while the file is still the one that was read.
 */
export type JournalReading = {
  records: JournalRecord[];
  validBytes: number;
  torn: boolean;
  data: Buffer;
  ino: number;
  size: number;
  mtimeMs: number;
};

/** Reads and verifies a journal file, keeping what it read (see {@link JournalReading}). */
export async function readJournalFile(file: string): Promise<JournalReading> {
  let data: Buffer;
  let info: { ino: number; size: number; mtimeMs: number };
  try {
    const handle = await open(file, 'r');
    try {
      info = await handle.stat();
      data = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (cause) {
    // The run's folder there without its journal: the id is right, the journal was removed.
    const folderThere = (cause as NodeJS.ErrnoException).code === 'ENOENT' && (await stat(dirname(file)).then((s) => s.isDirectory(), () => false));
    throw new JournalError('JOURNAL_MISSING', folderThere ? "the run's folder is there but its journal is gone" : 'no journal for this run', {
      where: file,
      hint: folderThere
        ? "the run id is right: restore journal.jsonl from a backup of the state directory, then run the command again; without it the engine can neither resume nor roll back the run — what the run left in its folder undoes its changes by hand on the host's console (undo.reg or undo.ps1 when it wrote them, the registry exports under backups/, which `reg import` puts back)"
        : 'check the run id with `runbook status` and the --state-dir you used',
      cause,
    });
  }
  return { ...parseJournal(data, file), data, ino: info.ino, size: data.length, mtimeMs: info.mtimeMs };
}

/**
 * The records of a journal's bytes, verified; a torn last line is dropped (see {@link readJournal}).
 * Each line is decoded on its own (UTF-8 never has a newline byte inside a character): no string of the
 * whole journal is made — two bytes per character, since its lines hold text beyond Latin-1 — only to
 * be split.
 */
function parseJournal(data: Buffer, file: string): { records: JournalRecord[]; validBytes: number; torn: boolean } {
  const records: JournalRecord[] = [];
  let offset = 0;
  let torn = false;
  for (let i = 0; offset < data.length; i++) {
    const newline = data.indexOf(10, offset);
    // A last line without its newline is a torn write — even one whose record reads whole (the write
    // stopped just before its newline): it was never acknowledged, and a record appended after it
    // would share its line. A complete line that fails its checksum was damaged after it was written.
    if (newline < 0) {
      torn = true;
      break;
    }
    const record = decodeRecord(data, offset, newline);
    if (!record || record.seq !== records.length + 1) {
      throw new JournalError(
        'JOURNAL_CORRUPT',
        record ? `journal record out of sequence: expected ${records.length + 1}, found ${record.seq}` : 'corrupt journal record (its checksum does not match)',
        {
          where: `${file}:${i + 1}`,
          hint: 'the run cannot be resumed safely; inspect the file, restore it from a backup, or roll the target back from the .reg backups',
        },
      );
    }
    records.push(record);
    offset = newline + 1;
  }
  return { records, validBytes: offset, torn };
}

/** The record on one line of text (a row of the PostgreSQL store's journal), or null when its checksum fails or it is not JSON. */
export function decodeLine(line: string): JournalRecord | null {
  const data = Buffer.from(line);
  return decodeRecord(data, 0, data.length);
}

/** A record's body (its JSON without the checksum's field), copied out of its line for hashing: one buffer, grown as needed. */
let bodyScratch = Buffer.alloc(4096);

/**
 * The record on the bytes `data[start, end)` (one line, without its newline), or null when the line
 * does not end with a checksum that matches the rest of it or is not JSON. The checksum is taken over
 * the bytes themselves (the body is the line up to its checksum's field, then the closing brace);
 * the line becomes text once, for JSON.parse.
 */
function decodeRecord(data: Buffer, start: number, end: number): JournalRecord | null {
  const at = end - SUM_TAIL_BYTES;
  if (at <= start || data.toString('latin1', at, at + SUM_FIELD.length) !== SUM_FIELD || data[end - 2] !== 0x22 || data[end - 1] !== 0x7d) return null;
  const bodyBytes = at - start + 1;
  if (bodyScratch.length < bodyBytes) bodyScratch = Buffer.alloc(Math.max(bodyBytes, bodyScratch.length * 2));
  data.copy(bodyScratch, 0, start, at);
  bodyScratch[bodyBytes - 1] = 0x7d;
  const sum = checksum(bodyScratch.subarray(0, bodyBytes));
  if (data.toString('latin1', at + SUM_FIELD.length, end - 2) !== sum) return null;
  try {
    // The line's own last field is that checksum: the record keeps it.
    return JSON.parse(data.toString('utf8', start, end)) as JournalRecord;
  } catch {
    return null;
  }
}

/** Options of {@link Journal.open}. */
export interface JournalOpenOptions {
  /**
   * Called before every write: throws when this writer no longer holds the run (its lease was taken
   * over), so that a fenced writer appends nothing.
   */
  fence?: () => Promise<void>;
  /**
   * Move the journal to a new file (same name, same records) before appending, so that a writer that
   * still holds the old file — a driver paused past its lease — can no longer append to this journal.
   * @default false
   */
  exclusive?: boolean;
  /**
   * When records reach the disk: `each-batch` (fsync before an append resolves), `before-writes` (written
   * at once, so that a crash of the process loses nothing, and flushed when {@link GroupCommitJournal.durable}
   * asks — before each change to the target — and when the journal closes), or `on-close` (written at
   * once, flushed once, when the journal closes: a power loss can take the last records of an unfinished
   * run; for plans, which change nothing and so have nothing to undo). See {@link JournalSync}.
   * @default 'each-batch'
   */
  sync?: JournalSync;
  /** What an earlier {@link readJournalFile} of this file read: taken instead of reading it again while the file is unchanged. */
  reading?: JournalReading;
}

/** True when the journal file is still the one `reading` read (same inode, size and modification time). */
function unchanged(file: string, reading: JournalReading): boolean {
  const now = statSync(file, { throwIfNoEntry: false });
  return now !== undefined && now.ino === reading.ino && now.size === reading.size && now.mtimeMs === reading.mtimeMs;
}

/**
 * What every store's journal shares: records numbered and sealed (checksummed) in order, appends that
 * arrive while a batch is being stored go together into the next one (group commit), each resolving
 * only once its batch is stored, and {@link GroupCommitJournal.durable} once every record before it is
 * durable; a journal that failed a batch (or was fenced) takes no more records, since later ones would
 * leave a gap. A store says how one batch is stored, and how what it deferred is flushed.
 */
export abstract class GroupCommitJournal implements JournalWriter {
  private pending: { data: Buffer; seq: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  /** Callers of {@link durable} waiting for the flush after the batches before them. */
  private syncWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing: Promise<void> | null = null;
  private failure: unknown = null;
  /** The stored records as last listed; null once an append made that list stale (a journal that reads them again). */
  private written: JournalRecord[] | null;
  /** The bytes of the stored records (each acknowledged line's), in order: where a reading of them ends. */
  protected storedBytes = 0;

  protected constructor(
    private seq: number,
    written: JournalRecord[],
  ) {
    this.written = written;
  }

  /**
   * Every stored record: those found when the journal was opened, then each append once its batch is
   * stored (durable, unless flushes are deferred: see {@link durable}). A journal that can read them
   * again ({@link reread}) does not keep them between appends: it reads them when asked (a run asks when
   * it ends, or when its saga starts), and keeps that list until the next append is stored.
   */
  get records(): readonly JournalRecord[] {
    this.written ??= this.reread?.() ?? [];
    return this.written;
  }

  /**
   * Reads the stored records again — those the journal was opened with, then the first
   * {@link storedBytes} of what it appended — instead of keeping them in memory. A store that cannot
   * leaves it undefined, and its journal keeps every record.
   */
  protected reread?(): JournalRecord[];

  /** The number of the last record. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Stores one batch of encoded lines (each one's UTF-8 bytes, ending with a newline) durably, all of it or none, or throws. */
  protected abstract writeBatch(batch: readonly { data: Buffer; seq: number }[]): Promise<void>;

  /** Lets go of what holds the journal open (after the last batch). */
  protected abstract release(): Promise<void>;

  /**
   * Makes every batch written so far durable, or throws; the default has nothing to do (a store whose
   * batches are durable once written). A store that defers its flushes does it here, and on failure
   * keeps only the records that were durable before ({@link keepOnly}).
   */
  protected async syncWritten(): Promise<void> {}

  /**
   * Forgets the records after the first `bytes` of the journal (they were written but never made
   * durable): its records are read again up to there. Only for a journal that reads them again.
   */
  protected keepOnly(bytes: number): void {
    this.storedBytes = bytes;
    this.written = null;
  }

  /** Appends a record; resolves once its batch is stored (durable, unless the store defers its flushes to {@link durable}). */
  append<T extends { type: string }>(payload: T): Promise<JournalRecord<T>> {
    if (this.failure) return Promise.reject(this.failure);
    this.seq += 1;
    const record = { ...payload, seq: this.seq, at: new Date().toISOString() };
    const { data, sum } = sealRecord(record);
    const sealed = { ...record, sum } as JournalRecord<T>;
    return new Promise<JournalRecord<T>>((resolve, reject) => {
      const stored = () => {
        this.storedBytes += data.length;
        // The list holds records of every type; a typed record is one of them (T is only narrower).
        if (this.reread) this.written = null;
        else this.written?.push(sealed as unknown as JournalRecord);
        resolve(sealed);
      };
      this.pending.push({ data, seq: record.seq, resolve: stored, reject });
      // The flush starts once this turn of the event loop is over, so that the records appended in the
      // same turn (a state and the step's settlement, the next step's start) share one write and one
      // fsync.
      if (!this.flushing) this.flushing = new Promise<void>((turnOver) => setImmediate(turnOver)).then(() => this.flush());
    });
  }

  /**
   * Resolves once every record appended before it is durable: the batches not yet written are written
   * first, then the store flushes what it deferred (see {@link JournalSync} `before-writes`).
   */
  durable(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.syncWaiters.push({ resolve, reject });
      this.flushing ??= Promise.resolve().then(() => this.flush());
    });
  }

  /**
   * Resolves once every record appended before it is stored (its batch written: in {@link records}),
   * without a flush of its own; a journal that failed a batch stores nothing more, and resolves too
   * (its next append says why).
   */
  async stored(): Promise<void> {
    while (this.flushing) await this.flushing.catch(() => undefined);
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0 || this.syncWaiters.length > 0) {
      const batch = this.pending.splice(0);
      // A flush asked for waits for the batches appended before it; those appended while it runs wait for the next.
      const waiters = batch.length === 0 ? this.syncWaiters.splice(0) : [];
      try {
        if (batch.length > 0) await this.writeBatch(batch);
        else await this.syncWritten();
      } catch (error) {
        this.failure = error;
        for (const p of [...batch, ...waiters, ...this.pending.splice(0), ...this.syncWaiters.splice(0)]) p.reject(error);
        break;
      }
      for (const p of batch) {
        afterDurableRecord();
        p.resolve();
      }
      for (const w of waiters) w.resolve();
    }
    this.flushing = null;
  }

  /**
   * Refuses every later append with `error`: something the journal guards (a backup) could not be
   * kept, so no record after it may claim the run went on.
   */
  fail(error: unknown): void {
    this.failure ??= error;
  }

  /** The error that stopped this journal taking records, or null. */
  get failed(): unknown {
    return this.failure;
  }

  /**
   * Lets go of the records last listed (a journal that reads them again: they are read when next asked,
   * even once it is closed); a journal that keeps its records keeps them. For a caller done with them
   * while the journal stays open — a run's end, whose files are written after it (each flushed: a long
   * wait, over which a fleet's hosts would otherwise hold their decoded records).
   */
  forget(): void {
    if (this.reread) this.written = null;
  }

  /**
   * Waits for pending appends, then lets go of the journal (a journal that reads its records again keeps
   * what lists them first: after this it cannot read them).
   */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    try {
      if (this.reread && this.written === null) this.retain();
    } finally {
      await this.release();
    }
  }

  /**
   * Keeps, before the journal lets go of what it reads its records from, what lists them afterwards:
   * by default the records themselves.
   */
  protected retain(): void {
    this.written = this.reread?.() ?? [];
  }
}

/**
 * A journal in a file (the file store's): each batch written and flushed (fsync) before the fence is
 * checked — or, for a plan, flushed once when the journal closes. Create with {@link Journal.open}.
 *
 * @example
 * ```ts
 * const journal = await Journal.open('.runbook/runs/r1/journal.jsonl');
 * await journal.append({ type: 'note', text: 'durable before this resolves' });
 * await journal.close();
 * ```
 */
export class Journal extends GroupCommitJournal {
  private constructor(
    readonly file: string,
    private handle: FileHandle,
    seq: number,
    written: JournalRecord[],
    private readonly inode: number,
    private readonly fence: (() => Promise<void>) | undefined,
    private readonly sync: JournalSync,
    /** The journal's length on disk: where the next batch begins (and where a failed one is cut back to). */
    private size: number,
  ) {
    super(seq, written);
    this.synced = size;
    this.storedBytes = size;
  }

  /**
   * The stored records, read again through this journal's own handle (its file, even once another
   * driver has replaced the run's journal): a file's records are not kept in memory for as long as the
   * run goes on (they are most of what a run in flight holds).
   */
  protected override reread(): JournalRecord[] {
    return parseJournal(this.closedData ?? this.storedData(), this.file).records;
  }

  /** The stored records' bytes, read through this journal's own handle. */
  private storedData(): Buffer {
    const data = Buffer.allocUnsafe(this.storedBytes);
    for (let at = 0; at < data.length; ) {
      const n = readSync(this.handle.fd, data, at, data.length - at, at);
      if (n <= 0) throw new JournalError('JOURNAL_CORRUPT', 'the journal is shorter than what was written to it', { where: this.file });
      at += n;
    }
    return data;
  }

  /**
   * The bytes of a closed journal's records, read before its handle was closed: decoded only if its
   * records are asked for afterwards (bytes outside the JavaScript heap until then).
   */
  private closedData: Buffer | null = null;

  protected override retain(): void {
    this.closedData = this.storedData();
  }

  /** How much of the file is durable (flushed), in bytes: where a failed deferred flush cuts back to. */
  private synced: number;
  /** A fault injected for a batch whose flush is deferred (`before-writes`): the next flush fails with it. */
  private deferredFault: ReturnType<typeof journalBatchFault> = null;

  /**
   * Opens (or creates) a journal; a torn last line left by a crash is cut off first. Given `reading`
   * (what {@link readJournalFile} read of this file), the journal is not read again while the file is
   * still the one read — same inode, size and modification time.
   */
  static async open(file: string, options: JournalOpenOptions = {}): Promise<Journal> {
    let reading: JournalReading | null = options.reading && unchanged(file, options.reading) ? options.reading : null;
    if (!reading) {
      try {
        reading = await readJournalFile(file);
      } catch (error) {
        if (!(error instanceof JournalError && error.code === 'JOURNAL_MISSING')) throw error;
      }
    }
    // A copy: the reading's list stays what was read, whatever is appended here.
    const existing = reading ? [...reading.records] : [];
    const validBytes = reading?.validBytes ?? 0;
    let torn = reading?.torn ?? false;
    if (options.exclusive) {
      // Same records, new file: a handle on the old file now writes to nothing anyone reads. A journal
      // that did not exist gets a new empty file the same way, with nothing in it to flush.
      if (reading) await writeFileAtomic(file, reading.data.subarray(0, validBytes).toString('utf8'));
      else writeFileAtomicUnsynced(file, '');
      torn = false;
    }
    const handle = await open(file, 'a+');
    if (torn) {
      await handle.truncate(validBytes);
      await handle.sync();
    }
    const { ino, size } = await handle.stat();
    return new Journal(file, handle, existing.length, existing, ino, options.fence, options.sync ?? 'each-batch', size);
  }

  /** Throws `FENCED` when this journal's file is no longer the run's journal, or the fence says so. */
  private async checkFence(): Promise<void> {
    await this.fence?.();
    const current = statSync(this.file, { throwIfNoEntry: false })?.ino ?? -1;
    if (current !== this.inode) {
      throw new LeaseError('FENCED', 'another driver reopened this run\'s journal: this process no longer writes it', {
        where: this.file,
        hint: 'nothing more was changed by this process; follow the run with `runbook status`',
      });
    }
  }

  /**
   * The fence is checked once, after the flush (`before-writes`: after the deferred flush, in
   * {@link syncWritten}): a batch is acknowledged as durable only when this process still held the run
   * once it was on disk. A check before the write would only narrow a race that the check after it
   * closes anyway: a driver that took over has either copied the batch into the journal it
   * writes (and this process, fenced, acts on none of it) or left it in the file it replaced, where
   * nobody reads it.
   */
  protected async writeBatch(batch: readonly { data: Buffer }[]): Promise<void> {
    const data = batch.length === 1 ? batch[0].data : Buffer.concat(batch.map((p) => p.data));
    const fault = journalBatchFault();
    let written = 0;
    try {
      // A write may take only part of the bytes (a disk that fills mid-batch): the rest is written
      // again until all of it is there, or the disk says why not. A short write is never taken as saved.
      while (written < data.length) {
        if (fault?.on === 'write' && written >= data.length >> 1) throw faultError(fault.code, 'write', this.file);
        const end = fault?.on === 'write' ? Math.max(1, data.length >> 1) : data.length;
        const { bytesWritten } = await this.handle.write(data, written, end - written);
        if (bytesWritten <= 0) throw Object.assign(new Error('the disk took none of the bytes'), { code: 'SHORT_WRITE' });
        written += bytesWritten;
      }
      if (this.sync === 'each-batch') {
        if (fault?.on === 'sync') throw faultError(fault.code, 'fsync', this.file);
        await this.handle.sync();
      } else if (fault?.on === 'sync') {
        this.deferredFault ??= fault;
      }
    } catch (cause) {
      // What reached the file of this batch is cut off again, so that the journal ends on a whole
      // record. (When even that fails, the reader drops a torn last line; a complete line that got
      // there was never acknowledged, and nothing acted on it.) After a failed fsync nothing in the
      // page cache can be trusted: the journal takes no more records either way.
      if (written > 0) await this.handle.truncate(this.size).catch(() => undefined);
      throw notDurable(this.file, cause);
    }
    this.size += data.length;
    if (this.sync === 'before-writes') return;
    if (this.sync === 'each-batch') this.synced = this.size;
    await this.checkFence();
  }

  /**
   * `before-writes`: flushes what was written since the last flush. A failed flush cuts the file back to
   * what was durable before it and forgets the records after (nothing acted on them: the engine asks
   * for this flush before it changes the target).
   */
  protected async syncWritten(): Promise<void> {
    if (this.sync !== 'before-writes' || this.synced === this.size) return;
    const upTo = this.size;
    try {
      const fault = this.deferredFault;
      if (fault) throw faultError(fault.code, 'fsync', this.file);
      await this.handle.sync();
    } catch (cause) {
      await this.handle.truncate(this.synced).catch(() => undefined);
      this.size = this.synced;
      this.keepOnly(this.synced);
      throw notDurable(this.file, cause);
    }
    this.synced = upTo;
    // Fenced here, where it matters: nothing changes the target after a flush that no longer holds the
    // run. A batch written in between to a journal another driver has since replaced is in a file
    // nobody reads.
    await this.checkFence();
  }

  protected async release(): Promise<void> {
    try {
      if (this.sync !== 'each-batch' && this.synced !== this.size) await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }
}

/** The error of a journal batch that is not fully on disk. */
export function notDurable(file: string, cause: unknown): DurabilityError {
  const errno = diskErrorOf(cause) ?? (cause as NodeJS.ErrnoException)?.code ?? 'EIO';
  return new DurabilityError(`the journal could not be written durably (${errno}: ${(cause as Error)?.message?.split('\n')[0] ?? String(cause)})`, { file, errno }, { cause });
}
