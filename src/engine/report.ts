/**
 * Reports of a run: `report.json` (the result as data) and `report.md` (for people), written in the
 * run's directory after every drive. Built only from the journal's result, which holds no secret.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/write-atomic.js';
import { isEmptyUndo, renderUndoPowerShell, renderUndoReg, type UndoValue } from '../windows/undo-files.js';
import { encodeRegFile } from '../windows/reg-file.js';
import { runUndo } from './undo-set.js';
import type { JournalRecord } from './run-store.js';
import type { StepKindRegistry } from './kinds.js';
import { replay } from './replay.js';
import { InternalError } from '../errors.js';
import { MASK, createMasker } from './secrets.js';
import { earlierError, outcomeLabel } from './outcome.js';
import { fitsStatus, type Change, type Json, type RunResult, type RunResultFields, type UndoFiles } from './types.js';

/** Runs that end here leave nothing of theirs on the target. */
const NOTHING_LEFT = new Set(['planned', 'rolled-back', 'cancelled', 'unreachable']);

/**
 * Writes `undo.reg` and `undo.ps1` into the run directory when the run may have left changes on the
 * target: the prior state of every value the run wrote (or may have written) and has not undone, and
 * the keys it created (`undo-set.ts`: the same as the result's `remaining`). Returns their paths, or
 * null when there is nothing to undo — and then removes those an earlier drive of the run wrote.
 *
 * What the run wrote is in `undo.ps1` for people to read, except where it held a secret's value:
 * there the journal holds it masked (a DWORD whose number is the secret too), or (a form the mask
 * does not change in the journal) the run's `secrets` show it; it is left out (`wroteWithheld`).
 * `undo.reg` holds only the values before the run.
 *
 * The title names the target as given (a `sim:` file name may hold any character): both renderers
 * escape what a comment line cannot carry.
 */
export async function writeUndoFiles(
  result: RunResult,
  records: readonly JournalRecord[],
  kinds: StepKindRegistry,
  runDir: string,
  secrets: Record<string, Json>,
): Promise<{ reg: string; powershell: string } | null> {
  return writeUndoContents(undoContentsOf(result, records, kinds, runDir, secrets));
}

/**
 * What {@link writeUndoFiles} writes, made from the records alone (nothing written yet): the files and
 * their contents, or null when there is nothing to undo. A caller that writes them with
 * {@link writeUndoContents} need not keep the records while the files are written.
 */
export function undoContentsOf(result: RunResult, records: readonly JournalRecord[], kinds: StepKindRegistry, runDir: string, secrets: Record<string, Json>): UndoContents {
  const reg = join(runDir, 'undo.reg');
  const powershell = join(runDir, 'undo.ps1');
  const undo = NOTHING_LEFT.has(result.status) || result.checkMode ? null : runUndo(replay(records), kinds);
  if (!undo || isEmptyUndo(undo)) return { reg, powershell, contents: null };
  const title = `run ${result.runId} (${result.runbook}) on ${result.target}, ${result.status}`;
  const masker = createMasker(secrets);
  const withhold = (v: UndoValue) => {
    const wrote = JSON.stringify(v.wrote);
    return wrote.includes(MASK) || masker.text(wrote) !== wrote;
  };
  return {
    reg,
    powershell,
    contents: {
      // UTF-16LE with its byte order mark, as Registry Editor writes a .reg file (reg-file.ts).
      reg: encodeRegFile(renderUndoReg(undo, title)),
      powershell: renderUndoPowerShell(undo, title, { withhold }),
    },
  };
}

/** The undo files of a run and their contents, null when nothing is left to undo (see {@link undoContentsOf}). */
export type UndoContents = { reg: string; powershell: string; contents: { reg: Uint8Array; powershell: string } | null };

/**
 * Writes the undo files {@link undoContentsOf} made, `undo.reg` first; returns their paths. With nothing
 * left to undo it writes none and removes those an earlier drive of the run wrote (a rollback finished
 * what it left): they would tell an operator to put back values the run no longer holds — and, run after
 * a later run changed them, would undo that run.
 */
export async function writeUndoContents(undo: UndoContents): Promise<{ reg: string; powershell: string } | null> {
  if (!undo.contents) {
    await rm(undo.reg, { force: true });
    await rm(undo.powershell, { force: true });
    return null;
  }
  await writeFileAtomic(undo.reg, undo.contents.reg);
  await writeFileAtomic(undo.powershell, undo.contents.powershell);
  return { reg: undo.reg, powershell: undo.powershell };
}

function cell(value: Json | undefined): string {
  if (value === null || value === undefined) return '(absent)';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.replace(/\|/g, '\\|');
}

function changeRows(changes: readonly Change[]): string[] {
  return changes.map((c) => `| ${cell(c.target)} | ${cell(c.field)} | ${cell(c.before)} | ${cell(c.after)} | ${c.type ?? ''} | ${c.action}${c.maybe ? ' (may have been written)' : ''} |`);
}

const HEADER = ['| key | value | before | after | type | action |', '| --- | --- | --- | --- | --- | --- |'];

function duration(from?: string, to?: string): string {
  if (!from || !to) return '';
  const ms = Date.parse(to) - Date.parse(from);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Renders a run's result as Markdown. */
/** The result with the undo files written for it (`writeUndoFiles` writes none for a status that leaves nothing to undo). */
export function withUndoFiles(result: RunResult, undoFiles: UndoFiles | null): RunResult {
  if (!undoFiles) return result;
  const reported: RunResultFields = { ...result, undoFiles };
  if (!fitsStatus(reported)) throw new InternalError(`undo files for a ${result.status} run, which leaves nothing to undo`);
  return reported;
}

export function renderReportMarkdown(result: RunResult): string {
  const lines = [
    `# Run ${result.runId}`,
    '',
    `- runbook: **${result.runbook}**${result.checkMode ? ' (check mode: nothing was changed)' : ''}`,
    `- target: \`${result.target}\``,
    `- status: **${result.status}**${result.reason ? ` — ${result.reason}` : ''}`,
    // The words the terminal's result ends with (a failed plan changed nothing: never "rolled back").
    `- outcome: **${outcomeLabel(result)}**`,
    `- started ${result.startedAt}, ended ${result.endedAt} (${duration(result.startedAt, result.endedAt)})`,
    `- round trips: ${result.roundTrips} (plus ${result.pollRoundTrips} polls while the host restarted); retries: ${result.retries}`,
  ];
  const earlier = earlierError(result);
  if (earlier) lines.push(`- earlier: \`${earlier.code}\` ${earlier.message} (then rolled back on request)`);
  else if (result.error) lines.push(`- error: \`${result.error.code}\` ${result.error.message.replace(/\n/g, ' ')}`);
  if (result.remaining && result.remaining.length > 0) {
    lines.push('', '## Still changed on the target', '', 'As far as the journal knows, these changes of the run are still on the target:', '', ...HEADER, ...changeRows(result.remaining));
  }
  if (result.undoFiles) {
    lines.push(
      '',
      '## Undo by hand',
      '',
      `- \`${result.undoFiles.reg}\` — on the target, elevated: \`reg import undo.reg\``,
      `- \`${result.undoFiles.powershell}\` — the same with PowerShell: \`powershell -ExecutionPolicy Bypass -File undo.ps1\``,
      '- then restart the target so that SCHANNEL reads the restored values.',
    );
  }
  if (result.backups.length > 0) {
    // By their names among the run's files, and where those are kept: not a path of the machine that
    // made them (a run taken over by another worker would point at the first one's disk).
    const where = result.filesAt ? `Kept with the run's files, in ${result.filesAt} (and on the target):` : "Kept with the run's files (and on the target):";
    lines.push('', '## Backups', '', where, '', ...result.backups.map((b) => `- \`${b}\``));
  }
  lines.push(...handshakeTable(result));
  lines.push('', '## Steps', '');
  for (const step of result.steps) {
    lines.push(`### ${step.id} (${step.kind}) — ${step.status}`, '');
    if (step.summary) lines.push(proofUndone(result, step) ? `${step.summary} — undone since by the rollback: this proof no longer holds` : step.summary, '');
    lines.push(`Round trips ${step.roundTrips}, polls ${step.pollRoundTrips}, retries ${step.retries}${step.startedAt ? `, ${duration(step.startedAt, step.endedAt)}` : ''}.`, '');
    // Once rolled back on request, a step's failure is history: its first line, not the advice it gave then.
    if (step.error) lines.push(earlier ? `Error \`${step.error.code}\` (earlier): ${step.error.message.split('\n')[0].trim()}` : `Error \`${step.error.code}\`: ${step.error.message.replace(/\n/g, ' ')}`, '');
    if (step.changes.length > 0) lines.push(...HEADER, ...changeRows(step.changes), '');
    if (step.compensation) {
      lines.push(`Compensation: **${step.compensation.status}** — ${step.compensation.detail}`, '');
      if (step.compensation.changes.length > 0) lines.push(...HEADER, ...changeRows(step.compensation.changes), '');
    }
  }
  return `${lines.join('\n')}\n`;
}

/** True when a step proved, by handshake, a state that the run's rollback has since undone. */
export function proofUndone(result: RunResult, step: RunResult['steps'][number]): boolean {
  const out = step.output as HandshakeOutput | null;
  return UNDONE.has(result.status) && !result.checkMode && out !== null && typeof out === 'object' && Array.isArray(out.verdicts) && out.role !== 'baseline' && out.verdict !== 'baseline';
}

type HandshakeOutput = { role?: string; verdict?: string; notTestable?: string; verdicts?: { endpoint: string; protocol: string; outcome: string; evidence: string }[] };

/**
 * The handshakes of a run: one column per step that probed, one row per endpoint and protocol. A
 * column `undone` proved a state that a rollback has since undone: it says what the server did then,
 * not what it does now (nothing was probed after the rollback).
 */
export type HandshakeRows = {
  columns: { stepId: string; verdict: string; undone?: boolean }[];
  rows: { endpoint: string; protocol: string; cells: ({ outcome: string; evidence: string } | null)[] }[];
  notTestable: string;
};

/** Runs whose changes were undone (or partly undone): a proof made before the undo no longer holds. */
const UNDONE = new Set(['rolled-back', 'rollback-failed', 'cancelled']);

/**
 * The handshake table of a run (the baseline before the changes, the proof after the restart), or null.
 * A plan shows the baseline alone (its later probes read the same unchanged server). After a rollback
 * a proof is marked undone: it belonged to the state the rollback took away.
 */
export function handshakeRows(result: RunResult): HandshakeRows | null {
  let probes = result.steps
    .map((step) => ({ step, out: step.output as HandshakeOutput | null }))
    .filter(({ out }) => out !== null && typeof out === 'object' && Array.isArray(out.verdicts));
  if (result.checkMode) probes = probes.slice(0, 1);
  if (probes.length === 0) return null;
  const rows = new Map<string, HandshakeRows['rows'][number]>();
  probes.forEach(({ out }, column) => {
    for (const v of out!.verdicts!) {
      const key = `${v.endpoint}\u0000${v.protocol}`;
      if (!rows.has(key)) rows.set(key, { endpoint: v.endpoint, protocol: v.protocol, cells: probes.map(() => null) });
      rows.get(key)!.cells[column] = { outcome: v.outcome, evidence: v.evidence };
    }
  });
  return {
    columns: probes.map(({ step, out }) => {
      const undone = UNDONE.has(result.status) && !result.checkMode && out!.role !== 'baseline' && out!.verdict !== 'baseline';
      return { stepId: step.id, verdict: undone ? `${out!.verdict ?? '-'} before the rollback, undone since (not probed again)` : result.checkMode ? 'baseline' : (out!.verdict ?? '-'), ...(undone ? { undone } : {}) };
    }),
    rows: [...rows.values()],
    notTestable: probes[0].out!.notTestable ?? '',
  };
}

/** The handshake table as Markdown: endpoint × protocol, each cell the outcome and its evidence. */
function handshakeTable(result: RunResult): string[] {
  const table = handshakeRows(result);
  if (!table) return [];
  const lines = ['', '## TLS handshakes', '', `| endpoint | protocol | ${table.columns.map((c) => (c.undone ? `${c.stepId} (undone)` : c.stepId)).join(' | ')} |`, `|---|---|${table.columns.map(() => '---|').join('')}`];
  for (const row of table.rows) {
    lines.push(`| ${row.endpoint} | ${row.protocol} | ${row.cells.map((c, i) => (c ? `${table.columns[i].undone ? 'was ' : ''}${c.outcome} (${c.evidence.replace(/\|/g, '/')})` : '-')).join(' | ')} |`);
  }
  if (table.rows.length === 0) lines.push('', 'No TLS endpoint was probed: nothing is shown by a handshake.');
  lines.push('', `Verdict: ${table.columns.map((c) => `${c.stepId} ${c.verdict}`).join('; ')}. Not tested: ${table.notTestable}.`);
  return lines;
}

/** The reports of a run: `report.json` and `report.md` in its directory, each with its content. */
export function reportFiles(result: RunResult, runDir: string): { file: string; content: () => string }[] {
  return [
    { file: join(runDir, 'report.json'), content: () => `${JSON.stringify(result, null, 2)}\n` },
    { file: join(runDir, 'report.md'), content: () => renderReportMarkdown(result) },
  ];
}
