/**
 * What the CLI prints: a live list of steps on a terminal, plain lines elsewhere, JSON lines with
 * `--json`. It reads only the run's typed events.
 */
import { handshakeRows } from '../engine/report.js';
import type { RunEmitter } from '../engine/events.js';
import { ENDED_STEP_STATUSES, type Change, type RunResult, type StepStatus } from '../engine/types.js';
import { OUTCOMES } from '../engine/outcome.js';

export type OutputMode = 'tty' | 'plain' | 'json';

const useColor = () => !process.env.NO_COLOR && process.stdout.isTTY === true;
const paint = (code: number, text: string) => (useColor() ? `\x1b[${code}m${text}\x1b[0m` : text);
export const green = (t: string) => paint(32, t);
export const red = (t: string) => paint(31, t);
export const yellow = (t: string) => paint(33, t);
export const dim = (t: string) => paint(2, t);
export const bold = (t: string) => paint(1, t);

const ICON: Record<string, string> = {
  pending: '·',
  running: '…',
  succeeded: '✔',
  skipped: '=',
  planned: '~',
  failed: '✘',
  compensating: '↺',
  compensated: '↩',
  'compensation-failed': '!',
};

function colorFor(status: string): (t: string) => string {
  if (['succeeded', 'compensated'].includes(status)) return green;
  if (['failed', 'compensation-failed'].includes(status)) return red;
  if (['running', 'compensating', 'planned'].includes(status)) return yellow;
  return dim;
}

/** Cuts a line to the terminal's width so that redrawing in place stays aligned (ANSI codes take no width). */
function fit(line: string, width: number): string {
  let visible = 0;
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const esc = /^\x1b\[[0-9;]*[A-Za-z]/.exec(line.slice(i));
    if (esc) {
      out += esc[0];
      i += esc[0].length - 1;
      continue;
    }
    if (visible >= width - 1) {
      out += '…';
      break;
    }
    out += line[i];
    visible += 1;
  }
  return useColor() ? `${out}\x1b[0m` : out;
}

interface Row {
  id: string;
  status: string;
  phase: string;
  summary: string;
  started?: number;
  ended?: number;
}

/** Attaches a renderer to a run's events. Returns a function that stops it. */
export function attachRenderer(events: RunEmitter, mode: OutputMode, write: (s: string) => void = (s) => process.stdout.write(s)): () => void {
  if (mode === 'json') {
    const names = ['run:start', 'run:end', 'step:transition', 'step:settled', 'step:retry', 'step:compensation', 'log'] as const;
    const handlers = names.map((name) => {
      const h = (payload: unknown) => {
        if (name === 'run:end') return; // the CLI prints the final summary object itself
        // Each event stamped with the time it was seen, as a log line is.
        write(`${JSON.stringify({ event: name, at: new Date().toISOString(), ...(payload as object) })}\n`);
      };
      events.on(name, h as never);
      return () => events.off(name, h as never);
    });
    return () => handlers.forEach((off) => off());
  }
  const rows: Row[] = [];
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const row = (id: string) => rows.find((r) => r.id === id)!;
  const elapsed = (r: Row) => (r.started ? `${(((r.ended ?? Date.now()) - r.started) / 1000).toFixed(1)}s` : '');
  const draw = () => {
    if (mode !== 'tty') return;
    const idWidth = Math.max(...rows.map((r) => r.id.length));
    const lines = rows.map((r) => {
      const status = ['running', 'compensating'].includes(r.status) ? `${r.status} (${r.phase})` : r.status;
      return `  ${colorFor(r.status)(ICON[r.status] ?? '?')} ${r.id.padEnd(idWidth)}  ${colorFor(r.status)(status.padEnd(24))} ${dim(elapsed(r).padStart(6))}  ${r.summary}`;
    });
    const width = process.stdout.columns || 120;
    write(`${drawn > 0 ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\x1b[2K${fit(l, width)}`).join('\n')}\n`);
    drawn = lines.length;
  };
  const plain = (line: string) => {
    if (mode === 'plain') write(`${line}\n`);
  };
  events.on('run:start', (e) => {
    rows.length = 0;
    rows.push(...e.steps.map((id) => ({ id, status: 'pending', phase: '', summary: '' })));
    const head = `${bold(e.mode === 'rollback' ? 'Rolling back' : e.resumed ? 'Resuming' : e.checkMode ? 'Planning' : 'Running')} ${e.runbook} → ${e.target}  ${dim(`(run ${e.runId})`)}`;
    write(`${head}\n`);
    drawn = 0;
    draw();
    if (mode === 'tty') timer = setInterval(draw, 500).unref();
  });
  events.on('step:transition', (e) => {
    const r = row(e.stepId);
    if (!r) return;
    const compensating = ['compensating', 'compensated', 'compensation-failed'].includes(e.to);
    if (ENDED_STEP_STATUSES.has(e.to as StepStatus)) {
      r.status = e.to;
      r.ended = Date.now();
    } else {
      r.status = compensating ? 'compensating' : 'running';
      r.phase = e.to;
      r.started ??= Date.now();
      r.ended = undefined;
    }
    if (e.to === 'compensating') r.started = Date.now();
    plain(`step ${e.stepId}: ${e.to}`);
    draw();
  });
  events.on('step:settled', (e) => {
    const r = row(e.stepId);
    if (r) r.summary = e.summary;
    plain(`step ${e.stepId} ${e.status}: ${e.summary}`);
    draw();
  });
  events.on('step:retry', (e) => {
    plain(`step ${e.stepId}: attempt ${e.attempt} of ${e.phase} failed (${e.error.message.split('\n')[0]})${e.willRetry ? ', retrying' : ''}`);
  });
  events.on('step:compensation', (e) => {
    const r = row(e.stepId);
    if (r && e.detail) r.summary = e.detail;
    if (e.status !== 'compensating') plain(`step ${e.stepId} ${e.status}: ${e.detail}`);
    draw();
  });
  events.on('log', (e) => plain(`${e.stepId ? `step ${e.stepId}: ` : ''}${e.message}`));
  events.on('run:end', () => {
    if (timer) clearInterval(timer);
    draw();
  });
  return () => {
    if (timer) clearInterval(timer);
    events.removeAllListeners();
  };
}

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
  return `${mark} ${c.target} ${c.field}: ${show(c.before)} → ${show(c.after)}${c.type ? dim(`  [${c.type}]`) : ''}`;
}

/** The closing summary for people. */
export function renderSummary(result: RunResult, reportPath: string): string {
  const changed = result.steps.reduce((n, s) => n + (s.status === 'planned' || s.status === 'succeeded' ? s.changes.filter((c) => c.action !== 'run').length : 0), 0);
  const o = OUTCOMES[result.outcome];
  const tone = { ok: green, warn: yellow, bad: red }[o.tone];
  const lines = ['', `${bold('Result:')} ${tone(o.label)}${result.checkMode && result.status === 'planned' ? dim(' (plan: nothing was changed)') : ''}`];
  if (result.reason && result.outcome !== 'rolled-back-on-request') lines.push(`  ${result.reason}`);
  // An unreachable target's error goes to stderr, where the CLI prints it with what to check.
  if (result.error && result.status !== 'unreachable') lines.push(`  ${red('Error:')} ${result.error.message.split('\n').join('\n  ')}`);
  if (result.checkMode && result.status !== 'planned') {
    lines.push('  the plan could not be completed: nothing is known of what would change');
  } else if (result.checkMode) {
    // The count is of the lines below it: values to change, and actions (a restart, an installer).
    const listed = result.steps.reduce((n, s) => n + s.changes.length, 0);
    const actions = listed - changed;
    lines.push(listed > 0 ? `  ${listed} change(s) planned (${changed} value(s)${actions > 0 ? `, ${actions} action(s)` : ''}):` : '  no changes: the target is already as required');
    const diff = renderChanges(result);
    if (diff) lines.push(diff);
    lines.push(`  restart owed: ${result.rebootRequired ? 'yes' : 'no'}`);
  } else if (result.status === 'rolled-back' || result.status === 'rollback-failed' || result.status === 'cancelled') {
    const undone = result.steps.flatMap((s) => s.compensation?.changes ?? []);
    const restored = undone.filter((c) => c.action !== 'run' && c.action !== 'keep').length;
    const kept = undone.filter((c) => c.action === 'keep');
    lines.push(`  ${restored} registry item(s) restored; ${result.roundTrips} round trip(s) to the target; ${result.retries} retr${result.retries === 1 ? 'y' : 'ies'}`);
    for (const c of kept) lines.push(`  left alone (changed since the run): ${describeChange(c)}`);
  } else if (result.status !== 'unreachable') {
    lines.push(`  ${changed} value(s) changed; ${result.roundTrips} round trip(s) to the target (+${result.pollRoundTrips} polls while it restarted); ${result.retries} retr${result.retries === 1 ? 'y' : 'ies'}`);
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
    lines.push(`  registry backups (.reg, also on the target):`);
    for (const b of result.backups) lines.push(`    ${b}`);
  }
  if (result.remaining && result.remaining.length > 0) {
    lines.push(`  ${red(`still changed on the target (${result.remaining.length}):`)}`);
    for (const c of result.remaining) lines.push(`    ${describeChange(c)}`);
  }
  if (result.undoFiles) lines.push(`  to undo on the target's console: ${result.undoFiles.reg} (reg import) or ${result.undoFiles.powershell}, then restart`);
  if (result.status === 'awaiting-resume') {
    const allow = result.awaiting === 'restart-window' ? ' --allow-restart' : '';
    // A shared store is named by its URL (its password masked: it comes from $PGPASSWORD again).
    const where = /^postgres(ql)?:/.test(result.stateDir) ? `--store ${result.stateDir}` : `--state-dir ${result.stateDir}`;
    lines.push(`  continue with: runbook resume ${result.runId}${allow} ${where}`);
    if (result.awaiting === 'restart-window') lines.push(`  or undo it:    runbook rollback ${result.runId} ${where}`);
  }
  lines.push(`  report: ${reportPath}`);
  return `${lines.join('\n')}\n`;
}
