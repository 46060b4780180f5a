/**
 * The confirmation before a fleet run or a fleet rollback: asked on a terminal only, --yes skips it,
 * anything but yes declines.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PassThrough } from 'node:stream';
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { confirm } from '../../src/cli/confirm.js';
import { CLI, cli } from './run-cli.js';
import { tempDir } from '../helpers.js';

function terminal(answer: string | null, tty = true) {
  const input = Object.assign(new PassThrough(), { isTTY: tty });
  const output = Object.assign(new PassThrough(), { isTTY: tty });
  let asked = '';
  output.on('data', (d) => (asked += d));
  if (answer !== null) setImmediate(() => input.write(`${answer}\n`));
  return { input, output, asked: () => asked };
}

test('on a terminal the question is asked; yes goes on, anything else (or nothing) declines', async () => {
  const yes = terminal('y');
  assert.is(await confirm('Restart 3 servers?', { yes: false, input: yes.input, output: yes.output }), true);
  assert.match(yes.asked(), /Restart 3 servers\? \[y\/N\]/);
  const no = terminal('');
  assert.is(await confirm('Restart 3 servers?', { yes: false, input: no.input, output: no.output }), false);
  const other = terminal('sure');
  assert.is(await confirm('Restart 3 servers?', { yes: false, input: other.input, output: other.output }), false);
});

test('--yes, or no terminal (a script, a pipe), goes on without asking', async () => {
  const t = terminal(null);
  assert.is(await confirm('Restart?', { yes: true, input: t.input, output: t.output }), true);
  const piped = terminal(null, false);
  assert.is(await confirm('Restart?', { yes: false, input: piped.input, output: piped.output }), true);
  assert.is(piped.asked(), '');
});

/**
 * The built CLI on a terminal: util-linux `script` gives it one (a pseudo-terminal); `answer` is typed
 * once the question is on the screen.
 */
function onTerminal(args: string[], answer: string): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve) => {
    const command = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let typed = false;
    child.stdout.on('data', (d) => {
      screen += d;
      if (!typed && screen.includes('[y/N]')) {
        typed = true;
        child.stdin.write(`${answer}\r`);
      }
    });
    child.on('close', (code) => resolve({ code, screen }));
  });
}

const hasScript = spawnSync('script', ['--version']).status === 0;

test('run --inventory and rollback <fleet-id> ask on a terminal before they restart servers; declined, nothing is changed (exit 2)', async () => {
  if (!hasScript) return console.log('  (skipped: no util-linux `script` to give the CLI a terminal)');
  const dir = await tempDir();
  await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '2', '--out', dir, '--downtime-ms', '40']);
  const inv = join(dir, 'inventory.yaml');
  const state = join(dir, 'state');
  const before = await readFile(join(dir, 'host-1.json'), 'utf8');
  const declined = await onTerminal(['run', 'orchestrator-tls12', '--inventory', inv, '--state-dir', state], 'n');
  assert.is(declined.code, 2, declined.screen);
  assert.match(declined.screen, /Run orchestrator-tls12 on 2 host\(s\) \(host-1, host-2\)\? Each may be restarted\. \[y\/N\]/);
  assert.match(declined.screen, /not confirmed: nothing was started/);
  assert.is(await readFile(join(dir, 'host-1.json'), 'utf8'), before, 'no host was contacted');
  assert.not.ok(existsSync(state), 'nothing was created in the state directory (not even an empty runs/)');
  const run = await cli(['run', 'orchestrator-tls12', '--inventory', inv, '--state-dir', state, '--yes', '--param', 'pollIntervalMs=10']);
  assert.is(run.code, 0, run.stderr);
  const fleetId = /^Fleet (\S+):/m.exec(run.stdout)![1];
  const changed = await readFile(join(dir, 'host-1.json'), 'utf8');
  const kept = await onTerminal(['rollback', fleetId, '--state-dir', state], 'no');
  assert.is(kept.code, 2, kept.screen);
  assert.match(kept.screen, new RegExp(`Roll back fleet ${fleetId} \\(2 host\\(s\\)\\)\\? .*\\[y/N\\]`));
  assert.match(kept.screen, /not confirmed: nothing was rolled back/);
  assert.is(await readFile(join(dir, 'host-1.json'), 'utf8'), changed, 'nothing was rolled back');
});

test.run();
