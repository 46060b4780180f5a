/**
 * Step `windows/restart`: restarts the target when a reboot is owed — by this run (a step published
 * `rebootRequired`) or an earlier one (SCHANNEL keys written since the last boot) — and waits for it
 * to come back. Before restarting it journals the boot-time baseline and a deadline. When the engine
 * runs on the target itself it registers a start-up task that resumes the run and ends this process's
 * drive as awaiting resume. Its compensation (run after all others) restarts again, so that restored
 * values take effect.
 */
import * as z from '../util/zod.js';
import { ExecutorError, StepError, isTransient } from '../errors.js';
import { defineStepKind, type PlanOf } from '../engine/step-kind.js';
import type { StepRuntime } from '../engine/step-runtime.js';
import { resultOf, type HostOp, type HostOpResult } from '../executors/types.js';
import { batchOps, defineBatch, readBatch } from '../executors/read-batch.js';
import { RESTART_MARKER } from '../windows/restart-marker.js';
import { RESTART_MARKER_READ } from './host-reads.js';
import { KEY_FIELD, displayRegistryKey } from '../windows/undo-files.js';
import { BOOT_TIME_TOLERANCE_MS, restartedSince, sameBoot } from '../windows/boot-time.js';
import { SQL_LOGIN_REFUSED_ERRORS } from '../windows/facts/sql.js';
import { serviceList } from './service-list.js';
import { LOGON_UI_READY_KEY, PLANNED_RESTART_REASON, RESTART_EVENT, SHUTDOWN_IN_PROGRESS, SHUTDOWN_IS_SCHEDULED } from '../windows/facts/restart.js';
import { SCHANNEL_IN_EFFECT_AFTER_RESTART_FACT } from '../windows/facts/schannel.js';
import { notInEffect, type ConfiguredServer, type HandshakeRow } from './tls-handshakes.js';
import type { Change, Json } from '../engine/types.js';

export const restartParams = z.strictObject({
  /** False forbids restarting: the run then waits for a restart window and `resume --allow-restart`. @default true */
  allowRestart: z._default(z.boolean(), true),
  /** Give up waiting for the host after this many seconds. @default 600 */
  timeoutSeconds: z._default(z.number().check(z.int(), z.positive(), z.maximum(86_400)), 600),
  /** Seconds between the restart command and the restart (shutdown /t). @default 0 */
  delaySeconds: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(600)), 0),
  /**
   * Pause between polls while the host restarts, in milliseconds, jittered between half and the whole of
   * it: the wait never outlasts the restart by more than one interval. @default 1000
   */
  pollIntervalMs: z._default(z.number().check(z.int(), z.minimum(10)), 1000),
  /** Cap of the pause between polls (and of the doubling pauses while a rollback asks whether the host restarted). @default 10000 */
  maxPollIntervalMs: z._default(z.number().check(z.int(), z.minimum(10)), 10_000),
  /**
   * Services that must be running before the host counts as ready, as a list or comma-separated. A slow
   * one (start type `auto`, still starting) is waited for; one that will not start by itself (`manual`,
   * `disabled`) is not, nor one the host does not have (reported: which services a server has depends
   * on its roles).
   * @default []
   */
  readyServices: serviceList([]),
  /**
   * A shutdown someone else scheduled is pending (shutdown.exe answers 1190): `fail` stops the step
   * (the run rolls back), `wait` lets that shutdown be the restart. It is never cancelled.
   * @default 'fail'
   */
  ifShutdownPending: z._default(z.enum(['fail', 'wait']), 'fail'),
  /**
   * The SQL Server holding Orchestrator's database (`host` or `host\\instance`), which must answer from
   * the target before it counts as ready (Orchestrator's services need it when they start). Empty: the
   * SQL Server instances installed on the target, if any; `none`: no database is waited for.
   * @default ''
   */
  databaseServer: z._default(z.string(), ''),
});
type RestartParams = z.infer<typeof restartParams>;

const TASK_PREFIX = 'runbook-resume-';

function owedByThisRun(rt: StepRuntime): string[] {
  return Object.entries(rt.outputs)
    .filter(([, out]) => out && typeof out === 'object' && !Array.isArray(out) && (out as { rebootRequired?: boolean }).rebootRequired)
    .map(([id]) => id);
}

/**
 * Values already in the registry but not in effect (schannel.in-effect-after-restart): what the
 * baseline handshakes (a `tls/handshakes` step in `baseline` role) show the server doing otherwise than
 * the SCHANNEL values (a registry step's `protocols` and `tls13` outputs) configure — one line per
 * endpoint and protocol. Empty when no handshake proves anything (no endpoint, inconclusive): an
 * unknown is not evidence.
 */
function valuesNotInEffect(outputs: Readonly<Record<string, Json>>): string[] {
  if (!SCHANNEL_IN_EFFECT_AFTER_RESTART_FACT.value.restartOwedWhenHandshakesDisagree) return [];
  const objects = Object.values(outputs).filter((o): o is Record<string, Json> => o !== null && typeof o === 'object' && !Array.isArray(o));
  const baselines = objects.filter((o) => o.role === 'baseline' && Array.isArray(o.verdicts));
  const configured = objects.filter((o) => 'rebootRequired' in o && o.protocols !== null && typeof o.protocols === 'object' && !Array.isArray(o.protocols));
  return configured.flatMap((c) => baselines.flatMap((b) => notInEffect(b.verdicts as HandshakeRow[], { protocols: c.protocols, tls13: c.tls13 } as ConfiguredServer)));
}

/** Where the marker that says a restart is owed lives (`src/windows/restart-marker.ts`). */
export { RESTART_MARKER };
/** Deletes the marker, and its key when nothing else is in it. */
const markerClear: HostOp[] = [
  { op: 'registry.deleteValue', ...RESTART_MARKER },
  { op: 'registry.deleteKey', view: RESTART_MARKER.view, key: RESTART_MARKER.key, onlyIfEmpty: true },
];
function markerText(runId: string): string {
  return `owed by run ${runId}`;
}
function markerSet(runId: string): HostOp {
  return { op: 'registry.set', ...RESTART_MARKER, value: { type: 'REG_SZ', data: markerText(runId) } };
}

type Baseline = {
  bootTime: string;
  deadline: string;
  /** LogonUI's key existed just before the restart (read in its batch): this host's boot creates it, so it is waited for. */
  logonUi?: boolean;
  /** The SQL Servers that must answer before the host is ready. */
  databases?: string[];
};

/** What the probe reads: the boot, who owes a restart, the marker as it is, the databases to wait for. */
type Observed = {
  bootTime: string;
  owedBy: string[];
  marker: string | null;
  markerKey: { exists: boolean; existingAncestor: string };
  /** The marker is all its key holds (no other value, no subkey): clearing it deletes the key too. */
  markerAlone?: boolean;
  databases: string[];
};

/** The plan's data. */
type PlanData = { rebootRequired: false } | { bootTime: string; reason: string; rebootRequired: true };

/**
 * What capture journals before the restart: the baseline, and the marker as it was before the run
 * (absent from journals older than the marker; `markerKey` from journals older than its key's state).
 */
type Captured = Baseline & { marker?: string | null; markerKey?: { exists: boolean; existingAncestor: string } };

/**
 * The restart phase's answer. `unconfirmed`: the command's connection failed; the host decides what
 * happened. `pendingShutdown` (1190, waited for by policy) and `shutdownInProgress` (1115): another
 * shutdown is the restart.
 */
type RestartAnswer = {
  requested: boolean;
  alreadyRestarted: boolean;
  unconfirmed?: boolean;
  pendingShutdown?: boolean;
  shutdownInProgress?: boolean;
  /** LogonUI's key existed just before the restart command (read in the same batch); undefined when unknown. */
  logonUi?: boolean;
  /**
   * The boot the restart was guarded by, when it is not the captured baseline: the target had restarted
   * since that baseline without this run asking (see {@link restartedOnItsOwn}), so the restart was sent
   * again, guarded by the boot it found. The wait and the verification count from it.
   */
  since?: string;
};

/** LogonUI's key, read with `registry.get` (its existence is what counts). */
const logonUiGet: HostOp = { op: 'registry.get', view: LOGON_UI_READY_KEY.value.view, key: LOGON_UI_READY_KEY.value.key, name: '' };

/** The SQL Servers to wait for: the parameter's, or the target's own instances (`.`, `.\\NAME`). */
function databasesOf(param: string, instances: { name: string }[] | null): string[] {
  if (param.trim().toLowerCase() === 'none') return [];
  if (param.trim() !== '') return [param.trim()];
  return (instances ?? []).map((i) => (i.name.toUpperCase() === 'MSSQLSERVER' ? '.' : `.\\${i.name}`));
}

/** What is not ready yet in one poll's answers (empty: ready). */
function notReady(results: HostOpResult[], baseline: Baseline): string[] {
  const missing: string[] = [];
  for (const r of results.slice(1)) {
    if (r.op === 'service.status' && r.state !== 'running' && r.startType === 'auto') missing.push(`service ${r.name} ${r.state}`);
    if (r.op === 'registry.get' && !r.keyExists) missing.push('Windows still starting (LogonUI has not reached the logon prompt)');
    if (r.op === 'sql.ping' && !r.answered) missing.push(`SQL Server ${r.server} not answering (${r.detail})`);
  }
  if (!restartedSince(resultOf(results[0], 'boot.time').bootTime, baseline.bootTime)) missing.unshift(`boot time still ${baseline.bootTime}`);
  return missing;
}

/** The earlier of the step's own deadline and the end of the compensation budget. */
function deadlineOf(rt: StepRuntime, baseline: Baseline): number {
  const budget = rt.budgetLeft();
  const own = Date.parse(baseline.deadline);
  return budget === null ? own : Math.min(own, rt.now() + budget);
}

/** How long to pause before the next poll: doubling from `pollIntervalMs`, jittered, capped, never past the deadline. */
function nextPause(rt: StepRuntime, pause: number, params: RestartParams, deadline: number): number {
  const jitter = 0.5 + Math.random() / 2;
  return Math.max(0, Math.min(pause * jitter, params.maxPollIntervalMs, deadline - rt.now()));
}

/**
 * Polls until the host is ready or the deadline passes: the boot time proven different from the
 * baseline, the system finished starting (LogonUI's key, where this host creates it), the database
 * answering, and the ready services running. With `resend`, a host that answers with the old boot
 * time gets the (boot-time guarded) restart command again: a command whose connection failed may
 * never have run.
 */
async function waitForBoot(rt: StepRuntime, params: RestartParams, baseline: Baseline, resend = false): Promise<{ bootTime: string; polls: number; resent: number; absent: string[] }> {
  const ops: HostOp[] = [
    { op: 'boot.time' },
    ...(baseline.logonUi ? [logonUiGet] : []),
    ...(baseline.databases ?? []).map((server): HostOp => ({ op: 'sql.ping', server, timeoutSeconds: 5, answeredErrors: [...SQL_LOGIN_REFUSED_ERRORS.value] })),
    ...params.readyServices.map((name): HostOp => ({ op: 'service.status', name })),
  ];
  const deadline = deadlineOf(rt, baseline);
  let polls = 0;
  let resent = 0;
  let waitingFor: string[] = [`boot time still ${baseline.bootTime}`];
  // The same pause every time (no doubling): the host is seen ready at most one interval after it is.
  const options = { doubling: false, waitingFor: (failed: unknown) => (failed ? 'the target to answer' : waitingFor.join('; ')) };
  return pollUntil(rt, params, deadline, options, async () => {
    polls += 1;
    const results = await rt.exec(ops, { poll: true, timeoutMs: 30_000 });
    const bootTime = resultOf(results[0], 'boot.time').bootTime;
    // An auto-start service still starting is waited for; one that will not start by itself is not.
    waitingFor = notReady(results, baseline);
    // A service the host does not have is not waited for (it never comes): named in the summary.
    const absent = results.flatMap((r) => (r.op === 'service.status' && !r.exists ? [r.name] : []));
    if (waitingFor.length === 0) return { bootTime, polls, resent, absent };
    if (!restartedSince(bootTime, baseline.bootTime) && resend && resent < 3) {
      resent += 1;
      rt.log(`the target still runs since ${baseline.bootTime}: sending the restart again (${resent})`, 'warn');
      const again = await requestRestart(rt, params, baseline);
      if (!again.unconfirmed) resend = false;
    }
    return undefined;
  }, () => {
    throw new StepError('RESTART_TIMEOUT', `the target was not ready by ${new Date(deadline).toISOString()}: ${waitingFor.join('; ')}`, {
      where: rt.stepId,
      // The step fails and the run is rolled back (a rollback that cannot reach the target ends
      // rollback-failed): a run that ended is never resumed, `runbook rollback` retries its undos.
      hint: `check the server console; once it answers, \`runbook rollback ${rt.runId}\` retries what the rollback could not undo (an ended run is not resumed)`,
    });
  });
}

/** The target's boot time, waiting while it does not answer (it may be restarting), until the deadline. */
async function currentBootTime(rt: StepRuntime, params: RestartParams, deadline: number): Promise<string> {
  // An earlier undo already waited out its retries against this target: do not wait again.
  const options = { doubling: true, stopOnError: () => rt.targetGone(), waitingFor: () => 'the target to answer' };
  return pollUntil(rt, params, deadline, options, async () => {
    const [boot] = await rt.exec([{ op: 'boot.time' }], { poll: true, timeoutMs: 30_000 });
    return resultOf(boot, 'boot.time').bootTime;
  }, (error) => {
    throw new StepError('TARGET_GONE', 'the target did not answer, so whether it restarted cannot be known', {
      where: rt.stepId,
      hint: `once it is up, restart it so that the restored values take effect (or \`runbook rollback ${rt.runId}\`, which restarts it when they need it)`,
      cause: error,
    });
  });
}

/**
 * The step's one polling loop (as ansible.windows' `_do_until_success_or_condition` serves its
 * waits): `attempt` until it returns a value, a transient error meaning only "not yet"; at the
 * deadline — or, after a failed attempt, when `stopOnError` says so — `giveUp` ends it with the last
 * error. Each pause is jittered and never past the deadline; `doubling` doubles it up to the cap.
 * After each attempt that is not yet the end, the run's events hear the polls so far, the deadline and
 * what is waited for (`waitingFor`, given the attempt's error if it failed): the CLI shows them.
 */
async function pollUntil<T>(
  rt: StepRuntime,
  params: RestartParams,
  deadline: number,
  options: { doubling: boolean; stopOnError?: () => boolean; waitingFor: (failed: unknown) => string },
  attempt: () => Promise<T | undefined>,
  giveUp: (error?: unknown) => never,
): Promise<T> {
  let pause = params.pollIntervalMs;
  let polls = 0;
  for (;;) {
    rt.checkpoint();
    let failed: unknown;
    polls += 1;
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      if (!isTransient(error)) throw error;
      failed = error;
      if (options.stopOnError?.()) giveUp(error);
    }
    if (rt.now() >= deadline) giveUp(failed);
    rt.waiting({ polls, deadline, waitingFor: options.waitingFor(failed) });
    await rt.sleep(nextPause(rt, pause, params, deadline));
    if (options.doubling) pause = Math.min(pause * 2, params.maxPollIntervalMs);
  }
}

/**
 * Sends the restart, guarded by the baseline boot time (a host that already restarted is not restarted
 * again). A connection that fails while the command is sent proves nothing: the answer is then
 * `unconfirmed`, and the host's boot time decides.
 */
async function requestRestart(rt: StepRuntime, params: RestartParams, baseline: Baseline, extra: HostOp[] = []): Promise<RestartAnswer> {
  const op: HostOp = {
    op: 'restart',
    delaySeconds: params.delaySeconds,
    reason: restartComment(rt),
    ifBootTime: baseline.bootTime,
    plannedReason: PLANNED_RESTART_REASON.value,
    // What shutdown.exe answers when another shutdown is scheduled or under way: data for the agent.
    pendingCodes: { scheduled: SHUTDOWN_IS_SCHEDULED.value, inProgress: SHUTDOWN_IN_PROGRESS.value },
    // How far apart two boot times prove a restart (the agent's boot-time guard): data, not its own copy.
    toleranceMs: BOOT_TIME_TOLERANCE_MS,
  };
  try {
    // LogonUI's key is read just before the restart, in the same batch: where it exists, this host's
    // boot creates it, and the wait waits for it (restart.logon-ui-ready-key).
    const results = await rt.exec([...extra, logonUiGet, op], { retry: false });
    const r = resultOf(results[results.length - 1], 'restart');
    const logonUi = resultOf(results[results.length - 2], 'registry.get').keyExists;
    if (r.shutdownInProgress) {
      // Nobody can leave it alone or cancel it any more: it is the restart, whatever ifShutdownPending says.
      rt.log(`a shutdown is already in progress on the target (shutdown.exe answered ${SHUTDOWN_IN_PROGRESS.value}): it is waited for as the restart`, 'warn');
      return { requested: false, alreadyRestarted: false, shutdownInProgress: true, logonUi };
    }
    if (r.pendingShutdown) {
      if (params.ifShutdownPending === 'fail') {
        throw new StepError('SHUTDOWN_PENDING', `a shutdown scheduled by someone else is pending on the target (shutdown.exe answered ${SHUTDOWN_IS_SCHEDULED.value}); it was left alone and nothing was restarted`, {
          where: rt.stepId,
          hint: 'let it happen and run again, cancel it yourself (shutdown /a) if it is not wanted, or set ifShutdownPending=wait to let it be the restart',
        });
      }
      rt.log('a shutdown scheduled by someone else is pending: it is left alone and waited for as the restart', 'warn');
      return { requested: false, alreadyRestarted: false, pendingShutdown: true, logonUi };
    }
    rt.log(r.alreadyRestarted ? 'the target already restarted since the baseline' : 'restart requested');
    // Read after a restart that already happened, the key says nothing of the boot before it.
    return { requested: r.requested, alreadyRestarted: r.alreadyRestarted, ...(r.alreadyRestarted ? {} : { logonUi }) };
  } catch (error) {
    if (error instanceof ExecutorError && error.transient) {
      rt.log(`the restart command's connection failed (${error.message.split('\n')[0]}): the target's boot time will tell whether it ran`, 'warn');
      return { requested: false, alreadyRestarted: false, unconfirmed: true };
    }
    throw error;
  }
}

/** The comment every restart of this run carries (`shutdown /c`), which Windows logs with it (restart.shutdown-event). */
function restartComment(rt: StepRuntime): string {
  return `runbook-engine run ${rt.runId}`;
}

/**
 * Whether the target restarted at least twice for this run since `since` (the run's baseline boot):
 * the forward restart and the rollback's, by Windows' record of each (restart.shutdown-event). A log
 * that cannot be read, or a read that fails, answers false: an unknown never skips a restart.
 */
async function restartedTwiceSince(rt: StepRuntime, since: string): Promise<boolean> {
  try {
    const [read] = await rt.exec([historyOp(rt, since)]);
    const history = resultOf(read, 'restart.history');
    return history.readable && history.restarts.length >= 2;
  } catch (error) {
    // An agent or a transport that failed (an older agent without the op included) proves nothing.
    if (!(error instanceof ExecutorError)) throw error;
    rt.log(`the System log's record of this run's restarts could not be read (${(error as Error).message.split('\n')[0]}): restarting again`, 'warn');
    return false;
  }
}

/** The read of this run's restarts since `since` in the System log (restart.shutdown-event). */
function historyOp(rt: StepRuntime, since: string): HostOp {
  return { op: 'restart.history', since, comment: restartComment(rt), event: { ...RESTART_EVENT.value } };
}

/**
 * Whether the target, found booted since `since` when this run had sent no restart, restarted on its
 * own: its boot time now when the System log shows no restart of this run since `since`; null when the
 * log holds one — the boot was this run's own restart, whose answer a drive lost with the journal's
 * end — or cannot be read, which cannot tell the two apart: the boot is then taken as the run's own,
 * as before, and a warning says the values written may not be in effect (the handshakes that follow
 * prove it either way). One round trip, only then.
 */
async function restartedOnItsOwn(rt: StepRuntime, since: string): Promise<string | null> {
  const unknown = (why: string) =>
    rt.log(`the target booted since ${since} without this restart being sent, and ${why}: it is taken as this run's own restart; if it was not, the values written before it are not in effect until the next restart`, 'warn');
  try {
    const [boot, read] = await rt.exec([{ op: 'boot.time' }, historyOp(rt, since)]);
    const history = resultOf(read, 'restart.history');
    if (!history.readable) {
      unknown("the System log, which records this run's restarts, cannot be read");
      return null;
    }
    return history.restarts.length >= 1 ? null : resultOf(boot, 'boot.time').bootTime;
  } catch (error) {
    // An agent or a transport that failed for good on the log's read (an older agent without the op included).
    if (!(error instanceof ExecutorError) || error.transient) throw error;
    unknown(`the System log's record of this run's restarts could not be read (${error.message.split('\n')[0]})`);
    return null;
  }
}

function allowed(rt: StepRuntime, params: RestartParams): boolean {
  const override = rt.overrides.allowRestart;
  return typeof override === 'boolean' ? override : params.allowRestart;
}

/** What the probe reads: the boot time, the engine's marker, and the local SQL Server instances unless a database server is named. */
function restartReads(params: RestartParams) {
  const localSql = params.databaseServer.trim() === '';
  return defineBatch({ boot: { op: 'boot.time' }, marker: RESTART_MARKER_READ, markerKey: { op: 'registry.keyInfo', view: RESTART_MARKER.view, key: RESTART_MARKER.key }, instances: localSql ? ({ op: 'sql.instances' } as const) : undefined });
}

export const restartStep = defineStepKind({
  kind: 'windows/restart',
  description: 'Restarts the target when a reboot is owed and waits until it is ready (boot time changed, Windows started, database answering, services running)',
  params: restartParams,
  outputs: z.object({ restarted: z.boolean(), previousBootTime: z.string(), bootTime: z.string(), rebootRequired: z.boolean() }),
  compensateLast: true,
  reads: ({ params }) => batchOps(restartReads(params)),
  async probe({ rt, params }): Promise<Observed> {
    const owedBy = owedByThisRun(rt);
    // Declared in `reads`: the engine sends it with the drive's first read batch, so the read cache has it.
    const read = await readBatch(rt, restartReads(params));
    const marker = read.marker.value && read.marker.value.type === 'REG_SZ' ? read.marker.value.data : null;
    const databases = databasesOf(params.databaseServer, read.instances ? read.instances.instances : null);
    const markerAlone = read.markerKey.exists && read.markerKey.subkeys.length === 0 && read.markerKey.values.every((v) => v.toLowerCase() === RESTART_MARKER.name.toLowerCase());
    return { bootTime: read.boot.bootTime, owedBy, marker, markerKey: { exists: read.marker.keyExists, existingAncestor: read.marker.existingAncestor }, markerAlone, databases };
  },
  plan({ observed, params, rt }): PlanOf<PlanData> {
    const { bootTime, owedBy, marker, markerKey } = observed;
    // Nothing changed and no marker: the values may still not be in effect (written without a restart).
    const stale = owedBy.length === 0 && marker === null ? valuesNotInEffect(rt.outputs) : [];
    if (owedBy.length === 0 && marker === null && stale.length === 0) {
      return { changes: [], summary: 'no restart owed', data: { rebootRequired: false } };
    }
    const reason =
      owedBy.length > 0
        ? `changed by ${owedBy.join(', ')}`
        : marker !== null
          ? `an earlier run left its marker (${marker})`
          : `values not in effect (the registry holds them, the baseline handshakes show otherwise; they take effect after a restart): ${stale.join('; ')}`;
    const markerAt = displayRegistryKey(RESTART_MARKER.view, RESTART_MARKER.key);
    const own = markerText(rt.runId);
    if (!allowed(rt, params)) {
      // The run writes its marker and ends awaiting a restart window (the restart phase): that is the plan.
      const changes: Change[] = [
        ...(markerKey.exists ? [] : [{ target: markerAt, field: KEY_FIELD, before: null, after: 'created', action: 'create' as const }]),
        // This run's own marker (a drive whose journal lost the restart's records reads it) is written again unchanged.
        ...(marker === own ? [] : [{ target: markerAt, field: RESTART_MARKER.name, before: marker, after: own, type: 'REG_SZ', action: marker === null ? ('create' as const) : ('update' as const) }]),
        { target: 'host', field: 'restart', before: `booted ${bootTime}`, after: 'deferred (allowRestart=false; the run ends awaiting a restart window)', action: 'run' },
      ];
      return {
        changes,
        summary: `restart owed: ${reason}; restarting is not allowed (allowRestart=false): the run writes its marker (${own}) and ends awaiting a restart window (resume with --allow-restart)`,
        data: { bootTime, reason, rebootRequired: true },
      };
    }
    // An earlier run's marker is deleted once the restart it owes is made: a change of the target like
    // any other, listed so that a plan or run that pays that restart is never "already compliant". This
    // run's own marker (a drive whose journal lost the restart's records reads it) is not a change.
    const earlierMarker = marker !== null && marker !== own;
    return {
      changes: [
        { target: 'host', field: 'restart', before: `booted ${bootTime}`, after: 'restarted', action: 'run' },
        ...(earlierMarker ? [{ target: markerAt, field: RESTART_MARKER.name, before: marker, after: null, type: 'REG_SZ', action: 'delete' as const }] : []),
        // markerClear deletes the key too when the marker is all it holds.
        ...(earlierMarker && observed.markerAlone ? [{ target: markerAt, field: KEY_FIELD, before: 'present', after: null, action: 'delete' as const }] : []),
      ],
      summary: `restart owed: ${reason}${earlierMarker ? '; its marker is deleted after the restart' : ''}${params.readyServices.length > 0 ? `; then waits for services ${params.readyServices.join(', ')} (one this server does not have is not waited for)` : ''}`,
      data: { bootTime, reason, rebootRequired: true },
    };
  },
  async capture({ params, observed, rt }): Promise<Captured> {
    const { bootTime, marker, markerKey, databases } = observed;
    // The baseline is the boot under which this run made the changes it owes a restart for: the last
    // boot time an earlier step published (the preflight's, or an earlier restart's), else the one read
    // now. A drive whose journal lost this step's records after the host restarted reads the new boot
    // time here; the restart, guarded by the earlier one, is then not sent again.
    const earlier = Object.values(rt.outputs).reduce<string | null>((last, out) => {
      const b = out && typeof out === 'object' && !Array.isArray(out) ? (out as { bootTime?: unknown }).bootTime : undefined;
      return typeof b === 'string' ? b : last;
    }, null);
    return { bootTime: earlier ?? bootTime, marker, markerKey, databases: databases ?? [], deadline: new Date(rt.now() + params.timeoutSeconds * 1000).toISOString() };
  },
  // The marker as it was before the run (absent, or an earlier run's).
  registryPriors: (priors) => {
    if (priors?.marker === undefined) return [];
    const key = priors.markerKey ?? { exists: true, existingAncestor: RESTART_MARKER.key };
    return [{ ...RESTART_MARKER, keyExists: key.exists, existingAncestor: key.existingAncestor, value: priors.marker === null ? null : { type: 'REG_SZ', data: priors.marker } }];
  },
  // The marker: set by the restart phase (its answer is not kept: may have been, until the step
  // succeeded), and deleted by verify once the restart happened. Once the target came back from the
  // restart (awaitBoot answered), the restart cannot be undone and the marker's removal follows it: an
  // earlier run's marker is not put back (it would owe a restart already made) — nothing is left of a
  // step that succeeded, and of one that did not, this run's own marker, which may still be there, is to
  // be deleted. Before that, the restart is still owed as it was: the marker as it was before the run.
  registryWrites: ({ priors, results, status, runId }) => {
    if (priors?.marker === undefined || status === 'succeeded') return [];
    const key = priors.markerKey ?? { exists: true, existingAncestor: RESTART_MARKER.key };
    const prior = { ...RESTART_MARKER, keyExists: key.exists, existingAncestor: key.existingAncestor, value: priors.marker === null ? null : { type: 'REG_SZ' as const, data: priors.marker } };
    const owed = { type: 'REG_SZ' as const, data: markerText(runId) };
    if (results.awaitBoot !== undefined) return [{ ...prior, value: null, wrote: owed, maybe: true }];
    return priors.marker === owed.data ? [] : [{ ...prior, wrote: owed, maybe: true }];
  },
  phases: [
    {
      name: 'restart',
      async run({ rt, params, priors }) {
        if (!allowed(rt, params)) {
          // The marker tells a later run (or this one, resumed) that a restart is still owed.
          await rt.exec([markerSet(rt.runId)]);
          rt.suspend(`awaiting a restart window: restarting is not allowed; in a window, resume with --allow-restart (runbook resume ${rt.runId} --allow-restart)`, 'restart-window');
        }
        const extra: HostOp[] = [markerSet(rt.runId)];
        if (rt.onTarget) extra.push({ op: 'startupTask.register', name: `${TASK_PREFIX}${rt.runId}`, command: rt.resumeCommand });
        const answer = await requestRestart(rt, params, priors, extra);
        if (!answer.alreadyRestarted) return answer;
        // The target booted since the baseline, yet this phase sent nothing: this run's own restart (a
        // drive whose journal lost its answer), or one it did not ask for — a crash, an update, someone at
        // the console — which may have come before some of the run's writes: that boot did not read them,
        // and whether it came before or after them cannot be told, so the target is restarted again.
        const since = await restartedOnItsOwn(rt, priors.bootTime);
        if (since === null) return answer;
        rt.log(`the target restarted since ${priors.bootTime} without this run asking (it booted ${since}): the values written before that boot may not be in effect, so it is restarted again`, 'warn');
        const again = await requestRestart(rt, params, { ...priors, bootTime: since });
        return { ...again, since };
      },
    },
    {
      name: 'awaitBoot',
      async run({ rt, params, priors, results }) {
        const restart = results.restart as RestartAnswer | undefined;
        if (rt.onTarget && !restart?.alreadyRestarted) {
          // This process is about to go down with the host; the start-up task resumes the run here.
          const baseline = priors;
          const [boot] = await rt.exec([{ op: 'boot.time' }], { poll: true }).catch(() => [null]);
          if (!boot || !restartedSince(resultOf(boot, 'boot.time').bootTime, baseline.bootTime)) {
            rt.suspend('awaiting resume: the target is restarting; its start-up task resumes the run');
          }
        }
        const baseline: Baseline = { ...priors, ...(restart?.since ? { bootTime: restart.since } : {}), logonUi: restart?.logonUi ?? false };
        return waitForBoot(rt, params, baseline, Boolean(restart?.unconfirmed));
      },
    },
  ],
  async verify({ rt, priors, results }) {
    // Verify follows the restart phases, so the baseline was captured.
    if (!priors) throw new StepError('PROTOCOL', `step ${rt.stepId} verifies a restart whose baseline was not captured`);
    // The boot the restart was guarded by: the baseline, or the one the target had restarted to on its own.
    const since = (results.restart as RestartAnswer | undefined)?.since;
    const baseline = since ? { ...priors, bootTime: since } : priors;
    const boot = results.awaitBoot as { bootTime: string; polls: number; absent?: string[] };
    const absent = boot.absent ?? [];
    // The restart is no longer owed: the marker goes (with the start-up task, in the same batch).
    await rt.exec([...markerClear, ...(rt.onTarget ? [{ op: 'startupTask.remove', name: `${TASK_PREFIX}${rt.runId}` } as HostOp] : [])]);
    return {
      ok: restartedSince(boot.bootTime, baseline.bootTime),
      summary: `restarted: booted ${boot.bootTime} (was ${baseline.bootTime}), ready after ${boot.polls} poll(s)${absent.length > 0 ? `; not waited for, absent on this server (unknown): service ${absent.join(', ')}` : ''}`,
      output: { restarted: true, previousBootTime: baseline.bootTime, bootTime: boot.bootTime, rebootRequired: false },
    };
  },
  async compensate({ rt, params, priors, results }) {
    const before: Captured | null = priors;
    if (!before) return { detail: 'the step never came to restart the target: nothing to undo', changes: [] };
    // Whether this run restarted the target is the target's to say: its boot time against the
    // baseline journaled before the restart was sent (the journal may end before the answer did).
    // An undo that decides again (a retry of the undos that failed, after this one succeeded) reads
    // the target anew, under its own name: the earlier attempt's reading (and restart) are past.
    const again = rt.compensation?.again;
    const baseline = await rt.remember<{ bootTime: string; restarted: boolean; deadline: string }>(again === undefined ? 'compensate.baseline' : `compensate.baseline@${again}`, async () => {
      const deadline = rt.now() + params.timeoutSeconds * 1000;
      const bootTime = await currentBootTime(rt, params, deadlineOf(rt, { bootTime: before.bootTime, deadline: new Date(deadline).toISOString() }));
      // Not proven restarted (an unreadable reading included) counts as restarted here: the restored
      // values take effect only after a restart, and an unreadable value never skips one.
      return { bootTime, restarted: !sameBoot(bootTime, before.bootTime), deadline: new Date(deadline).toISOString() };
    });
    if (!baseline.restarted) {
      // The restart is still owed as it was before this run: the marker as it was (absent, or an earlier run's).
      await rt.exec(before.marker ? [{ op: 'registry.set', ...RESTART_MARKER, value: { type: 'REG_SZ', data: before.marker } }] : markerClear);
      return { detail: `the target has not restarted since ${before.bootTime}: the restored values are the ones in effect, nothing to undo`, changes: [] };
    }
    // The target restarted: that cannot be undone, and the marker's removal follows it — an earlier
    // run's marker is not written back (it would owe a restart already made); this run's own goes.
    await rt.exec(markerClear);
    // Values restored by the other undos take effect only after a restart; actions (a registry export)
    // need none. As the journal records the run, not as each undo reports: an undo run again after a
    // drive lost its record finds nothing left to change, yet what it restored still needs the restart.
    // An undo that decides again sees only what this attempt restored: the earlier attempt's decision
    // covered the rest.
    const restored = (rt.compensation?.undone ?? []).filter((c) => c.action !== 'keep' && c.action !== 'run');
    if (restored.length === 0) {
      // Nothing restored needs a restart to take effect: a run that only paid a restart owed by an
      // earlier run (or whose values were all changed since and kept) rolls back to nothing.
      if (rt.onTarget) await rt.exec([{ op: 'startupTask.remove', name: `${TASK_PREFIX}${rt.runId}` }]);
      const paid = before.marker ? `, which paid the restart an earlier run owed (${before.marker}; its marker is not written back)` : '';
      return {
        detail: `nothing to undo: the target restarted for this run${paid}; a restart cannot be undone, and no undo restored a value that needs another`,
        changes: [],
      };
    }
    // The values restored by the other compensations take effect only after another restart. A boot
    // later than the one the forward restart came back to is this undo's own restart, sent by a drive
    // whose records of it were lost: it is not sent again.
    const back = (results.awaitBoot as { bootTime?: string } | undefined)?.bootTime;
    // A drive that did not see the forward restart happen — it answered "already restarted", or the
    // boot was back at the first poll: the journal lost the restart's records — cannot tell the boot it
    // came back to from the rollback's own, sent by a drive whose records were lost too. Windows'
    // record of each restart can: two by this run since the baseline are the forward restart and the
    // rollback's, after every other undo. Read only then (one round trip), and never decisive alone.
    // An undo that decides again is guarded by its own reading, journaled before it sends anything: a
    // later boot than the forward restart's is then an earlier attempt's restart (or the operator's),
    // after which this attempt restored values — they need one more.
    const unsure = again === undefined && ((results.restart as RestartAnswer | undefined)?.alreadyRestarted === true || (results.awaitBoot as { polls?: number } | undefined)?.polls === 1);
    if (unsure && (await restartedTwiceSince(rt, before.bootTime))) {
      if (rt.onTarget) await rt.exec([{ op: 'startupTask.remove', name: `${TASK_PREFIX}${rt.runId}` }]);
      return {
        detail: `the target already restarted twice for this run since ${before.bootTime} (System log): the rollback's restart happened, its records lost with the journal's end; the restored values are in effect`,
        changes: [],
      };
    }
    const guard = again === undefined && back && !sameBoot(baseline.bootTime, back) ? { ...baseline, bootTime: back } : baseline;
    const task = `${TASK_PREFIX}${rt.runId}`;
    const extra: HostOp[] = rt.onTarget ? [{ op: 'startupTask.register', name: task, command: rt.resumeCommand }] : [];
    const sent = await requestRestart(rt, params, guard, extra);
    if (rt.onTarget && !sent.alreadyRestarted) rt.suspend('awaiting resume: the target restarts so that the restored values take effect');
    const boot = await waitForBoot(rt, params, { ...guard, logonUi: sent.logonUi ?? false, databases: before.databases }, Boolean(sent.unconfirmed));
    if (rt.onTarget) await rt.exec([{ op: 'startupTask.remove', name: task }]);
    return {
      detail: `restarted again so that the restored values take effect (booted ${boot.bootTime})`,
      changes: [{ target: 'host', field: 'restart', before: `booted ${baseline.bootTime}`, after: `booted ${boot.bootTime}`, action: 'run' }],
    };
  },
});
