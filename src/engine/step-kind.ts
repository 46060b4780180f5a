/**
 * The one helper every step kind is built with. It turns a step's handlers into an XState machine
 * with the common lifecycle:
 *
 *   probing → planning → (skipped | planned | capturing → <phases…> → verifying → succeeded | failed)
 *   succeeded | failed | skipped —COMPENSATE→ compensating → compensated | compensation-failed
 *
 * Every side effect is a named `fromPromise` actor referenced by its string `src`, so that snapshots
 * can be persisted and restored; the actors are bound to a run's runtime with `machine.provide`.
 */
import { assign, fromPromise, setup, type AnyStateMachine } from 'xstate';
import type { z } from 'zod';
import { toErrorRecord, type ErrorRecord } from '../errors.js';
import type { StepRuntime } from './step-runtime.js';
import type { Change, Json, StepPlan } from './types.js';
import type { RegistryLocation, RegistryValue } from '../executors/types.js';
import type { RegistryPrior } from '../windows/undo-files.js';

/** The context of a step machine; JSON only, so that it persists. */
export interface StepMachineContext {
  stepId: string;
  index: number;
  params: Json;
  checkMode: boolean;
  observed: Json;
  plan: StepPlan | null;
  priors: Json;
  results: Record<string, Json>;
  output: Json;
  summary: string;
  error: ErrorRecord | null;
  compensation: { detail: string; changes: Change[] } | null;
}

export interface StepMachineInput {
  stepId: string;
  index: number;
  params: Json;
  checkMode: boolean;
}

/** Arguments every handler receives. */
export interface HandlerArgs<P> {
  params: P;
  rt: StepRuntime;
}

/** A registry value a step may write, declared up front so that the backup can capture it. */
export interface DeclaredWrite extends RegistryLocation {
  /** The value it must have; null: it must be absent (Windows' own default applies). */
  desired: RegistryValue | null;
  /** `nonzero`: any non-zero DWORD already satisfies the desired value (how Windows reads `Enabled`). */
  satisfiedBy?: 'exact' | 'nonzero';
}

/** What verify reports. */
export interface Verification {
  ok: boolean;
  summary: string;
  output: Json;
  problems?: string[];
}

/** One side-effecting phase between capture and verify. */
export interface PhaseDefinition<P> {
  name: string;
  run(args: HandlerArgs<P> & { plan: StepPlan; priors: Json; results: Record<string, Json> }): Promise<Json>;
}

/**
 * What a step kind is made of.
 */
export interface StepKindDefinition<P> {
  /** The name documents use in `uses:`. */
  kind: string;
  description: string;
  /** Validates and types `with:`; errors name the field. */
  params: z.ZodType<P>;
  /**
   * The outputs the step publishes for later steps (`${{ steps.<id>.outputs.<name> }}`); lookups of
   * names it does not declare are refused when a runbook loads.
   */
  outputs?: z.ZodObject<z.ZodRawShape>;
  /**
   * The registry values its capture restores, for the `undo.reg` / `undo.ps1` an operator runs on the
   * console when the saga could not reach the target.
   */
  registryPriors?(priors: Json): RegistryPrior[];
  /** With nothing to change, still run verify (checks that must pass every time). */
  verifyWhenUnchanged?: boolean;
  /** Compensate after all other steps (a restart must follow the values it makes effective). */
  compensateLast?: boolean;
  /** Registry values this step may write, so that a backup step can capture them beforehand. */
  declares?(args: HandlerArgs<P>): Promise<DeclaredWrite[]>;
  /** Reads the current state. Read-only: runs again whenever a run is resumed. */
  probe(args: HandlerArgs<P>): Promise<Json>;
  /** Compares with the desired state. No changes → `skipped`; check mode stops here. */
  plan(args: HandlerArgs<P> & { observed: Json }): Promise<StepPlan> | StepPlan;
  /** What undo needs, written to the journal before any change. @default the observed state */
  capture?(args: HandlerArgs<P> & { observed: Json; plan: StepPlan }): Promise<Json>;
  /** The side effects, in order. Each must be safe to run twice. */
  phases: PhaseDefinition<P>[];
  /** Reads back and confirms. */
  verify(args: HandlerArgs<P> & { plan: StepPlan; priors: Json; results: Record<string, Json> }): Promise<Verification>;
  /** Undoes the step exactly from what capture recorded. Runs every undo even if one fails. */
  compensate?(args: HandlerArgs<P> & { priors: Json; plan: StepPlan | null; results: Record<string, Json> }): Promise<{ detail: string; changes: Change[] }>;
}

/** A step kind: its definition plus its machine. */
export interface StepKind<P = unknown> extends StepKindDefinition<P> {
  readonly machine: AnyStateMachine;
  /** Names of the machine's actors, in lifecycle order. */
  readonly actorNames: readonly string[];
}

const notBound = fromPromise<Json, StepMachineContext>(async () => {
  throw new Error('step actor is not bound to a run; drive step machines through a Runner');
});

/** Arguments of the machine's callbacks; the phase states are built dynamically, so they are typed here by hand. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type A = { context: StepMachineContext; event: any };

const failWith = assign({
  error: ({ event }: A) => toErrorRecord(event.error),
});

/**
 * Defines a step kind and builds its machine.
 *
 * @example
 * ```ts
 * export const echoStep = defineStepKind({
 *   kind: 'example/echo',
 *   description: 'logs a message',
 *   params: z.object({ message: z.string() }),
 *   probe: async () => null,
 *   plan: ({ params }) => ({ changes: [{ target: 'log', field: 'message', before: null, after: params.message, action: 'run' }], summary: 'log once' }),
 *   phases: [{ name: 'apply', run: async ({ params, rt }) => { rt.log(params.message); return null; } }],
 *   verify: async () => ({ ok: true, summary: 'logged', output: null }),
 * });
 * ```
 */
export function defineStepKind<P>(definition: StepKindDefinition<P>): StepKind<P> {
  const phaseNames = definition.phases.map((p) => p.name);
  const actorNames = ['probe', 'plan', 'capture', ...phaseNames, 'verify', 'compensate'];
  const actors = Object.fromEntries(actorNames.map((n) => [n, notBound]));

  // The states between capture and verify are built from the phase list, so they are typed loosely.
  const phaseStates: Record<string, object> = {};
  phaseNames.forEach((name, i) => {
    phaseStates[name] = {
      invoke: {
        src: name,
        input: ({ context }: A) => context,
        onDone: {
          target: phaseNames[i + 1] ?? 'verifying',
          actions: assign({
            results: ({ context, event }: A) => ({
              ...context.results,
              [name]: event.output,
            }),
          }),
        },
        onError: { target: 'failed', actions: failWith },
      },
    };
  });

  const machine = setup({
    types: {} as { context: StepMachineContext; input: StepMachineInput; events: { type: 'COMPENSATE' } },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    actors: actors as Record<string, typeof notBound>,
  }).createMachine({
    id: definition.kind,
    initial: 'probing',
    context: ({ input }: { input: StepMachineInput }) => ({
      ...input,
      observed: null,
      plan: null,
      priors: null,
      results: {},
      output: null,
      summary: '',
      error: null,
      compensation: null,
    }),
    states: {
      probing: {
        invoke: {
          src: 'probe',
          input: ({ context }: A) => context,
          onDone: { target: 'planning', actions: assign({ observed: ({ event }: A) => event.output }) },
          onError: { target: 'failed', actions: failWith },
        },
      },
      planning: {
        invoke: {
          src: 'plan',
          input: ({ context }: A) => context,
          onDone: [
            {
              guard: ({ context, event }: A) =>
                Boolean(definition.verifyWhenUnchanged) &&
                !context.checkMode &&
                (event.output as unknown as StepPlan).changes.length === 0 &&
                !(event.output as unknown as StepPlan).captured,
              target: 'verifying',
              actions: assign({ plan: ({ event }: A) => event.output as unknown as StepPlan }),
            },
            {
              guard: ({ event }: A) => (event.output as unknown as StepPlan).changes.length === 0 && !(event.output as unknown as StepPlan).captured,
              target: 'skipped',
              actions: assign({
                plan: ({ event }: A) => event.output as unknown as StepPlan,
                summary: ({ event }: A) => (event.output as unknown as StepPlan).summary,
              }),
            },
            {
              guard: ({ context }: A) => context.checkMode,
              target: 'planned',
              actions: assign({
                plan: ({ event }: A) => event.output as unknown as StepPlan,
                summary: ({ event }: A) => (event.output as unknown as StepPlan).summary,
              }),
            },
            { target: 'capturing', actions: assign({ plan: ({ event }: A) => event.output as unknown as StepPlan }) },
          ],
          onError: { target: 'failed', actions: failWith },
        },
      },
      capturing: {
        invoke: {
          src: 'capture',
          input: ({ context }: A) => context,
          onDone: { target: phaseNames[0] ?? 'verifying', actions: assign({ priors: ({ event }: A) => event.output }) },
          onError: { target: 'failed', actions: failWith },
        },
      },
      ...(phaseStates as object),
      verifying: {
        invoke: {
          src: 'verify',
          input: ({ context }: A) => context,
          onDone: [
            {
              guard: ({ event }: A) => (event.output as unknown as Verification).ok,
              target: 'succeeded',
              actions: assign({
                output: ({ event }: A) => (event.output as unknown as Verification).output,
                summary: ({ event }: A) => (event.output as unknown as Verification).summary,
              }),
            },
            {
              target: 'failed',
              actions: assign({
                output: ({ event }: A) => (event.output as unknown as Verification).output,
                summary: ({ event }: A) => (event.output as unknown as Verification).summary,
                error: ({ event }: A) => ({
                  name: 'StepError',
                  code: 'VERIFY_FAILED',
                  message: `verification failed: ${((event.output as unknown as Verification).problems ?? [(event.output as unknown as Verification).summary]).join('; ')}`,
                }),
              }),
            },
          ],
          onError: { target: 'failed', actions: failWith },
        },
      },
      succeeded: { tags: ['settled'], on: { COMPENSATE: 'compensating' } },
      failed: { tags: ['settled'], on: { COMPENSATE: 'compensating' } },
      skipped: {
        tags: ['settled'],
        on: { COMPENSATE: { target: 'compensated', actions: assign({ compensation: { detail: 'nothing to undo: the step changed nothing', changes: [] } }) } },
      },
      planned: { type: 'final', tags: ['settled'] },
      compensating: {
        invoke: {
          src: 'compensate',
          input: ({ context }: A) => context,
          onDone: { target: 'compensated', actions: assign({ compensation: ({ event }: A) => event.output as unknown as { detail: string; changes: Change[] } }) },
          onError: {
            target: 'compensation-failed',
            actions: assign({
              compensation: ({ event }: A) => ({ detail: toErrorRecord(event.error).message, changes: [] }),
              error: ({ context, event }: A) => context.error ?? toErrorRecord(event.error),
            }),
          },
        },
      },
      compensated: { type: 'final', tags: ['done'] },
      'compensation-failed': { type: 'final', tags: ['done'] },
    },
  } as never);

  return Object.assign({}, definition, { machine: machine as unknown as AnyStateMachine, actorNames });
}
