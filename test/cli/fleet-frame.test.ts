/**
 * A fleet's live block as a pure frame: the wave's counts, then each running host's current step, for
 * how long, and what it does; every line within the width, hosts beyond the rows folded into one line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import stringWidth from 'string-width';
import { fleetFrame } from '../../src/cli/fleet-frame.js';
import { fleetLive, hostEnded, hostStarted, hostStep, progressLine, waveStarted } from '../../src/cli/fleet-view.js';

process.env.NO_COLOR = '1';

function fleetUnderWay(hosts: string[]) {
  const view = fleetLive();
  waveStarted(view, 'rest-of-the-orchestrator-servers', hosts.length + 2);
  hostStarted(view, 'done-01', 0);
  hostEnded(view, 'done-01', 'done');
  hosts.forEach((host, i) => {
    hostStarted(view, host, i * 1000);
    hostStep(view, { host, name: 'step:transition', event: { runId: host, stepId: i % 2 ? 'schannel' : 'restart', index: 0, from: null, to: i % 2 ? 'apply' : 'awaitBoot' } }, i * 1000);
    if (i % 2 === 0) hostStep(view, { host, name: 'step:wait', event: { runId: host, stepId: 'restart', index: 0, polls: 7, deadline: new Date(600_000).toISOString(), waitingFor: 'boot time still 2026-12-03T20:57:30.385Z' } }, i * 1000);
  });
  return view;
}

test('at 40 columns no line of a fleet frame is wider than 40, CJK and emoji host names included', () => {
  const view = fleetUnderWay(['東京-サーバー01', 'orchestrator-web-02.corp.example.com', 'sql-🚀-03']);
  for (const width of [40, 33, 80]) {
    const lines = fleetFrame(view, { width, height: 24, now: 30_000 });
    assert.is(lines.length, 4);
    for (const line of lines) assert.ok(stringWidth(line) < width, `${stringWidth(line)} ≥ ${width}: ${line}`);
  }
  const wide = fleetFrame(view, { width: 120, height: 24, now: 30_000 });
  assert.is(wide[0], 'wave rest-of-the-orchestrator-servers: 1 done, 0 failed, 0 waiting, 3 running, 1 pending');
  assert.match(wide[1], /^ {2}東京-サーバー01 +restart +30\.0s {2}waiting: 7 poll\(s\), 9m30s left: boot time still/);
  assert.match(wide[2], /^ {2}orchestrator-web-02\.cor… +schannel +29\.0s {2}applying$/);
  assert.is(new Set(wide.slice(1).map((l) => stringWidth(l.slice(0, l.search(/restart|schannel/))))).size, 1, 'the step column lines up');
});

test('at 40 columns the counts keep their place: a long wave name is cut first', () => {
  const [line] = fleetFrame(fleetUnderWay(['web01']), { width: 60, now: 0 });
  assert.is(line, 'wave rest-of-t…: 1 done, 0 failed, 0 waiting, 1 running, 1…');
});

test('hosts beyond the terminal rows fold into one line', () => {
  const hosts = Array.from({ length: 30 }, (_, i) => `web${String(i).padStart(2, '0')}`);
  const lines = fleetFrame(fleetUnderWay(hosts), { width: 80, height: 10, now: 40_000 });
  assert.is(lines.length, 8);
  assert.match(lines.at(-1)!, /… and 24 more running/);
});

test('on a terminal a wave is one line of counts', () => {
  assert.is(progressLine('rest', { done: 997, failed: 3, waiting: 0, running: 0, pending: 0 }), 'wave rest: 997 done, 3 failed, 0 waiting, 0 running, 0 pending');
});

test.run();
