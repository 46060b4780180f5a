/**
 * The runtime a step's handlers see: batched reads and writes with retries, a journaled memory for
 * write-ahead data, published outputs of earlier steps, logging and suspension.
 */
import { StepError, isTransient, toErrorRecord } from '../errors.js';
import type { Executor, HostOp, HostOpResult, TlsEndpoint } from '../executors/types.js';
import { WRITE_OPS } from '../executors/types.js';
import type { RunEmitter } from './events.js';
import type { JournalWriter } from './run-store.js';
import type { Clock } from '../util/clock.js';
import { readKey, type ReadCache } from './read-cache.js';
import { carriesSecret, type ReadAhead } from './read-ahead.js';
import { withRetry, type RetryPolicy } from './retry.js';
import type { DeclaredWrite } from '../windows/registry.js';
import type { AwaitingReason, Change, Json } from './types.js';
import type { StepDefinition } from './runbook.js';
import { stepsDeclaringWrites } from './step-params.js';
import type { Schema } from '../util/zod.js';

/** Thrown by {@link StepRuntime.suspend}; ends this drive of the run without failing the step. */
export class SuspendSignal extends Error {
  override readonly name = 'SuspendSignal';
  constructor(
    readonly reason: string,
    readonly awaiting: AwaitingReason,
  ) {
    super(reason);
  }
}

/** Why the steps are being compensated, as a compensation handler sees it. */
export interface CompensationContext {
  reason: 'failure' | 'cancel' | 'operator';
  /** `rollback --force`: undo values even where they changed since the run. */
  force: boolean;
  /**
   * What the undos compensated before this one set out to restore: of each step they compensated that
   * captured its prior state (so may have acted), the registry values its kind says it wrote or may have
   * written (`registryWrites`, as `remaining` lists them; a kind that does not say: its changes), less
   * the values an undo left alone because they changed since the run (`keep`) and those a failed undo
   * could not put back (`left`). Taken from the journal's record of the run, not
   * from what each undo reports having changed: an undo run again after a drive lost its record finds
   * nothing left to change, yet what it restored still needs making effective. A `compensateLast`
   * step (the restart) reads it to know whether anything restored needs a restart.
   */
  readonly undone: readonly Change[];
  /**
   * Set for a `compensateLast` step (the restart) whose undo succeeded in an earlier attempt of the
   * saga and decides again in this one, a retry of the undos that failed (`runbook rollback` of a
   * run whose rollback failed): the journal position (`seq`) of this attempt's `saga.started`. Its
   * `undone` then lists what this attempt's undos set out to restore, not the earlier attempts' (the
   * earlier decision covered those), and what it remembers it keys by this attempt.
   */
  readonly again?: number;
}

/**
 * Options of {@link StepRuntime.exec}.
 *
 * @example
 * ```ts
 * declare const rt: StepRuntime;
 * const options: ExecOptions = { poll: true, timeoutMs: 5000 };
 * const [boot] = await rt.exec([{ op: 'boot.time' }], options);
 * ```
 */
export interface ExecOptions {
  /** A poll while waiting: counted apart from round trips and never retried. */
  poll?: boolean;
  /** Do not retry (e.g. a restart command, whose dropped connection means it worked). */
  retry?: boolean;
  timeoutMs?: number;
}

/**
 * What a handler can do. One runtime per step and drive.
 *
 * @example
 * ```ts
 * async function readFlag(rt: StepRuntime): Promise<number | null> {
 *   const [answer] = await rt.read([{ op: 'registry.get', view: '64', key: 'SOFTWARE\\Example', name: 'Flag' }]);
 *   if (answer.op !== 'registry.get' || answer.value?.type !== 'REG_DWORD') return null;
 *   return rt.checkMode ? answer.value.data : rt.remember('flag', () => (answer.value as { data: number }).data);
 * }
 * ```
 */
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
  /** The target's TLS endpoints the executor knows of (none when it knows none). */
  tlsEndpoints(): Promise<TlsEndpoint[]>;
  /**
   * Something observed from the controller rather than read through the executor (TLS handshakes):
   * what an earlier step of this drive observed under the same `key`, else `observe()`'s result. Any
   * write to the target or restart forgets every observation.
   */
  observe<T extends Json>(key: string, observe: () => Promise<T>): Promise<T>;
  /** Returns what was journaled under `name` for this step, or computes it and journals it durably first. */
  remember<T extends Json>(name: string, compute: () => Promise<T> | T): Promise<T>;
  /** True when something was journaled under `name` for this step. */
  remembers(name: string): boolean;
  /** Registry values later steps of the run may write. */
  plannedWrites(): Promise<DeclaredWrite[]>;
  /**
   * Keeps a file in the run's `backups` folder, durably and where the run lives (a shared store: in the
   * store, found by any worker that takes the run over), before the step's next change; returns its
   * name among the run's files (`backups/<name>`). Refused (`SECRET_IN_FILE`) when its name or its
   * content holds a secret's value: a file kept for people must be faithful, and kept in clear it would
   * put the secret in the store.
   */
  saveFile(name: string, content: string): Promise<string>;
  /**
   * True when `text` holds the value of a secret parameter in any form the run's mask replaces (whole,
   * inside a longer string, encoded): what a step can keep neither in clear nor masked.
   */
  holdsSecret(text: string): boolean;
  /**
   * `value` as the journal keeps it: each secret's value masked (`***`). What a step reads back from
   * its journal (what it wrote, as an undo compares it with the target) is masked so; a value read
   * from the target, masked alike, can be compared with it.
   */
  mask<T>(value: T): T;
  log(message: string, level?: 'info' | 'warn' | 'error'): void;
  /** How a wait on the target goes, after each poll (a `step:wait` event): polls so far, its deadline (ms since the epoch), what it waits for. */
  waiting(progress: { polls: number; deadline: number; waitingFor: string }): void;
  /** The run's clock: milliseconds since the epoch. */
  now(): number;
  /** Pauses on the run's clock; an interruption ends the pause early. */
  sleep(ms: number): Promise<void>;
  /** Ends this drive; the run awaits a resume. @default awaiting `target-restart` */
  suspend(reason: string, awaiting?: AwaitingReason): never;
  /** A safe point: ends this drive as interrupted when a signal asked for it. */
  checkpoint(): void;
  /** Set while the saga runs: why, and whether the operator forced it. */
  readonly compensation: CompensationContext | null;
  /** Milliseconds left of the compensation budget, or null when no budget applies. */
  budgetLeft(): number | null;
  /** True once an undo of this saga found the target unreachable through all its retries. */
  targetGone(): boolean;
}

/**
 * The run as a runtime's look-ahead of planned writes reads it: its steps and parameters, and what the
 * drive keeps current as steps start and publish (`outputs`, `states`).
 */
export interface RunView {
  steps: readonly StepDefinition[];
  /** The kinds by the name `uses:` gives (a `StepKindRegistry`; named by what is read of them, which keeps step-kind.ts → step-runtime.ts one-way). */
  kinds: { get(name: string): DeclaringKind };
  /** The run's parameters, secrets included. */
  params: Record<string, Json>;
  /** Outputs published so far, by step id. */
  outputs: Readonly<Record<string, Json>>;
  /** Each step's parameters once it started (as journaled). */
  states: readonly { params: Json | undefined }[];
}

/** What the look-ahead reads of a kind: its parameters' schema, and the writes and reads it declares. */
export interface DeclaringKind {
  readonly params: Schema;
  declares?(args: { params: unknown; rt: StepRuntime }): Promise<DeclaredWrite[]>;
  reads?(args: { params: unknown }): readonly HostOp[];
}

/** The saga's part of its copy of the services: why it runs, its budget, whether the target is gone. */
export interface SagaServices {
  context: CompensationContext;
  /** The compensation budget's end (epoch ms). */
  deadline: number;
  /** Set when an undo found the target unreachable after its retries: later calls are tried once. */
  targetGone: boolean;
}

/** A step's round trips, polls and retries during this drive. */
export type StepCounter = { roundTrips: number; polls: number; retries: number };

/**
 * The run-level services a runtime is made from, built once per drive. The saga runs with its own copy
 * (a signal that never aborts, its budget); nothing else changes them.
 */
export interface RuntimeServices {
  readonly runId: string;
  readonly executor: Executor;
  readonly journal: JournalWriter;
  readonly events: RunEmitter;
  readonly cache: ReadCache;
  /** The reads the steps still to run declare, sent with the drive's first read batch; null in the saga's copy. */
  readonly readAhead: ReadAhead | null;
  readonly checkMode: boolean;
  readonly run: RunView;
  readonly overrides: Record<string, Json>;
  readonly resumeCommand: string[];
  readonly signal: AbortSignal;
  readonly memos: Map<string, Json>;
  readonly saveFile: (name: string, content: string) => Promise<string>;
  readonly holdsSecret: (text: string) => boolean;
  /** The run's secret mask, as the journal applies it. */
  readonly mask?: <T>(value: T) => T;
  readonly counters: Map<number, StepCounter>;
  /** Throws when this process no longer holds the run's lease; checked before every write to the target. */
  readonly fence: () => Promise<void>;
  /** True once an interruption was asked for; steps stop at their next safe point. */
  readonly interrupted: () => boolean;
  /** Set while the saga runs (in the saga's copy only). */
  readonly saga: SagaServices | null;
  readonly clock: Clock;
  /** Aborts when an interruption is asked for (wakes sleepers). */
  readonly interruptSignal: AbortSignal;
}

/** Which step a runtime serves, under which retry policy, and the phase it is in. */
export interface RuntimeStep {
  stepId: string;
  index: number;
  policy: RetryPolicy;
  phase: () => string;
}

/** A step's counts for this drive, taken once (the journal record and the event carry the same figures). */
export function takeCounters(services: RuntimeServices, index: number): { roundTrips: number; pollRoundTrips: number; retries: number } {
  const c = services.counters.get(index) ?? { roundTrips: 0, polls: 0, retries: 0 };
  services.counters.delete(index);
  return { roundTrips: c.roundTrips, pollRoundTrips: c.polls, retries: c.retries };
}

/**
 * The registry values that steps after `index` may write: the look-ahead picks the steps (a pure
 * function), and each one's kind says what it writes, reading the target where it must.
 */
async function plannedWrites(services: RuntimeServices, index: number, policy: RetryPolicy): Promise<DeclaredWrite[]> {
  const { run } = services;
  const ahead = stepsDeclaringWrites(index, { ...run, started: run.states.map((s) => s.params) });
  const writes: DeclaredWrite[] = [];
  for (const step of ahead) {
    const rt = createStepRuntime(services, { stepId: step.stepId, index: step.index, policy, phase: () => 'declares' });
    writes.push(...(await step.kind.declares!({ params: step.params, rt })));
  }
  return writes;
}

/**
 * The reads the steps still to run declare, the first time a read of this drive goes to the target;
 * else none. A read that carries a secret's value is not sent ahead: its step reads it for itself, or
 * refuses before (a secret must not reach the target by a read another step sent).
 */
function readAhead(services: RuntimeServices): HostOp[] {
  const { readAhead: ahead, run } = services;
  if (ahead === null || ahead.sent) return [];
  return ahead.take({ ...run, started: run.states.map((s) => s.params) }).filter((op) => !carriesSecret(op, services.holdsSecret));
}

/** Milliseconds left of the saga's budget, or null outside a saga. */
function budgetLeft(services: RuntimeServices): number | null {
  return services.saga === null ? null : services.saga.deadline - services.clock.now();
}

/**
 * A step's `exec`: sends a batch in one round trip — never a write in check mode, never a call once
 * the saga's budget is spent, every write fenced by the lease — retrying transient errors under the
 * step's policy, each attempt journaled.
 */
function sender(services: RuntimeServices, step: RuntimeStep, counter: StepCounter): StepRuntime['exec'] {
  const { executor, journal, events, cache, runId, saga } = services;
  const { stepId, index, phase } = step;
  const left = () => budgetLeft(services);
  return async (ops, options = {}) => {
    const writes = ops.some((op) => WRITE_OPS.has(op.op));
    if (services.checkMode && writes) {
      throw new StepError('CHECK_MODE_WRITE', `step ${stepId} tried to change the target in check mode`);
    }
    const call = async () => {
      const remaining = left();
      if (remaining !== null && remaining <= 0) {
        throw new StepError('COMPENSATION_BUDGET', 'the compensation budget is spent: the target was not called', {
          where: stepId,
          hint: 'the report lists what is still changed; undo.reg and undo.ps1 in the run directory restore it on the console',
        });
      }
      if (writes) {
        // Write-ahead: every record so far is on disk before the target changes (one flush for all the
        // records since the last change). Fencing: a driver that lost the run's lease changes nothing more.
        await journal.durable?.();
        await services.fence();
      }
      if (options.poll) counter.polls += 1;
      else counter.roundTrips += 1;
      const timeoutMs = remaining === null ? options.timeoutMs : Math.min(options.timeoutMs ?? remaining, remaining);
      const results = await executor.run(ops, { signal: services.signal, timeoutMs });
      cache.invalidate(ops);
      ops.forEach((op, i) => cache.set(op, results[i]));
      return results;
    };
    if (options.poll || options.retry === false) return call();
    const remaining = left();
    const policy = saga?.targetGone ? { ...step.policy, retries: 0 } : step.policy;
    try {
      return await withRetry(
        call,
        remaining === null ? policy : { ...policy, maxRetryTime: Math.max(0, remaining) },
        async ({ attempt, error, willRetry }) => {
          if (willRetry) counter.retries += 1;
          const record = toErrorRecord(error);
          cache.invalidate(ops);
          await journal.append({ type: 'step.attempt', index, stepId, phase: phase(), attempt, willRetry, error: record });
          events.emit('step:retry', { runId, stepId, phase: phase(), attempt, willRetry, error: record });
        },
        services.signal,
      );
    } catch (error) {
      // An undo that found the target unreachable after its retries: the others are tried once each.
      if (saga && isTransient(error)) saga.targetGone = true;
      throw error;
    }
  };
}

export function createStepRuntime(services: RuntimeServices, step: RuntimeStep): StepRuntime {
  const { executor, journal, events, cache, runId, saga } = services;
  const { stepId, index } = step;
  const counter = services.counters.get(index) ?? { roundTrips: 0, polls: 0, retries: 0 };
  services.counters.set(index, counter);
  const left = () => budgetLeft(services);
  const exec = sender(services, step, counter);

  return {
    runId,
    stepId,
    index,
    checkMode: services.checkMode,
    onTarget: executor.onTarget,
    outputs: services.run.outputs,
    overrides: services.overrides,
    resumeCommand: services.resumeCommand,
    signal: services.signal,
    exec,
    transportTls: async () => (executor.transportTls ? executor.transportTls() : null),
    tlsEndpoints: async () => (executor.tlsEndpoints ? executor.tlsEndpoints() : []),
    observe: (key, observe) => cache.observed(key, observe),
    async read(ops) {
      const missing = ops.filter((op) => cache.get(op) === undefined);
      if (missing.length > 0) {
        // The drive's first read batch carries what the steps still to run declare they will read.
        const asked = new Set(missing.map(readKey));
        const along = readAhead(services).filter((op) => !asked.has(readKey(op)) && cache.get(op) === undefined);
        await exec([...missing, ...along]);
      }
      return ops.map((op) => cache.get(op)!);
    },
    async remember(name, compute) {
      const key = `${index}:${name}`;
      // A memo is journaled under its name by this very function, from `compute`'s value of type T.
      if (services.memos.has(key)) return services.memos.get(key) as never;
      const value = await compute();
      await journal.append({ type: 'memo', index, stepId, name, value });
      services.memos.set(key, value);
      return value;
    },
    remembers(name) {
      return services.memos.has(`${index}:${name}`);
    },
    plannedWrites: () => plannedWrites(services, index, step.policy),
    saveFile: services.saveFile,
    holdsSecret: services.holdsSecret,
    mask: (value) => (services.mask ? services.mask(value) : value),
    log(message, level = 'info') {
      events.emit('log', { runId, stepId, level, message });
    },
    waiting({ polls, deadline, waitingFor }) {
      events.emit('step:wait', { runId, stepId, index, polls, deadline: new Date(deadline).toISOString(), waitingFor });
    },
    now: () => services.clock.now(),
    sleep: (ms) => services.clock.sleep(ms, services.interruptSignal),
    suspend(reason, awaiting = 'target-restart'): never {
      throw new SuspendSignal(reason, awaiting);
    },
    checkpoint() {
      if (services.interrupted()) throw new SuspendSignal('interrupted: stopped at a safe point', 'interrupted');
    },
    compensation: saga?.context ?? null,
    budgetLeft: () => left(),
    targetGone: () => saga?.targetGone ?? false,
  };
}
