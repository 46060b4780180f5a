/**
 * The confirmation before a fleet run or a fleet rollback: asked on a terminal only, --yes skips it,
 * anything but yes declines.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PassThrough } from 'node:stream';
import { confirm } from '../../src/cli/confirm.js';

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

test.run();
