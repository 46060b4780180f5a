/// <reference lib="dom" />
/**
 * The first page: runs and fleets in one list, newest first, with filters (status, runbook, host,
 * time) and the count of each outcome among what is shown.
 */
import type { FleetRow, ListResponse, RunRow } from '../api-types.js';
import { api } from './api.js';
import { fill, h, route, when } from './dom.js';
import { toneOfLabel } from '../outcome.js';

type Item = RunRow | FleetRow;
type Filters = { status: string; runbook: string; host: string; since: string };

const filters: Filters = { status: '', runbook: '', host: '', since: '' };
const SINCE: Record<string, number> = { '': 0, '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3 };

/** The statuses shown in the filter: a fleet's, or a run's outcome. */
const statusOf = (i: Item) => (i.kind === 'fleet' ? i.status : i.outcome);

function matches(i: Item): boolean {
  if (filters.status && statusOf(i) !== filters.status && !(i.kind === 'fleet' && (i.counts[filters.status] ?? 0) > 0)) return false;
  if (filters.runbook && i.runbook !== filters.runbook) return false;
  if (filters.host) {
    const q = filters.host.toLowerCase();
    const names = i.kind === 'fleet' ? i.hostNames : [i.target, i.runId];
    if (!names.some((n) => n.toLowerCase().includes(q))) return false;
  }
  if (filters.since && i.startedAt && Date.now() - Date.parse(i.startedAt) > SINCE[filters.since]) return false;
  return true;
}

function select(name: keyof Filters, label: string, options: [string, string][], onChange: () => void): HTMLElement {
  const s = h('select', { 'aria-label': label, 'data-filter': name });
  for (const [value, text] of options) {
    const o = h('option', { value }, text);
    if (value === filters[name]) o.selected = true;
    s.appendChild(o);
  }
  s.addEventListener('change', () => {
    filters[name] = s.value;
    onChange();
  });
  return h('label', null, `${label} `, s);
}

type ActionEntry = { seq: number; at: string; action: string; id: string; of: 'run' | 'fleet'; event: string; exitCode?: number | null; fleetId?: string; detail?: string; who: { user: string; address: string; userAgent: string } };

export async function renderList(main: HTMLElement): Promise<void> {
  const [data, actions] = await Promise.all([api<ListResponse>('/api/list'), api<ActionEntry[]>('/api/actions')]);
  const body = h('div');
  const draw = () => {
    const shown = data.items.filter(matches);
    const counts: Record<string, number> = {};
    for (const i of shown) {
      if (i.kind === 'fleet') for (const [o, n] of Object.entries(i.counts)) counts[o] = (counts[o] ?? 0) + n;
      else counts[i.outcome] = (counts[i.outcome] ?? 0) + 1;
    }
    fill(
      body,
      h('p', { class: 'counts', id: 'counts' }, Object.keys(counts).length === 0 ? 'nothing to count' : Object.entries(counts).map(([o, n]) => h('span', { class: `chip o-${toneOfLabel(o)}` }, `${n} ${o}`))),
      shown.length === 0
        ? h('p', { class: 'empty' }, data.items.length === 0 ? `No runs or fleets in ${data.store} yet.` : 'Nothing matches these filters.')
        : h(
            'table',
            { class: 'list', id: 'list' },
            h('thead', null, h('tr', null, h('th', null, 'started'), h('th', null, 'kind'), h('th', null, 'id'), h('th', null, 'runbook'), h('th', null, 'target / hosts'), h('th', null, 'status'))),
            h('tbody', null, shown.map(rowOf)),
          ),
    );
  };
  const statuses = [...new Set(data.items.flatMap((i) => [statusOf(i), ...(i.kind === 'fleet' ? Object.keys(i.counts) : [])]))].sort();
  const runbooks = [...new Set(data.items.map((i) => i.runbook))].sort();
  const host = h('input', { type: 'search', placeholder: 'host contains…', 'aria-label': 'host', value: filters.host });
  host.addEventListener('input', () => {
    filters.host = host.value;
    draw();
  });
  fill(
    main,
    h('h1', null, 'Runs and fleets'),
    h(
      'form',
      { class: 'filters' },
      select('status', 'status', [['', 'any'], ...statuses.map((s): [string, string] => [s, s])], draw),
      select('runbook', 'runbook', [['', 'any'], ...runbooks.map((s): [string, string] => [s, s])], draw),
      h('label', null, 'host ', host),
      select('since', 'started', [['', 'any time'], ['1h', 'last hour'], ['24h', 'last 24 hours'], ['7d', 'last 7 days']], draw),
    ),
    body,
    actions.length
      ? [
          h('h2', null, 'Actions from this console'),
          h(
            'table',
            { class: 'list', id: 'actions' },
            h('thead', null, h('tr', null, h('th', null, 'when'), h('th', null, 'who'), h('th', null, 'action'), h('th', null, 'of'), h('th', null, 'event'))),
            h(
              'tbody',
              null,
              actions.slice(0, 10).map((a) =>
                h(
                  'tr',
                  null,
                  h('td', null, when(a.at)),
                  h('td', { title: a.who.userAgent }, `${a.who.user} from ${a.who.address}`),
                  h('td', null, a.action),
                  h('td', null, h('a', { href: route(a.of, a.id) }, a.id)),
                  h('td', null, a.event === 'ended' ? `ended, exit ${a.exitCode ?? '?'}` : a.event, a.fleetId ? [' — new fleet ', h('a', { href: route('fleet', a.fleetId) }, a.fleetId)] : null, a.detail && (a.event === 'refused' || (a.event === 'ended' && a.exitCode !== 0)) ? h('span', { class: 'why', 'data-detail': a.event }, `: ${a.detail}`) : null),
                ),
              ),
            ),
          ),
        ]
      : null,
  );
  draw();
}

const classOf = (outcome: string) => outcome.replace(/[^a-z]+/g, '-');

function rowOf(i: Item): HTMLElement {
  if (i.kind === 'fleet') {
    const summary = Object.entries(i.counts).map(([o, n]) => `${n} ${o}`).join(', ');
    return h(
      'tr',
      { 'data-fleet': i.fleetId },
      h('td', null, when(i.startedAt)),
      h('td', null, i.checkMode ? 'fleet (plan)' : 'fleet'),
      h('td', null, h('a', { href: route('fleet', i.fleetId) }, i.fleetId)),
      h('td', null, i.runbook),
      h('td', null, `${i.hosts} host(s)`),
      h('td', null, h('span', { class: `status s-${classOf(i.status)}` }, i.status), h('span', { class: 'detail' }, ` ${summary}`)),
    );
  }
  return h(
    'tr',
    { 'data-run': i.runId },
    h('td', null, when(i.startedAt)),
    h('td', null, 'run'),
    h('td', null, h('a', { href: route('run', i.runId) }, i.runId)),
    h('td', null, i.runbook),
    h('td', null, i.target),
    h('td', null, h('span', { class: `outcome o-${i.outcomeClass}` }, i.outcome), i.why ? h('span', { class: 'why' }, ` — ${i.why}`) : null),
  );
}
