/// <reference lib="dom" />
/**
 * The console's page: a router over three views (the list, a fleet, a run) and the live stream. Updates
 * arrive batched by the server (at most every 250 ms); the page applies each batch in one animation
 * frame, patching a fleet's rows in place, and reads a list or a run again at most every second.
 */
import type { UpdateEvent } from '../api-types.js';
import { ApiError, sessionInfo } from './api.js';
import { fill, h } from './dom.js';
import { renderFleet, type FleetPage } from './fleet.js';
import { renderList } from './list.js';
import { renderRun } from './run.js';

const main = document.getElementById('main')!;
let fleetPage: FleetPage | null = null;
let current = '';

/** Counters the tests and the bench read: updates received, rows applied. */
const stats = { updates: 0, rows: 0, renders: 0, applyMs: 0 };
(window as unknown as { runbookConsole: typeof stats }).runbookConsole = stats;

async function show(): Promise<void> {
  const hash = location.hash || '#/';
  current = hash;
  fleetPage = null;
  early = [];
  const [, view, id] = hash.split('/').map((p) => decodeURIComponent(p));
  // Drawn aside, then swapped in only if the page still shows this route (a slow read of the previous
  // route must not overwrite the next one).
  const next = h('div');
  let page: FleetPage | null = null;
  try {
    if (view === 'fleet' && id) page = await renderFleet(next, id);
    else if (view === 'run' && id) await renderRun(next, id);
    else await renderList(next);
  } catch (error) {
    fill(next, h('div', { class: 'error', role: 'alert' }, error instanceof ApiError && error.status === 401 ? 'Your session has ended: open the address runbook serve printed, with its token.' : `Cannot show this page: ${(error as Error).message}`));
  }
  if (current !== hash) return;
  fleetPage = page;
  if (page && early.length > 0) {
    page.apply(early.splice(0));
    // Some may be older than what the page read: the page reads its fleet again shortly.
    page.refresh();
  }
  early = [];
  main.replaceChildren(...next.childNodes);
  stats.renders += 1;
  document.body.dataset.view = view || 'list';
}

/** Reads the current page again, at most once a second (list and run pages). */
let again: ReturnType<typeof setTimeout> | null = null;
let lastShow = 0;
function reshow(): void {
  if (again) return;
  again = setTimeout(() => {
    again = null;
    lastShow = Date.now();
    const scroll = window.scrollY;
    void show().then(() => window.scrollTo(0, scroll));
  }, Math.max(0, 1000 - (Date.now() - lastShow)));
}

let queued: UpdateEvent[] = [];
/** Rows that arrived while a fleet page was being read. */
let early: UpdateEvent['rows'] = [];
function applyUpdates(): void {
  const t0 = performance.now();
  const batch = queued;
  queued = [];
  const rows = batch.flatMap((b) => b.rows);
  const fleets = new Set(batch.flatMap((b) => b.fleets));
  stats.rows += rows.length;
  const [, view, id] = current.split('/').map((p) => decodeURIComponent(p));
  if (view === 'fleet' && !fleetPage) {
    // The fleet page is being read: its rows are applied once it is drawn (they may be newer).
    early.push(...rows);
  } else if (fleetPage && view === 'fleet') {
    fleetPage.apply(rows);
    if (fleets.has(fleetPage.fleetId)) fleetPage.refresh();
  } else if (view === 'run') {
    if (rows.some((r) => r.runId === id)) reshow();
  } else if (rows.length > 0 || fleets.size > 0) reshow();
  stats.applyMs += performance.now() - t0;
}

function connect(): void {
  const live = document.getElementById('live')!;
  const events = new EventSource('/api/events');
  events.addEventListener('hello', (e) => {
    const { mode } = JSON.parse((e as MessageEvent<string>).data) as { mode: string };
    // watch (files) and listen (PostgreSQL's LISTEN/NOTIFY) push; poll means the server refused LISTEN.
    fill(live, mode === 'poll' ? '● live (polling every second: the store refused LISTEN)' : '● live');
    live.title = mode === 'watch' ? 'pushed as journal files change' : mode === 'listen' ? 'pushed by PostgreSQL LISTEN/NOTIFY as journal batches commit' : 'the listing is read every second';
    live.className = 'live on';
  });
  events.addEventListener('update', (e) => {
    stats.updates += 1;
    queued.push(JSON.parse((e as MessageEvent<string>).data) as UpdateEvent);
    if (queued.length === 1) requestAnimationFrame(applyUpdates);
  });
  events.addEventListener('error', () => {
    fill(live, '○ reconnecting…');
    live.className = 'live off';
  });
}

window.addEventListener('hashchange', () => {
  // A pending re-read was for the previous route.
  if (again) clearTimeout(again);
  again = null;
  void show();
});
void sessionInfo()
  .then((s) => fill(document.getElementById('store')!, s.store))
  .catch(() => undefined);
void show();
connect();
