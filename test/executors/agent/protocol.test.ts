/**
 * The client side of the agent protocol: only the answer framed by this call's marker counts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ExecutorError } from '../../../src/index.js';
import { agentRequest, announcedPid, bootstrapArgs, parseAgentAnswer, stopProcessCommand } from '../../../src/executors/agent/protocol.js';

const answer = (marker: string, body: string) => `RBE-BEGIN ${marker}\n${body}\nRBE-END ${marker}\n`;

test('each request has a fresh random marker and carries the batch as JSON data', () => {
  const a = agentRequest([{ op: 'boot.time' }]);
  const b = agentRequest([{ op: 'boot.time' }]);
  assert.match(a.marker, /^[0-9a-f]{32}$/);
  assert.is.not(a.marker, b.marker);
  assert.equal(JSON.parse(a.json), { marker: a.marker, ops: [{ op: 'boot.time' }] });
});

test('a profile banner, stray output and an answer framed by another marker are ignored', () => {
  const { marker } = agentRequest([]);
  const forged = answer('0'.repeat(32), '{"ok":true,"results":[{"op":"boot.time","bootTime":"forged"}]}');
  const real = answer(marker, '{"ok":true,"results":[{"op":"boot.time","bootTime":"2026-11-24T00:00:00.000Z"}]}');
  const output = `Welcome to PowerShell!\r\n${forged}noise\r\n${real.replace(/\n/g, '\r\n')}trailing`;
  assert.equal(parseAgentAnswer(output, marker, 'test'), [{ op: 'boot.time', bootTime: '2026-11-24T00:00:00.000Z' }]);
});

test('no answer or malformed JSON is a transient protocol error; an agent error keeps its kind', () => {
  const { marker } = agentRequest([]);
  for (const output of ['', 'just a banner', answer(marker, '{not json')]) {
    try {
      parseAgentAnswer(output, marker, 'test');
      assert.unreachable();
    } catch (error) {
      assert.instance(error, ExecutorError);
      assert.is((error as ExecutorError).kind, 'protocol');
      assert.ok((error as ExecutorError).transient);
    }
  }
  try {
    parseAgentAnswer(answer(marker, '{"ok":false,"error":{"kind":"permanent","message":"Access is denied","index":2},"results":[]}'), marker, 'test');
    assert.unreachable();
  } catch (error) {
    assert.is((error as ExecutorError).kind, 'permanent');
    assert.match((error as Error).message, /operation 2: Access is denied/);
  }
});

test('a one-element result written by PowerShell 5.1 as a bare object is still a list', () => {
  const { marker } = agentRequest([]);
  assert.equal(parseAgentAnswer(answer(marker, '{"ok":true,"results":{"op":"hotfix.list","hotfixes":[]}}'), marker, 't'), [{ op: 'hotfix.list', hotfixes: [] }]);
});

test('the bootstrap is a fixed encoded command: nothing of the request is in the arguments', () => {
  const args = bootstrapArgs();
  assert.equal(args.slice(0, 3), ['-NoProfile', '-NonInteractive', '-EncodedCommand']);
  const script = Buffer.from(args[3], 'base64').toString('utf16le');
  assert.match(script, /\[Console\]::In\.ReadLine\(\)/);
  assert.equal(bootstrapArgs(), args);
});

test("an SSH agent's bootstrap prints its process id first; only a whole number is taken, and the stop command holds nothing else", () => {
  const script = Buffer.from(bootstrapArgs({ announcePid: true })[3], 'base64').toString('utf16le');
  assert.ok(script.startsWith("[Console]::Out.WriteLine('RBE-PID ' + $PID); [Console]::Out.Flush(); "), script);
  assert.not.match(Buffer.from(bootstrapArgs()[3], 'base64').toString('utf16le'), /RBE-PID/);
  assert.equal(announcedPid('RBE-PID 4242\r\nRBE-BEGIN x\n'), { pid: 4242, rest: 'RBE-BEGIN x\n' });
  assert.equal(announcedPid('RBE-P'), { pid: undefined, rest: '' }, 'not whole yet');
  assert.equal(announcedPid('RBE-PID 42'), { pid: undefined, rest: '' }, 'not whole yet');
  for (const head of ['hello\n', 'RBE-PID 1; Remove-Item C:\\\n', 'RBE-PID -1\n', 'RBE-PID 99999999999\n', 'RBE-PID 0\n', 'x'.repeat(80)]) {
    assert.equal(announcedPid(head), { pid: null, rest: head }, head);
  }
  assert.is(stopProcessCommand('powershell', 4242), 'powershell -NoProfile -NonInteractive -Command Stop-Process -Id 4242 -Force');
  for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 31]) assert.throws(() => stopProcessCommand('powershell', bad), /not a process id/);
});

test.run();
