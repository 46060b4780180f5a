/**
 * The library's runner: the engine's {@link EngineRunner} with the file store of a state directory when
 * no store is given — what `new Runner({ kinds })` means to an application. The engine itself never
 * picks a store; this is the one place a default is made for library users (the CLI, the fleet commands
 * and the worker give theirs).
 */
import { resolve } from 'node:path';
import { Runner as EngineRunner, type RunnerOptions as EngineRunnerOptions } from '../engine/runner.js';
import { fileStore } from './file-store.js';
import type { Store } from './types.js';

/**
 * Options of {@link Runner}: the engine's, with the store optional.
 *
 * @example
 * ```ts
 * const options: RunnerOptions = { kinds: bundledStepKinds(), stateDir: '.runbook', retries: 0, compensationBudgetMs: 60_000 };
 * const runner = new Runner(options);
 * ```
 */
export interface RunnerOptions extends Omit<EngineRunnerOptions<Store>, 'store'> {
  /**
   * Where runs, journals, leases and fleets live: `fileStore(dir)` or `await postgresStore(url, …)`.
   * @default the file store of `stateDir`
   */
  store?: Store;
  /**
   * This machine's folder for runs: the file store's home, and, with a shared store, where a run's
   * files (backups, reports) are written while it is driven.
   * @default `$RUNBOOK_STATE_DIR` or `.runbook` under the working directory
   */
  stateDir?: string;
}

/**
 * Drives runs of runbooks against executors, journaling every step in a store — the file store of
 * `stateDir` unless another is given.
 *
 * @example
 * ```ts
 * const kinds = bundledStepKinds();
 * const runner = new Runner({ kinds, stateDir: '.runbook' });
 * const executor = await createSimulatedExecutor('host.json');
 * const run = runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor });
 * const result = await run.result;
 * if (result.status === 'awaiting-resume') await (await runner.resume(run.id, { executor })).result;
 * ```
 */
export class Runner extends EngineRunner<Store> {
  constructor(options: RunnerOptions) {
    const stateDir = resolve(options.stateDir ?? process.env.RUNBOOK_STATE_DIR ?? '.runbook');
    super({ ...options, stateDir, store: options.store ?? fileStore(stateDir) });
  }
}
