/**
 * Drives one run from wherever its journal says it stands: forward through the steps, then — when a
 * step fails or the run is cancelled or rolled back — backward through the compensations (the saga).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createActor, type InspectionEvent, type Observer } from 'xstate';
import { JournalError, StepError, ValidationError, toErrorRecord, type ErrorRecord } from '../errors.js';
import type { Executor } from '../executors/types.js';
import type { RunEmitter } from './events.js';
import type { Journal } from './journal.js';
import type { StepKindRegistry } from './kinds.js';
import { ReadCache } from './read-cache.js';
import { positionOf, replay, resultOf } from './replay.js';
import { resolvePolicy, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
import { resolveWith } from './runbook.js';
import type { DeclaredWrite, StepMachineContext } from './step-kind.js';
import { writeFileAtomic } from '../util/write-atomic.js';
import { bindStepKind, createStepRuntime, type RuntimeServices } from './step-runtime.js';
import type { Json, RunResult, RunStatus, StepStatus } from './types.js';

/** How many drives may start from the same position before the run needs an operator. */
export const MAX_RESUMES_WITHOUT_PROGRESS = 3;

export interface DriveOptions {
  runDir: string;
  stateDir: string;
  journal: Journal;
  executor: Executor;
  kinds: StepKindRegistry;
  events: RunEmitter;
  signal: AbortSignal;
  /** Values of secret parameters, read from the environment for this drive only. */
  secrets: Record<string, Json>;
  overrides: Record<string, Json>;
  resumeCommand: string[];
  retry?: Partial<RetryPolicy>;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** `rollback`: compensate a finished run on an operator's request. */
  mode: 'drive' | 'rollback';
}

type StepOutcome = { kind: 'settled'; status: StepStatus; context: StepMachineContext } | { kind: 'suspended'; reason: string };

function stateName(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export async function drive(options: DriveOptions): Promise<RunResult> {
  const { journal, events, executor, kinds } = options;
  let state = replay(journal.records);
  const started = state.started;
  const runId = started.runId;
  const definition = started.runbook;

  if (options.mode === 'rollback') {
    if (state.ended?.status !== 'succeeded') {
      throw new JournalError('NOT_RESUMABLE', `run ${runId} is ${state.ended?.status ?? 'not finished'}; only a succeeded run can be rolled back on demand`, {
        hint: state.ended ? 'a failed run was already rolled back' : 'resume it first with `runbook resume`',
      });
    }
  } else if (state.ended) {
    return resultOf(state, options.stateDir);
  }

  const resumed = state.segments.length > 0;
  const position = positionOf(state);
  const stuck = state.segments.filter((s) => s.resume && s.position === position).length;
  await journal.append({ type: 'segment.started', position, resume: resumed, pid: process.pid });
  events.emit('run:start', {
    runId,
    runbook: definition.name,
    target: started.target,
    checkMode: started.checkMode,
    resumed,
    steps: definition.steps.map((s) => s.id),
  });

  const finish = async (status: RunStatus, extra: { error?: ErrorRecord; reason?: string } = {}) => {
    await journal.append({ type: 'run.ended', status, ...extra });
    const result = resultOf(replay(journal.records), options.stateDir);
    events.emit('run:end', result);
    return result;
  };

  if (resumed && stuck >= MAX_RESUMES_WITHOUT_PROGRESS) {
    return finish('rollback-failed', {
      reason: `resumed ${stuck} times at the same point (${position}) without progress; an operator must look at the target and the journal`,
      error: { name: 'JournalError', code: 'NO_PROGRESS', message: `no progress after ${stuck} resumes at ${position}` },
    });
  }

  const params: Record<string, Json> = { ...started.params, ...options.secrets };
  const outputs: Record<string, Json> = {};
  const publish = (index: number) => {
    const st = state.steps[index];
    if (['succeeded', 'skipped', 'planned'].includes(st.status)) outputs[definition.steps[index].id] = st.output;
  };
  state.steps.forEach((_, i) => publish(i));

  const services: RuntimeServices = {
    runId,
    executor,
    journal,
    events,
    cache: new ReadCache(),
    policy: DEFAULT_RETRY_POLICY,
    checkMode: started.checkMode,
    outputs,
    overrides: options.overrides,
    resumeCommand: options.resumeCommand,
    signal: options.signal,
    memos: state.memos,
    plannedWrites: (index) => plannedWrites(index),
    saveFile: async (name, content) => {
      const dir = join(options.runDir, 'backups');
      await mkdir(dir, { recursive: true });
      const file = join(dir, name);
      await writeFileAtomic(file, content);
      if (!state.backups.includes(file)) {
        state.backups.push(file);
        await journal.append({ type: 'file.saved', path: file });
      }
      return file;
    },
    counters: new Map(),
  };

  const stepParams = (index: number): Json => {
    const step = definition.steps[index];
    const known = state.steps[index].params;
    if (known !== undefined) return known;
    return resolveWith(step.with ?? {}, { params, steps: outputs }, `steps[${index}] (id ${step.id}).with`);
  };

  async function plannedWrites(after: number): Promise<DeclaredWrite[]> {
    const writes: DeclaredWrite[] = [];
    for (let i = after + 1; i < definition.steps.length; i++) {
      const kind = kinds.get(definition.steps[i].uses);
      if (!kind.declares) continue;
      let raw: Json;
      try {
        raw = stepParams(i);
      } catch {
        continue;
      }
      const p = kind.params.safeParse(raw);
      if (!p.success) continue;
      const rt = createStepRuntime(services, definition.steps[i].id, i, () => 'declares');
      writes.push(...(await kind.declares({ params: p.data, rt })));
    }
    return writes;
  }

  async function driveStep(index: number, mode: 'forward' | 'compensate'): Promise<StepOutcome> {
    const step = definition.steps[index];
    const kind = kinds.get(step.uses);
    const st = state.steps[index];
    if (st.params === undefined) {
      let stepParamsValue: Json;
      try {
        stepParamsValue = stepParams(index);
      } catch (error) {
        throw new ValidationError(`cannot resolve the parameters of step ${step.id}`, [(error as Error).message]);
      }
      const check = kind.params.safeParse(stepParamsValue);
      if (!check.success) {
        throw new ValidationError(
          `invalid parameters for step ${step.id}`,
          check.error.issues.map((i) => `steps[${index}] (id ${step.id}).with.${i.path.join('.')}: ${i.message}`),
        );
      }
      const stored = secretFree(stepParamsValue, options.secrets);
      await journal.append({ type: 'step.started', index, stepId: step.id, params: stored });
      st.params = stored;
      st.status = 'running';
    }
    services.policy = resolvePolicy(resolvePolicy(resolvePolicy(DEFAULT_RETRY_POLICY, options.retry), definition.retry), step.retry);
    let phase = 'probe';
    let onSuspend: (reason: string) => void = () => undefined;
    const rt = createStepRuntime(services, step.id, index, () => phase);
    const machine = bindStepKind(
      kind,
      rt,
      (reason) => onSuspend(reason),
      (name) => {
        phase = name;
      },
      (p) => restoreSecrets(p, options.secrets),
    );
    const actor = createActor(
      machine,
      st.snapshot
        ? { snapshot: st.snapshot as never, inspect: options.inspect }
        : { input: { stepId: step.id, index, params: st.params as Json, checkMode: started.checkMode }, inspect: options.inspect },
    );
    return new Promise<StepOutcome>((resolve, reject) => {
      let last: string | null = st.stateValue;
      let chain: Promise<unknown> = Promise.resolve();
      let done = false;
      const end = (outcome: StepOutcome) => {
        if (done) return;
        done = true;
        chain.then(() => {
          actor.stop();
          resolve(outcome);
        }, reject);
      };
      onSuspend = (reason) => end({ kind: 'suspended', reason });
      const observe = (snapshot: ReturnType<typeof actor.getSnapshot>) => {
        const value = stateName(snapshot.value);
        if (value !== last) {
          events.emit('step:transition', { runId, stepId: step.id, index, from: last, to: value });
          last = value;
          const persisted = actor.getPersistedSnapshot();
          chain = chain.then(async () => {
            await journal.append({ type: 'step.snapshot', index, stepId: step.id, state: value, snapshot: persisted });
            st.snapshot = persisted;
            st.stateValue = value;
          });
        }
        const settledTag = mode === 'forward' ? 'settled' : 'done';
        if (snapshot.hasTag(settledTag)) end({ kind: 'settled', status: value as StepStatus, context: snapshot.context as StepMachineContext });
      };
      actor.subscribe({ next: observe, error: (error) => reject(error) });
      actor.start();
      observe(actor.getSnapshot());
      if (!done && mode === 'compensate' && ['succeeded', 'failed', 'skipped'].includes(stateName(actor.getSnapshot().value))) {
        actor.send({ type: 'COMPENSATE' });
      }
    });
  }

  const counters = (index: number) => {
    const c = services.counters.get(index) ?? { roundTrips: 0, polls: 0, retries: 0 };
    services.counters.delete(index);
    return { roundTrips: c.roundTrips, pollRoundTrips: c.polls, retries: c.retries };
  };

  const suspend = async (reason: string) => {
    await journal.append({ type: 'run.suspended', reason });
    const result = resultOf(replay(journal.records), options.stateDir);
    events.emit('run:end', result);
    return result;
  };

  // Forward.
  if (options.mode === 'rollback') {
    await journal.append({ type: 'saga.started', failedIndex: definition.steps.length - 1, reason: 'operator' });
  } else if (!state.saga) {
    for (let index = 0; index < definition.steps.length; index++) {
      const st = state.steps[index];
      if (['succeeded', 'skipped', 'planned'].includes(st.status)) continue;
      let failure: ErrorRecord | undefined;
      if (options.signal.aborted) {
        failure = { name: 'AbortError', code: 'CANCELLED', message: 'the run was cancelled' };
      } else {
        const outcome = await driveStep(index, 'forward');
        if (outcome.kind === 'suspended') return suspend(outcome.reason);
        const ctx = outcome.context;
        const status = outcome.status;
        const plan = ctx.plan;
        // A step that stopped at its plan publishes what the plan found.
        const output = status === 'planned' || status === 'skipped' ? ((plan?.data ?? null) as Json) : ctx.output;
        await journal.append({
          type: 'step.settled',
          index,
          stepId: definition.steps[index].id,
          status,
          summary: ctx.summary || plan?.summary || '',
          changes: plan?.changes ?? [],
          output,
          ...(ctx.error ? { error: ctx.error } : {}),
          ...counters(index),
        });
        Object.assign(st, { status, output });
        publish(index);
        events.emit('step:settled', {
          runId,
          stepId: definition.steps[index].id,
          index,
          status,
          summary: ctx.summary || plan?.summary || '',
          changes: plan?.changes ?? [],
          roundTrips: state.steps[index].roundTrips,
        });
        if (status !== 'failed') continue;
        failure = ctx.error ?? { name: 'StepError', code: 'FAILED', message: `step ${definition.steps[index].id} failed` };
        if (options.signal.aborted) failure = { name: 'AbortError', code: 'CANCELLED', message: 'the run was cancelled', };
      }
      if (started.checkMode) return finish('rolled-back', { error: failure, reason: 'the plan stopped at a failed step; nothing was changed' });
      const reason = failure.code === 'CANCELLED' ? 'cancel' : 'failure';
      await journal.append({ type: 'saga.started', failedIndex: index, reason, error: failure });
      break;
    }
  }

  state = replay(journal.records);
  if (!state.saga) return finish(started.checkMode ? 'planned' : 'succeeded');

  // Backward: compensate in reverse; steps that must come last (a restart) come last.
  // A compensation cannot be cancelled: from here on, calls get a signal that never aborts.
  services.signal = new AbortController().signal;
  const saga = state.saga;
  const ran = state.steps
    .map((st, index) => ({ st, index }))
    .filter(({ st, index }) => index <= saga.failedIndex && st.snapshot !== undefined)
    .reverse();
  const order = [...ran.filter(({ index }) => !kinds.get(definition.steps[index].uses).compensateLast), ...ran.filter(({ index }) => kinds.get(definition.steps[index].uses).compensateLast)];
  let allCompensated = true;
  for (const { st, index } of order) {
    if (st.compensation) {
      if (st.compensation.status !== 'compensated') allCompensated = false;
      continue;
    }
    const stepId = definition.steps[index].id;
    events.emit('step:compensation', { runId, stepId, index, status: 'compensating', detail: '' });
    let status: 'compensated' | 'compensation-failed';
    let detail: string;
    let changes: unknown[] = [];
    let error: ErrorRecord | undefined;
    try {
      const outcome = await driveStep(index, 'compensate');
      if (outcome.kind === 'suspended') return suspend(outcome.reason);
      status = outcome.status === 'compensated' ? 'compensated' : 'compensation-failed';
      detail = outcome.context.compensation?.detail ?? '';
      changes = outcome.context.compensation?.changes ?? [];
      if (status === 'compensation-failed') error = { name: 'StepError', code: 'COMPENSATION_FAILED', message: detail };
    } catch (caught) {
      status = 'compensation-failed';
      error = toErrorRecord(caught);
      detail = error.message;
    }
    if (status !== 'compensated') allCompensated = false;
    await journal.append({ type: 'step.compensated', index, stepId, status, detail, changes, ...(error ? { error } : {}), ...counters(index) });
    events.emit('step:compensation', { runId, stepId, index, status, detail });
  }
  const final: RunStatus = !allCompensated ? 'rollback-failed' : saga.reason === 'cancel' ? 'cancelled' : 'rolled-back';
  return finish(final, final === 'rollback-failed' ? { reason: 'one or more undos failed; an operator must restore the target from the backups' } : {});
}


function secretFree(value: Json, secrets: Record<string, Json>): Json {
  const secretValues = new Set(Object.values(secrets).map((v) => JSON.stringify(v)));
  if (secretValues.size === 0) return value;
  const walk = (v: Json): Json => {
    if (secretValues.has(JSON.stringify(v)) && typeof v === 'string') {
      const name = Object.entries(secrets).find(([, s]) => s === v)![0];
      return { $secret: name };
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value);
}

function restoreSecrets(value: Json, secrets: Record<string, Json>): Json {
  if (Array.isArray(value)) return value.map((v) => restoreSecrets(v, secrets));
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$secret') {
      const name = (value as { $secret: string }).$secret;
      if (!(name in secrets)) throw new StepError('SECRET_MISSING', `secret parameter ${name} is not set for this resume`);
      return secrets[name];
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, restoreSecrets(v, secrets)]));
  }
  return value;
}

