/// <reference lib="dom" />
/**
 * A fleet's page: its waves in order, a host × step matrix with each host's graduated outcome in colour
 * and in words (and why a failed host failed), the failure budget and what it stopped. Live updates
 * patch the rows they carry in place; the header is read again at most every two seconds.
 */
import type { FleetHost, FleetView, RunRow } from '../api-types.js';
import { act, api, sessionInfo } from './api.js';
import { fill, h, route, when } from './dom.js';
import { RELAUNCHED } from '../outcome.js';
import { relaunchDetail } from '../action-words.js';

const CELL: Record<string, string> = { succeeded: '✓', skipped: '=', planned: '~', failed: '✗', compensated: '↺', 'compensation-failed': '‼', running: '…', pending: '·', '-': '' };
const CELL_WORD: Record<string, string> = { succeeded: 'succeeded', skipped: 'skipped (nothing to do)', planned: 'planned', failed: 'failed', compensated: 'undone', 'compensation-failed': 'undo failed', running: 'running', pending: 'pending', '-': 'not reached' };

export type FleetPage = { fleetId: string; apply(rows: RunRow[]): void; refresh(): void };

export async function renderFleet(main: HTMLElement, fleetId: string): Promise<FleetPage> {
  let view = await api<FleetView>(`/api/fleets/${encodeURIComponent(fleetId)}`);
  const session = await sessionInfo();
  const rows = new Map<string, { data: FleetHost; tr: HTMLTableRowElement }>();
  const header = h('section', { class: 'fleet-head' });
  const message = h('p', { class: 'message', id: 'action-message' });

  const drawHeader = () => {
    const all = [...rows.values()].map((r) => r.data);
    const counts: Record<string, number> = {};
    for (const r of all) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
    const b = view.budget;
    const hasFailed = all.some((r) => (RELAUNCHED as readonly string[]).includes(r.outcomeId));
    fill(
      header,
      h('h1', null, `Fleet ${view.fleetId}`),
      h('p', null, `${view.runbook}${view.checkMode ? ' (plan: nothing is changed)' : ''} · ${all.length} host(s) in ${view.waves.length} wave(s), ${view.concurrency} at a time · started ${when(view.startedAt)} · `, h('span', { class: `status s-${view.status}`, id: 'fleet-status' }, view.status)),
      h('p', { class: 'counts', id: 'counts' }, Object.entries(counts).map(([o, n]) => h('span', { class: `chip o-${outcomeClassOf(o, all)}` }, `${n} ${o}`))),
      h(
        'p',
        { class: b.spent ? 'budget spent' : 'budget', id: 'budget' },
        `Failure budget: ${b.failures} failed of ${b.maxFailures} tolerated`,
        b.spent ? ` — spent: no host started after it; ${b.stopped.length} host(s) stopped: ${b.stopped.join(', ') || 'none'}` : '',
      ),
      view.reports.length ? h('p', null, 'Reports: ', view.reports.map((r) => [h('a', { href: `/api/fleets/${encodeURIComponent(fleetId)}/reports/${r}`, download: r }, r), ' '])) : null,
      session.allowActions
        ? h(
            'p',
            { class: 'actions' },
            button('Relaunch failed hosts', 'relaunch', !hasFailed || view.status === 'running', relaunchDetail(view.checkMode)),
            button('Resume fleet', 'resume', view.status === 'running', 'Hosts under way resume from their journals; hosts not started start now.'),
            button('Roll back fleet', 'rollback', view.status === 'running', 'Every host this fleet changed is rolled back, the last wave first.'),
          )
        : h('p', { class: 'muted' }, 'Actions are off (start the console with --allow-actions to resume, roll back or relaunch from here).'),
      message,
    );
  };
  const button = (label: string, action: 'resume' | 'rollback' | 'relaunch', disabled: boolean, detail: string) => {
    const b = h('button', { type: 'button', 'data-action': action }, label);
    b.disabled = disabled;
    b.addEventListener('click', async () => {
      const text = await act(action, fleetId, detail);
      if (text) fill(message, text);
    });
    return b;
  };

  const drawRow = (tr: HTMLTableRowElement, r: FleetHost) => {
    tr.className = `o-${r.outcomeClass}`;
    fill(
      tr,
      h('th', { class: 'host' }, NO_RUN.has(r.status) ? r.name : h('a', { href: route('run', r.runId) }, r.name)),
      h('td', { class: `outcome o-${r.outcomeClass}`, 'data-outcome': r.outcome }, r.outcome),
      view.steps.map((s) => {
        const st = r.steps[s] ?? '-';
        return h('td', { class: `cell c-${st}`, title: `${s}: ${CELL_WORD[st] ?? st}` }, CELL[st] ?? st);
      }),
      h('td', { class: 'why' }, r.why ?? (r.currentStep && r.status === 'running' ? `at ${r.currentStep}` : '')),
    );
  };

  const waves = view.waves.map((w) =>
    h(
      'section',
      { class: 'wave' },
      h('h2', null, `Wave ${w.name}`, h('span', { class: 'muted' }, ` · ${w.hosts.length} host(s)`)),
      h(
        'table',
        { class: 'matrix', 'data-wave': w.name },
        h('thead', null, h('tr', null, h('th', null, 'host'), h('th', null, 'outcome'), view.steps.map((s) => h('th', { class: 'step', title: s }, s)), h('th', null, 'why / where'))),
        h(
          'tbody',
          null,
          w.hosts.map((r) => {
            const tr = h('tr', { 'data-host': r.name, 'data-run': r.runId });
            drawRow(tr, r);
            rows.set(r.runId, { data: r, tr });
            return tr;
          }),
        ),
      ),
    ),
  );
  fill(main, header, h('p', { class: 'legend' }, Object.entries(CELL_WORD).map(([k, v]) => h('span', { class: `cell c-${k}` }, `${CELL[k] || '□'} ${v}`))), waves);
  drawHeader();

  let refetch: ReturnType<typeof setTimeout> | null = null;
  let lastFetch = Date.now();
  const refresh = () => {
    if (refetch) return;
    refetch = setTimeout(async () => {
      refetch = null;
      lastFetch = Date.now();
      try {
        view = await api<FleetView>(`/api/fleets/${encodeURIComponent(fleetId)}`);
        for (const w of view.waves) for (const r of w.hosts) apply1(r);
        drawHeader();
      } catch {
        // the next update tries again
      }
    }, Math.max(0, 2000 - (Date.now() - lastFetch)));
  };
  const apply1 = (r: FleetHost) => {
    const known = rows.get(r.runId);
    if (!known) return;
    known.data = r;
    drawRow(known.tr, r);
  };
  return {
    fleetId,
    apply(update) {
      for (const r of update) {
        const known = rows.get(r.runId);
        if (known) apply1({ ...known.data, ...r, wave: known.data.wave, name: known.data.name });
      }
      drawHeader();
    },
    refresh,
  };
}

/** A host's statuses that have no run to link to (`reader.ts`: never started, unreachable, held by another run). */
const NO_RUN: ReadonlySet<string> = new Set(['pending', 'skipped', 'not-started', 'unreachable', 'held', 'refused']);

function outcomeClassOf(outcome: string, rows: FleetHost[]): string {
  return rows.find((r) => r.outcome === outcome)?.outcomeClass ?? 'wait';
}
