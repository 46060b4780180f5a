/**
 * The simulated host's WinRM listener, proven by an independent client: Debian's python3-winrm
 * (pywinrm) runs the agent through it — the real agent, in real PowerShell, on the host file — and
 * meets its refusals as it would meet Windows'.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { VirtualClock, createSimulatedExecutor, readHost, writeHost } from '../../src/index.js';
import { agentRequest, bootstrapArgs, bootstrapProgramLine, parseAgentAnswer } from '../../src/executors/agent/protocol.js';
import { serveWinrm, type ServedWinrm, type WinrmListenerOptions } from '../../src/simulator/winrm-listener.js';
import { NtlmInitiator, tlsServerEndPoint } from '../../src/executors/winrm/ntlm.js';
import { hostOf, makeHost, tempDir } from '../helpers.js';
import { PWSH, needPwsh } from '../pwsh.js';
import { pywinrm as runPywinrm } from '../pywinrm.js';

const run = needPwsh('test/simulator/winrm-listener.test.ts');
const USER = 'rbe-admin';
const PASSWORD = 'Sim-Pa55word!';

/** pywinrm with the test account (a plan may give another password). */
const pywinrm = (plan: Record<string, unknown>) => runPywinrm({ user: USER, password: PASSWORD, ...plan });

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

/** A bare POST to the listener: its status and WWW-Authenticate, or the socket error. */
function post(url: string): Promise<{ status?: number; authenticate?: string[]; error?: string }> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', headers: { 'Content-Type': 'application/soap+xml;charset=UTF-8' } }, (res) => {
      res.resume();
      const raw = res.rawHeaders.filter((_, i, all) => i % 2 === 1 && all[i - 1].toLowerCase() === 'www-authenticate');
      res.on('end', () => resolve({ status: res.statusCode, authenticate: raw }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end('<s:Envelope/>');
  });
}

test('an unauthenticated request gets 401 offering Negotiate only (Basic off, as on Windows); a restarting host drops the connection', async () => {
  const hostFile = await makeHost('server-2016');
  const clock = new VirtualClock(Date.now());
  const winrm = await serveWinrm(() => readHost(hostFile), { hostFile, write: (h) => writeHost(hostFile, h), clock, user: USER, password: PASSWORD });
  try {
    assert.equal(await post(winrm.http), { status: 401, authenticate: ['Negotiate'] });
    const host = await readHost(hostFile);
    const bootTime = host.bootTime;
    host.down = { since: new Date(clock.now()).toISOString(), until: new Date(clock.now() + 60_000).toISOString() };
    await writeHost(hostFile, host);
    assert.equal(await post(winrm.http), { error: 'ECONNRESET' });
    clock.advance(60_000);
    assert.equal(await post(winrm.http), { status: 401, authenticate: ['Negotiate'] });
    const booted = await readHost(hostFile);
    assert.is(booted.down, null);
    assert.is.not(booted.bootTime, bootTime);
  } finally {
    await winrm.close();
  }
});

/** An NTLM handshake over one kept-alive HTTPS connection, with the given channel bindings: the last status. */
async function ntlmOverHttps(url: string, ca: string, channelBindings: Buffer): Promise<number | undefined> {
  const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca });
  const post = (authorization: string) =>
    new Promise<{ status?: number; challenge?: string }>((resolve, reject) => {
      const req = httpsRequest(url, { method: 'POST', agent, headers: { Authorization: authorization, 'Content-Length': '0' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, challenge: String(res.headers['www-authenticate'] ?? '').split(' ')[1] }));
      });
      req.on('error', reject);
      req.end();
    });
  try {
    const ntlm = new NtlmInitiator({ user: USER, password: PASSWORD }, { channelBindings });
    const first = await post(`Negotiate ${ntlm.negotiate().toString('base64')}`);
    const second = await post(`Negotiate ${ntlm.authenticate(Buffer.from(first.challenge!, 'base64')).toString('base64')}`);
    return second.status;
  } finally {
    agent.destroy();
  }
}

test('over HTTPS, NTLM must be bound to the listener\'s certificate: bound to another, it is refused (401)', async () => {
  const hostFile = await makeHost('server-2016');
  const winrm = await serveWinrm(() => readHost(hostFile), { hostFile, write: (h) => writeHost(hostFile, h), user: USER, password: PASSWORD });
  try {
    const der = new X509Certificate(winrm.certificatePem).raw;
    const other = Buffer.from(der);
    other[other.length - 1] ^= 0xff;
    assert.is(await ntlmOverHttps(winrm.https, winrm.certificatePem, tlsServerEndPoint(der)), 200);
    assert.is(await ntlmOverHttps(winrm.https, winrm.certificatePem, tlsServerEndPoint(other)), 401);
  } finally {
    await winrm.close();
  }
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

  test('the simulated executor serves the listeners when asked, and stops them at close', async () => {
    const hostFile = await makeHost('server-2016');
    const executor = await createSimulatedExecutor(hostFile, { winrm: { pwsh: PWSH!, user: USER, password: PASSWORD } });
    const plain = await createSimulatedExecutor(hostFile);
    assert.is(plain.winrm, undefined);
    const listener = executor.winrm!;
    assert.match(listener.http, /^http:\/\/127\.0\.0\.1:\d+\/wsman$/);
    assert.match(listener.https, /^https:\/\/127\.0\.0\.1:\d+\/wsman$/);
    try {
      const { marker, plan } = agentPlan([{ op: 'os.info' }]);
      const result = await pywinrm({ ...plan, endpoint: listener.http, transport: 'ntlm', encryption: 'always' });
      parseAgentAnswer(result.stdout as string, marker, 'test');
    } finally {
      await executor.close();
    }
    const port = Number(new URL(listener.http).port);
    const refused = await new Promise<boolean>((resolve) => connect(port, '127.0.0.1').once('connect', () => resolve(false)).once('error', () => resolve(true)));
    assert.ok(refused, 'the listener still answers after close()');
  });

  test('an answer larger than the envelope comes whole over several Receives', async () => {
    const { winrm } = await listen({ maxEnvelopeSizeKb: 32 });
    try {
      const { marker, plan } = agentPlan(Array.from({ length: 600 }, () => ({ op: 'os.info' })));
      const result = await pywinrm({ ...plan, endpoint: winrm.http, transport: 'ntlm', encryption: 'always', chunk: 16_000 });
      assert.ok((result.stdout as string).length > 2 * 32 * 1024, `only ${(result.stdout as string).length} characters`);
      assert.is(parseAgentAnswer(result.stdout as string, marker, 'test').length, 600);
      assert.ok((result.largestResponse as number) <= 32 * 1024, `a response of ${result.largestResponse} bytes`);
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

  test('a Receive with no output within its OperationTimeout gets the timeout fault (2150858793), and the command goes on', async () => {
    const { winrm } = await listen();
    try {
      // The bootstrap waits for its program on stdin, so it prints nothing.
      const { plan } = agentPlan([]);
      const result = await pywinrm({ ...plan, step: 'receive-timeout', operationTimeout: 1, endpoint: winrm.http, transport: 'ntlm', encryption: 'always' });
      assert.is(result.timedOut, true, JSON.stringify(result));
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
