/// <reference lib="dom" />
/**
 * A host run's page: its steps on a timeline (the restart's gap drawn as downtime), retries and polls,
 * the diff (key, value, before → after, type, view), the handshake table before → after with its
 * evidence, errors with what to do, the files to download. A damaged journal is said so on top, and
 * the files are still offered.
 */
import type { RunView, StepView } from '../api-types.js';
import { act, api, sessionInfo } from './api.js';
import { fill, h, route, seconds, when } from './dom.js';
import { RESTART_NOW_DETAIL, RESUME_DETAIL, ROLLBACK_DETAIL, ROLLBACK_RETRY_DETAIL } from '../action-words.js';

export async function renderRun(main: HTMLElement, runId: string): Promise<void> {
  const r = await api<RunView>(`/api/runs/${encodeURIComponent(runId)}`);
  const session = await sessionInfo();
  const message = h('p', { class: 'message', id: 'action-message' });
  const actionButton = (label: string, action: 'resume' | 'rollback', detail: string, allowRestart = false) => {
    const b = h('button', { type: 'button', 'data-action': allowRestart ? 'resume-restart' : action }, label);
    b.addEventListener('click', async () => {
      const text = await act(action, r.runId, detail, { allowRestart });
      if (text) fill(message, text);
    });
    return b;
  };
  const resumable = r.status === 'awaiting-resume' || r.status === 'running';
  // Waiting for its restart window, a run resumed without --allow-restart would only wait again.
  const restartWindow = r.outcomeId === 'awaiting-restart-window';
  // A run whose rollback failed: `runbook rollback` retries the undos that failed (the CLI and status say so).
  const undoable = !r.checkMode && ['succeeded', 'awaiting-resume', 'running', 'rollback-failed'].includes(r.status);
  fill(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Runs and fleets'), r.fleetId ? [' › ', h('a', { href: route('fleet', r.fleetId) }, `fleet ${r.fleetId}`)] : null),
    h('h1', null, r.host ? `Host ${r.host}` : `Run ${r.runId}`),
    r.damaged ? h('div', { class: 'damaged', id: 'damaged', role: 'alert' }, h('strong', null, 'This run\'s journal is damaged: '), r.damaged) : null,
    r.damaged
      ? h('p', null, h('span', { class: `outcome o-${r.outcomeClass}`, id: 'run-outcome' }, r.outcome))
      : h(
      'p',
      null,
      h('span', { class: `outcome o-${r.outcomeClass}`, id: 'run-outcome' }, r.outcome),
      ` · ${r.runbook} → `,
      h('span', { class: 'target' }, r.target),
      r.checkMode ? ' · plan (nothing changed)' : '',
      ` · ${when(r.startedAt)} → ${when(r.endedAt)} (${seconds(r.startedAt, r.endedAt)})`,
    ),
    r.error ? h('div', { class: 'error', id: 'run-error' }, h('strong', null, `${r.error.code}: `), r.error.message) : null,
    r.reason && !r.error ? h('p', { class: 'reason' }, r.reason) : null,
    r.advice ? h('p', { class: 'advice', id: 'advice' }, h('strong', null, 'What to do: '), r.advice) : null,
    session.allowActions && (resumable || undoable)
      ? h('p', { class: 'actions' }, resumable ? (restartWindow ? actionButton('Resume and restart now', 'resume', RESTART_NOW_DETAIL, true) : actionButton('Resume', 'resume', RESUME_DETAIL)) : null, undoable ? actionButton('Roll back', 'rollback', r.status === 'rollback-failed' ? ROLLBACK_RETRY_DETAIL : ROLLBACK_DETAIL) : null)
      : null,
    message,
    r.steps.length ? [h('h2', null, 'Timeline'), timeline(r)] : null,
    r.steps.length ? [h('h2', null, 'Steps'), stepsTable(r.steps)] : null,
    diff(r.steps),
    handshakes(r),
    r.remaining.length
      ? [h('h2', null, 'Still changed on the host'), h('table', { class: 'diff' }, h('thead', null, h('tr', null, h('th', null, 'key'), h('th', null, 'value'), h('th', null, 'before → now'))), h('tbody', null, r.remaining.map((c) => h('tr', null, h('td', null, c.target), h('td', null, c.field), h('td', null, `${c.before || '(absent)'} → ${c.after || '(absent)'}`, c.maybe ? h('span', { class: 'maybe' }, ' (may have been written)') : null)))))]
      : null,
    r.params.length ? [h('h2', null, 'Parameters'), h('table', { class: 'params' }, h('tbody', null, r.params.map((p) => h('tr', null, h('th', null, p.name), h('td', null, p.value)))))] : null,
    [h('h2', null, 'Files'), r.files.length ? h('ul', { class: 'files', id: 'files' }, r.files.map((f) => h('li', null, h('a', { href: `/api/runs/${encodeURIComponent(r.runId)}/files/${encodeURIComponent(f)}`, download: f.split('/').pop() ?? f }, f)))) : h('p', { class: 'muted' }, 'No reports or undo files yet.')],
  );
}

function timeline(r: RunView): HTMLElement {
  // Only a run under way grows with the clock: one whose driver is gone (or that ended) stops where its journal does.
  const live = r.status === 'running';
  const now = live ? Date.now() : Date.parse(r.endedAt);
  const t0 = Date.parse(r.startedAt);
  const ends = r.steps.map((s) => Date.parse(s.endedAt ?? '')).filter(Number.isFinite);
  const t1 = Math.max(Date.parse(r.endedAt) || 0, ...ends, t0 + 1);
  const span = t1 - t0;
  const pct = (t: number) => `${(((t - t0) / span) * 100).toFixed(3)}%`;
  const width = (a: number, b: number) => `${Math.max(0.4, ((b - a) / span) * 100).toFixed(3)}%`;
  const lanes = r.steps.map((s) => {
    const lane = h('div', { class: 'lane', 'data-step': s.id });
    const a = Date.parse(s.startedAt ?? '');
    const b = Date.parse(s.endedAt ?? '') || (s.status === 'running' ? now : NaN);
    if (Number.isFinite(a) && Number.isFinite(b)) {
      const bar = h('div', { class: `bar c-${s.status}`, title: `${s.id}: ${s.status}, ${seconds(s.startedAt, s.endedAt)}` });
      bar.style.left = pct(a);
      bar.style.width = width(a, b);
      lane.appendChild(bar);
    }
    if (s.downtime) {
      const da = Date.parse(s.downtime.from);
      const db = Date.parse(s.downtime.to) || now;
      const gap = h('div', { class: 'downtime', id: 'downtime', title: 'the host was restarting: unreachable' }, `downtime ${seconds(s.downtime.from, s.downtime.to || new Date(now).toISOString())}${s.downtime.to || live ? '' : ' (no answer recorded before the run stopped)'} · ${s.downtime.polls} poll(s)`);
      gap.style.left = pct(da);
      gap.style.width = width(da, db);
      lane.appendChild(gap);
    }
    return h('div', { class: 'row' }, h('span', { class: 'label' }, s.id), lane, h('span', { class: 'dur' }, seconds(s.startedAt, s.endedAt)));
  });
  return h('div', { class: 'timeline', id: 'timeline' }, lanes, h('p', { class: 'muted' }, `${when(r.startedAt)} → ${when(r.endedAt)}; hatched: the restart's downtime (host unreachable, polled until it answered)`));
}

function stepsTable(steps: StepView[]): HTMLElement {
  return h(
    'table',
    { class: 'steps', id: 'steps' },
    h('thead', null, h('tr', null, h('th', null, 'step'), h('th', null, 'kind'), h('th', null, 'status'), h('th', null, 'round trips'), h('th', null, 'polls'), h('th', null, 'retries'), h('th', null, 'summary'))),
    h(
      'tbody',
      null,
      steps.map((s) => [
        h(
          'tr',
          { 'data-step': s.id },
          h('th', null, s.id),
          h('td', null, s.kind),
          h('td', { class: `cell c-${s.status}` }, s.status),
          h('td', null, s.roundTrips),
          h('td', null, s.pollRoundTrips),
          h('td', null, s.retries),
          h('td', null, s.summary, s.compensation ? h('div', { class: 'muted' }, `undo: ${s.compensation.status} — ${s.compensation.detail}`) : null),
        ),
        s.attempts.length || s.error
          ? h(
              'tr',
              { class: 'attempts' },
              h('td', null),
              h(
                'td',
                { class: 'error-cell', 'data-colspan': '6' },
                s.attempts.map((a) => h('div', null, `attempt ${a.attempt} of ${a.phase} at ${when(a.at)}: ${a.code}: ${a.message}${a.willRetry ? ' — retried' : ''}`)),
                s.error ? h('div', { class: 'error' }, `${s.error.code}: ${s.error.message}`) : null,
              ),
            )
          : null,
      ]),
    ),
  );
}

function diff(steps: StepView[]): HTMLElement[] | null {
  const rows = steps.flatMap((s) => s.changes.filter((c) => c.action !== 'run').map((c) => ({ step: s.id, ...c })));
  if (rows.length === 0) return null;
  return [
    // Counted as the CLI counts them: values, and whole keys apart.
    h('h2', null, `Diff (${valuesAndKeys(rows.filter((c) => !c.key).length, rows.filter((c) => c.key).length)})`),
    h(
      'table',
      { class: 'diff', id: 'diff' },
      h('thead', null, h('tr', null, h('th', null, 'step'), h('th', null, 'key'), h('th', null, 'value'), h('th', null, 'before → after'), h('th', null, 'type'), h('th', null, 'view'), h('th', null, 'action'))),
      h(
        'tbody',
        null,
        rows.map((c) =>
          h('tr', null, h('td', null, c.step), h('td', { class: 'key' }, c.target.replace(/ \(\d\d-bit view\)$/, '')), h('td', null, c.field), h('td', null, h('span', { class: 'before' }, c.before || '(absent)'), ' → ', h('span', { class: 'after' }, c.after || '(absent)')), h('td', null, c.type), h('td', null, c.view), h('td', null, c.action, c.maybe ? h('span', { class: 'maybe' }, ' (may have been written)') : null)),
        ),
      ),
    ),
  ];
}

/** `26 value(s), 15 key(s)`: the keys only when there are any (the CLI's words). */
function valuesAndKeys(values: number, keys: number): string {
  return `${values} value(s)${keys > 0 ? `, ${keys} key(s)` : ''}`;
}

function handshakes(r: RunView): (HTMLElement | null)[] | null {
  const t = r.handshakes;
  if (!t) return null;
  return [
    h('h2', null, 'TLS handshakes: before → after'),
    h(
      'table',
      { class: 'handshakes', id: 'handshakes' },
      h('thead', null, h('tr', null, h('th', null, 'endpoint'), h('th', null, 'protocol'), t.columns.map((c) => h('th', null, `${c.stepId} (${c.verdict})`)))),
      h(
        'tbody',
        null,
        t.rows.map((row) =>
          h('tr', null, h('td', null, row.endpoint), h('td', null, row.protocol), row.cells.map((c) => (c ? h('td', { class: `hs-${c.outcome}` }, h('strong', null, c.outcome), h('div', { class: 'evidence' }, c.evidence)) : h('td', null, '-')))),
        ),
      ),
    ),
    t.notTestable ? h('p', { class: 'muted' }, `Not testable by a handshake: ${t.notTestable}`) : null,
  ];
}
