/**
 * `runbook worker --store <url>`: claims host runs of queued fleets and drives them until stopped.
 * SIGTERM or SIGINT: stop claiming, bring the runs under way to their next safe point (another worker
 * resumes them), exit 0.
 */
import { bundledStepKinds } from '../../steps/index.js';
import { ExitCode } from '../exit-codes.js';
import { COMMON_OPTIONS, UsageError, parse, storeOf, type Command } from '../common.js';
import { yellow } from '../render.js';
import { hostEndLine } from '../worker-log.js';
import { connect } from '../targets.js';

const usage = `Usage: runbook worker --store <url> [--concurrency N] [--lease-ms MS] [--poll-ms MS]

Claims the host runs of fleets queued with \`runbook run … --inventory … --no-wait\` and drives them,
N at a time, until stopped. Start as many workers as you like, on as many machines: each run has one
driver at a time, and the runs of a worker that dies are resumed by another once their leases expire.
SIGTERM or SIGINT: no new run is claimed; runs under way stop at their next safe point; exit 0.

Options
  --concurrency N     host runs driven at once (default 4)
  --lease-ms MS       how long a run's lease holds without renewal: how soon another worker takes
                      over from one that died (default 60000)
  --poll-ms MS        how often the queue is polled (default 1000)

${COMMON_OPTIONS}`;

function wholeNumber(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} takes a whole number of at least ${min}, got "${value}"`);
  return n;
}

export const worker: Command = {
  name: 'worker',
  usage,
  async run(args) {
    const { values, positionals } = parse(args, { concurrency: { type: 'string' }, 'lease-ms': { type: 'string' }, 'poll-ms': { type: 'string' } });
    if (positionals.length > 0) throw new UsageError('worker takes no arguments');
    const concurrency = wholeNumber('concurrency', values.concurrency, 4, 1);
    const ttlMs = wholeNumber('lease-ms', values['lease-ms'], 60_000, 1000);
    const pollMs = wholeNumber('poll-ms', values['poll-ms'], 1000, 10);
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
    w.events.on('host:held', (e) => line({ event: 'host:held', ...e }, `${yellow('held')}  ${e.host}: another driver holds its lease`));
    w.events.on('fleet:over', (e) => line({ event: 'fleet:over', ...e }, `fleet ${e.fleetId} over${e.spent ? ' (failure budget spent)' : ''}`));
    w.events.on('store:error', (e) => line({ event: 'store:error', ...e }, `${yellow('store')}  ${e.message} (retrying)`));
    line({ event: 'worker:start', pid: process.pid, concurrency, store: store.location }, `worker ${process.pid} on ${store.location}, ${concurrency} at a time`);
    const onSignal = () => {
      line({ event: 'worker:stopping', active: w.active }, `stopping: ${w.active} run(s) going to a safe point`);
      void w.stop();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    await w.stopped;
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    line({ event: 'worker:stopped' }, 'stopped');
    return ExitCode.ok;
  },
};
