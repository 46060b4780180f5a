/// <reference lib="dom" />
/**
 * The page's calls to the server: JSON reads with the session cookie, and actions with the session's
 * CSRF token in a header (the server also checks the Origin).
 */
import type { SessionInfo } from '../api-types.js';
import { h, fill } from './dom.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  const body = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new ApiError(res.status, body.error ?? `${res.status}`);
  return body;
}

let session: SessionInfo | null = null;

export async function sessionInfo(): Promise<SessionInfo> {
  session ??= await api<SessionInfo>('/api/session');
  return session;
}

/** Asks for a confirmation in the page (a modal dialog element, not a browser prompt). */
export function confirmInPage(title: string, detail: string, verb: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'confirm' });
    const yes = h('button', { class: 'danger', type: 'button' }, verb);
    const no = h('button', { type: 'button' }, 'Cancel');
    fill(dialog, h('h2', null, title), h('p', null, detail), h('div', { class: 'buttons' }, no, yes));
    const done = (ok: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(ok);
    };
    yes.addEventListener('click', () => done(true));
    no.addEventListener('click', () => done(false));
    dialog.addEventListener('cancel', () => done(false));
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}

/**
 * Runs an action after a confirmation; the returned text says what happened. `allowRestart`: a run's
 * resume that restarts its host now (`runbook resume --allow-restart`), confirmed as such.
 */
export async function act(action: 'resume' | 'rollback' | 'relaunch', id: string, detail: string, options: { allowRestart?: boolean } = {}): Promise<string | null> {
  const s = await sessionInfo();
  const verb = options.allowRestart ? 'Resume and restart now' : { resume: 'Resume', rollback: 'Roll back', relaunch: 'Relaunch failed hosts' }[action];
  if (!(await confirmInPage(`${verb}: ${id}?`, detail, verb))) return null;
  const res = await fetch('/api/actions', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf },
    body: JSON.stringify({ action, id, ...(options.allowRestart ? { allowRestart: true } : {}) }),
  });
  const body = (await res.json().catch(() => ({}))) as { error?: string; pid?: number; seq?: number };
  if (!res.ok) return `refused: ${body.error ?? res.status}`;
  return `${verb} started (action ${body.seq}, process ${body.pid}); it is journaled in the console's actions.`;
}
