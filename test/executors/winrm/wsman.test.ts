/** WS-Management envelopes of the Windows Remote Shell, and the parts of the answers a client reads. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createShellEnvelope, parseFault, parseReceive, parseShellId, sendChunkBytes, sendEnvelope } from '../../../src/executors/winrm/wsman.js';

test('every envelope carries MaxEnvelopeSize, OperationTimeout and the listener URL with its port', () => {
  const ctx = { to: 'http://orch01:5985/wsman', maxEnvelopeBytes: 153600, operationTimeoutS: 20 };
  const create = createShellEnvelope(ctx);
  assert.match(create, /<w:MaxEnvelopeSize s:mustUnderstand="true">153600<\/w:MaxEnvelopeSize>/);
  assert.match(create, /<w:OperationTimeout>PT20\.000S<\/w:OperationTimeout>/);
  assert.match(create, /<wsa:To>http:\/\/orch01:5985\/wsman<\/wsa:To>/);
  assert.match(create, /<w:Option Name="WINRS_CODEPAGE">65001<\/w:Option>/);
  const chunk = Buffer.alloc(sendChunkBytes(ctx.maxEnvelopeBytes), 0x41);
  assert.ok(Buffer.byteLength(sendEnvelope(ctx, 'S', 'C', chunk, true)) <= ctx.maxEnvelopeBytes, 'a full chunk stays within the envelope');
});

test('answers parse whatever their prefixes: shell id, streams, exit code and faults', () => {
  assert.is(parseShellId('<x:Shell xmlns:x="u"><x:ShellId>ABC</x:ShellId></x:Shell>'), 'ABC');
  assert.is(parseShellId('<w:SelectorSet><w:Selector Name="ShellId">DEF</w:Selector></w:SelectorSet>'), 'DEF');
  const receive = parseReceive(
    `<rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="C">${Buffer.from('中文 ').toString('base64')}</rsp:Stream><rsp:Stream Name="stdout" CommandId="C">${Buffer.from('ü').toString('base64')}</rsp:Stream><rsp:Stream Name="stderr" CommandId="C" End="true"></rsp:Stream><rsp:CommandState CommandId="C" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>3</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>`,
    'C',
  );
  assert.is(receive.stdout.toString('utf8'), '中文 ü');
  assert.equal([receive.done, receive.exitCode], [true, 3]);
  const f = parseFault('<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>w:EncodingLimit</s:Value></s:Subcode></s:Code><s:Reason><s:Text>too &lt;big&gt;</s:Text></s:Reason></s:Fault>');
  assert.equal(f, { code: null, subcode: 'EncodingLimit', message: 'too <big>' });
});

test('a command line is escaped into the envelope: markup in an argument stays text', async () => {
  const { commandEnvelope } = await import('../../../src/executors/winrm/wsman.js');
  const xml = commandEnvelope({ to: 'http://h:5985/wsman', maxEnvelopeBytes: 512000 }, 'S', 'powershell.exe', ['</rsp:Arguments><x>&"\'']);
  assert.match(xml, /<rsp:Arguments>&lt;\/rsp:Arguments&gt;&lt;x&gt;&amp;&quot;&apos;<\/rsp:Arguments>/);
  assert.match(xml, /<w:Option Name="WINRS_SKIP_CMD_SHELL">TRUE<\/w:Option>/);
});

test('output of another command in the answer is not taken', () => {
  const b64 = (t: string) => Buffer.from(t).toString('base64');
  const got = parseReceive(`<rsp:Stream Name="stdout" CommandId="A">${b64('mine')}</rsp:Stream><rsp:Stream Name="stdout" CommandId="B">${b64('other')}</rsp:Stream>`, 'a');
  assert.is(got.stdout.toString(), 'mine');
  assert.is(got.done, false);
});

test.run();
