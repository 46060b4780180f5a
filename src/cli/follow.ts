/**
 * Following a run from the command line: its events rendered, its summary, operator alerts on stderr,
 * and SIGINT/SIGTERM handled at safe points.
 */
import { join } from 'node:path';
import type { Run } from '../engine/runner.js';
import type { RunResult } from '../engine/types.js';
import { unreachableMessage } from './explain.js';
import { attachRenderer, red, renderSummary, type OutputMode } from './render.js';
import { stopOnSignals } from './signals.js';

/**
 * How a command prints: `--json` lines, a live view on a terminal, plain lines elsewhere.
 *
 * @example
 * ```ts
 * outputMode(false); // 'tty' on a terminal, 'plain' when stdout is piped
 * ```
 */
export function outputMode(json: boolean): OutputMode {
  if (json) return 'json';
  return process.stdout.isTTY ? 'tty' : 'plain';
}

/**
 * Follows a run to its end: renders its events, prints the summary, and handles signals — the first
 * SIGINT or SIGTERM stops the run at its next safe point (it ends awaiting a resume, exit 75, with a
 * report); a second one aborts at once.
 *
 * @example
 * ```ts
 * const result = await follow(run, outputMode(false), '/var/runbook');
 * ```
 */
export async function follow(run: Run, mode: OutputMode, stateDir: string): Promise<RunResult> {
  const stop = attachRenderer(run.events, mode);
  const detach = stopOnSignals({
    first: (signal) => `${signal}: stopping at the next safe point (${signal} again aborts at once; the journal allows a resume)`,
    again: (signal) => `${signal} again: aborting now; \`runbook resume ${run.id}\` continues from the journal`,
    closed: (stream) => `${stream} was closed (its reader ended): stopping at the next safe point, as one SIGINT does; further output is discarded; \`runbook resume ${run.id}\` continues from the journal`,
    interrupt: () => run.interrupt(),
  });
  try {
    const result = await run.result;
    const report = join(stateDir, 'runs', result.runId, 'report.md');
    if (mode === 'json') process.stdout.write(`${JSON.stringify({ event: 'summary', ...result, report })}\n`);
    else process.stdout.write(renderSummary(result, report));
    if (result.status === 'unreachable') process.stderr.write(unreachableMessage(result));
    // An operator alert goes where alerts are read even when stdout is piped to a file.
    if (result.outcome === 'rollback-failed') process.stderr.write(`${red('ROLLBACK FAILED — an operator is needed')}: ${result.remaining?.length ?? 0} change(s) still on ${result.target}; ${result.undoFiles ? `undo them with ${result.undoFiles.reg} or ${result.undoFiles.powershell}, then restart` : `see ${report}`}\n`);
    return result;
  } finally {
    detach();
    stop();
  }
}
