/**
 * The console in Debian's Chromium (playwright-core, headless), over a state directory where a
 * simulated fleet is running: what a person sees. The matrix fills in live; a failed host's row says
 * why; a host's page shows its timeline with the restart's downtime, its diff and its handshake table;
 * relaunching the failed hosts works with --allow-actions (after a confirmation in the page) and is
 * refused without the token and without the flag; a host target holding markup renders as text; a
 * missing or wrong token and a cross-site POST are refused; a damaged journal is shown as such. The
 * screenshots of docs/console.md are made here (docs/img/console-*.png).
 *
 * Chromium is required: this file fails, not skips, when /usr/bin/chromium is missing (.ci/run installs it).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CLI, cli } from '../cli/run-cli.js';
import { tempDir } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const XSS = '<img src=x onerror=alert(1)>';
const DOCS_IMG = join(import.meta.dirname, '..', '..', 'docs', 'img');

type Serve = { url: string; base: string; child: ChildProcess; exited: Promise<number | null>; actionEnded: Promise<Record<string, unknown>> };
const started: ChildProcess[] = [];

function serve(state: string, extra: string[] = []): Promise<Serve> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--json', '--state-dir', state, ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    started.push(child);
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    // `serve --json` writes a line when it serves, then one per action's journal entry.
    let endedAction!: (entry: Record<string, unknown>) => void;
    const actionEnded = new Promise<Record<string, unknown>>((r) => (endedAction = r));
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = JSON.parse(out.slice(0, nl)) as { event: string; url?: string; entry?: Record<string, unknown> };
        out = out.slice(nl + 1);
        if (line.event === 'serving') resolve({ url: line.url!, base: line.url!.slice(0, line.url!.indexOf('/?')), child, exited, actionEnded });
        if (line.event === 'action' && line.entry?.event === 'ended') endedAction(line.entry);
      }
    });
    void exited.then((code) => reject(new Error(`serve exited ${code}`)));
  });
}

let dir: string;
let state: string;
let inventory: string;
let browser: Browser;
let page: Page;
let withActions: Serve;
let readOnly: Serve;
let fleetRun: ChildProcess;
let fleetDone: Promise<number | null>;
let fleetId: string;
const dialogs: string[] = [];

test.before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  dir = await tempDir();
  state = join(dir, 'state');
  const hosts = join(dir, 'fleet');
  const made = await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '3', '--out', hosts, '--downtime-ms', '600']);
  assert.is(made.code, 0, made.stderr);
  // The canary restarts slowly: time to watch the matrix fill in. host-2 fails once, mid-change (rolled back).
  const edit = async (file: string, change: (h: Record<string, unknown>) => void) => {
    const h = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    change(h);
    await writeFile(file, JSON.stringify(h));
  };
  await edit(join(hosts, 'host-1.json'), (h) => (h.downtimeMs = 2500));
  await edit(join(hosts, 'host-2.json'), (h) => (h.faults = [{ op: 'registry.set', keyContains: 'TLS 1.2', kind: 'permanent', times: 1 }]));
  await copyFile(join(hosts, 'host-3.json'), join(hosts, `${XSS}.json`));
  // host-4 is a host (one whose file cannot be used is refused before the fleet starts) whose first read
  // fails: unreachable, nothing changed.
  await copyFile(join(hosts, 'host-3.json'), join(hosts, `${XSS}-broken.json`));
  await edit(join(hosts, `${XSS}-broken.json`), (h) => (h.faults = [{ op: 'os.info', kind: 'permanent', times: 1000 }]));
  inventory = join(hosts, 'inventory.yaml');
  await writeFile(
    inventory,
    JSON.stringify({
      hosts: [
        { name: 'host-1', target: 'sim:host-1.json', groups: ['canary'] },
        { name: 'host-2', target: 'sim:host-2.json', groups: ['servers'] },
        { name: 'host-3', target: 'sim:host-3.json', groups: ['servers'] },
        { name: 'host-4', target: `sim:${XSS}-broken.json`, groups: ['servers'] },
        { name: 'markup', target: `sim:${XSS}.json`, groups: ['servers'] },
      ],
      waves: [{ name: 'canary', groups: ['canary'] }, { name: 'rest', groups: ['servers'] }],
    }),
  );
  await mkdir(join(state, 'runs'), { recursive: true });
  [withActions, readOnly] = await Promise.all([serve(state, ['--allow-actions']), serve(state)]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-default-apps'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await mkdir(DOCS_IMG, { recursive: true });
});

test.after(async () => {
  await browser?.close();
  // Only what this file started, by its handle (PID).
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await Promise.all(started.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('close', r)))));
});

const outcomes = (p: Page) => p.$$eval('table.matrix tbody tr', (rows) => Object.fromEntries(rows.map((r) => [r.getAttribute('data-host'), r.querySelector('td.outcome')?.textContent ?? ''])));

test('the token opens the list; the fleet appears and its matrix fills in live, without reloading the page', async () => {
  await page.goto(withActions.url);
  assert.is(new URL(page.url()).search, '', 'the token left the address bar');
  await page.waitForSelector('h1:text("Runs and fleets")');
  fleetRun = spawn(process.execPath, [CLI, 'run', 'orchestrator-tls12', '--inventory', inventory, '--state-dir', state, '--param', 'pollIntervalMs=50', '--max-failures', '3', '--concurrency', '4'], { stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } });
  started.push(fleetRun);
  fleetDone = new Promise((r) => fleetRun.on('close', (code) => r(code)));
  const link = await page.waitForSelector('a[href^="#/fleet/"]', { timeout: 15_000 });
  fleetId = decodeURIComponent((await link.getAttribute('href'))!.slice('#/fleet/'.length));
  await link.click();
  await page.waitForSelector('table.matrix tbody tr[data-host="markup"]');
  const first = await outcomes(page);
  const renders = await page.evaluate(() => (window as unknown as { runbookConsole: { renders: number } }).runbookConsole.renders);
  assert.ok(Object.values(first).some((o) => o === 'running' || o === 'not yet started'), `the fleet was under way when the page opened: ${JSON.stringify(first)}`);
  await page.screenshot({ path: join(DOCS_IMG, 'console-fleet-live.png') });
  await page.waitForFunction(() => document.querySelector('tr[data-host="host-3"] td.outcome')?.textContent === 'changed', null, { timeout: 25_000 });
  assert.is(await fleetDone, 1, 'the fleet ends failed (one host rolled back, one unreachable)');
  await page.waitForFunction(() => document.querySelector('tr[data-host="host-4"] td.outcome')?.textContent === 'unreachable — nothing was changed' && document.getElementById('fleet-status')?.textContent === 'failed', null, { timeout: 10_000 });
  const last = await outcomes(page);
  assert.equal(last, { 'host-1': 'changed', 'host-2': 'failed and rolled back', 'host-3': 'changed', 'host-4': 'unreachable — nothing was changed', markup: 'changed' });
  const live = await page.evaluate(() => (window as unknown as { runbookConsole: { renders: number; updates: number } }).runbookConsole);
  assert.is(live.renders, renders, 'rows were patched in place, the page was not drawn again');
  assert.ok(live.updates > 0);
});

test('a failed host\'s row says why (markup in it shown as text), in words as well as colour; the budget says what it counted', async () => {
  const why = await page.textContent('tr[data-host="host-2"] td.why');
  assert.match(why!, /injected permanent fault on registry\.set .*TLS 1\.2/);
  const unreachable = (await page.textContent('tr[data-host="host-4"] td.why'))!;
  assert.match(unreachable, /injected permanent fault on os\.info/);
  assert.ok(unreachable.includes(`${XSS}-broken.json`), 'the error naming the target is shown as text');
  assert.is(await page.$$eval('img', (i) => i.length), 0);
  assert.is(await page.getAttribute('tr[data-host="host-2"] td.outcome', 'class'), 'outcome o-bad');
  assert.match((await page.textContent('#budget'))!, /Failure budget: 2 failed of 3 tolerated/);
  assert.match((await page.textContent('#counts'))!, /3 changed.*1 failed and rolled back.*1 unreachable/);
  await page.screenshot({ path: join(DOCS_IMG, 'console-fleet.png'), fullPage: true });
});

test('clicking a host shows its timeline with the restart\'s downtime, its diff and the handshake table before → after', async () => {
  await page.click('tr[data-host="host-1"] th.host a');
  await page.waitForSelector('#timeline');
  const gap = await page.textContent('#downtime');
  assert.match(gap!, /^downtime (2|3)\.\d\d s · \d+ poll\(s\)$/, 'the canary was down for its 2.5 s restart');
  const diff = await page.$$eval('#diff tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
  assert.is(diff.length, 41, "20 SCHANNEL values and 6 .NET (SchUseStrongCrypto in both views first, Microsoft's current page), and the 15 SCHANNEL keys the run created");
  assert.is(await page.$eval('#diff', (t) => t.previousElementSibling?.textContent), 'Diff (26 value(s), 15 key(s))', 'counted as the CLI counts them: values, and keys apart');
  assert.is(diff.filter((r) => r[2] === '(key)' && r[3] === '(absent) → created').length, 15, 'each created key a row of its own');
  assert.ok(diff.some((r) => r[1]!.endsWith('Protocols\\TLS 1.2\\Server') && r[2] === 'Enabled' && r[3] === '(absent) → 0x00000001 (1)' && r[4] === 'REG_DWORD' && r[5] === '64-bit'), JSON.stringify(diff.slice(0, 3)));
  const hs = await page.$$eval('#handshakes tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
  const tls10 = hs.find((r) => r[0] === 'winrm-https' && r[1] === 'TLS 1.0')!;
  assert.match(tls10[2]!, /^accepted.*handshake completed: TLSv1 /);
  assert.match(tls10[3]!, /^refused.*protocol version/);
  assert.match((await page.textContent('#steps tr[data-step="restart"]'))!, /restarted: booted/);
  assert.ok((await page.$$eval('#files a', (a) => a.map((x) => x.textContent))).includes('undo.reg'));
  await page.screenshot({ path: join(DOCS_IMG, 'console-run.png') });
  await (await page.$('#diff'))!.screenshot({ path: join(DOCS_IMG, 'console-diff.png') });
  await (await page.$('#handshakes'))!.screenshot({ path: join(DOCS_IMG, 'console-handshakes.png') });
});

test('a target holding markup renders as text: no element is made of it, no script runs', async () => {
  await page.goto(`${withActions.base}/#/run/${encodeURIComponent(`${fleetId}.markup`)}`);
  await page.waitForSelector('h1:text("Host markup")');
  assert.ok((await page.textContent('.target'))!.endsWith(`${XSS}.json`));
  assert.is(await page.$$eval('img', (i) => i.length), 0);
  assert.equal(dialogs, [], 'no dialog fired');
});

test('relaunching the failed hosts: refused without the token and without --allow-actions; with both, after a confirmation, a new fleet runs them and the action is journaled with who and when', async () => {
  // Without the token: no session, nothing started.
  const anonymous = await fetch(`${withActions.base}/api/actions`, { method: 'POST', headers: { 'content-type': 'application/json', origin: withActions.base }, body: JSON.stringify({ action: 'relaunch', id: fleetId }) });
  assert.is(anonymous.status, 401);
  // Without the flag: the page says actions are off, and the API refuses.
  const other = await browser.newPage();
  await other.goto(readOnly.url);
  await other.goto(`${readOnly.base}/#/fleet/${encodeURIComponent(fleetId)}`);
  await other.waitForSelector('text=Actions are off');
  assert.is(await other.$('button[data-action="relaunch"]'), null);
  const token = new URL(readOnly.url).searchParams.get('token');
  const off = await fetch(`${readOnly.base}/api/actions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ action: 'relaunch', id: fleetId }) });
  assert.is(off.status, 403);
  await other.close();

  await page.goto(`${withActions.base}/#/fleet/${encodeURIComponent(fleetId)}`);
  await page.click('button[data-action="relaunch"]');
  await page.waitForSelector('dialog.confirm');
  await page.screenshot({ path: join(DOCS_IMG, 'console-relaunch.png') });
  await page.click('dialog.confirm button.danger');
  await page.waitForFunction(() => /Relaunch failed hosts started/.test(document.getElementById('action-message')?.textContent ?? ''));
  const journal = async () => (await readFile(join(state, 'console', 'actions.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const first = (await journal())[0];
  assert.is(first.action, 'relaunch');
  assert.is(first.id, fleetId);
  assert.equal(first.hosts, ['host-2', 'host-4']);
  assert.match(String(first.at), /^\d{4}-\d\d-\d\dT/);
  assert.match(String((first.who as { address: string }).address), /127\.0\.0\.1/);
  assert.match(String((first.who as { userAgent: string }).userAgent), /Chrome/);
  // The new fleet, in the list; host-2's fault was spent, so it goes through this time.
  await page.goto(`${withActions.base}/#/`);
  await page.waitForFunction((id) => [...document.querySelectorAll('tr[data-fleet]')].some((r) => r.getAttribute('data-fleet') !== id), fleetId, { timeout: 15_000 });
  const relaunched = await page.$$eval('tr[data-fleet]', (rows, id) => rows.map((r) => r.getAttribute('data-fleet')).filter((f) => f !== id), fleetId);
  await page.goto(`${withActions.base}/#/fleet/${encodeURIComponent(relaunched[0]!)}`);
  await page.waitForFunction(() => document.querySelector('tr[data-host="host-2"] td.outcome')?.textContent === 'changed', null, { timeout: 20_000 });
  assert.equal(Object.keys(await outcomes(page)).sort(), ['host-2', 'host-4'], 'only the failed hosts ran again');
  // The relaunch's process (started by the console in a group of its own) ends before this test does.
  // `serve --json` tells when the action's process closed: awaited, not polled.
  assert.is((await withActions.actionEnded).action, 'relaunch');
  const ended = (await journal()).find((e) => e.event === 'ended')!;
  assert.equal([ended.action, ended.fleetId, ended.exitCode], ['relaunch', relaunched[0], 69], 'host-4 is still unreachable: the relaunched fleet exits 69 (unreachable, as the CLI)');
});

test('a missing or wrong token is refused; a cross-site POST is refused even with the session cookie', async () => {
  const stranger = await browser.newContext();
  const p = await stranger.newPage();
  const res = await p.goto(`${withActions.base}/`);
  assert.is(res!.status(), 401);
  assert.match((await p.textContent('h1'))!, /Token needed/);
  assert.is((await p.goto(`${withActions.base}/?token=not-the-token`))!.status(), 401);
  assert.is((await p.goto(`${withActions.base}/api/list`))!.status(), 401);
  await stranger.close();

  // A page of another origin on this machine (same site: the cookie goes along), posting to the console.
  const before = (await readFile(join(state, 'console', 'actions.jsonl'), 'utf8')).length;
  // A form (a navigation: no CORS in the way) whose text/plain body reads as JSON, submitted on load
  // by a script of that page.
  const body = JSON.stringify({ action: 'rollback', id: fleetId, pad: '' }).slice(0, -2);
  const html = `<!doctype html><form method="POST" enctype="text/plain" action="${withActions.base}/api/actions"><input name='${body}' value='"}'></form><script>document.forms[0].submit()</script>`;
  const evil = createServer((_req, res) => res.end(html));
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  try {
    const answered = page.waitForResponse((r) => r.url() === `${withActions.base}/api/actions`);
    await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
    const answer = await answered;
    assert.is(answer.status(), 403);
    assert.match(await answer.text(), /cross-site request refused \(Origin http:\/\/127\.0\.0\.1:\d+\)/);
  } finally {
    evil.closeAllConnections();
    await new Promise((r) => evil.close(r));
  }
  assert.is((await readFile(join(state, 'console', 'actions.jsonl'), 'utf8')).length, before, 'nothing started');
});

test('a damaged journal: the list and the run\'s page say so, and the rest of the console works', async () => {
  const runs = join(state, 'runs');
  await cp(join(runs, `${fleetId}.host-3`), join(runs, 'damaged-run'), { recursive: true });
  const file = join(runs, 'damaged-run', 'journal.jsonl');
  const lines = (await readFile(file, 'utf8')).split('\n');
  lines[4] = lines[4].replace('"seq":5', '"seq":5,"tampered":true');
  await writeFile(file, lines.join('\n'));
  await page.goto(`${withActions.base}/#/`);
  await page.waitForSelector('tr[data-run="damaged-run"]');
  assert.match((await page.textContent('tr[data-run="damaged-run"]'))!, /journal damaged — corrupt journal record/);
  assert.ok((await page.$$('tr[data-fleet]')).length >= 2, 'the fleets are still listed');
  await page.click('a[href="#/run/damaged-run"]');
  await page.waitForSelector('#damaged');
  assert.match((await page.textContent('#damaged'))!, /This run's journal is damaged: corrupt journal record .*journal\.jsonl:5/);
  assert.ok((await page.$$eval('#files a', (a) => a.map((x) => x.textContent))).includes('report.md'), 'its files are still offered');
  await page.screenshot({ path: join(DOCS_IMG, 'console-damaged.png') });
  await page.goto(`${withActions.base}/#/`);
  await page.waitForSelector('#counts');
  // The actions taken from the console, with who and when.
  assert.match((await page.textContent('#actions'))!, /relaunch.*ended, exit 69 — new fleet/);
  assert.match((await page.textContent('#actions'))!, / from 127\.0\.0\.1/);
  await page.screenshot({ path: join(DOCS_IMG, 'console-list.png'), fullPage: true });
  assert.ok((await readdir(DOCS_IMG)).filter((f) => f.startsWith('console-')).length >= 8);
});

test.run();
