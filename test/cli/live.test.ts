/**
 * Live output on a terminal, seen on a small terminal (test/cli/terminal.ts) that wraps at its width
 * and takes stdout and stderr on one screen as a real one does: the block is redrawn in place, a notice
 * on stderr (Ctrl-C, an operator alert) lands above it and leaves no stale copy, and nothing wraps.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventEmitter } from 'eventemitter3';
import stringWidth from 'string-width';
import { RunEmitter } from '../../src/engine/events.js';
import type { RunResult } from '../../src/engine/types.js';
import type { FleetEvents, HostOutcome } from '../../src/fleet/types.js';
import { attachFleetOutput } from '../../src/cli/fleet-output.js';
import { liveBlock } from '../../src/cli/live.js';
import { notice } from '../../src/cli/notice.js';
import { attachRenderer } from '../../src/cli/run-output.js';
import { stopOnSignals } from '../../src/cli/signals.js';
import { fakeTerminal } from './terminal.js';

process.env.NO_COLOR = '1';

const count = (screen: string[], pattern: RegExp) => screen.filter((l) => pattern.test(l)).length;

test('a notice while a live block is shown lands above it, and the block is on screen once', () => {
  const term = fakeTerminal(40);
  let n = 0;
  const block = liveBlock(() => [`step one  ${n}`, `step two  ${n * 2}`, 'step three'], term);
  for (n = 1; n <= 3; n++) block.draw();
  notice('SIGINT: stopping at the next safe point (SIGINT again aborts at once)\n');
  for (n = 4; n <= 6; n++) block.draw();
  n = 6;
  block.done();
  term.stdout.write('Result: changed\n');
  assert.equal(term.screen(), [
    'SIGINT: stopping at the next safe point',
    '(SIGINT again aborts at once)',
    'step one  6',
    'step two  12',
    'step three',
    'Result: changed',
  ]);
});

function runEvents(events: RunEmitter, clock: { t: number }, steps: string[], target: string): void {
  events.emit('run:start', { runId: 'r1', runbook: 'orchestrator-tls12', target, checkMode: false, resumed: false, steps, mode: 'drive' });
  for (const [i, stepId] of steps.entries()) {
    for (const to of ['probing', 'planning', 'capturing', 'apply', 'verifying']) {
      clock.t += 100;
      events.emit('step:transition', { runId: 'r1', stepId, index: i, from: null, to });
    }
    if (stepId === 'restart') {
      events.emit('step:transition', { runId: 'r1', stepId, index: i, from: 'restart', to: 'awaitBoot' });
      for (let polls = 1; polls <= 5; polls++) events.emit('step:wait', { runId: 'r1', stepId, index: i, polls, deadline: new Date(600_000).toISOString(), waitingFor: 'boot time still 2026-12-03T20:57:30.385Z' });
    }
    if (i === 2) notice('\nSIGINT: stopping at the next safe point (SIGINT again aborts at once; the journal allows a resume)\n');
    events.emit('step:settled', { runId: 'r1', stepId, index: i, status: 'succeeded', summary: `${stepId}: 19 value(s) changed, 20 verified; TLS 1.3 left alone (off, not supported before Windows Server 2022)`, changes: [], roundTrips: 1 });
  }
  events.emit('run:end', { outcome: 'changed' } as RunResult);
}

test('at 40 columns a run on a terminal redraws its steps in place: no line wraps, no stale copy, the Ctrl-C notice above', async () => {
  const term = fakeTerminal(40, 30);
  const events = new RunEmitter();
  const clock = { t: 0 };
  const steps = ['preflight', 'schannel-東京サーバー', 'restart', 'tls-verify'];
  const stop = attachRenderer(events, 'tty', { stdout: term.stdout, stderr: term.stderr, now: () => clock.t, tickMs: 1e9 });
  await stop.ready;
  runEvents(events, clock, steps, 'winrm+https://admin@東京-サーバー01.example:5986');
  stop();
  const screen = term.screen();
  // The heading (longer than the terminal) and the notice wrap, as text written once may; the block never does.
  const block = screen.slice(screen.findIndex((l) => /preflight/.test(l)));
  assert.is(block.length, steps.length, screen.join('\n'));
  for (const id of ['preflight', 'schannel', 'restart', 'tls-verify']) assert.is(count(screen, new RegExp(`✔ ${id}`)), 1, `${id} once:\n${screen.join('\n')}`);
  assert.is(count(screen, /^SIGINT: stopping/), 1);
  assert.ok(screen.findIndex((l) => /^SIGINT/.test(l)) < screen.findIndex((l) => /preflight/.test(l)), 'the notice above the block');
});

test('a resumed run on a terminal shows the steps settled before the resume as they ended, not as not started', async () => {
  const term = fakeTerminal(80, 30);
  const events = new RunEmitter();
  const clock = { t: 10_000 };
  const stop = attachRenderer(events, 'tty', { stdout: term.stdout, stderr: term.stderr, now: () => clock.t, tickMs: 1e9 });
  await stop.ready;
  const steps = ['preflight', 'schannel', 'restart', 'tls-verify'];
  events.emit('run:start', {
    runId: 'r1', runbook: 'orchestrator-tls12', target: 'sim:host.json', checkMode: false, resumed: true, steps, mode: 'drive',
    settled: [
      { stepId: 'preflight', index: 0, status: 'succeeded', summary: 'all checks passed', changes: 0, tookMs: 800 },
      { stepId: 'schannel', index: 1, status: 'succeeded', summary: 'SCHANNEL protocols: 19 value(s) changed', changes: 19, tookMs: 1_200 },
    ],
  });
  clock.t += 100;
  events.emit('step:transition', { runId: 'r1', stepId: 'restart', index: 2, from: null, to: 'probing' });
  const screen = term.screen();
  stop();
  assert.ok(screen.some((l) => /✔ preflight +ok +0\.8s +all checks passed/.test(l)), screen.join('\n'));
  assert.ok(screen.some((l) => /✔ schannel +changed +1\.2s +SCHANNEL protocols: 19 value\(s\) changed/.test(l)), screen.join('\n'));
  assert.ok(screen.some((l) => /… restart +reading/.test(l)), screen.join('\n'));
  assert.ok(screen.some((l) => /· tls-verify/.test(l)), screen.join('\n'));
  assert.is(count(screen, /· (preflight|schannel)/), 0, 'no settled step shown as not started');
});

test('SIGINT while a run is shown: the stop notice goes through the live block (stopOnSignals → notice)', () => {
  const term = fakeTerminal(60);
  const block = liveBlock(() => ['  … schannel  applying  1.2s'], term);
  block.draw();
  let interrupted = 0;
  const detach = stopOnSignals({ first: (s) => `${s}: stopping at the next safe point`, again: () => 'again', interrupt: () => (interrupted += 1) });
  try {
    process.emit('SIGINT', 'SIGINT');
  } finally {
    detach();
  }
  block.done();
  assert.is(interrupted, 1);
  assert.equal(term.screen(), ['SIGINT: stopping at the next safe point', '  … schannel  applying  1.2s']);
});

const outcome = (host: string, o: Partial<HostOutcome> = {}): HostOutcome & { fleetId: string } => ({
  fleetId: 'f1', host, wave: 'rest', target: `sim:${host}.json`, status: 'succeeded', outcome: 'changed', runId: `f1.${host}`, changes: 25, roundTrips: 8, ...o,
});

test('a fleet on an 80-column terminal: one counts line however long the wave name, each running host with its step, failures and alerts above', async () => {
  const term = fakeTerminal(80, 24);
  const events = new EventEmitter<FleetEvents>();
  let t = 0;
  const stop = attachFleetOutput(events, 'tty', { heading: 'Fleet f1: orchestrator-tls12 on 6 host(s)', stdout: term.stdout, stderr: term.stderr, now: () => t, tickMs: 1e9 });
  await stop.ready;
  const hosts = ['東京-サーバー01', 'web02.corp.example.com', 'web03', 'sql-🚀-04'];
  events.emit('wave:start', { fleetId: 'f1', wave: 'the-rest-of-the-orchestrator-servers-in-datacenter-east', hosts });
  for (const host of hosts) {
    events.emit('host:start', { fleetId: 'f1', wave: 'rest', host, runId: `f1.${host}` });
    events.emit('host:step', { fleetId: 'f1', wave: 'rest', host, name: 'step:transition', event: { runId: `f1.${host}`, stepId: 'schannel', index: 4, from: null, to: 'apply' } });
  }
  t = 3000;
  events.emit('host:step', { fleetId: 'f1', wave: 'rest', host: '東京-サーバー01', name: 'step:transition', event: { runId: 'x', stepId: 'restart', index: 7, from: null, to: 'awaitBoot' } });
  t = 65_000;
  events.emit('host:step', { fleetId: 'f1', wave: 'rest', host: '東京-サーバー01', name: 'step:wait', event: { runId: 'x', stepId: 'restart', index: 7, polls: 31, deadline: new Date(603_000).toISOString(), waitingFor: 'boot time still 2026-12-03T20:57:30.385Z' } });
  events.emit('host:end', outcome('web03', { status: 'rollback-failed', outcome: 'rollback-failed', error: { name: 'StepError', code: 'X', message: 'undo of schannel failed' } }));
  events.emit('host:end', outcome('web02.corp.example.com'));
  const screen = term.screen();
  stop();
  assert.is(count(screen, /^wave /), 1, screen.join('\n'));
  assert.match(screen.find((l) => /^wave /.test(l))!, /: 1 done, 1 failed, 0 waiting, 2 running, 0 pending$/);
  assert.match(screen.find((l) => /東京/.test(l) && /restart/.test(l))!, /restart +1m02s {2}waiting: 31 poll\(s\), 8m58s left: boot tim…$/);
  assert.match(screen.find((l) => /sql-🚀-04/.test(l))!, /schannel +1m05s {2}applying$/);
  assert.not.match(screen.join('\n'), /awaitBoot|web02.*schannel/, 'no machine state; an ended host is gone from the block');
  assert.is(count(screen, /ROLLBACK FAILED — an operator is needed on web03/), 1);
  assert.is(count(screen, /ROLLBACK FAILED — an operator is needed web03: undo of schannel failed/), 1, 'the failure stays above the block');
  // Wide characters take two columns: the step column starts at the same column on every host's line.
  const rows = screen.filter((l) => /^ {2}\S/.test(l) && /(schannel|restart) +\d/.test(l));
  assert.is(rows.length, 2, screen.join('\n'));
  assert.is(new Set(rows.map((l) => stringWidth(l.slice(0, l.search(/schannel|restart/))))).size, 1, rows.join('\n'));
});

test.run();
