/**
 * `runbook worker --store <url>`: claims host runs of queued fleets and drives them until stopped.
 * SIGTERM or SIGINT: stop claiming, bring the runs under way to their next safe point (another worker
 * resumes them), exit 0. Its login refused by the store (a password rotated): the same stop, exit 2.
 */
import { bundledStepKinds } from '../../steps/index.js';
import { ExitCode } from '../exit-codes.js';
import { Option } from 'commander';
import { UsageError, act, saidAlready, commandNamed, wholeNumber, withCommonOptions, type CommonOptions, type RunbookCommand } from '../args.js';
import { storeOf } from '../state.js';
import { yellow } from '../render.js';
import { hostEndLine } from '../worker-log.js';
import { connect } from '../targets.js';
import { onOutputClosed } from '../output-closed.js';

interface WorkerOptions extends CommonOptions {
  concurrency: number;
  leaseMs: number;
  pollMs: number;
}

/**
 * `runbook worker --store <url>`: drives the host runs queued in a shared store until stopped.
 *
 * @example
 * ```ts
 * worker.declare().helpInformation(); // 'Usage: runbook worker [options]…'
 * ```
 */
export const worker: RunbookCommand = {
  name: 'worker',
  declare: () =>
    act(
      withCommonOptions(
        commandNamed('worker')
          .usage('--store <url> [options]')
          .description(
            [
              'Claims the host runs of fleets queued with `runbook run … --inventory … --no-wait` and drives them,',
              'N at a time, until stopped. Start as many workers as you like, on as many machines: each run has one',
              'driver at a time, and the runs of a worker that dies are resumed by another once their leases expire.',
              'SIGTERM or SIGINT: no new run is claimed; runs under way stop at their next safe point; exit 0.',
              "The store refusing the worker's login (a password rotated): said once in its log, the same stop, exit 2.",
            ].join(' '),
          )
          .addOption(new Option('--concurrency <N>', 'host runs driven at once').default(4).argParser(wholeNumber(1)))
          .addOption(new Option('--lease-ms <MS>', "how long a run's lease holds without renewal: how soon another worker takes over from one that died").default(60_000).argParser(wholeNumber(1000)))
          .addOption(new Option('--poll-ms <MS>', 'how often the queue is polled').default(1000).argParser(wholeNumber(10))),
        { json: 'one JSON object per line, each with its time' },
      ),
      workerCommand,
    ),
};

async function workerCommand(values: WorkerOptions): Promise<number> {
  const { concurrency, leaseMs: ttlMs, pollMs } = values;
  const where = await storeOf(values);
  if (where.store.kind !== 'postgres') throw new UsageError('a worker takes its work from a shared store: give --store postgres://… (or $RUNBOOK_STORE)');
  const [{ Runner }, { startWorker }] = await Promise.all([import('../../engine/runner.js'), import('../../worker/worker.js')]);
  const { PostgresStore } = await import('../../store/postgres.js');
  const store = where.store as InstanceType<typeof PostgresStore>;
  const runner = new Runner({ stateDir: where.stateDir, store, kinds: bundledStepKinds(), lease: { ttlMs } });
  const w = await startWorker({ store, runner, connect: (target) => connect(target), concurrency, pollMs });
  // Every line carries its time: a worker's log is read long after, beside other workers'.
  const line = (o: object, text: string) => {
    const at = new Date().toISOString();
    process.stdout.write(values.json ? `${JSON.stringify({ at, ...o })}\n` : `${at}  ${text}\n`);
  };
  w.events.on('host:start', (e) => line({ event: 'host:start', ...e }, `${e.resumed ? 'resume' : 'start '}  ${e.host}  (${e.runId})`));
  w.events.on('host:end', (e) => line({ event: 'host:end', ...e }, hostEndLine(e)));
  w.events.on('host:held', (e) => line({ event: 'host:held', ...e }, `${yellow('held')}  ${e.host}: ${e.waiting ? `waiting: ${e.waiting}; tried again after ${e.retryAt ?? 'a while'}` : 'another driver holds its lease'}`));
  w.events.on('fleet:over', (e) => line({ event: 'fleet:over', ...e }, `fleet ${e.fleetId} over${e.spent ? ' (failure budget spent)' : ''}`));
  w.events.on('store:error', (e) => line({ event: 'store:error', ...e }, `${yellow('store')}  ${e.message} (retrying)`));
  // Its login refused (a password rotated): said once, then the worker stops as on SIGTERM and exits 2
  // with the error (what, where, what to do) — its supervisor restarts it with the new credentials.
  // The one place the refusal is said, in full (what, where, what to do): not again on stderr at exit.
  w.events.on('store:refused', (e) => {
    const [said, ...advice] = (w.failure?.message ?? e.message).split('\n');
    line({ event: 'store:refused', ...e, message: [said, ...advice].join('\n') }, [`${yellow('store')}  ${said}; stopping: ${e.active} run(s) going to a safe point, then exit 2`, ...advice].join('\n'));
  });
  line({ event: 'worker:start', pid: process.pid, concurrency, store: store.location }, `worker ${process.pid} on ${store.location}, ${concurrency} at a time`);
  const onSignal = () => {
    line({ event: 'worker:stopping', active: w.active }, `stopping: ${w.active} run(s) going to a safe point`);
    void w.stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // Its log's reader gone (`runbook worker | head`): the runs it drives go to a safe point, as on SIGTERM,
  // rather than the process ending between a change and its record.
  const offClosed = onOutputClosed(onSignal);
  await w.stopped;
  offClosed();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  line({ event: 'worker:stopped', ...(w.failure ? { code: w.failure.code } : {}) }, 'stopped');
  // Exit 2 (STORE_AUTH; with --json, the error event every command ends with): not retried by this
  // process. Its message was the store:refused line above, so it is not printed again on stderr.
  if (w.failure) {
    saidAlready.add(w.failure);
    throw w.failure;
  }
  return ExitCode.ok;
}
