/**
 * What the console's pages say about their actions, in Debian's Chromium (playwright-core, headless),
 * over `runbook serve --allow-actions` and runs the CLI made: a plan fleet's relaunch is confirmed as a
 * plan (nothing changes), a run awaiting its restart window offers "Resume and restart now" (not a
 * Resume that would only wait again) with advice that names the store, and the list says why an
 * action failed. Nothing is confirmed here: each dialog is cancelled, so nothing is started.
 *
 * Chromium is required: this file fails, not skips, when /usr/bin/chromium is missing (.ci/run installs it).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CLI, cli } from '../cli/run-cli.js';
import { tempDir } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';

let child: ChildProcess | undefined;
let browser: Browser;
let page: Page;
let base: string;
let state: string;
let planFleet: string;
let waiting: string;
let rollbackFailed: string;

test.before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  const dir = await tempDir();
  state = join(dir, 'state');
  const hosts = join(dir, 'fleet');
  assert.is((await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '2', '--out', hosts, '--downtime-ms', '0'])).code, 0);
  // host-2's first read fails: the plan finds it unreachable, a host to relaunch.
  const file = join(hosts, 'host-2.json');
  await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), faults: [{ op: 'registry.get', kind: 'permanent', times: 1 }] }));
  const plan = await cli(['plan', 'orchestrator-tls12', '--inventory', join(hosts, 'inventory.yaml'), '--state-dir', state]);
  assert.is(plan.code, 69, plan.stderr);
  [planFleet] = await readdir(join(state, 'fleets'));
  // A run whose restart is not allowed: it waits for its restart window (exit 75).
  const run = await cli(['run', 'orchestrator-tls12', '--target', `sim:${join(hosts, 'host-1.json')}`, '--param', 'allowRestart=false', '--param', 'pollIntervalMs=10', '--state-dir', state, '--json']);
  assert.is(run.code, 75, run.stderr);
  waiting = (JSON.parse(run.stdout.split('\n')[0]) as { runId: string }).runId;
  // A run whose rollback failed: its host went down for the restart and did not come back (exit 3).
  const gone = join(dir, 'gone.json');
  assert.is((await cli(['sim', 'create', '--preset', 'server-2016', '--out', gone, '--downtime-ms', '1000000000'])).code, 0);
  const failed = await cli(['run', 'orchestrator-tls12', '--target', `sim:${gone}`, '--param', 'restartTimeoutSeconds=1', '--param', 'pollIntervalMs=10', '--state-dir', state, '--json']);
  assert.is(failed.code, 3, failed.stderr);
  rollbackFailed = (JSON.parse(failed.stdout.split('\n')[0]) as { runId: string }).runId;
  // An action that failed, as the console journals it (test/console/actions.test.ts makes such entries).
  await mkdir(join(state, 'console'));
  const who = { user: 'op', address: '127.0.0.1', userAgent: 'test', session: 'abc' };
  await writeFile(
    join(state, 'console', 'actions.jsonl'),
    `${[
      { seq: 1, at: '2026-01-01T00:00:00.000Z', action: 'resume', id: waiting, of: 'run', who, event: 'started', pid: 1 },
      { seq: 2, at: '2026-01-01T00:00:01.000Z', action: 'resume', id: waiting, of: 'run', who, event: 'ended', pid: 1, exitCode: 2, detail: 'run is held by another driver → wait for it (console/action-1-resume.log)' },
    ].map((e) => JSON.stringify(e)).join('\n')}\n`,
  );

  child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--json', '--allow-actions', '--state-dir', state], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"serving"'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child!.on('close', (code) => reject(new Error(`serve exited ${code}`)));
  });
  base = url.slice(0, url.indexOf('/?'));
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-default-apps'] });
  page = await browser.newPage();
  await page.goto(url);
});

test.after(async () => {
  await browser?.close();
  // Only what this file started, by its handle (PID).
  if (child && child.exitCode === null && child.signalCode === null) {
    const closed = new Promise((r) => child!.once('close', r));
    child.kill('SIGTERM');
    await closed;
  }
});

/** The text of the confirmation a button opens, which is then cancelled (nothing is started). */
async function confirmationOf(selector: string): Promise<string> {
  await page.click(selector);
  await page.waitForSelector('dialog.confirm');
  const text = (await page.textContent('dialog.confirm'))!;
  await page.click('dialog.confirm button:not(.danger)');
  await page.waitForSelector('dialog.confirm', { state: 'detached' });
  return text;
}

test('relaunching the failed hosts of a plan is confirmed as a plan: runbook plan, nothing is changed and nothing restarts', async () => {
  await page.goto(`${base}/#/fleet/${encodeURIComponent(planFleet)}`);
  await page.waitForSelector('button[data-action="relaunch"]:not([disabled])');
  const text = await confirmationOf('button[data-action="relaunch"]');
  assert.match(text, /A new plan \(check mode: runbook plan\)/);
  assert.match(text, /nothing is changed and nothing restarts/);
  assert.not.match(text, /may restart/);
});

test('a run awaiting its restart window offers "Resume and restart now", confirmed as restarting the host now, and no Resume that would only wait again; its advice names the state directory', async () => {
  await page.goto(`${base}/#/run/${encodeURIComponent(waiting)}`);
  await page.waitForSelector('#advice');
  assert.is(await page.$('button[data-action="resume"]'), null, 'no plain Resume');
  assert.is(await page.textContent('button[data-action="resume-restart"]'), 'Resume and restart now');
  const text = await confirmationOf('button[data-action="resume-restart"]');
  assert.match(text, /Resume and restart now: /);
  assert.match(text, /restarts the host now \(runbook resume --allow-restart\)/);
  assert.ok((await page.textContent('#advice'))!.includes(`runbook resume ${waiting} --allow-restart --state-dir ${state}`));
});

test('a run whose rollback failed offers "Roll back", confirmed as retrying the undos that failed; its advice names the command', async () => {
  await page.goto(`${base}/#/run/${encodeURIComponent(rollbackFailed)}`);
  // The page of the run before may still show: wait for this run's.
  await page.waitForFunction((id) => document.querySelector('#advice')?.textContent?.includes(id), rollbackFailed);
  assert.match((await page.textContent('#run-outcome'))!, /rollback failed/i);
  assert.is(await page.textContent('button[data-action="rollback"]'), 'Roll back');
  const text = await confirmationOf('button[data-action="rollback"]');
  assert.match(text, /Roll back: /);
  assert.match(text, /The undos that failed are tried again \(runbook rollback\)/);
  const advice = (await page.textContent('#advice'))!;
  assert.ok(advice.includes(`runbook rollback ${rollbackFailed} --state-dir ${state}`), advice);
  assert.match(advice, /retries the undos that failed/);
  assert.not.match(advice, /--force/, 'a plain rollback retries what failed: --force would undo values changed since the run too');
});

test('the list says why an action failed, not only its exit code', async () => {
  await page.goto(`${base}/#/`);
  await page.waitForSelector('#actions');
  assert.match((await page.textContent('#actions'))!, /ended, exit 2: run is held by another driver → wait for it \(console\/action-1-resume\.log\)/);
  const entries = JSON.parse(await readFile(join(state, 'console', 'actions.jsonl'), 'utf8').then((t) => `[${t.trim().split('\n').join(',')}]`)) as unknown[];
  assert.is(entries.length, 2, 'nothing was started: every confirmation was cancelled');
});

test.run();
