/**
 * Hosts one step's machine for one drive: creates (or restores) its actor, journals each transition's
 * snapshot, and settles when the step reaches its settled (forward) or done (compensation) tag.
 *
 * Write-ahead: every snapshot is appended to the journal in order, and an invoked actor waits until the
 * snapshot that invoked it is durable before it acts (the `durable` barrier given to `bindStepKind`).
 */
import { createActor, type AnyMachineSnapshot, type InspectionEvent, type Observer } from 'xstate';
import type { RunEmitter } from './events.js';
import type { JournalWriter } from './journal.js';
import type { StepKind, StepMachineContext } from './step-kind.js';
import { bindStepKind, type StepRuntime, type SuspendSignal } from './step-runtime.js';
import type { StepState } from './replay.js';
import type { Json, StepStatus } from './types.js';

export type StepOutcome = { kind: 'settled'; status: StepStatus; context: StepMachineContext } | { kind: 'suspended'; signal: SuspendSignal };

/** States in which a step has finished its forward part and can take COMPENSATE. */
const SETTLED = new Set(['succeeded', 'failed', 'skipped']);

function stateName(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

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
  reveal: (params: Json) => Json;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** Runs a step's machine until it settles or suspends. */
export function hostStep(o: HostStepOptions): Promise<StepOutcome> {
  const { state: st, journal, events } = o;
  let onSuspend: (signal: SuspendSignal) => void = () => undefined;
  let chain: Promise<unknown> = Promise.resolve();
  const machine = bindStepKind(
    o.kind,
    o.rt,
    (signal) => onSuspend(signal),
    o.setPhase,
    o.reveal,
    // Observers hear a transition synchronously after the actor is started; one microtask later the
    // snapshot's append is on the chain.
    () => Promise.resolve().then(() => chain).then(() => undefined),
  );
  let snapshot = st.snapshot as AnyMachineSnapshot | undefined;
  if (o.mode === 'compensate' && snapshot && !SETTLED.has(st.stateValue ?? '') && !String(st.stateValue).startsWith('compensat')) {
    // The step was interrupted mid-way (an operator rolls back a run that waits): undo from where it
    // stood without running the rest of its forward part.
    snapshot = machine.resolveState({ value: 'failed', context: (snapshot as { context: StepMachineContext }).context }) as AnyMachineSnapshot;
  }
  const actor = createActor(
    machine,
    snapshot
      ? { snapshot: snapshot as never, inspect: o.inspect }
      : { input: { stepId: o.stepId, index: o.index, params: st.params as Json, checkMode: o.checkMode }, inspect: o.inspect },
  );
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
    const observe = (snap: ReturnType<typeof actor.getSnapshot>) => {
      const value = stateName(snap.value);
      if (value !== last) {
        events.emit('step:transition', { runId: o.runId, stepId: o.stepId, index: o.index, from: last, to: value });
        last = value;
        const persisted = actor.getPersistedSnapshot();
        chain = chain.then(async () => {
          await journal.append({ type: 'step.snapshot', index: o.index, stepId: o.stepId, state: value, snapshot: persisted });
          st.snapshot = persisted;
          st.stateValue = value;
        });
        chain.catch(fail);
      }
      const settledTag = o.mode === 'forward' ? 'settled' : 'done';
      if (snap.hasTag(settledTag)) end({ kind: 'settled', status: value as StepStatus, context: snap.context as StepMachineContext });
    };
    actor.subscribe({ next: observe, error: fail });
    actor.start();
    observe(actor.getSnapshot());
    if (!done && o.mode === 'compensate' && SETTLED.has(stateName(actor.getSnapshot().value))) actor.send({ type: 'COMPENSATE' });
  });
}
