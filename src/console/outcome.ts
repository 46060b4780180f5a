/**
 * The graduated outcome of a host (or a run) as the console shows it: one word a person reads at a
 * glance, a colour class, and what to do next. Finer than a run's status: a succeeded run either
 * changed its host or found it already compliant; a rolled-back run either failed and was undone, or
 * was rolled back on request.
 */
import type { RunResult } from '../engine/types.js';

export const Outcome = {
  changed: 'changed',
  compliant: 'already compliant',
  planned: 'planned',
  rolledBack: 'failed and rolled back',
  rollbackFailed: 'rollback failed',
  unreachable: 'unreachable',
  skipped: 'skipped',
  pending: 'not started',
  restartWindow: 'awaiting restart window',
  interrupted: 'interrupted',
  targetRestart: 'awaiting target restart',
  onRequest: 'rolled back on request',
  cancelled: 'cancelled',
  running: 'running',
  damaged: 'journal damaged',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** The CSS class of an outcome (colour), alongside its words: never colour alone. */
export function outcomeClass(o: Outcome): string {
  switch (o) {
    case Outcome.changed:
    case Outcome.compliant:
    case Outcome.planned:
      return 'ok';
    case Outcome.rolledBack:
    case Outcome.onRequest:
    case Outcome.cancelled:
      return 'undone';
    case Outcome.rollbackFailed:
    case Outcome.damaged:
      return 'bad';
    case Outcome.unreachable:
      return 'down';
    case Outcome.running:
      return 'running';
    default:
      return 'wait';
  }
}

/** The outcome of a run, from its result and the reason of its saga (if one ran). */
export function outcomeOf(r: Pick<RunResult, 'status' | 'awaiting' | 'steps'>, sagaReason?: 'failure' | 'cancel' | 'operator'): Outcome {
  switch (r.status) {
    case 'succeeded': {
      const changed = r.steps.some((s) => s.status === 'succeeded' && s.changes.some((c) => c.action !== 'run' && c.action !== 'keep'));
      return changed ? Outcome.changed : Outcome.compliant;
    }
    case 'planned':
      return Outcome.planned;
    case 'rolled-back':
      return sagaReason === 'operator' ? Outcome.onRequest : Outcome.rolledBack;
    case 'rollback-failed':
      return Outcome.rollbackFailed;
    case 'unreachable':
      return Outcome.unreachable;
    case 'cancelled':
      return Outcome.cancelled;
    case 'awaiting-resume':
      return r.awaiting === 'restart-window' ? Outcome.restartWindow : r.awaiting === 'target-restart' ? Outcome.targetRestart : Outcome.interrupted;
    default:
      return Outcome.running;
  }
}

/** What a person should do about an outcome (null: nothing). `id` is the run's or the fleet's. */
export function adviceFor(o: Outcome, id: string): string | null {
  switch (o) {
    case Outcome.rolledBack:
      return `Nothing is left changed on the host. Fix the cause named in the error, then relaunch the failed hosts (or \`runbook run\` this host again).`;
    case Outcome.rollbackFailed:
      return `Some changes are still on the host: the remaining changes are listed; apply undo.reg or undo.ps1 on the host's console, or retry with \`runbook rollback ${id} --force\`.`;
    case Outcome.unreachable:
      return 'Nothing was changed. Check that the host is up, its address and port, the firewall and the credentials; then relaunch the failed hosts.';
    case Outcome.restartWindow:
      return `The changes are made and wait for a restart. In a restart window: \`runbook resume ${id} --allow-restart\`.`;
    case Outcome.interrupted:
      return `Stopped at a safe point: \`runbook resume ${id}\` continues from the journal.`;
    case Outcome.targetRestart:
      return 'The host is restarting; its start-up task resumes the run.';
    case Outcome.damaged:
      return 'The journal cannot be read: the run cannot be resumed safely. Inspect the file, restore it from a backup, or roll the host back from the .reg backups.';
    default:
      return null;
  }
}
