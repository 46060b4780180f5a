/**
 * The runtime a step's handlers see: batched reads and writes with retries, a journaled memory for
 * write-ahead data, published outputs of earlier steps, logging and suspension.
 */
import { fromPromise, type AnyStateMachine } from 'xstate';
import { StepError, toErrorRecord } from '../errors.js';
import type { Executor, HostOp, HostOpResult } from '../executors/types.js';
import { WRITE_OPS } from '../executors/types.js';
import type { RunEmitter } from './events.js';
import type { Journal } from './journal.js';
import type { ReadCache } from './read-cache.js';
import { withRetry, type RetryPolicy } from './retry.js';
import type { DeclaredWrite, StepKind, StepMachineContext } from './step-kind.js';
import type { Json } from './types.js';

/** Thrown by {@link StepRuntime.suspend}; ends this drive of the run without failing the step. */
export class SuspendSignal extends Error {
  override readonly name = 'SuspendSignal';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Options of {@link StepRuntime.exec}. */
export interface ExecOptions {
  /** A poll while waiting: counted apart from round trips and never retried. */
  poll?: boolean;
  /** Do not retry (e.g. a restart command, whose dropped connection means it worked). */
  retry?: boolean;
  timeoutMs?: number;
}

/** What a handler can do. One runtime per step and drive. */
export interface StepRuntime {
  readonly runId: string;
  readonly stepId: string;
  readonly index: number;
  readonly checkMode: boolean;
  /** The engine runs on the target: a restart ends this process. */
  readonly onTarget: boolean;
  /** Outputs ("published data") of earlier steps, by step id. */
  readonly outputs: Readonly<Record<string, Json>>;
  /** Run-wide settings that a resume may override (e.g. `allowRestart`). */
  readonly overrides: Readonly<Record<string, Json>>;
  /** The command that resumes this run, for a start-up task on the target. */
  readonly resumeCommand: string[];
  readonly signal: AbortSignal;
  /** Reads in one round trip; facts already read during this drive come from memory. */
  read(ops: readonly HostOp[]): Promise<HostOpResult[]>;
  /** Sends a batch in one round trip, retrying transient errors. `poll` calls are counted apart and not retried. */
  exec(ops: readonly HostOp[], options?: ExecOptions): Promise<HostOpResult[]>;
  /** The TLS protocol the executor itself uses to reach the target, or null when it does not use TLS. */
  transportTls(): Promise<string | null>;
  /** Returns what was journaled under `name` for this step, or computes it and journals it durably first. */
  remember<T extends Json>(name: string, compute: () => Promise<T> | T): Promise<T>;
  /** True when something was journaled under `name` for this step. */
  remembers(name: string): boolean;
  /** Registry values later steps of the run may write. */
  plannedWrites(): Promise<DeclaredWrite[]>;
  /** Keeps a file in the run's state directory; returns its path. */
  saveFile(name: string, content: string): Promise<string>;
  log(message: string, level?: 'info' | 'warn' | 'error'): void;
  sleep(ms: number): Promise<void>;
  /** Ends this drive; the run awaits a resume. */
  suspend(reason: string): never;
}

/** The run-level services a runtime is made from. */
export interface RuntimeServices {
  runId: string;
  executor: Executor;
  journal: Journal;
  events: RunEmitter;
  cache: ReadCache;
  policy: RetryPolicy;
  checkMode: boolean;
  outputs: Record<string, Json>;
  overrides: Record<string, Json>;
  resumeCommand: string[];
  signal: AbortSignal;
  memos: Map<string, Json>;
  plannedWrites: (index: number) => Promise<DeclaredWrite[]>;
  saveFile: (name: string, content: string) => Promise<string>;
  counters: Map<number, { roundTrips: number; polls: number; retries: number }>;
}

export function createStepRuntime(services: RuntimeServices, stepId: string, index: number, phase: () => string): StepRuntime {
  const { executor, journal, events, cache, runId } = services;
  const counter = services.counters.get(index) ?? { roundTrips: 0, polls: 0, retries: 0 };
  services.counters.set(index, counter);

  const exec = async (ops: readonly HostOp[], options: ExecOptions = {}) => {
    if (services.checkMode && ops.some((op) => WRITE_OPS.has(op.op))) {
      throw new StepError('CHECK_MODE_WRITE', `step ${stepId} tried to change the target in check mode`);
    }
    const call = async () => {
      if (options.poll) counter.polls += 1;
      else counter.roundTrips += 1;
      const results = await executor.run(ops, { signal: services.signal, timeoutMs: options.timeoutMs });
      cache.invalidate(ops);
      ops.forEach((op, i) => cache.set(op, results[i]));
      return results;
    };
    if (options.poll || options.retry === false) return call();
    return withRetry(
      call,
      services.policy,
      async ({ attempt, error, willRetry }) => {
        counter.retries += 1;
        const record = toErrorRecord(error);
        cache.invalidate(ops);
        await journal.append({ type: 'step.attempt', index, stepId, phase: phase(), attempt, willRetry, error: record });
        events.emit('step:retry', { runId, stepId, phase: phase(), attempt, willRetry, error: record });
      },
      services.signal,
    );
  };

  return {
    runId,
    stepId,
    index,
    checkMode: services.checkMode,
    onTarget: executor.onTarget,
    outputs: services.outputs,
    overrides: services.overrides,
    resumeCommand: services.resumeCommand,
    signal: services.signal,
    exec,
    transportTls: async () => (executor.transportTls ? executor.transportTls() : null),
    async read(ops) {
      const missing = ops.filter((op) => cache.get(op) === undefined);
      if (missing.length > 0) await exec(missing);
      return ops.map((op) => cache.get(op)!);
    },
    async remember(name, compute) {
      const key = `${index}:${name}`;
      if (services.memos.has(key)) return services.memos.get(key) as never;
      const value = await compute();
      await journal.append({ type: 'memo', index, stepId, name, value });
      services.memos.set(key, value);
      return value;
    },
    remembers(name) {
      return services.memos.has(`${index}:${name}`);
    },
    plannedWrites: () => services.plannedWrites(index),
    saveFile: services.saveFile,
    log(message, level = 'info') {
      events.emit('log', { runId, stepId, level, message });
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    suspend(reason): never {
      throw new SuspendSignal(reason);
    },
  };
}

/**
 * Binds a step kind's actors to a runtime. `onSuspend` hears a suspension; the suspended actor never
 * settles, and the driver stops it, leaving its last persisted snapshot in flight for the resume.
 */
export function bindStepKind(
  kind: StepKind<unknown>,
  rt: StepRuntime,
  onSuspend: (reason: string) => void,
  setPhase: (name: string) => void,
  /** Puts secret values back into parameters that the snapshot holds only as `{ $secret: name }`. */
  reveal: (params: Json) => Json = (p) => p,
): AnyStateMachine {
  const handlers: Record<string, (ctx: StepMachineContext, params: unknown) => Promise<Json>> = {
    probe: (_ctx, params) => kind.probe({ params, rt }),
    plan: async (ctx, params) => {
      const plan = await kind.plan({ params, rt, observed: ctx.observed });
      return { ...plan, captured: rt.remembers('capture') } as unknown as Json;
    },
    capture: (ctx, params) =>
      rt.remember('capture', () => (kind.capture ? kind.capture({ params, rt, observed: ctx.observed, plan: ctx.plan! }) : ctx.observed)),
    verify: async (ctx, params) =>
      (await kind.verify({ params, rt, plan: ctx.plan!, priors: ctx.priors, results: ctx.results })) as unknown as Json,
    compensate: async (ctx, params) => {
      if (!kind.compensate || (ctx.priors === null && !rt.remembers('capture'))) {
        return { detail: 'nothing to undo', changes: [] } as unknown as Json;
      }
      const priors = ctx.priors ?? (await rt.remember('capture', () => null));
      return (await kind.compensate({ params, rt, priors, plan: ctx.plan, results: ctx.results })) as unknown as Json;
    },
  };
  for (const phase of kind.phases) {
    handlers[phase.name] = (ctx, params) => phase.run({ params, rt, plan: ctx.plan!, priors: ctx.priors, results: ctx.results });
  }
  const actors = Object.fromEntries(
    kind.actorNames.map((name) => [
      name,
      fromPromise<Json, StepMachineContext>(async ({ input }) => {
        setPhase(name);
        const params = kind.params.parse(reveal(input.params));
        try {
          return await handlers[name](input, params);
        } catch (error) {
          if (error instanceof SuspendSignal) {
            onSuspend(error.reason);
            return new Promise<Json>(() => undefined);
          }
          throw error;
        }
      }),
    ]),
  );
  return kind.machine.provide({ actors } as never);
}
