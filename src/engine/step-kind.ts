/**
 * The one helper every step kind is built with. It turns a step's handlers into an XState machine
 * with the common lifecycle:
 *
 *   probing → planning → (skipped | planned | capturing → acting (each phase in turn) → verifying → succeeded | failed)
 *   succeeded | failed | skipped —COMPENSATE→ compensating → compensated | compensation-failed
 *
 * Every side effect is a named `fromPromise` actor referenced by its string `src`, typed by its output
 * in `setup()`: `probe`, `plan`, `capture`, `phase` (one actor for every phase: the context says which),
 * `verify` and `compensate`. The placeholders throw; a run builds each kind's machine once with real
 * actors of the same types (`stepMachine`, used by `step-host.ts`), so that snapshots can be persisted
 * and restored.
 */
import { assign, fromPromise, setup } from 'xstate';
import type { ObjectSchema, Schema } from '../util/zod.js';
import { InternalError, ValidationError, toErrorRecord } from '../errors.js';
import type { StepRuntime } from './step-runtime.js';
import type { HostOp } from '../executors/types.js';
import type { Compensation, Json, StepMachineContext, StepMachineInput, StepPlan, Verification } from './types.js';
import type { DeclaredWrite } from '../windows/registry.js';
import type { RegistryPrior, UndoValue } from '../windows/undo-files.js';

export type { DeclaredWrite } from '../windows/registry.js';
export type { Compensation, StepMachineContext, StepMachineInput, Verification } from './types.js';

/**
 * Arguments every handler receives.
 *
 * @example
 * ```ts
 * const probe = async ({ params, rt }: HandlerArgs<{ key: string }>) => {
 *   const [answer] = await rt.read([{ op: 'registry.keyInfo', view: '64', key: params.key }]);
 *   return answer.op === 'registry.keyInfo' && answer.exists;
 * };
 * ```
 */
export interface HandlerArgs<P> {
  params: P;
  rt: StepRuntime;
}

/**
 * A plan as a kind's `plan` returns it and its later handlers get it back: `data` is required unless
 * the kind's plan data may be `undefined` (a kind whose plan carries none).
 *
 * @example
 * ```ts
 * const plan: PlanOf<{ target: number }> = { changes: [], summary: 'Flag already 1', data: { target: 1 } };
 * ```
 */
export type PlanOf<D extends Json | undefined> = Omit<StepPlan, 'data'> & (undefined extends D ? { data?: D } : { data: D });

/**
 * One side-effecting phase between capture and verify.
 *
 * @example
 * ```ts
 * const restartService: PhaseDefinition<{ service: string }> = {
 *   name: 'restart-service',
 *   run: async ({ params, rt }) => {
 *     await rt.exec([{ op: 'service.status', name: params.service }]);
 *     return { restarted: params.service };
 *   },
 * };
 * ```
 */
export interface PhaseDefinition<P, D extends Json | undefined = Json | undefined, C extends Json = Json> {
  name: string;
  run(args: HandlerArgs<P> & { plan: PlanOf<D>; priors: C; results: Record<string, Json> }): Promise<Json>;
}

/**
 * What a step kind is made of. Besides its parameters `P`, a kind declares the data that flows
 * between its handlers, and the compiler carries it from one handler to the next:
 *
 * - `O`, what `probe` reads (`observed` in `plan` and `capture`);
 * - `D`, the plan's `data` (in the phases, `verify`, `compensate`);
 * - `C`, what `capture` saves before any change, journaled (`priors` in the phases, `verify`,
 *   `compensate`, `registryPriors`); without a `capture`, the observed state.
 *
 * Each is inferred from the handler that makes it, and each is JSON (`extends Json`: a `type` alias,
 * not an `interface`), since the machine's context and the journal hold them. {@link defineStepKind}
 * erases them for the engine, which sees `Json` only.
 *
 * @example
 * ```ts
 * const check: StepKindDefinition<{ kb: string }, { installed: boolean }> = {
 *   kind: 'example/hotfix-check',
 *   description: 'fails unless a hotfix is installed',
 *   params: z.object({ kb: z.string() }),
 *   probe: async ({ params, rt }) => {
 *     const [answer] = await rt.read([{ op: 'hotfix.list' }]);
 *     return { installed: answer.op === 'hotfix.list' && answer.hotfixes.includes(params.kb) };
 *   },
 *   plan: ({ observed, params }) => ({ changes: [], summary: observed.installed ? `${params.kb} installed` : `${params.kb} missing` }),
 *   phases: [],
 *   verify: async ({ params }) => ({ ok: true, summary: `${params.kb} checked`, output: null }),
 *   verifyWhenUnchanged: true,
 * };
 * const hotfixCheck = defineStepKind(check);
 * ```
 */
export interface StepKindDefinition<P, O extends Json = Json, D extends Json | undefined = Json | undefined, C extends Json = O> {
  /** The name documents use in `uses:`. */
  kind: string;
  description: string;
  /** Validates and types `with:`; errors name the field. */
  params: Schema<P>;
  /**
   * The outputs the step publishes for later steps (`${{ steps.<id>.outputs.<name> }}`); lookups of
   * names it does not declare are refused when a runbook loads.
   */
  outputs?: ObjectSchema;
  /**
   * The registry values its capture restores, for the `undo.reg` / `undo.ps1` an operator runs on the
   * console when the saga could not reach the target.
   */
  registryPriors?(priors: C): RegistryPrior[];
  /**
   * The registry values the step wrote — its results hold their answers — or may have written (a write
   * sent whose answer is not in the journal: `maybe`), each with its prior: what is still changed while
   * the step is not compensated, and what `remaining`, `undo.reg` and `undo.ps1` list. A kind that
   * writes registry values declares it; the run's report then lists exactly these for the step, not its
   * planned changes. `plan` and `results` are the step's as journaled (null and empty before its first
   * phase); `status` is where the step stood. A write whose undo a later phase made wrong is left out
   * (an earlier run's restart marker, once the restart it owed was made: put back, it would owe a
   * restart already made).
   */
  registryWrites?(args: { priors: C; plan: PlanOf<D> | null; results: Record<string, Json>; status: string; runId: string }): UndoValue[];
  /** With nothing to change, still run verify (checks that must pass every time). */
  verifyWhenUnchanged?: boolean;
  /** Compensate after all other steps (a restart must follow the values it makes effective). */
  compensateLast?: boolean;
  /** Registry values this step may write, so that a backup step can capture them beforehand. */
  declares?(args: HandlerArgs<P>): Promise<DeclaredWrite[]>;
  /**
   * The reads its handlers will make that its parameters alone decide (no answer from the target
   * needed to name them). The engine sends the declared reads of the steps still to run along with the
   * first read batch of a drive, and the read cache serves them: a kind declares its own reads instead
   * of an earlier kind reading them on its behalf. Pure: the target is not read to name them. Reads a
   * write or a restart before the step would drop from the cache gain nothing by being declared.
   */
  reads?(args: { params: P }): readonly HostOp[];
  /** Reads the current state. Read-only: runs again whenever a run is resumed. */
  probe(args: HandlerArgs<P>): Promise<O>;
  /** Compares with the desired state. No changes → `skipped`; check mode stops here. */
  plan(args: HandlerArgs<P> & { observed: O }): Promise<PlanOf<D>> | PlanOf<D>;
  /** What undo needs, written to the journal before any change. @default the observed state */
  capture?(args: HandlerArgs<P> & { observed: O; plan: PlanOf<D> }): Promise<C>;
  /** The side effects, in order. Each must be safe to run twice. */
  phases: PhaseDefinition<P, D, C>[];
  /**
   * Reads back and confirms. `priors` is null when nothing was captured: with `verifyWhenUnchanged`
   * and nothing to change, verify follows the plan directly.
   */
  verify(args: HandlerArgs<P> & { plan: PlanOf<D>; priors: C | null; results: Record<string, Json> }): Promise<Verification>;
  /** Undoes the step exactly from what capture recorded. Runs every undo even if one fails. */
  compensate?(args: HandlerArgs<P> & { priors: C; plan: PlanOf<D> | null; results: Record<string, Json> }): Promise<Compensation>;
}

/** The names of a step machine's actors, each typed by its output. */
export const STEP_ACTORS = ['probe', 'plan', 'capture', 'phase', 'verify', 'compensate'] as const;
export type StepActorName = (typeof STEP_ACTORS)[number];

function placeholder<T>() {
  return fromPromise<T, StepMachineContext>(async () => {
    throw new InternalError('step actor is not bound to a run', { hint: 'drive step machines through a Runner, which binds each kind\'s actors' });
  });
}

/** The typed placeholders; `step-host.ts` provides real actors of the same types for a run. */
export const stepActors = {
  probe: placeholder<Json>(),
  plan: placeholder<StepPlan>(),
  capture: placeholder<Json>(),
  phase: placeholder<Json>(),
  verify: placeholder<Verification>(),
  compensate: placeholder<Compensation>(),
};
export type StepActors = typeof stepActors;

/** Nothing to change, and no capture from an earlier process that would still need verifying. */
const unchanged = (plan: StepPlan) => plan.changes.length === 0 && !plan.captured;

/** Where every forward actor's error leads: `failed`, with the error recorded. */
const toFailed = { target: 'failed', actions: { type: 'recordError', params: ({ event }: { event: { error: unknown } }) => ({ error: event.error }) } } as const;

/** Builds the machine of a step kind with these options and these actors. */
function buildMachine(kind: string, phaseNames: readonly string[], verifyWhenUnchanged: boolean, actors: StepActors) {
  const last = phaseNames.length - 1;
  return setup({
    types: {} as { context: StepMachineContext; input: StepMachineInput; events: { type: 'COMPENSATE' } },
    actors,
    actions: {
      recordError: assign((_, params: { error: unknown }) => ({ error: toErrorRecord(params.error) })),
    },
  }).createMachine({
    id: kind,
    initial: 'probing',
    context: ({ input }) => ({
      ...input,
      observed: null,
      plan: null,
      priors: null,
      phase: 0,
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
          input: ({ context }) => context,
          onDone: { target: 'planning', actions: assign({ observed: ({ event }) => event.output }) },
          onError: toFailed,
        },
      },
      planning: {
        invoke: {
          src: 'plan',
          input: ({ context }) => context,
          onDone: [
            {
              guard: ({ context, event }) => verifyWhenUnchanged && !context.checkMode && unchanged(event.output),
              target: 'verifying',
              actions: assign({ plan: ({ event }) => event.output, observed: null }),
            },
            {
              guard: ({ event }) => unchanged(event.output),
              target: 'skipped',
              actions: assign({ plan: ({ event }) => event.output, summary: ({ event }) => event.output.summary, observed: null }),
            },
            {
              guard: ({ context }) => context.checkMode,
              target: 'planned',
              actions: assign({ plan: ({ event }) => event.output, summary: ({ event }) => event.output.summary, observed: null }),
            },
            { target: 'capturing', actions: assign({ plan: ({ event }) => event.output }) },
          ],
          onError: toFailed,
        },
      },
      capturing: {
        invoke: {
          src: 'capture',
          input: ({ context }) => context,
          onDone: [
            { guard: () => last < 0, target: 'verifying', actions: assign({ priors: ({ event }) => event.output, observed: null }) },
            { target: 'acting', actions: assign({ priors: ({ event }) => event.output, observed: null, phase: 0 }) },
          ],
          onError: toFailed,
        },
      },
      acting: {
        invoke: {
          src: 'phase',
          input: ({ context }) => context,
          onDone: [
            {
              guard: ({ context }) => context.phase < last,
              target: 'acting',
              reenter: true,
              actions: assign({
                results: ({ context, event }) => ({ ...context.results, [phaseNames[context.phase]]: event.output }),
                phase: ({ context }) => context.phase + 1,
              }),
            },
            {
              target: 'verifying',
              actions: assign({ results: ({ context, event }) => ({ ...context.results, [phaseNames[context.phase]]: event.output }) }),
            },
          ],
          onError: toFailed,
        },
      },
      verifying: {
        invoke: {
          src: 'verify',
          input: ({ context }) => context,
          onDone: [
            {
              guard: ({ event }) => event.output.ok,
              target: 'succeeded',
              actions: assign({ output: ({ event }) => event.output.output, summary: ({ event }) => event.output.summary }),
            },
            {
              target: 'failed',
              actions: assign({
                output: ({ event }) => event.output.output,
                summary: ({ event }) => event.output.summary,
                error: ({ event }) => ({
                  name: 'StepError',
                  code: 'VERIFY_FAILED',
                  message: `verification failed: ${(event.output.problems ?? [event.output.summary]).join('; ')}`,
                }),
              }),
            },
          ],
          onError: toFailed,
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
          input: ({ context }) => context,
          onDone: { target: 'compensated', actions: assign({ compensation: ({ event }) => event.output }) },
          onError: {
            target: 'compensation-failed',
            actions: assign({
              // An undo that failed part-way says what it did and what it could not undo (`UndoFailure`).
              compensation: ({ event }) => {
                const partial = (event.error as { undone?: Compensation } | null)?.undone;
                return { detail: toErrorRecord(event.error).message, changes: partial?.changes ?? [], ...(partial?.left ? { left: partial.left } : {}) };
              },
              error: ({ context, event }) => context.error ?? toErrorRecord(event.error),
            }),
          },
        },
      },
      compensated: { type: 'final', tags: ['done'] },
      'compensation-failed': { type: 'final', tags: ['done'] },
    },
  });
}

/** The machine of a step kind. */
export type StepMachine = ReturnType<typeof buildMachine>;

/**
 * A step kind as the engine sees it: its definition with its data erased to `Json`, plus its machine.
 *
 * @example
 * ```ts
 * const kind: StepKind = kinds.get('windows/schannel');
 * console.log(kind.kind, kind.description, kind.phases.map((p) => p.name));
 * ```
 */
export interface StepKind<P = unknown> extends StepKindDefinition<P> {
  readonly machine: StepMachine;
}

/**
 * The name of the state a step is in, as people and the journal see it: the phase's own name while
 * `acting` (e.g. `apply`, `restart`), else the machine's state.
 */
export function stepStateName(kind: Pick<StepKindDefinition<unknown>, 'phases'>, value: unknown, context: Pick<StepMachineContext, 'phase'>): string {
  if (value === 'acting') return kind.phases[context.phase]?.name ?? 'acting';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * A kind's machine built with `actors` in place of the placeholders. Building a machine is the costly
 * part of defining a kind (XState lays out every state node), so it is done once per kind and set of
 * actors: a run's step host builds each kind's with its real actors, and `kind.machine` (the
 * placeholders') is built only when read.
 */
export function stepMachine(kind: Pick<StepKindDefinition<unknown>, 'kind' | 'phases' | 'verifyWhenUnchanged'>, actors: StepActors): StepMachine {
  return buildMachine(kind.kind, kind.phases.map((p) => p.name), Boolean(kind.verifyWhenUnchanged), actors);
}

/**
 * The one place where a kind's data types are erased for the engine. Sound because the engine only
 * ever hands a kind's handler what the same kind's earlier handler returned: `observed` is the probe's
 * answer, `plan` the plan's, `priors` the capture's (or, without a capture, the observed state), each
 * JSON (the `extends Json` bounds) and so unchanged by the journal that keeps it across a resume.
 * TypeScript cannot relate a handler's data type to `Json` both ways (the engine hands `Json` in,
 * the kind declares what it is), so the data types pass through `any` once, here, and nowhere else.
 */
function eraseData<P, O extends Json, D extends Json | undefined, C extends Json>(definition: StepKindDefinition<P, O, D, C>): StepKindDefinition<P> {
  const erased: StepKindDefinition<P, any, any, any> = definition;
  return erased;
}

/** The machine's own states, which a phase may not be named after. */
const RESERVED_PHASE_NAMES: readonly string[] = ['probing', 'planning', 'capturing', 'acting', 'verifying'];

/**
 * Defines a step kind. Its `machine` (with the placeholder actors) is built the first time it is read.
 * The data its handlers pass on (what the probe read, the plan's data, what capture saved) are typed
 * by the handlers that make them: reading a field the probe never returned does not compile.
 *
 * @example
 * ```ts
 * export const echoStep = defineStepKind({
 *   kind: 'example/echo',
 *   description: 'logs a message',
 *   params: z.object({ message: z.string() }),
 *   probe: async () => ({ logged: false }),
 *   plan: ({ params, observed }) => ({
 *     changes: observed.logged ? [] : [{ target: 'log', field: 'message', before: null, after: params.message, action: 'run' }],
 *     summary: 'log once',
 *     data: { message: params.message },
 *   }),
 *   phases: [{ name: 'apply', run: async ({ plan, rt }) => { rt.log(plan.data.message); return null; } }],
 *   verify: async () => ({ ok: true, summary: 'logged', output: null }),
 * });
 * ```
 */
export function defineStepKind<P, O extends Json = Json, D extends Json | undefined = undefined, C extends Json = O>(definition: StepKindDefinition<P, O, D, C>): StepKind<P> {
  const names = definition.phases.map((p) => p.name);
  const issues = names.flatMap((n, i) => {
    if (RESERVED_PHASE_NAMES.includes(n)) return [`phases[${i}].name: "${n}" is the name of a state of every step (${RESERVED_PHASE_NAMES.join(', ')}); choose another`];
    if (names.indexOf(n) !== i) return [`phases[${i}].name: "${n}" is also phases[${names.indexOf(n)}]'s name; each phase needs its own`];
    return [];
  });
  if (issues.length > 0) throw new ValidationError(`step kind ${definition.kind}: a phase name is reserved or repeated`, issues, { where: `step kind ${definition.kind}` });
  const erased = eraseData(definition);
  let machine: StepMachine | undefined;
  return {
    ...erased,
    get machine() {
      return (machine ??= stepMachine(erased, stepActors));
    },
  };
}
