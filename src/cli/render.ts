/**
 * What the CLI prints of a run: its live output (run-output.ts: a live block on a terminal, one line per
 * step outcome in a pipe, JSON lines with `--json`), the diff, and the closing summary. It reads only
 * the run's typed events and result.
 */
import { handshakeRows } from '../engine/report.js';
import type { Change, RunResult, UnwrittenFile } from '../engine/types.js';
import { diskProblem } from '../errors.js';
import { OUTCOMES, earlierError, outcomeLabel } from '../engine/outcome.js';
import { KEY_FIELD } from '../windows/undo-files.js';
import { bold, dim, green, red, yellow } from './colors.js';
import { storeOption } from '../util/store-option.js';

export { attachRenderer, type OutputMode } from './run-output.js';
export { bold, dim, green, red, yellow } from './colors.js';

/** The exact diff of a plan or a run: key, value, before → after, type. */
export function renderChanges(result: RunResult): string {
  const lines: string[] = [];
  for (const step of result.steps) {
    if (step.changes.length === 0) continue;
    lines.push(`  ${bold(step.id)}`);
    for (const c of step.changes) lines.push(`    ${describeChange(c)}`);
  }
  return lines.join('\n');
}

function show(v: unknown): string {
  return v === null || v === undefined ? '(absent)' : typeof v === 'string' ? v : JSON.stringify(v);
}

export function describeChange(c: Change): string {
  const mark = c.action === 'create' ? green('+') : c.action === 'delete' ? red('-') : yellow('~');
  return `${mark} ${c.target} ${c.field}: ${show(c.before)} → ${show(c.after)}${c.type ? dim(`  [${c.type}]`) : ''}${c.maybe ? yellow('  (may have been written)') : ''}`;
}

/**
 * The actions a run's succeeded steps took besides values (a restart, a registry export), counted by
 * what they are: `, 1 action(s) (1 restart)`; empty when none.
 */
function actionsTaken(result: RunResult): string {
  const actions = result.steps.flatMap((s) => (s.status === 'succeeded' ? s.changes.filter((c) => c.action === 'run') : []));
  if (actions.length === 0) return '';
  const byField = new Map<string, number>();
  for (const c of actions) byField.set(c.field, (byField.get(c.field) ?? 0) + 1);
  return `, ${actions.length} action(s) (${[...byField].map(([field, n]) => `${n} ${field}`).join(', ')})`;
}

/**
 * The registry changes of a run's succeeded (or planned) steps, counted apart: values, and whole keys
 * (created, or deleted); actions (a restart, an export) are not among them.
 */
function registryCounts(result: RunResult): { values: number; keys: number } {
  const changes = result.steps.flatMap((s) => (s.status === 'planned' || s.status === 'succeeded' ? s.changes.filter((c) => c.action !== 'run') : []));
  const keys = changes.filter((c) => c.field === KEY_FIELD).length;
  return { values: changes.length - keys, keys };
}

/** `26 value(s), 15 key(s)`: the keys only when there are any. */
function valuesAndKeys({ values, keys }: { values: number; keys: number }): string {
  return `${values} value(s)${keys > 0 ? `, ${keys} key(s)` : ''}`;
}

/** The closing summary for people. */
export function renderSummary(result: RunResult, reportPath: string): string {
  const counts = registryCounts(result);
  const changed = counts.values + counts.keys;
  const o = { label: outcomeLabel(result), tone: OUTCOMES[result.outcome].tone };
  const tone = { ok: green, warn: yellow, bad: red }[o.tone];
  const lines = ['', `${bold('Result:')} ${tone(o.label)}${result.checkMode && result.status === 'planned' ? dim(' (plan: nothing was changed)') : ''}`];
  if (result.reason && result.outcome !== 'rolled-back-on-request') lines.push(`  ${result.reason}`);
  // An unreachable target's error goes to stderr, where the CLI prints it with what to check.
  // A run rolled back on request after it failed: the failure is history (its advice done since).
  const earlier = earlierError(result);
  if (earlier) lines.push(`  ${dim(`earlier: ${earlier.message} (${earlier.code})`)}`);
  else if (result.error && result.status !== 'unreachable') lines.push(`  ${red('Error:')} ${result.error.message.split('\n').join('\n  ')}`);
  if (result.checkMode && result.status !== 'planned') {
    lines.push('  the plan could not be completed: nothing is known of what would change');
  } else if (result.checkMode) {
    // The count is of the lines below it: values to change, keys to create or delete, and actions (a
    // restart, an installer).
    const listed = result.steps.reduce((n, s) => n + s.changes.length, 0);
    const actions = listed - changed;
    lines.push(listed > 0 ? `  ${listed} change(s) planned (${valuesAndKeys(counts)}${actions > 0 ? `, ${actions} action(s)` : ''}):` : '  no changes: the target is already as required');
    const diff = renderChanges(result);
    if (diff) lines.push(diff);
    lines.push(`  restart owed: ${result.rebootRequired ? 'yes' : 'no'}`);
  } else if (result.status === 'rolled-back' || result.status === 'rollback-failed' || result.status === 'cancelled') {
    const undone = result.steps.flatMap((s) => s.compensation?.changes ?? []);
    const restored = undone.filter((c) => c.action !== 'run' && c.action !== 'keep').length;
    const kept = undone.filter((c) => c.action === 'keep');
    lines.push(`  ${restored} registry item(s) restored; ${result.roundTrips} round trip(s) to the target; ${result.retries} retr${result.retries === 1 ? 'y' : 'ies'}`);
    for (const c of kept) lines.push(`  left alone (changed since the run): ${describeChange(c)}`);
    // A run that only paid a restart owed by an earlier run (a restart cannot be undone) rolls back to nothing.
    if (undone.length === 0 && result.status !== 'rollback-failed') lines.push('  nothing to undo: nothing restored, no restart');
  } else if (result.status !== 'unreachable') {
    lines.push(`  ${valuesAndKeys(counts)} changed${actionsTaken(result)}; ${result.roundTrips} round trip(s) to the target (+${result.pollRoundTrips} polls while it restarted); ${result.retries} retr${result.retries === 1 ? 'y' : 'ies'}`);
  }
  const handshakes = handshakeRows(result);
  if (handshakes && handshakes.rows.length > 0) {
    lines.push(`  TLS handshakes from here (${handshakes.columns.map((c) => `${c.stepId}: ${c.verdict}`).join(', ')}):`);
    for (const row of handshakes.rows) {
      const cells = row.cells.map((c, i) => (c ? (handshakes.columns[i].undone ? dim(`was ${c.outcome}`) : c.outcome === 'refused' ? green(c.outcome) : c.outcome === 'inconclusive' ? yellow(c.outcome) : c.outcome) : '-'));
      lines.push(`    ${row.endpoint.padEnd(26)} ${row.protocol.padEnd(8)} ${cells.join(' → ')}`);
    }
  }
  if (result.backups.length > 0) {
    lines.push(`  registry backups (.reg, also on the target)${result.filesAt ? `, with the run's files in ${result.filesAt}` : ''}:`);
    for (const b of result.backups) lines.push(`    ${b}`);
  }
  if (result.remaining && result.remaining.length > 0) {
    lines.push(`  ${red(`still changed on the target (${result.remaining.length}):`)}`);
    for (const c of result.remaining) lines.push(`    ${describeChange(c)}`);
  }
  if (result.undoFiles) lines.push(`  to undo on the target's console: ${result.undoFiles.reg} (reg import) or ${result.undoFiles.powershell}, then restart`);
  if (result.status === 'awaiting-resume') {
    const allow = result.awaiting === 'restart-window' ? ' --allow-restart' : '';
    // A shared store is named by its URL without its password (which comes from $PGPASSWORD again:
    // `--store` refuses one), in quotes when a shell would read its `?` or `&`.
    const where = storeOption(result.stateDir);
    lines.push(`  continue with: runbook resume ${result.runId}${allow} ${where}`);
    if (result.awaiting === 'restart-window') lines.push(`  or undo it:    runbook rollback ${result.runId} ${where}`);
  }
  const unwritten = result.unwritten?.find((u) => u.kind === 'file' && /report\.md$/.test(u.file)) as UnwrittenFile | undefined;
  lines.push(unwritten ? `  report: ${reportPath} ${red(`not written (${unwritten.errno}: ${diskProblem(unwritten.errno)})`)}` : `  report: ${reportPath}`);
  return `${lines.join('\n')}\n`;
}
