/**
 * Hosts one step's machine for one drive: binds its actors to the run's runtime (through the actor
 * system, so that a kind's machine is built once), creates (or restores) the actor, journals its
 * transitions, and settles when the step reaches its settled (forward) or done (compensation) tag.
 *
 * Write-ahead: a transition into a state from the first phase on (a phase, verify, compensate, a
 * settled state) is journaled as a `step.snapshot` record, in order; an actor that acts on the target
 * (a phase, a compensation) waits until every record before it is durable before it acts. The states
 * before the first phase (probing, planning, capturing) only read, so they are not journaled: a step
 * resumed there starts again from its probe, and its capture, journaled as a memo, is found again
 * (first capture wins).
 */
import { createActor, fromPromise, type InspectionEvent, type Observer } from 'xstate';
import { InternalError, StepError } from '../errors.js';
import type { RunEmitter } from './events.js';
import type { JournalWriter } from './run-store.js';
import type { StepState } from './replay.js';
import type { JournaledStep, StepSnapshot } from './records.js';
import { stepMachine, stepStateName, type StepActorName, type StepActors, type StepKind } from './step-kind.js';
import { SuspendSignal, type StepRuntime } from './step-runtime.js';
import { MASK } from './secrets.js';
import type { Json, StepMachineContext, StepPlan, StepStatus } from './types.js';
import * as z from '../util/zod.js';

export type StepOutcome = { kind: 'settled'; status: StepStatus; context: StepMachineContext } | { kind: 'suspended'; signal: SuspendSignal };

/** States in which a step has finished its forward part and can take COMPENSATE. */
const SETTLED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'skipped']);
/** States that only read the target: not journaled (see the file's comment). */
const READ_ONLY: ReadonlySet<string> = new Set(['probing', 'planning', 'capturing']);

export interface HostStepOptions {
  runId: string;
  stepId: string;
  index: number;
  kind: StepKind<unknown>;
  state: StepState;
  checkMode: boolean;
  mode: 'forward' | 'compensate';
  rt: StepRuntime;
  journal: JournalWriter;
  events: RunEmitter;
  setPhase: (name: string) => void;
  /** Puts secret values back into parameters that the snapshot holds only as `{ $secret: name }`. */
  reveal: (params: Json) => Json;
  /** The run's secret mask, to find again what a masked journaled plan held (see {@link unmaskedPlan}). */
  mask?: <T>(value: T) => T;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** A `step.snapshot` record: the state, the context's fields that changed since the last record, the actors under way. */
export function snapshotRecord(o: { index: number; stepId: string; state: string }, j: JournaledStep, before: Partial<StepMachineContext> | undefined): StepSnapshot {
  const context: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(j.context)) {
    // The priors are the capture's memo, journaled once before this record.
    if (key === 'priors') continue;
    if (before === undefined) {
      context[key] = value;
      continue;
    }
    // A field the machine did not assign is the very same object as before (XState copies the context
    // by reference); only the others are compared by content.
    const earlier = before[key as keyof StepMachineContext];
    if (earlier !== value && JSON.stringify(earlier) !== JSON.stringify(value)) context[key] = value;
  }
  return {
    type: 'step.snapshot',
    index: o.index,
    stepId: o.stepId,
    state: o.state,
    value: j.value,
    ...(j.status ? { status: j.status } : {}),
    context: context as Partial<StepMachineContext>,
    ...(j.children.length > 0 ? { children: j.children } : {}),
  };
}

function journaledState(snap: { value: unknown; status: string; context: StepMachineContext; children: Record<string, unknown> }): JournaledStep {
  return {
    value: String(snap.value),
    ...(snap.status === 'active' ? {} : { status: snap.status }),
    context: snap.context,
    children: Object.entries(snap.children).map(([id, ref]) => ({ id, src: String((ref as { src?: unknown }).src) })),
  };
}

/**
 * The persisted XState snapshot of a journaled state: every actor under way gets the context as its
 * input, as it had when it was invoked (nothing changes the context while an actor runs).
 */
export function persistedSnapshot(j: JournaledStep) {
  const children = Object.fromEntries(j.children.map((c) => [c.id, { snapshot: { status: 'active', input: j.context }, src: c.src, syncSnapshot: false }]));
  const status = j.status === 'done' ? ('done' as const) : ('active' as const);
  return { status, output: undefined, error: undefined, value: j.value, historyValue: {}, context: j.context, children };
}

/**
 * The plan a step restored part-way through its phases acts on. Its journaled plan is masked when it
 * held a secret's value (a registry value with a password in it): acting on it would write `***` where
 * the secret was. So the step probes and plans again, read-only, with its parameters (secrets read
 * from the environment again), and takes from that fresh plan each part whose mask is what the journal
 * holds; the rest — what the target's state since changed, such as the indices of the writes still
 * pending — stays as journaled. A masked part of the plan's data (what phases act on) that cannot be
 * found so fails the step (`SECRET_IN_PLAN`) before it acts: its undo restores the captured priors.
 * Its changes and summary, for people, stay masked where they cannot be found.
 */
async function unmaskedPlan(kind: StepKind<unknown>, rt: StepRuntime, params: unknown, journaled: StepPlan, mask: <T>(value: T) => T): Promise<StepPlan> {
  const observed = await kind.probe({ params, rt });
  const fresh = await kind.plan({ params, rt, observed });
  const data = recovered((journaled.data ?? null) as Json, (fresh.data ?? null) as Json, mask);
  if (data === undefined) throw secretInPlan(rt.stepId);
  const changes = (recovered(journaled.changes as unknown as Json, fresh.changes as unknown as Json, mask) ?? journaled.changes) as StepPlan['changes'];
  const summary = (recovered(journaled.summary, fresh.summary, mask) ?? journaled.summary) as string;
  return { ...journaled, changes, summary, ...(journaled.data === undefined ? {} : { data }) };
}

/** `journaled` with each masked part taken from `fresh` where `fresh` masks to it; undefined when a masked part cannot be. */
function recovered(journaled: Json, fresh: Json | undefined, mask: <T>(value: T) => T): Json | undefined {
  if (fresh !== undefined && JSON.stringify(mask(fresh)) === JSON.stringify(journaled)) return fresh;
  if (!JSON.stringify(journaled).includes(MASK)) return journaled;
  if (Array.isArray(journaled)) {
    if (!Array.isArray(fresh) || fresh.length !== journaled.length) return undefined;
    const items = journaled.map((j, i) => recovered(j, fresh[i], mask));
    return items.includes(undefined) ? undefined : (items as Json[]);
  }
  if (journaled && typeof journaled === 'object' && fresh && typeof fresh === 'object' && !Array.isArray(fresh)) {
    const out: Record<string, Json> = {};
    for (const [key, value] of Object.entries(journaled)) {
      const got = recovered(value, Object.hasOwn(fresh, key) ? fresh[key] : undefined, mask);
      if (got === undefined) return undefined;
      out[key] = got;
    }
    return out;
  }
  return undefined;
}

/** The failure of a step restored part-way whose journaled plan holds a masked secret that a fresh plan does not give back. */
function secretInPlan(stepId: string): StepError {
  return new StepError('SECRET_IN_PLAN', `step ${stepId} was stopped part-way through its changes, and what it planned holds the value of a secret parameter, which the journal keeps only masked; planned again, the step does not give the same value back, so it does not act on the mask and its changes are undone instead`, {
    hint: 'start the run again once it is rolled back: the step plans anew with the secret read from the environment',
  });
}

/** The handlers behind the machine's actors, for one step and one runtime. */
function handlersOf(kind: StepKind<unknown>, rt: StepRuntime, restored: { masked: boolean; mask?: <T>(value: T) => T; plan?: StepPlan }) {
  // A step restored in a phase with a masked plan acts on the plan found again (unmaskedPlan), and
  // verifies against it.
  const livePlan = async (ctx: StepMachineContext, params: unknown): Promise<StepPlan> => {
    const plan = planOf(ctx);
    if (!restored.masked || !restored.mask) return plan;
    return (restored.plan ??= await unmaskedPlan(kind, rt, params, plan, restored.mask));
  };
  return {
    probe: (_ctx: StepMachineContext, params: unknown) => kind.probe({ params, rt }),
    plan: async (ctx: StepMachineContext, params: unknown) => ({ ...(await kind.plan({ params, rt, observed: ctx.observed })), captured: rt.remembers('capture') }),
    capture: (ctx: StepMachineContext, params: unknown) =>
      rt.remember('capture', () => (kind.capture && ctx.plan ? kind.capture({ params, rt, observed: ctx.observed, plan: ctx.plan }) : ctx.observed)),
    phase: async (ctx: StepMachineContext, params: unknown) =>
      kind.phases[ctx.phase].run({ params, rt, plan: await livePlan(ctx, params), priors: ctx.priors, results: ctx.results }),
    verify: async (ctx: StepMachineContext, params: unknown) => kind.verify({ params, rt, plan: await livePlan(ctx, params), priors: ctx.priors, results: ctx.results }),
    compensate: async (ctx: StepMachineContext, params: unknown) => {
      if (!kind.compensate || (ctx.priors === null && !rt.remembers('capture'))) return { detail: 'nothing to undo', changes: [] };
      const priors = ctx.priors ?? (await rt.remember('capture', () => null));
      return kind.compensate({ params, rt, priors, plan: ctx.plan, results: ctx.results });
    },
  } satisfies { [N in StepActorName]: (ctx: StepMachineContext, params: unknown) => Promise<unknown> };
}

function planOf(ctx: StepMachineContext) {
  if (!ctx.plan) throw new InternalError(`step ${ctx.stepId} has no plan in this state`);
  return ctx.plan;
}

/** What the actors of one hosted step run with: its runtime and the driver's hooks. */
interface Binding {
  kind: StepKind<unknown>;
  rt: StepRuntime;
  handlers: ReturnType<typeof handlersOf>;
  /** Hears a suspension; the suspended actor never settles, and the driver stops it, leaving its last journaled state in flight for the resume. */
  onSuspend: (signal: SuspendSignal) => void;
  setPhase: (name: string) => void;
  reveal: (params: Json) => Json;
  /** Resolves once the record that invoked an actor is durable: no side effect starts before it is. */
  durable: () => Promise<void>;
  /** The step's parameters as its kind parsed them, once its first actor asked. */
  params?: unknown;
}

/**
 * Each hosted step's binding, by the actor system of its root actor (the actor `hostStep` creates):
 * the actors find theirs through the `system` XState gives them. So a kind's machine is provided with
 * its actors once per process instead of once per step and drive — `provide` builds a whole new
 * machine, which cost more than many steps' work.
 */
const bindings = new WeakMap<object, Binding>();

function bindingOf(system: object): Binding {
  const binding = bindings.get(system);
  if (!binding) throw new InternalError('step actor is not bound to a run; drive step machines through a Runner');
  return binding;
}

function boundActor<N extends StepActorName>(name: N): StepActors[N] {
  const logic = fromPromise(async ({ input, signal, system }: { input: StepMachineContext; signal: AbortSignal; system: object }) => {
    const b = bindingOf(system);
    try {
      // Write-ahead: an actor that may change the target starts once every record before it is durable.
      // One that only reads (probe, plan, capture, verify) need not wait: what it finds is read again
      // after a crash.
      if (name === 'phase' || name === 'compensate') await b.durable();
      if (signal.aborted) return new Promise<never>(() => undefined);
      // Starting an actor is a safe point: nothing of this one started (a suspension makes what came
      // before durable before the run says it stopped).
      b.rt.checkpoint();
      b.setPhase(name === 'phase' ? b.kind.phases[input.phase].name : name);
      // The step's parameters do not change while it is hosted: checked once, for its first actor.
      const params = (b.params ??= z.parse(b.kind.params, b.reveal(input.params)));
      return (await b.handlers[name](input, params)) as Awaited<ReturnType<Binding['handlers'][N]>>;
    } catch (error) {
      if (error instanceof SuspendSignal) {
        b.onSuspend(error);
        return new Promise<never>(() => undefined);
      }
      throw error;
    }
  });
  // The placeholder and this actor have the same input and output; only TypeScript's view of the
  // mapped type needs the narrowing.
  return logic as StepActors[N];
}

const boundActors: StepActors = { probe: boundActor('probe'), plan: boundActor('plan'), capture: boundActor('capture'), phase: boundActor('phase'), verify: boundActor('verify'), compensate: boundActor('compensate') };

const boundMachines = new WeakMap<StepKind<unknown>, StepKind<unknown>['machine']>();

/** A kind's machine with the actors that run each hosted step's handlers (made once per kind). */
function boundMachine(kind: StepKind<unknown>): StepKind<unknown>['machine'] {
  let machine = boundMachines.get(kind);
  if (!machine) {
    machine = stepMachine(kind, boundActors);
    boundMachines.set(kind, machine);
  }
  return machine;
}

/** Runs a step's machine until it settles or suspends. */
export function hostStep(o: HostStepOptions): Promise<StepOutcome> {
  const { state: st, journal, events } = o;
  let onSuspend: (signal: SuspendSignal) => void = () => undefined;
  let chain: Promise<unknown> = Promise.resolve();
  let journaled = st.snapshot;
  if (journaled && o.mode === 'compensate' && !SETTLED.has(journaled.value) && !journaled.value.startsWith('compensat')) {
    // The step was interrupted mid-way (an operator rolls back a run that waits): undo from where it
    // stood without running the rest of its forward part.
    journaled = { value: 'failed', context: journaled.context, children: [] };
  } else if (journaled && o.mode === 'compensate' && (journaled.value === 'compensation-failed' || journaled.value === 'compensated') && st.retryUndo && !st.compensation) {
    // A saga started again retries the undo that failed (it is safe to run twice), and the restart's
    // undo that succeeded decides again from what this attempt restores.
    journaled = { value: 'failed', context: { ...journaled.context, compensation: null }, children: [] };
  }
  const input = { stepId: o.stepId, index: o.index, params: st.params ?? null, checkMode: o.checkMode };
  // A restored state re-invokes the actor under way: that side effect runs again (each is safe to).
  // The step's parameters as the drive holds them: a secret inside a longer string, masked in the
  // snapshot's context, is found again by the drive (revealStartedParams in drive.ts).
  const restored = journaled && st.params !== undefined ? { ...journaled, context: { ...journaled.context, params: st.params } } : journaled;
  const actor = createActor(boundMachine(o.kind), { input, inspect: o.inspect, ...(restored ? { snapshot: persistedSnapshot(restored) } : {}) });
  bindings.set(actor.system, {
    kind: o.kind,
    rt: o.rt,
    handlers: handlersOf(o.kind, o.rt, { masked: o.mode === 'forward' && journaled?.masked === true && journaled.value === 'acting', mask: o.mask }),
    onSuspend: (signal) => onSuspend(signal),
    setPhase: o.setPhase,
    reveal: o.reveal,
    // Observers hear a transition synchronously after the actor is started; one microtask later the
    // record's append is on the chain.
    durable: () => Promise.resolve().then(() => chain).then(() => undefined),
  });
  return new Promise<StepOutcome>((resolve, reject) => {
    let last: string | null = st.stateValue;
    let done = false;
    const end = (outcome: StepOutcome) => {
      if (done) return;
      done = true;
      chain.then(() => {
        actor.stop();
        resolve(outcome);
      }, fail);
    };
    const fail = (error: unknown) => {
      done = true;
      actor.stop();
      reject(error);
    };
    onSuspend = (signal) => end({ kind: 'suspended', signal });
    let seenValue: unknown;
    let seenPhase = -1;
    const observe = (snap: ReturnType<typeof actor.getSnapshot>) => {
      // A re-entered phase is a new state even though the machine's value stays `acting`.
      if (snap.value !== seenValue || snap.context.phase !== seenPhase) {
        seenValue = snap.value;
        seenPhase = snap.context.phase;
        const value = stepStateName(o.kind, snap.value, snap.context);
        events.emit('step:transition', { runId: o.runId, stepId: o.stepId, index: o.index, from: last, to: value });
        last = value;
        if (!READ_ONLY.has(String(snap.value))) {
          // Appended now, in order, without waiting for the one before: records that come together are
          // flushed together. An actor that acts waits for all of them (`durable`).
          const persisted = journaledState(snap);
          const appended = journal.append(snapshotRecord({ index: o.index, stepId: o.stepId, state: value }, persisted, st.snapshot?.context));
          // Its failure reaches the step through the chain; until the chain gets there it is not unhandled.
          appended.catch(() => undefined);
          st.snapshot = persisted;
          st.stateValue = value;
          chain = chain.then(() => appended);
          chain.catch(fail);
        }
      }
      const settledTag = o.mode === 'forward' ? 'settled' : 'done';
      if (snap.hasTag(settledTag)) end({ kind: 'settled', status: snap.value as StepStatus, context: snap.context });
    };
    actor.subscribe({ next: observe, error: fail });
    actor.start();
    observe(actor.getSnapshot());
    if (!done && o.mode === 'compensate' && SETTLED.has(String(actor.getSnapshot().value))) actor.send({ type: 'COMPENSATE' });
  });
}
