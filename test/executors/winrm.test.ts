/**
 * The winrm executor: its envelopes and parsing, then through a WinRS server on 127.0.0.1 that runs the
 * real agent in PowerShell on a simulated-host file — the contract, the shell kept and made again, and
 * each error a user must be able to tell apart.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecutorError } from '../../src/index.js';
import { createWinrmExecutor, parseWinrmTarget, WINRM_AGENT_COMMAND, type WinrmExecutorOptions } from '../../src/executors/winrm.js';
import { certificateBindingHash, normaliseFingerprint } from '../../src/executors/winrm/transport.js';
import { createShellEnvelope, parseFault, parseReceive, parseShellId, sendChunkBytes, sendEnvelope } from '../../src/executors/winrm/wsman.js';
import { hostOf, makeHost, tempDir } from '../helpers.js';
import { untilGone } from '../processes.js';
import { PWSH, needPwsh } from '../pwsh.js';
import { startFakeWinrm } from '../winrm-fake.js';

const run = needPwsh('test/executors/winrm.test.ts');
const USER = 'rbe-admin';
const PASSWORD = 'pa$$ w0rd "ü"';

test('winrm targets parse with their default ports; the port is always in the target string', () => {
  assert.equal(parseWinrmTarget('winrm://orch01'), { scheme: 'http', host: 'orch01', port: 5985, user: '' });
  assert.equal(parseWinrmTarget('winrm+https://admin@orch01'), { scheme: 'https', host: 'orch01', port: 5986, user: 'admin' });
  assert.equal(parseWinrmTarget('winrm://CORP%5Cadmin@[fe80::1]:8985'), { scheme: 'http', host: 'fe80::1', port: 8985, user: 'CORP\\admin' });
  assert.throws(() => parseWinrmTarget('winrm://orch01:99999'), /port/);
  assert.throws(() => parseWinrmTarget('winrm+http://orch01'));
  const executor = createWinrmExecutor({ ...parseWinrmTarget('winrm://admin@orch01'), env: {} });
  assert.is(executor.target, 'winrm://admin@orch01:5985');
  assert.is(executor.name, 'winrm');
});

test('every envelope carries MaxEnvelopeSize, OperationTimeout and the listener URL with its port', () => {
  const ctx = { to: 'http://orch01:5985/wsman', maxEnvelopeBytes: 153600, operationTimeoutS: 20 };
  const create = createShellEnvelope(ctx);
  assert.match(create, /<w:MaxEnvelopeSize s:mustUnderstand="true">153600<\/w:MaxEnvelopeSize>/);
  assert.match(create, /<w:OperationTimeout>PT20\.000S<\/w:OperationTimeout>/);
  assert.match(create, /<wsa:To>http:\/\/orch01:5985\/wsman<\/wsa:To>/);
  assert.match(create, /<w:Option Name="WINRS_CODEPAGE">65001<\/w:Option>/);
  const chunk = Buffer.alloc(sendChunkBytes(ctx.maxEnvelopeBytes), 0x41);
  assert.ok(Buffer.byteLength(sendEnvelope(ctx, 'S', 'C', chunk, true)) <= ctx.maxEnvelopeBytes, 'a full chunk stays within the envelope');
  // The agent's command line holds the fixed bootstrap only: no data, no program.
  assert.is(WINRM_AGENT_COMMAND.command, 'powershell.exe');
  assert.ok(WINRM_AGENT_COMMAND.arguments.includes('-EncodedCommand'));
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

test('fingerprints normalise; channel bindings hash a SHA-256-signed certificate with SHA-256', async () => {
  assert.is(normaliseFingerprint('sha256:' + 'ab'.repeat(32)), Array(32).fill('AB').join(':'));
  assert.throws(() => normaliseFingerprint('abc'), /64 hex digits/);
  const { X509Certificate, createHash } = await import('node:crypto');
  const fake = await startFakeWinrm({ pwsh: 'true', env: {}, user: 'u', password: 'p', https: true });
  try {
    const der = new X509Certificate(fake.certPem).raw;
    assert.equal(certificateBindingHash(der), createHash('sha256').update(der).digest());
  } finally {
    await fake.stop();
  }
});

test('credentials come from the environment; none is a permanent error that names the variable', async () => {
  const executor = createWinrmExecutor({ ...parseWinrmTarget('winrm+https://127.0.0.1:1'), env: {} });
  try {
    await executor.run([{ op: 'os.info' }]);
    assert.unreachable();
  } catch (error) {
    assert.is((error as ExecutorError).kind, 'permanent');
    assert.match((error as Error).message, /RUNBOOK_WINRM_USER is not set/);
  } finally {
    await executor.close();
  }
});

if (run) {
  async function setup(options: { https?: boolean; serverMaxKb?: number; password?: string } & Partial<WinrmExecutorOptions> = {}) {
    const hostFile = await makeHost('server-2016');
    const fake = await startFakeWinrm({ pwsh: PWSH!, env: { RUNBOOK_AGENT_HOST_FILE: hostFile }, user: USER, password: PASSWORD, https: options.https ?? true, maxEnvelopeKb: options.serverMaxKb });
    const executor = createWinrmExecutor({
      scheme: options.https === false ? 'http' : 'https',
      host: '127.0.0.1',
      port: fake.port,
      user: '',
      auth: 'basic',
      fingerprint: fake.fingerprint,
      agentBackend: 'file',
      env: { RUNBOOK_WINRM_USER: USER, RUNBOOK_WINRM_PASSWORD: options.password ?? PASSWORD, RUNBOOK_WINRM_ALLOW_UNENCRYPTED: '1' },
      ...options,
    });
    return { hostFile, fake, executor };
  }
  const expectError = async (promise: Promise<unknown>, kind: string, message: RegExp) => {
    try {
      await promise;
      assert.unreachable('it should have failed');
    } catch (error) {
      assert.instance(error, ExecutorError, String(error));
      assert.is((error as ExecutorError).kind, kind, (error as Error).message);
      assert.match((error as Error).message, message);
      assert.not.match((error as Error).message, /pa\$\$/, 'the password is never in an error');
      return error as ExecutorError;
    }
  };

  test('os.info and a registry round trip over one kept shell, one PowerShell for every call', async () => {
    const { fake, executor } = await setup();
    try {
      const [os] = await executor.run([{ op: 'os.info' }]);
      assert.is(os.op, 'os.info');
      const value = { type: 'REG_SZ' as const, data: `it's "x" \`y\` $(Stop-Computer) ; 中文 ü\n` };
      const [set, got] = await executor.run([
        { op: 'registry.set', view: '64', key: 'SOFTWARE\\Rbe Test', name: 'v', value },
        { op: 'registry.get', view: '64', key: 'SOFTWARE\\Rbe Test', name: 'v' },
      ]);
      assert.is((set as { changed: boolean }).changed, true);
      assert.equal((got as { value: unknown }).value, value);
      await executor.run([{ op: 'boot.time' }]);
      assert.is(fake.seen.filter((a) => a === 'Create').length, 1, 'one shell');
      assert.is(fake.seen.filter((a) => a === 'Command').length, 1, 'one agent');
      assert.is(executor.roundTrips, 3);
      const agents = fake.pids();
      await executor.close();
      await untilGone(agents);
      assert.ok(fake.seen.includes('Delete'), 'close deletes the shell');
    } finally {
      await executor.close();
      await fake.stop();
    }
  });

  test('a batch larger than one envelope is sent in chunks that each stay under the limit', async () => {
    const { fake, executor } = await setup({ maxEnvelopeKb: 32, serverMaxKb: 32 });
    try {
      const big = 'ü'.repeat(30_000);
      const [, got] = await executor.run([
        { op: 'registry.set', view: '64', key: 'SOFTWARE\\Rbe Big', name: 'v', value: { type: 'REG_SZ', data: big } },
        { op: 'registry.get', view: '64', key: 'SOFTWARE\\Rbe Big', name: 'v' },
      ]);
      assert.is((got as { value: { data: string } }).value.data, big);
      assert.ok(fake.seen.filter((a) => a === 'Send').length >= 4, `sends: ${fake.seen.filter((a) => a === 'Send').length}`);
      assert.ok(fake.largest <= 32 * 1024, `largest envelope ${fake.largest}`);
    } finally {
      await executor.close();
      await fake.stop();
    }
  });

  test('a shell gone (the service restarted) is made again once, and the call succeeds', async () => {
    const { fake, executor } = await setup();
    try {
      await executor.run([{ op: 'os.info' }]);
      fake.forgetShells();
      // The agent's command was in the shell: this call finds it gone (transient), the next makes a new shell.
      await expectError(executor.run([{ op: 'os.info' }]), 'reset', /.+/);
      const [os] = await executor.run([{ op: 'os.info' }]);
      assert.is(os.op, 'os.info');
      assert.is(fake.seen.filter((a) => a === 'Create').length, 2);
    } finally {
      await executor.close();
      await fake.stop();
    }
  });

  test('refused credentials are a permanent error before anything runs, and name the user, not the password', async () => {
    const { hostFile, fake, executor } = await setup({ password: 'wrong' });
    const before = JSON.stringify((await hostOf(hostFile)).registry);
    try {
      await expectError(executor.run([{ op: 'registry.set', view: '64', key: 'SOFTWARE\\X', name: 'Y', value: { type: 'REG_DWORD', data: 1 } }]), 'permanent', /refused the credentials of rbe-admin/);
      assert.is(JSON.stringify((await hostOf(hostFile)).registry), before);
    } finally {
      await executor.close();
      await fake.stop();
    }
  });

  test('a certificate that is not the pinned one, or not from the CA given, is refused before anything is sent', async () => {
    const { fake } = await setup();
    try {
      const env = { RUNBOOK_WINRM_USER: USER, RUNBOOK_WINRM_PASSWORD: PASSWORD };
      const base = { scheme: 'https' as const, host: '127.0.0.1', port: fake.port, user: '', auth: 'basic' as const, agentBackend: 'file' as const, env };
      const pinned = createWinrmExecutor({ ...base, fingerprint: 'AA'.repeat(32) });
      await expectError(pinned.run([{ op: 'os.info' }]), 'permanent', /is not the pinned one/);
      await pinned.close();
      const unknownCa = createWinrmExecutor(base);
      await expectError(unknownCa.run([{ op: 'os.info' }]), 'permanent', /certificate is not trusted/);
      await unknownCa.close();
      assert.is(fake.seen.length, 0, 'nothing reached the server');
      const caFile = join(await tempDir(), 'ca.pem');
      await writeFile(caFile, fake.certPem);
      const trusted = createWinrmExecutor({ ...base, caFile });
      const [os] = await trusted.run([{ op: 'os.info' }]);
      assert.is(os.op, 'os.info');
      await trusted.close();
    } finally {
      await fake.stop();
    }
  });

  test('no listener is a transient "refused" error; a listener back makes the next call work', async () => {
    const { fake, executor } = await setup();
    try {
      await fake.stop();
      await expectError(executor.run([{ op: 'os.info' }]), 'refused', /no WinRM listener answers/);
      await fake.start();
      const [os] = await executor.run([{ op: 'os.info' }]);
      assert.is(os.op, 'os.info');
    } finally {
      await executor.close();
      await fake.stop();
    }
  });

  test('an envelope larger than the server takes is a permanent error that says what to set', async () => {
    const { fake, executor } = await setup({ maxEnvelopeKb: 500, serverMaxKb: 40 });
    try {
      await expectError(executor.run([{ op: 'os.info' }]), 'permanent', /too large[\s\S]*RUNBOOK_WINRM_MAX_ENVELOPE_KB/);
    } finally {
      await executor.close();
      await fake.stop();
    }
  });

  test('Basic over HTTP is refused on the controller unless unencrypted messages are allowed explicitly', async () => {
    const { fake, executor } = await setup({ https: false, env: { RUNBOOK_WINRM_USER: USER, RUNBOOK_WINRM_PASSWORD: PASSWORD } });
    try {
      await expectError(executor.run([{ op: 'os.info' }]), 'permanent', /unencrypted/);
      assert.is(fake.seen.length, 0);
    } finally {
      await executor.close();
      await fake.stop();
    }
  });

  test('a call that outlives its timeout fails at once and stops the remote agent; the next call starts another', async () => {
    const { hostFile, fake, executor } = await setup();
    try {
      await executor.run([{ op: 'os.info' }]);
      const { readHost, writeHost } = await import('../../src/index.js');
      await writeHost(hostFile, { ...(await readHost(hostFile)), latencyMs: 4000 });
      const first = fake.pids();
      const started = Date.now();
      await expectError(executor.run([{ op: 'boot.time' }], { timeoutMs: 600 }), 'timeout', /did not answer within 600 ms/);
      assert.ok(Date.now() - started < 2000);
      await untilGone(first);
      await writeHost(hostFile, { ...(await readHost(hostFile)), latencyMs: 0 });
      const [boot] = await executor.run([{ op: 'boot.time' }]);
      assert.is(boot.op, 'boot.time');
    } finally {
      await executor.close();
      await fake.stop();
    }
  });
}

test.run();
