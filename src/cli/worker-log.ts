/**
 * The lines of a worker's log that tell how a host's run ended: its graduated outcome (changed,
 * already compliant, failed and rolled back, …) in its colour, as every other rendering says it — not
 * the run's status.
 */
import { OUTCOMES } from '../engine/outcome.js';
import type { WorkerEvents } from '../worker/worker.js';
import { toned, yellow } from './colors.js';

/**
 * A worker's `host:end` as a log line (after its timestamp): the host's outcome, the host, the run,
 * and the first line of its error.
 *
 * @example
 * ```ts
 * hostEndLine({ fleetId: 'f1', host: 'web01', runId: 'f1.web01', status: 'succeeded', outcome: 'compliant' });
 * // 'already compliant  web01  (f1.web01)'
 * ```
 */
export function hostEndLine(e: WorkerEvents['host:end'][0]): string {
  // Fenced: another driver took the run over and goes on with it; this worker only lets go.
  const what = e.outcome ? toned(OUTCOMES[e.outcome].tone, OUTCOMES[e.outcome].label) : yellow('let go (another driver took the run over)');
  return `${what}  ${e.host}  (${e.runId})${e.error ? `: ${e.error.message.split('\n')[0]}` : ''}`;
}
