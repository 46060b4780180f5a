/**
 * The simulated host's WinRM listener, proven by an independent client: Debian's python3-winrm
 * (pywinrm) runs the agent through it — the real agent, in real PowerShell, on the host file — and
 * meets its refusals as it would meet Windows'.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readHost, writeHost } from '../../src/index.js';
import { agentRequest, bootstrapArgs, bootstrapProgramLine, parseAgentAnswer } from '../../src/executors/agent-protocol.js';
import { serveWinrm, type ServedWinrm, type WinrmListenerOptions } from '../../src/executors/simulated-winrm.js';
import { isAgentCommandLine } from '../../src/executors/simulated-winrs.js';
import { hostOf, makeHost, tempDir } from '../helpers.js';
import { PWSH, needPwsh } from '../pwsh.js';

const run = needPwsh('test/executors/simulated-winrm.test.ts');
const PYTHON = '/usr/bin/python3';
const USER = 'rbe-admin';
const PASSWORD = 'Sim-Pa55word!';

/** Debian's pywinrm, with OpenSSL's legacy provider (MD4, for NTLM) enabled for this process only. */
async function pywinrm(plan: Record<string, unknown>): Promise<Record<string, unknown>> {
  const dir = await tempDir('rbe-pywinrm-');
  const conf = join(dir, 'openssl.cnf');
  await writeFile(conf, 'openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n[provider_sect]\ndefault = default_sect\nlegacy = legacy_sect\n[default_sect]\nactivate = 1\n[legacy_sect]\nactivate = 1\n');
  const file = join(dir, 'plan.json');
  await writeFile(file, JSON.stringify({ user: USER, password: PASSWORD, ...plan }));
  const script = join(import.meta.dirname, 'winrm-client.py');
  try {
    const { stdout } = await promisify(execFile)(PYTHON, [script, file], { env: { ...process.env, OPENSSL_CONF: conf }, timeout: 60_000 });
    return JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, unknown>;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    if (/No module named 'winrm'|ENOENT/.test(`${e.stderr ?? ''}${e.message}`)) throw new Error(`Debian's python3-winrm is required (apt-get install python3-winrm; .ci/run installs it): ${e.message}`);
    throw error;
  }
}

/**
 * A listener on a fresh host, and its certificate as a CA file for pywinrm (pywinrm 0.3.0 verifies
 * the certificate even with server_cert_validation='ignore': requests' environment default wins).
 */
async function listen(options: Partial<WinrmListenerOptions> = {}): Promise<{ hostFile: string; winrm: ServedWinrm; ca: string }> {
  const hostFile = await makeHost('server-2016');
  const winrm = await serveWinrm(() => readHost(hostFile), { hostFile, write: (h) => writeHost(hostFile, h), pwsh: PWSH!, user: USER, password: PASSWORD, ...options });
  const ca = join(await tempDir('rbe-ca-'), 'ca.pem');
  await writeFile(ca, winrm.certificatePem);
  return { hostFile, winrm, ca };
}

/** What the agent bootstrap needs from a client: its command line, and the program then one request on stdin. */
function agentPlan(ops: object[]) {
  const { marker, json } = agentRequest(ops as never);
  const args = bootstrapArgs();
  return { marker, plan: { step: 'agent', command: 'powershell.exe', arguments: args, stdin: `${bootstrapProgramLine('file')}${json}\n` } };
}

test('the listener accepts the agent bootstrap (as the executor and pywinrm run_ps send it) and nothing else', () => {
  const args = bootstrapArgs();
  assert.ok(isAgentCommandLine(['powershell.exe', ...args].join(' ')));
  assert.ok(isAgentCommandLine(`powershell -encodedcommand ${args[args.length - 1]}`));
  assert.ok(isAgentCommandLine(`POWERSHELL.EXE -ExecutionPolicy Bypass ${args.join(' ')}`));
  assert.not.ok(isAgentCommandLine('cmd.exe /c whoami'));
  assert.not.ok(isAgentCommandLine(`powershell -encodedcommand ${Buffer.from('Remove-Item C:\\ -Recurse', 'utf16le').toString('base64')}`));
  assert.not.ok(isAgentCommandLine(`powershell -Command Get-Date ${args.join(' ')}`));
});

if (run) {
  test('pywinrm (NTLM, message encryption forced) runs the agent over HTTP and gets its framed answer', async () => {
    const { winrm } = await listen();
    try {
      const { marker, plan } = agentPlan([{ op: 'os.info' }]);
      const result = await pywinrm({ ...plan, endpoint: winrm.http, transport: 'ntlm', encryption: 'always' });
      assert.is(result.ok, true, JSON.stringify(result));
      assert.is(result.exitCode, 0);
      const [os] = parseAgentAnswer(result.stdout as string, marker, 'test') as { caption: string }[];
      assert.match(JSON.stringify(os), /Windows Server 2016/);
    } finally {
      await winrm.close();
    }
  });

  test('pywinrm runs the agent over HTTPS with NTLM bound to the channel, trusting the certificate as its CA', async () => {
    const { hostFile, winrm, ca } = await listen();
    try {
      const { marker, plan } = agentPlan([{ op: 'registry.set', view: '64', key: 'SOFTWARE\\RbeWinrm', name: 'Via', value: { type: 'REG_SZ', data: 'winrm' } }]);
      const https = winrm.https.replace('127.0.0.1', 'localhost');
      for (const options of [{ ca }, { ca, encryption: 'always' }]) {
        const result = await pywinrm({ ...plan, ...options, endpoint: https, transport: 'ntlm' });
        assert.is(result.ok, true, JSON.stringify(result));
        parseAgentAnswer(result.stdout as string, marker, 'test');
      }
      const host = await hostOf(hostFile);
      assert.equal(host.registry['SOFTWARE\\RbeWinrm']?.Via, { type: 'REG_SZ', data: 'winrm' });
    } finally {
      await winrm.close();
    }
  });

  test('a restart ends the shell once the agent has answered: the answer arrives, the shell is then gone', async () => {
    const { hostFile, winrm } = await listen();
    try {
      const before = await hostOf(hostFile);
      const { marker, plan } = agentPlan([{ op: 'restart', delaySeconds: 0, reason: 'test', ifBootTime: before.bootTime }]);
      const result = await pywinrm({ ...plan, endpoint: winrm.http, transport: 'ntlm', encryption: 'always', thenReuseShell: true });
      assert.is(result.ok, true, JSON.stringify(result));
      const [restart] = parseAgentAnswer(result.stdout as string, marker, 'test') as { requested: boolean }[];
      assert.is(restart.requested, true);
      assert.is.not((await hostOf(hostFile)).bootTime, before.bootTime);
      assert.match(result.cleanupError as string, /'wsmanfault_code': '2150858843'/);
      assert.match(result.reuse as string, /'wsmanfault_code': '2150858843'/);
    } finally {
      await winrm.close();
    }
  });

  test('a wrong password is refused with 401 (pywinrm: InvalidCredentialsError), over HTTP and HTTPS', async () => {
    const { winrm, ca } = await listen();
    try {
      for (const endpoint of [winrm.http, winrm.https]) {
        const result = await pywinrm({ step: 'no-such-shell', endpoint, transport: 'ntlm', encryption: 'always', ca, password: 'wrong' });
        assert.is(result.error, 'InvalidCredentialsError', JSON.stringify(result));
      }
    } finally {
      await winrm.close();
    }
  });

  test('after NTLM authentication over HTTP an unencrypted message is refused (AllowUnencrypted=false)', async () => {
    const { winrm } = await listen();
    try {
      const result = await pywinrm({ step: 'unencrypted', endpoint: winrm.http, transport: 'ntlm', encryption: 'always' });
      assert.is(result.error, 'WinRMTransportError', JSON.stringify(result));
      assert.is(result.code, 500);
    } finally {
      await winrm.close();
    }
  });

  test('Basic is refused as Windows refuses it by default (401), and accepted when the listener allows it', async () => {
    const closed = await listen();
    const open = await listen({ allowBasic: true });
    try {
      const refused = await pywinrm({ step: 'no-such-shell', endpoint: closed.winrm.https, transport: 'ssl', ca: closed.ca });
      assert.is(refused.error, 'InvalidCredentialsError', JSON.stringify(refused));
      // Over HTTP Basic would send unencrypted messages: refused even when allowed, as AllowUnencrypted=false.
      const plain = await pywinrm({ step: 'no-such-shell', endpoint: open.winrm.http, transport: 'plaintext' });
      assert.is(plain.error, 'InvalidCredentialsError', JSON.stringify(plain));
      const { marker, plan } = agentPlan([{ op: 'os.info' }]);
      const result = await pywinrm({ ...plan, endpoint: open.winrm.https, transport: 'ssl', ca: open.ca });
      assert.is(result.ok, true, JSON.stringify(result));
      parseAgentAnswer(result.stdout as string, marker, 'test');
    } finally {
      await closed.winrm.close();
      await open.winrm.close();
    }
  });

  test('a shell the listener does not have is refused with the fault Windows gives (w:InvalidSelectors, 2150858843)', async () => {
    const { winrm } = await listen();
    try {
      const result = await pywinrm({ step: 'no-such-shell', endpoint: winrm.http, transport: 'ntlm', encryption: 'always' });
      assert.is(result.error, 'WinRMError', JSON.stringify(result));
      assert.match(result.message as string, /invalid selectors for the resource/);
      assert.match(result.message as string, /'wsmanfault_code': '2150858843'/);
      assert.match(result.message as string, /w:InvalidSelectors/);
    } finally {
      await winrm.close();
    }
  });

  test('an envelope larger than MaxEnvelopeSizekb is refused unread with HTTP 413', async () => {
    const { winrm } = await listen({ maxEnvelopeSizeKb: 64 });
    try {
      const result = await pywinrm({ step: 'oversize', bytes: 70 * 1024, endpoint: winrm.http, transport: 'ntlm', encryption: 'always' });
      assert.is(result.error, 'WinRMTransportError', JSON.stringify(result));
      assert.is(result.code, 413);
    } finally {
      await winrm.close();
    }
  });

  test('any command but the agent bootstrap is refused, and nothing runs', async () => {
    const { winrm } = await listen();
    try {
      const result = await pywinrm({ step: 'command', command: 'cmd.exe', arguments: ['/c', 'whoami'], endpoint: winrm.http, transport: 'ntlm', encryption: 'always' });
      assert.is(result.error, 'WinRMError', JSON.stringify(result));
      assert.match(result.message as string, /runs only the runbook agent/);
    } finally {
      await winrm.close();
    }
  });

  test('a first line of standard input that is not the agent program ends the command unrun', async () => {
    const { winrm } = await listen();
    try {
      const { plan } = agentPlan([{ op: 'os.info' }]);
      const stdin = `${Buffer.from('Write-Output pwned', 'utf8').toString('base64')}\n`;
      const result = await pywinrm({ ...plan, stdin, endpoint: winrm.http, transport: 'ntlm', encryption: 'always' });
      assert.is(result.exitCode, 1, JSON.stringify(result));
      assert.match(result.stderr as string, /not the agent program/);
      assert.not.match(result.stdout as string, /pwned/);
    } finally {
      await winrm.close();
    }
  });
}

test.run();
