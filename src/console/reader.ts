/**
 * The console's reads of a store, through its public functions only (`RunStore.readJournal`,
 * `listRuns`, `readFleet`, `runFiles`, `unreachableHosts`; replay's `resultOf`): runs and fleets as the
 * view models of `api-types.ts`. A run's replay is cached while its journal keeps its size and
 * modification time (file store), so that a live 1,000-host fleet replays only the journals that grew.
 */
import { stat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JournalRecord } from '../engine/run-store.js';
import type { RunStartedRecord } from '../engine/records.js';
import { replay, resultOf } from '../engine/replay.js';
import { handshakeRows } from '../engine/report.js';
import { runDirOf } from '../store/file-runs.js';
import { isId } from '../util/id.js';
import { storeOption } from '../util/store-option.js';
import { isDoneStatus, type Change, type Json, type Outcome, type RunResult } from '../engine/types.js';
import { OUTCOMES, outcomeOf } from '../engine/outcome.js';
import { KEY_FIELD } from '../windows/undo-files.js';
import { fleetDriverGone } from '../store/driver-gone.js';
import { countsAsFailure, fleetResultOf, hostRunId, refusedForInput } from '../fleet/fleet.js';
import type { FleetRecord, HostStatus } from '../fleet/types.js';
import type { Store } from '../store/types.js';
import type { FleetHost, FleetRow, FleetView, ListResponse, RunRow, RunView, StepView } from './api-types.js';
import { adviceFor, labelOf, runLabel, toneOf, type ViewOutcome } from './outcome.js';

/** An outcome as a row carries it: the outcome (`outcomeId`), its words and its tone. */
const shown = (o: ViewOutcome) => ({ outcomeId: o, outcome: labelOf(o), outcomeClass: toneOf(o) });

/**
 * A run's outcome as a row carries it, in the words its result ends with (`outcomeLabel`: a failed
 * plan "plan failed (nothing changed)"); interrupted when its driver is gone (`Store.undrivenRuns`).
 */
const shownRun = (r: RunResult, leaseExpired: boolean) => {
  const o = leaseExpired ? 'interrupted' : outcomeOf(r);
  return { outcomeId: o, outcome: runLabel(r, leaseExpired), outcomeClass: toneOf(o) };
};

type Replayed = { records: JournalRecord[]; result: RunResult };
type Read = { ok: true; run: Replayed } | { ok: false; error: string; missing: boolean };

/** The fleet reports a fleet's folder may hold (anything else there is not offered). */
export const FLEET_REPORTS = ['report.md', 'report.json', 'junit.xml'] as const;

const text = (v: Json | undefined): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
const firstLine = (s: string | undefined) => (s ?? '').split('\n')[0];

/** Why a run that says `running` is shown interrupted (as `runbook status` shows it: `interrupted (lease expired)`). */
const UNDRIVEN = 'lease expired: no driver holds the run (it died, or lost its store, before the journal could record the stop)';

export class ConsoleReader {
  private readonly cache = new Map<string, { key: string; read: Read }>();

  constructor(
    readonly store: Store,
    readonly stateDir: string,
  ) {}

  /** A run's journal replayed, or why it cannot be read. */
  async read(runId: string): Promise<Read> {
    let key = '';
    if (this.store.kind === 'file') {
      try {
        const s = await stat(join(runDirOf(this.stateDir, runId), 'journal.jsonl'));
        key = `${s.size}:${s.mtimeMs}:${s.ino}`;
        const hit = this.cache.get(runId);
        if (hit && hit.key === key) return hit.read;
      } catch {
        key = '';
      }
    }
    let read: Read;
    try {
      const records = await this.store.readJournal(runId);
      const state = replay(records);
      read = { ok: true, run: { records, result: resultOf(state, this.store.location) } };
    } catch (error) {
      read = { ok: false, missing: (error as { code?: string }).code === 'JOURNAL_MISSING', error: firstLine((error as Error).message) + ((error as { where?: string }).where ? ` (${(error as { where?: string }).where})` : '') };
    }
    if (key) this.cache.set(runId, { key, read });
    return read;
  }

  /** The ids of the fleets in the store. */
  async fleetIds(): Promise<string[]> {
    if (this.store.kind === 'file') {
      try {
        const ids = await readdir(join(this.stateDir, 'fleets'));
        const out: string[] = [];
        for (const id of ids) if (await this.store.isFleet(id)) out.push(id);
        return out;
      } catch {
        return [];
      }
    }
    // The PostgreSQL store: its fleets table (Store has no listing of fleets).
    const pgStore = this.store as Store & { query?: (q: string) => Promise<{ rows: { fleet_id: string }[] }> };
    if (!pgStore.query) return [];
    return (await pgStore.query('SELECT fleet_id FROM rbe_fleets ORDER BY fleet_id')).rows.map((r) => r.fleet_id);
  }

  /**
   * Which of these runs say `running` while no driver holds them (their lease expired or was let go of):
   * they stopped without their journal recording it, and await a resume.
   */
  async undriven(reads: ReadonlyMap<string, Read>): Promise<Set<string>> {
    const running = [...reads].filter(([, r]) => r.ok && r.run.result.status === 'running').map(([id]) => id);
    return running.length === 0 ? new Set() : this.store.undrivenRuns(running);
  }

  /** A run's row (a fleet's host when `fleet` is given); `undriven`: the runs no driver holds, when known. */
  async row(runId: string, steps?: string[], fleet?: { fleetId: string; host: string }, known?: Read, undriven?: ReadonlySet<string>): Promise<RunRow> {
    const read = known ?? (await this.read(runId));
    const base = { kind: 'run' as const, runId, ...(fleet ? { fleetId: fleet.fleetId, host: fleet.host } : {}) };
    if (!read.ok) {
      return { ...base, runbook: '?', target: '?', status: 'damaged', ...shown('damaged'), steps: {}, currentStep: null, changes: 0, startedAt: '', endedAt: '', why: read.error };
    }
    const r = read.run.result;
    const expired = (undriven ?? (await this.undriven(new Map([[runId, read]])))).has(runId);
    const stepIds = steps ?? r.steps.map((s) => s.id);
    const byId = new Map(r.steps.map((s) => [s.id, s]));
    const current = r.steps.find((s) => !isDoneStatus(s.status) && s.status !== 'compensated' && s.status !== 'pending');
    const why = expired ? UNDRIVEN : r.error ? firstLine(r.error.message) : r.reason && r.status !== 'succeeded' ? firstLine(r.reason) : undefined;
    return {
      ...base,
      runbook: r.runbook,
      target: r.target,
      // A run whose driver is gone is no longer under way: it waits for its resume.
      status: expired ? 'awaiting-resume' : r.status,
      ...shownRun(r, expired),
      ...(expired ? { leaseExpired: true as const } : {}),
      steps: Object.fromEntries(stepIds.map((id) => [id, byId.get(id)?.status ?? '-'])),
      currentStep: current?.id ?? null,
      changes: r.steps.reduce((n, s) => n + (s.status === 'succeeded' || s.status === 'planned' ? s.changes.filter((c) => c.action !== 'run' && c.action !== 'keep').length : 0), 0),
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      ...(why ? { why } : {}),
    };
  }

  /** A fleet with every host's row, its waves in order, its budget and what the budget stopped. */
  async fleet(fleetId: string): Promise<FleetView> {
    const record = await this.store.readFleet(fleetId);
    // Each step id once: a runbook may hold one id under exclusive `when:` conditions (one runs).
    const steps = [...new Set(record.runbook.steps.map((s) => s.id))];
    const unreachable = await this.store.unreachableHosts(fleetId);
    // Hosts another run's lease held: no run of the fleet's, they wait for its resume.
    const held = await this.store.heldHosts(fleetId);
    // Hosts a worker put off: their machine is another run's (a shared store's queue).
    const waiting = (await this.store.waitingHosts?.(fleetId)) ?? {};
    // The fleet's report (file store): written when its drive ended, saying whether a signal stopped it.
    const report = await this.fleetEnd(fleetId);
    const reported = report !== null;
    const waves: FleetView['waves'] = [];
    let failures = 0;
    // The hosts' journals, read 32 at a time: the reads overlap (measured on 1,000 journals: 0.82 s
    // against 1.17 s one after the other, cold).
    const ids = record.inventory.waves.flatMap((w) => w.hosts.map((h) => hostRunId(fleetId, h.name)));
    const reads = new Map<string, Read>();
    for (let i = 0; i < ids.length; i += 32) {
      const batch = ids.slice(i, i + 32);
      (await Promise.all(batch.map((id) => this.read(id)))).forEach((r, k) => reads.set(batch[k], r));
    }
    const undriven = await this.undriven(reads);
    for (const wave of record.inventory.waves) {
      const hosts: FleetHost[] = [];
      for (const host of wave.hosts) {
        const runId = hostRunId(fleetId, host.name);
        const read = reads.get(runId)!;
        let row = await this.row(runId, steps, { fleetId, host: host.name }, read, undriven);
        if (!read.ok && read.missing) {
          // No run: unreachable, held by another run (interrupted, the holder named), refused at its turn
          // for input to fix first (its reason), or not started.
          const gone = unreachable[host.name] ?? held[host.name];
          const wait = waiting[host.name];
          const [status, outcome] = unreachable[host.name] ? (['unreachable', 'unreachable'] as const) : gone ? ([refusedForInput(gone.error) ? 'refused' : 'held', 'interrupted'] as const) : (['pending', 'pending'] as const);
          row = { ...row, runbook: record.runbook.name, target: host.target, status, ...shown(outcome), steps: Object.fromEntries(steps.map((s) => [s, '-'])), ...(gone ? { why: firstLine(gone.error.message), endedAt: gone.at } : { why: wait ? `waiting: ${wait.waiting}; tried again after ${wait.retryAt}` : undefined }) };
          if (!row.why) delete row.why;
        }
        // The engine's rule: a host fails the budget by its outcome (a run rolled back on request does not).
        if (row.outcomeId in OUTCOMES && countsAsFailure(row.outcomeId as Outcome)) failures += 1;
        hosts.push({ ...row, wave: wave.name, name: host.name });
      }
      waves.push({ name: wave.name, hosts });
    }
    const all = waves.flatMap((w) => w.hosts);
    const spent = failures > record.maxFailures;
    // Over when its controller wrote the reports (file store), or when no host runs and none is left
    // to start (every host has a run, or the budget is spent): a shared store writes no report.
    // No report, no host under way, and no controller holds the fleet's lease: its controller was
    // stopped (killed) before it wrote the report — the fleet waits for its resume.
    const stopped = !reported && !all.some((h) => h.status === 'running') && (await fleetDriverGone(this.store, fleetId).catch(() => false));
    const ended = reported || stopped || (!all.some((h) => h.status === 'running') && (spent || !all.some((h) => h.status === 'pending')));
    // A fleet a signal stopped (its report says so) or whose controller is gone, its budget unspent:
    // the hosts it did not start wait for its resume, as the CLI's "awaiting resume" says; otherwise
    // they were skipped.
    const interrupted = report?.interrupted === true || stopped;
    if (ended) {
      const left = interrupted && !spent ? 'not-started' : 'skipped';
      for (const h of all) if (h.status === 'pending') Object.assign(h, { status: left, ...shown(left) });
    }
    const running = all.some((h) => h.status === 'running' || h.status === 'pending');
    return {
      fleetId,
      runbook: record.runbook.name,
      checkMode: record.checkMode,
      status: ended && !running ? fleetStatus(record, all, failures, spent, interrupted) : 'running',
      startedAt: record.startedAt,
      steps,
      waves,
      counts: countsOf(all),
      budget: { maxFailures: record.maxFailures, failures, spent, stopped: spent ? all.filter((h) => h.status === 'skipped' || h.status === 'pending').map((h) => h.name) : [] },
      concurrency: record.concurrency,
      reports: ended ? await this.fleetReports(fleetId) : [],
    };
  }

  /**
   * The fleet's report.json once its controller wrote it (the file store): its drive ended, and
   * whether a signal stopped it; null before (a report that cannot be read says only that it ended).
   */
  private async fleetEnd(fleetId: string): Promise<{ interrupted?: boolean } | null> {
    if (this.store.kind !== 'file') return null;
    const text = await readFile(join(this.store.fleetDir(fleetId), 'report.json'), 'utf8').catch(() => null);
    if (text === null) return null;
    try {
      const report = JSON.parse(text) as { interrupted?: unknown; status?: unknown };
      // Stopped after a wave with its budget unspent (a signal, a host driven elsewhere or refused, a
      // wave awaiting its restart window): its hosts not started wait for its resume.
      return { interrupted: report.interrupted === true || report.status === 'awaiting-resume' };
    } catch {
      return {};
    }
  }

  async fleetReports(fleetId: string): Promise<string[]> {
    const out: string[] = [];
    for (const name of FLEET_REPORTS) {
      if (await stat(join(this.store.fleetDir(fleetId), name)).then(() => true, () => false)) out.push(name);
    }
    return out;
  }

  async fleetReport(fleetId: string, name: string): Promise<string | null> {
    if (!(FLEET_REPORTS as readonly string[]).includes(name)) return null;
    return readFile(join(this.store.fleetDir(fleetId), name), 'utf8').catch(() => null);
  }

  /** The fleet's row for the list. */
  async fleetRow(fleetId: string): Promise<FleetRow> {
    const view = await this.fleet(fleetId);
    const all = view.waves.flatMap((w) => w.hosts);
    const ends = all.map((h) => h.endedAt).filter(Boolean).sort();
    return {
      kind: 'fleet',
      fleetId,
      runbook: view.runbook,
      status: view.status,
      checkMode: view.checkMode,
      hosts: all.length,
      counts: view.counts,
      hostNames: all.map((h) => h.name),
      startedAt: view.startedAt,
      endedAt: ends.at(-1) ?? '',
    };
  }

  /** Runs and fleets, newest first; a fleet's host runs appear in their fleet, not on their own. */
  async list(): Promise<ListResponse> {
    const fleets = await this.fleetIds();
    const items: ListResponse['items'] = [];
    for (const id of fleets) {
      try {
        items.push(await this.fleetRow(id));
      } catch (error) {
        items.push({ kind: 'fleet', fleetId: id, runbook: '?', status: `damaged: ${firstLine((error as Error).message)}`, checkMode: false, hosts: 0, counts: {}, hostNames: [], startedAt: '', endedAt: '' });
      }
    }
    // A fleet's host runs are in its row: the file store's are not even read again here.
    const ids =
      this.store.kind === 'file'
        ? (await readdir(join(this.stateDir, 'runs')).catch(() => [] as string[])).filter(isId)
        : (await this.store.listRuns()).map((s) => s.runId);
    for (const id of ids) {
      if (fleets.some((f) => id.startsWith(`${f}.`))) continue;
      items.push(await this.row(id));
    }
    const time = (i: ListResponse['items'][number]) => i.startedAt || '9999';
    items.sort((a, b) => time(b).localeCompare(time(a)));
    return { items, store: this.store.location };
  }

  /** The fleet a run id belongs to, and its host. */
  fleetOf(runId: string, fleetIds: readonly string[]): { fleetId: string; host: string } | undefined {
    const fleetId = fleetIds.find((f) => runId.startsWith(`${f}.`));
    return fleetId ? { fleetId, host: runId.slice(fleetId.length + 1) } : undefined;
  }

  /**
   * Whether the store holds this run: a journal that reads, one that is there but cannot be read
   * (damaged), or — on the file store — the run's folder without its journal (damaged too: `status`
   * lists it so). No journal anywhere is no run.
   */
  async hasRun(runId: string, known?: Read): Promise<boolean> {
    const read = known ?? (await this.read(runId));
    if (read.ok || !read.missing) return true;
    if (this.store.kind !== 'file' || !isId(runId)) return false;
    return stat(runDirOf(this.stateDir, runId)).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }

  /**
   * A run for its page: steps on a timeline, the diff, the handshakes, errors with what to do, files;
   * null when the store holds no such run (see {@link ConsoleReader.hasRun}).
   */
  async run(runId: string): Promise<RunView | null> {
    const read = await this.read(runId);
    if (!(await this.hasRun(runId, read))) return null;
    const fleet = this.fleetOf(runId, await this.fleetIds());
    const files = Object.keys(await this.store.runFiles(runId).catch(() => ({}))).sort();
    if (!read.ok) {
      return {
        runId, runbook: '?', target: '?', status: 'damaged', ...shown('damaged'), advice: adviceFor('damaged', runId),
        checkMode: false, startedAt: '', endedAt: '', params: [], steps: [], segments: [], handshakes: null, remaining: [], files, damaged: read.error, ...(fleet ?? {}),
      };
    }
    const { records, result: r } = read.run;
    const started = records[0] as unknown as RunStartedRecord;
    const secret = new Set(started.secrets ?? []);
    // Running by its journal, held by no driver: it stopped without recording it (its driver died, or lost its store).
    const expired = (await this.undriven(new Map([[runId, read]]))).has(runId);
    const outcome = expired ? 'interrupted' : outcomeOf(r);
    const attempts = new Map<string, StepView['attempts']>();
    const downtime = new Map<string, { from?: string; to?: string; polls: number }>();
    const segments: RunView['segments'] = [];
    for (const rec of records) {
      const x = rec as unknown as Record<string, unknown> & { type: string; stepId?: string; at: string };
      if (x.type === 'segment.started') segments.push({ at: x.at, mode: String(x.mode), resume: Boolean(x.resume) });
      if (x.type === 'step.attempt' && x.stepId) {
        const e = x.error as { code: string; message: string };
        attempts.set(x.stepId, [...(attempts.get(x.stepId) ?? []), { phase: String(x.phase), attempt: Number(x.attempt), willRetry: Boolean(x.willRetry), code: e.code, message: firstLine(e.message), at: x.at }]);
      }
      // The restart's gap: from the restart's request (its `awaitBoot` phase) to the host answering again.
      if (x.type === 'step.snapshot' && x.stepId) {
        const d = downtime.get(x.stepId);
        if (x.state === 'awaitBoot' && !d) downtime.set(x.stepId, { from: x.at, polls: 0 });
        else if (d && !d.to && x.state !== 'awaitBoot') {
          const results = (x.context as { results?: { awaitBoot?: { polls?: number } } } | undefined)?.results;
          d.to = x.at;
          d.polls = results?.awaitBoot?.polls ?? 0;
        }
      }
    }
    // `maybe`: a write the journal cannot prove did or did not happen (as report.json and the CLI mark it).
    const change = (c: Change) => ({ target: c.target, field: c.field, before: text(c.before), after: text(c.after), type: c.type ?? '', action: c.action, view: /\((\d\d)-bit view\)/.exec(c.target)?.[1] ? `${/\((\d\d)-bit view\)/.exec(c.target)![1]}-bit` : '', key: c.field === KEY_FIELD, ...(c.maybe ? { maybe: true as const } : {}) });
    const steps: StepView[] = r.steps.map((s) => {
      const d = downtime.get(s.id);
      return {
        id: s.id, kind: s.kind, status: s.status, summary: s.summary, startedAt: s.startedAt, endedAt: s.endedAt,
        roundTrips: s.roundTrips, pollRoundTrips: s.pollRoundTrips, retries: s.retries,
        attempts: attempts.get(s.id) ?? [],
        changes: s.changes.filter((c) => c.action !== 'keep').map(change),
        ...(s.compensation ? { compensation: { status: s.compensation.status, detail: s.compensation.detail } } : {}),
        ...(s.error ? { error: { code: s.error.code, message: s.error.message } } : {}),
        ...(d?.from ? { downtime: { from: d.from, to: d.to ?? '', polls: d.polls || s.pollRoundTrips } } : {}),
      };
    });
    return {
      runId, runbook: r.runbook, target: r.target, status: expired ? 'awaiting-resume' : r.status, ...shownRun(r, expired), ...(expired ? { leaseExpired: true as const } : {}),
      advice: adviceFor(outcome, fleet?.fleetId && outcome === 'rolled-back' && !r.checkMode ? fleet.fleetId : runId, r.awaiting, { checkMode: r.checkMode, leaseExpired: expired }, storeOption(this.store.location)),
      checkMode: r.checkMode, startedAt: r.startedAt, endedAt: r.endedAt,
      // Parameters marked secret are never sent, not even masked values.
      params: [
        ...Object.entries(started.params ?? {}).filter(([name]) => !secret.has(name)).map(([name, v]) => ({ name, value: text(v) })),
        ...[...secret].map((name) => ({ name, value: '(secret: not shown)' })),
      ],
      steps, segments,
      ...(r.error ? { error: { code: r.error.code, message: r.error.message } } : {}),
      ...(expired ? { reason: UNDRIVEN } : r.reason ? { reason: r.reason } : {}),
      handshakes: handshakeRows(r),
      remaining: (r.remaining ?? []).map((c) => ({ target: c.target, field: c.field, before: text(c.before), after: text(c.after), ...(c.maybe ? { maybe: true as const } : {}) })),
      files,
      ...(fleet ?? {}),
    };
  }

  /** A fleet's record (for actions). */
  fleetRecord(fleetId: string): Promise<FleetRecord> {
    return this.store.readFleet(fleetId);
  }
}

/**
 * A fleet's counts by the words its hosts' rows show (the engine's order of outcomes first, then the
 * states a page alone knows of), so that a count and its hosts read alike (a failed plan's words too).
 */
function countsOf(hosts: FleetHost[]): Record<string, number> {
  const order = [...Object.keys(OUTCOMES), 'not-started', 'pending', 'damaged'];
  const sorted = [...hosts].sort((a, b) => order.indexOf(a.outcomeId) - order.indexOf(b.outcomeId));
  const counts: Record<string, number> = {};
  for (const h of sorted) counts[h.outcome] = (counts[h.outcome] ?? 0) + 1;
  return counts;
}

/**
 * An ended fleet's status, by the engine's rule (`fleetResultOf`, told whether a signal stopped it, as
 * its report says); failed when a journal cannot be read. A host an interrupted fleet did not start is
 * the engine's `skipped`, which such a fleet's resume starts.
 */
function fleetStatus(record: FleetRecord, hosts: FleetHost[], failures: number, spent: boolean, interrupted: boolean): string {
  const outcome = (h: FleetHost) => (h.outcomeId === 'not-started' ? 'skipped' : h.outcomeId);
  if (hosts.some((h) => !(outcome(h) in OUTCOMES))) return 'failed';
  const waves = [{ name: '', hosts: hosts.map((h) => ({ host: h.name, wave: h.wave, target: h.target, status: h.status as HostStatus, outcome: outcome(h) as Outcome, changes: h.changes, roundTrips: 0 })) }];
  return fleetResultOf(record, waves, { maxFailures: record.maxFailures, failures, spent }, '', interrupted).status;
}
