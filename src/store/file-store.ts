/**
 * The file store: a state directory on this machine (the default; nothing to set up). A run is the
 * folder `runs/<id>/` — its journal (`journal.jsonl`), its lease files, its summary and the files it
 * leaves for people; a fleet is `fleets/<id>/fleet.json` and its reports; the lease of a machine that a
 * run drives is `targets/<hash of its key>/lease.<generation>.json`.
 */
import { createHash } from 'node:crypto';
import { appendFile, readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { JournalError, RunStateError, ValidationError, diskErrorOf } from '../errors.js';
import { Journal, readJournalFile, type JournalReading } from './file-journal.js';
import type { JournalRecord } from '../engine/run-store.js';
import { acquireLease, leaseGone } from './file-lease.js';
import { checkRunFileName, listRuns, refuseCutJournal, refuseEmptyJournal, runDirOf, writeRunSummary } from './file-runs.js';
import { fleetDirOf, isFleet } from './fleet-dir.js';
import { writeFileAtomic } from '../util/write-atomic.js';
import type { FleetRecord, UnreachableHost } from '../fleet/types.js';
import type { RunFiles, Store } from './types.js';
import { makeFolder, makeSubfolder, type FolderRefusal } from '../util/make-folder.js';

/** Every file under a folder, by its path relative to it. */
export async function filesUnder(dir: string, prefix = ''): Promise<RunFiles> {
  const out: RunFiles = {};
  let entries;
  try {
    entries = await readdir(join(dir, prefix), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const name = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, await filesUnder(dir, name));
    else out[name] = await readFile(join(dir, name));
  }
  return out;
}

/** What a run's folder holds besides the files it leaves for people. */
const OWN_FILES = /^(journal\.jsonl|summary\.json|lease\.\d+\.json)$/;

/**
 * The file store of a state directory.
 *
 * @example
 * ```ts
 * const runner = new Runner({ kinds: bundledStepKinds(), store: fileStore('.runbook') });
 * ```
 */
export function fileStore(stateDir: string): Store {
  const root = resolve(stateDir);
  const journalFile = (runId: string) => join(runDirOf(root, runId), 'journal.jsonl');
  // What readJournal read, by the list it returned: a caller that hands the list back to openJournal
  // (a resume: read, checked, then leased) has the file read once, not twice.
  const readings = new WeakMap<readonly JournalRecord[], JournalReading>();
  // A file where one of its folders goes (`targets`, `fleets`, `runs/<id>`): the state directory is
  // refused, as the CLI refuses a `runs` that is a file (exit 2, nothing done) — not an unexpected error.
  // A disk's refusal keeps its code: a full disk stops a run for a resume (DurabilityError).
  const refuse: FolderRefusal = (why, cause) =>
    diskErrorOf(cause)
      ? (cause as Error)
      : new ValidationError(`the state directory cannot be used: ${why}`, [root], { hint: 'move what is in the way elsewhere, or give another state directory (--state-dir, $RUNBOOK_STATE_DIR)', cause });
  return {
    kind: 'file',
    location: root,
    localDir: root,
    runDir: (runId) => runDirOf(root, runId),
    fleetDir: (fleetId) => fleetDirOf(root, fleetId),
    async lease(runId, options) {
      const dir = runDirOf(root, runId);
      await makeSubfolder(dir, refuse);
      return acquireLease(dir, options);
    },
    // A machine's lease: targets/<hash of its key>/lease.<generation>.json, holding the run's id.
    async leaseTarget(machine, runId, options = {}) {
      const dir = join(root, 'targets', createHash('sha256').update(machine).digest('hex').slice(0, 32));
      await makeSubfolder(dir, refuse);
      return acquireLease(dir, options, `target ${machine}`, { machine, runId, takeOver: options.takeOver, admit: options.admit });
    },
    async openJournal(runId, lease, options) {
      // A new file for this holder: a driver that lost the lease can append to nothing anyone reads.
      const reading = options?.records && readings.get(options.records);
      // Taken once: what was read (the file's bytes among it) is not kept for as long as the caller keeps the list.
      if (options?.records) readings.delete(options.records);
      return Journal.open(journalFile(runId), { exclusive: true, fence: lease.check, sync: options?.sync, reading });
    },
    async readJournal(runId) {
      const reading = await readJournalFile(journalFile(runId));
      await refuseCutJournal(runDirOf(root, runId), reading.size);
      refuseEmptyJournal(runDirOf(root, runId), reading.records.length, reading.size);
      readings.set(reading.records, reading);
      return reading.records;
    },
    // Beside the run's journal, written whole and flushed before the change it guards; a driver that
    // lost the run's lease writes nothing.
    async saveFile(runId, lease, name, content) {
      const file = join(runDirOf(root, runId), ...checkRunFileName(name).split('/'));
      await lease.check();
      await makeSubfolder(dirname(file), refuse);
      await writeFileAtomic(file, content);
    },
    filesAt: (runId) => runDirOf(root, runId),
    async saveRun(runId, summary) {
      // The files are where the run wrote them, in its folder.
      await writeRunSummary(runDirOf(root, runId), summary);
    },
    async runFiles(runId) {
      const all = await filesUnder(runDirOf(root, runId));
      return Object.fromEntries(Object.entries(all).filter(([name]) => !OWN_FILES.test(name)));
    },
    listRuns: () => listRuns(root),
    async undrivenRuns(runIds) {
      const out = new Set<string>();
      for (const runId of runIds) if (await leaseGone(runDirOf(root, runId))) out.add(runId);
      return out;
    },
    // A run whose first record never reached the disk does not exist: its folder goes, so that it is not
    // listed as damaged nor offered to `resume --all`.
    async discardRun(runId) {
      await rm(runDirOf(root, runId), { recursive: true, force: true });
    },
    async createFleet(record) {
      const dir = fleetDirOf(root, record.fleetId);
      if (isFleet(root, record.fleetId)) throw new RunStateError('NOT_RESUMABLE', `fleet ${record.fleetId} already exists`, { where: dir, hint: 'use `runbook resume <fleet-id>`' });
      await makeFolder(dir, refuse);
      await writeFileAtomic(join(dir, 'fleet.json'), `${JSON.stringify(record, null, 2)}\n`);
    },
    async readFleet(fleetId) {
      const file = join(fleetDirOf(root, fleetId), 'fleet.json');
      let record: FleetRecord;
      try {
        record = JSON.parse(await readFile(file, 'utf8')) as FleetRecord;
      } catch (cause) {
        throw new JournalError('JOURNAL_MISSING', `fleet ${fleetId} cannot be read`, { where: file, hint: '`runbook status` lists the runs and fleets of this state directory', cause });
      }
      return checkFleetRecord(record, fleetId, file);
    },
    async isFleet(id) {
      return isFleet(root, id);
    },
    // The lease files of a run (lease.<generation>.json), in the fleet's folder.
    async leaseFleet(fleetId, options) {
      const dir = fleetDirOf(root, fleetId);
      await makeFolder(dir, refuse);
      return acquireLease(dir, options, `fleet ${fleetId}`);
    },
    // One line per attempt, appended (a fleet's hosts may fail at the same moment); the last one wins.
    // A host held by another run's lease is a line of the same file marked `held`: whichever of the
    // two was recorded last is what the host is.
    async recordUnreachableHost(fleetId, host) {
      await appendFile(join(fleetDirOf(root, fleetId), 'unreachable.jsonl'), `${JSON.stringify(host)}\n`);
    },
    async unreachableHosts(fleetId) {
      return lastHostRecords(fleetDirOf(root, fleetId), false);
    },
    async recordHeldHost(fleetId, host) {
      await appendFile(join(fleetDirOf(root, fleetId), 'unreachable.jsonl'), `${JSON.stringify({ ...host, held: true })}\n`);
    },
    async heldHosts(fleetId) {
      return lastHostRecords(fleetDirOf(root, fleetId), true);
    },
    async close() {},
  };
}

/**
 * The last record of each host of a fleet's `unreachable.jsonl` that is held (`held`) or unreachable
 * (not `held`), by name, without the mark.
 */
async function lastHostRecords(dir: string, held: boolean): Promise<Record<string, UnreachableHost>> {
  let text = '';
  try {
    text = await readFile(join(dir, 'unreachable.jsonl'), 'utf8');
  } catch {
    return {};
  }
  const last: Record<string, UnreachableHost & { held?: boolean }> = {};
  // A line torn by a crash is not a record.
  for (const line of text.split('\n')) {
    try {
      const host = JSON.parse(line) as UnreachableHost & { held?: boolean };
      last[host.host] = host;
    } catch {
      // skipped
    }
  }
  const out: Record<string, UnreachableHost> = {};
  for (const [name, { held: mark, ...host }] of Object.entries(last)) if (Boolean(mark) === held) out[name] = host;
  return out;
}

/**
 * What is wrong with a fleet record, field by field (none when it is whole). Written out rather than
 * as a schema: `status` reads fleet records and loads no schema library.
 */
function fleetRecordIssues(record: Record<string, unknown>): string[] {
  const issues: string[] = [];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const want = (ok: boolean, field: string, what: string) => {
    if (!ok) issues.push(`${field}: expected ${what}`);
  };
  const host = (h: unknown, field: string) => {
    want(isObject(h) && typeof h.name === 'string' && typeof h.target === 'string' && Array.isArray(h.groups) && isObject(h.params), field, 'a host ({ name, target, groups, params })');
  };
  want(typeof record.fleetId === 'string', 'fleetId', 'a string');
  const runbook = record.runbook;
  want(isObject(runbook) && typeof runbook.name === 'string' && Array.isArray(runbook.steps) && runbook.steps.every((st) => isObject(st) && typeof st.id === 'string' && typeof st.uses === 'string'), 'runbook', 'a runbook definition ({ name, steps: [{ id, uses }] })');
  want(record.source === undefined || typeof record.source === 'string', 'source', 'a string');
  want(typeof record.checkMode === 'boolean', 'checkMode', 'true or false');
  const inventory = record.inventory;
  if (!isObject(inventory) || !Array.isArray(inventory.hosts) || !Array.isArray(inventory.waves)) issues.push('inventory: expected { hosts: [...], waves: [...] }');
  else {
    inventory.hosts.forEach((h, i) => host(h, `inventory.hosts.${i}`));
    inventory.waves.forEach((w, i) => {
      if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.hosts)) issues.push(`inventory.waves.${i}: expected { name, hosts: [...] }`);
      else w.hosts.forEach((h, k) => host(h, `inventory.waves.${i}.hosts.${k}`));
    });
  }
  want(Number.isInteger(record.concurrency) && (record.concurrency as number) >= 1, 'concurrency', 'a whole number of at least 1');
  want(Number.isInteger(record.maxFailures) && (record.maxFailures as number) >= 0, 'maxFailures', 'a whole number of at least 0');
  want(isObject(record.params), 'params', 'an object');
  want(typeof record.startedAt === 'string', 'startedAt', 'a string');
  return issues;
}

/** Refuses a fleet record of a format this version does not read, or one that is not whole. */
export function checkFleetRecord(record: FleetRecord, fleetId: string, where: string): FleetRecord {
  if (record?.format !== 1) throw new JournalError('JOURNAL_VERSION', `fleet ${fleetId} was recorded in format ${record?.format}; this runbook-engine reads format 1`, { where });
  const issues = fleetRecordIssues(record as unknown as Record<string, unknown>);
  if (issues.length > 0) {
    throw new JournalError('JOURNAL_CORRUPT', `fleet ${fleetId}'s record is damaged:\n${issues.map((i) => `  - ${i}`).join('\n')}`, {
      where,
      hint: 'nothing was contacted; restore the record from a backup, or run the fleet again with a new id (each host\'s run is still in its journal)',
    });
  }
  return record;
}
