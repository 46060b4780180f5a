/**
 * The winrm executor: its envelopes and parsing, then through the simulated host's WinRM listener on
 * 127.0.0.1 (NTLM with sealed messages over HTTP, channel-bound over HTTPS; proven against pywinrm in
 * simulator/winrm-listener.test.ts), which runs the real agent in PowerShell on the host file — the contract,
 * the shell kept and made again, and each error a user must be able to tell apart.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { ExecutorError, readHost, writeHost } from '../../src/index.js';
import { createWinrmExecutor, parseWinrmTarget, WINRM_AGENT_COMMAND, type WinrmExecutorOptions } from '../../src/executors/winrm.js';
import { hostOf, makeHost, tempDir, withWinrmDefaultPorts } from '../helpers.js';
import { PWSH, needPwsh } from '../pwsh.js';
import { serveWinrm, type ServedWinrm, type WinrmListenerOptions } from '../../src/simulator/winrm-listener.js';
import { FAKE_PASSWORD, FAKE_USER, fakeListener, fault, receiveAnswer, shellAnswers } from './winrm/fake-listener.js';
import { RECEIVE_TIMED_OUT, fakeWinrs } from './winrm/fake-winrs.js';
import { CLM_CLIXML } from './agent/clixml-fixture.js';

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

test('a winrm target without a port connects to the port the fact winrm.default-ports gives its scheme', () => {
  withWinrmDefaultPorts({ http: 15985, https: 15986 }, () => {
    assert.is(parseWinrmTarget('winrm://orch01').port, 15985);
    assert.is(parseWinrmTarget('winrm+https://orch01').port, 15986);
    assert.is(parseWinrmTarget('winrm+https://orch01:5986').port, 5986, 'a port written out is kept');
  });
});

test('the agent\'s command line is the fixed bootstrap only: no data, no program', () => {
  assert.is(WINRM_AGENT_COMMAND.command, 'powershell.exe');
  assert.equal(WINRM_AGENT_COMMAND.arguments.slice(0, 3), ['-NoProfile', '-NonInteractive', '-EncodedCommand']);
  assert.is(WINRM_AGENT_COMMAND.arguments.length, 4);
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

/** An executor to a fake listener's port, with its account. */
function fakeExecutor(port: number, extra: Partial<WinrmExecutorOptions> = {}) {
  return createWinrmExecutor({ scheme: 'http', host: '127.0.0.1', port, user: '', env: { RUNBOOK_WINRM_USER: FAKE_USER, RUNBOOK_WINRM_PASSWORD: FAKE_PASSWORD }, ...extra });
}

test('a listener that accepts TCP but never answers: the call fails as unreachable within firstAnswerTimeoutMs, not at the call limit', async () => {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => (sockets.add(socket), socket.resume()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const executor = createWinrmExecutor({ ...parseWinrmTarget(`winrm://127.0.0.1:${port}`), env: { RUNBOOK_WINRM_USER: 'admin', RUNBOOK_WINRM_PASSWORD: 'Secret-PW-123' }, firstAnswerTimeoutMs: 200 });
  try {
    const error = await executor.run([{ op: 'os.info' }]).then(
      () => assert.unreachable('it answered') as never,
      (e: ExecutorError) => e,
    );
    assert.instance(error, ExecutorError);
    assert.is(error.kind, 'unreachable');
    assert.match(error.message, new RegExp(`^the WinRM listener accepted the connection but did not answer within 200 ms \\(winrm://127\\.0\\.0\\.1:${port}\\)`));
  } finally {
    await executor.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('PowerShell 5.1 refusing the agent at its start (CLIXML errors, exit code 1) is permanent, decoded, and started once', async () => {
  let commands = 0;
  const answers = shellAnswers(() => receiveAnswer({ stderr: CLM_CLIXML }, 1));
  const listener = await fakeListener((action) => {
    if (action.endsWith('/Command')) commands += 1;
    return answers(action);
  });
  const executor = fakeExecutor(listener.port);
  try {
    const error = await executor.run([{ op: 'os.info' }]).then(() => null, (e: unknown) => e as ExecutorError);
    assert.ok(error);
    assert.is(error.kind, 'permanent', error.message);
    assert.match(error.message, /PowerShell ended with exit code 1: Cannot invoke method\. Method invocation is supported only on core types in this language mode\./);
    assert.not.match(error.message, /_x000D_|<Objs|CLIXML/);
    assert.is(commands, 1);
  } finally {
    await executor.close();
    await listener.close();
  }
});

test('a 401 that persists after the server accepted the logon anew says the password is right and names the account causes Windows refuses', async () => {
  const listener = await fakeListener((action) => (action.endsWith('/Create') ? { status: 401 } : shellAnswers(() => receiveAnswer({}, 0))(action)));
  const executor = fakeExecutor(listener.port);
  try {
    const error = await executor.run([{ op: 'os.info' }]).then(() => null, (e: unknown) => e as ExecutorError);
    assert.ok(error);
    assert.is(error.kind, 'permanent');
    assert.match(error.message, /accepted the logon of rbe-admin but refused it the service/);
    assert.match(error.message, /the password is right/);
    assert.match(error.message, /Administrators/);
    assert.match(error.message, /LocalAccountTokenFilterPolicy/);
    assert.match(error.message, /locked out, disabled/);
    assert.match(error.message, /restricts NTLM/);
    assert.is(listener.logons, 2, 'authenticated once more, then given up');
    assert.not.match(error.message, new RegExp(FAKE_PASSWORD.replace(/[!]/g, '\\$&')));
  } finally {
    await executor.close();
    await listener.close();
  }
});

test('a logon refused outright names the variables, then the account causes that give the same answer', async () => {
  const listener = await fakeListener(shellAnswers(() => receiveAnswer({}, 0)));
  const executor = fakeExecutor(listener.port, { env: { RUNBOOK_WINRM_USER: FAKE_USER, RUNBOOK_WINRM_PASSWORD: 'wrong-Pa55' } });
  try {
    const error = await executor.run([{ op: 'os.info' }]).then(() => null, (e: unknown) => e as ExecutorError);
    assert.ok(error);
    assert.match(error.message, /refused the credentials of rbe-admin/);
    assert.match(error.message, /RUNBOOK_WINRM_PASSWORD/);
    assert.match(error.message, /If they are right: Windows also refuses an account/);
    assert.match(error.message, /LocalAccountTokenFilterPolicy/);
  } finally {
    await executor.close();
    await listener.close();
  }
});

test('a UPN user is sent whole with no domain, RUNBOOK_WINRM_DOMAIN then unused; DOMAIN\\user sends its own domain', async () => {
  const listener = await fakeListener(shellAnswers(() => receiveAnswer({}, 1)));
  try {
    for (const [user, sent] of [
      [`${FAKE_USER}@contoso.com`, { user: `${FAKE_USER}@contoso.com`, domain: '' }],
      [`OTHER\\${FAKE_USER}`, { user: FAKE_USER, domain: 'OTHER' }],
      [FAKE_USER, { user: FAKE_USER, domain: 'CORP' }],
    ] as const) {
      const executor = fakeExecutor(listener.port, { user, env: { RUNBOOK_WINRM_PASSWORD: FAKE_PASSWORD, RUNBOOK_WINRM_DOMAIN: 'CORP' } });
      await executor.run([{ op: 'os.info' }]).catch(() => undefined);
      await executor.close();
      assert.equal(listener.accounts.at(-1), sent, user);
    }
  } finally {
    await listener.close();
  }
});

/** Settles with `promise`, or fails the test when it has not settled within `ms` (a guard against a hang, not a timing assert). */
function settles<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} had not settled after ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

test('a listener that stops answering mid-session: the call fails as a timeout at the answer deadline, and close() still returns', async () => {
  const winrs = fakeWinrs();
  const listener = await fakeListener((action, xml) => winrs.answer(action, xml));
  const executor = fakeExecutor(listener.port, { operationTimeoutS: 1, answerTimeoutMs: 300, timeoutMs: 60_000 });
  try {
    await executor.run([{ op: 'os.info' }]);
    // From now on every request is held and never answered: a host gone without a word.
    winrs.intercept = () => new Promise(() => undefined);
    const error = await settles(executor.run([{ op: 'boot.time' }]).then(() => null, (e: unknown) => e as ExecutorError), 20_000, 'the call');
    assert.ok(error);
    assert.is(error.kind, 'timeout', error.message);
    assert.match(error.message, /^the WinRM listener did not answer a request within 300 ms/);
    assert.match(error.message, /Test-WSMan/);
    await settles(executor.close(), 20_000, 'close()');
  } finally {
    await listener.close();
  }
});

test('a shell deleted by the server while the session is idle (its IdleTimeout): the next call starts the agent in a new shell and succeeds, its batch run once; close() deletes it', async () => {
  const winrs = fakeWinrs();
  const listener = await fakeListener((action, xml) => winrs.answer(action, xml));
  const executor = fakeExecutor(listener.port);
  try {
    await executor.run([{ op: 'os.info' }]);
    // Between calls no request keeps the shell alive: the server ends it (and the agent in it).
    winrs.shells.clear();
    const [boot] = await executor.run([{ op: 'boot.time' }]);
    assert.is(boot.op, 'boot.time');
    assert.is(winrs.created, 2);
    assert.equal(winrs.requests, [[{ op: 'os.info' }], [{ op: 'boot.time' }]], 'each batch reached an agent once');
  } finally {
    await executor.close();
    await listener.close();
  }
  assert.is(winrs.shells.size, 0, 'no shell left on the server');
});

test('a shell deleted while a call waits for its answer fails that call as reset (its batch may have run); the next call gets a new shell', async () => {
  const winrs = fakeWinrs();
  const listener = await fakeListener((action, xml) => winrs.answer(action, xml));
  const executor = fakeExecutor(listener.port);
  try {
    await executor.run([{ op: 'os.info' }]);
    winrs.intercept = (verb) => void (verb === 'Receive' && winrs.shells.clear());
    const error = await executor.run([{ op: 'boot.time' }]).then(() => null, (e: unknown) => e as ExecutorError);
    assert.ok(error);
    assert.is(error.kind, 'reset');
    assert.match(error.message, /^the remote shell is gone: The request for the Windows Remote Shell with ShellId SHELL-1 failed because the shell was not found on the server/);
    winrs.intercept = () => undefined;
    const [boot] = await executor.run([{ op: 'boot.time' }]);
    assert.is(boot.op, 'boot.time');
  } finally {
    await executor.close();
    await listener.close();
  }
  assert.is(winrs.shells.size, 0, 'no shell left on the server');
});

test('an agent whose start fails after its command was made (the program line refused) is terminated, not left waiting in the shell for input', async () => {
  const winrs = fakeWinrs();
  let refused = false;
  // The first Send (the agent's program line) fails once with a fault that is not the shell's.
  winrs.intercept = (verb) => (verb === 'Send' && !refused ? ((refused = true), { status: 500, xml: fault(2150858770, 'InternalError', 'The service cannot carry out the request now.') }) : undefined);
  const listener = await fakeListener((action, xml) => winrs.answer(action, xml));
  const executor = fakeExecutor(listener.port);
  try {
    const error = await executor.run([{ op: 'os.info' }]).then(() => null, (e: unknown) => e as ExecutorError);
    assert.ok(error);
    assert.match(error.message, /fault 2150858770 \(0x80338012\): The service cannot carry out the request now\./);
    const [os] = await executor.run([{ op: 'os.info' }]);
    assert.is(os.op, 'os.info');
    const commands = [...winrs.shells.values()].reduce((n, shell) => n + shell.size, 0);
    assert.is(commands, 1, 'only the running agent is left in the shell (each one counts toward MaxProcessesPerShell and MaxMemoryPerShellMB)');
  } finally {
    await executor.close();
    await listener.close();
  }
  assert.is(winrs.shells.size, 0);
});

test('Receives that time out (w:TimedOut, 2150858793) are asked again, not failed; a 401 in the middle of the session authenticates the connection anew', async () => {
  const winrs = fakeWinrs();
  let timeouts = 0;
  let refusedOnce = false;
  winrs.intercept = (verb) => {
    if (verb !== 'Receive') return undefined;
    if (timeouts < 3) return (timeouts += 1), RECEIVE_TIMED_OUT;
    // The server forgets the connection's NTLM context once, on the second call's Receive.
    if (winrs.requests.length === 2 && !refusedOnce) return (refusedOnce = true), { status: 401 };
    return undefined;
  };
  const listener = await fakeListener((action, xml) => winrs.answer(action, xml));
  const executor = fakeExecutor(listener.port);
  try {
    const [os] = await executor.run([{ op: 'os.info' }]);
    assert.is(os.op, 'os.info');
    assert.is(timeouts, 3);
    const [boot] = await executor.run([{ op: 'boot.time' }]);
    assert.is(boot.op, 'boot.time');
    assert.ok(refusedOnce);
    assert.is(listener.logons, 2, 'authenticated once more');
    assert.is(winrs.created, 1, 'the same shell');
  } finally {
    await executor.close();
    await listener.close();
  }
});

test('a 1 MB batch and a 900 KB answer at the default MaxEnvelopeSizekb (500): every request stays within 512000 bytes, over several Sends and Receives', async () => {
  const winrs = fakeWinrs();
  winrs.receiveBytes = 60_000;
  const answer = 'x'.repeat(900_000);
  winrs.result = (op) => ({ op: op.op, answer });
  const listener = await fakeListener((action, xml) => winrs.answer(action, xml));
  const executor = fakeExecutor(listener.port);
  try {
    const data = 'ü'.repeat(500_000);
    const [result] = await executor.run([{ op: 'registry.set', view: '64', key: 'SOFTWARE\\X', name: 'v', value: { type: 'REG_SZ', data } }]);
    assert.is((result as unknown as { answer: string }).answer, answer);
    assert.equal((winrs.requests[0] as { value: { data: string } }[])[0].value.data, data, 'the batch arrived whole');
    assert.ok(listener.largestRequest <= 500 * 1024, `largest request ${listener.largestRequest} bytes`);
    assert.ok(winrs.log.filter((verb) => verb === 'Send').length >= 4, 'the batch went in several Sends');
    assert.ok(winrs.log.filter((verb) => verb === 'Receive').length >= 15, 'the answer came in many Receives');
  } finally {
    await executor.close();
    await listener.close();
  }
});

test('a call cancelled while it waits terminates its command; the next call starts another agent in the same shell; close() deletes the shell', async () => {
  const winrs = fakeWinrs();
  const listener = await fakeListener((action, xml) => winrs.answer(action, xml));
  const executor = fakeExecutor(listener.port);
  try {
    await executor.run([{ op: 'os.info' }]);
    const controller = new AbortController();
    // The agent never answers this call: it is cancelled while its Receive waits.
    winrs.intercept = (verb) => {
      if (verb !== 'Receive') return undefined;
      controller.abort();
      return new Promise(() => undefined);
    };
    const error = await executor.run([{ op: 'boot.time' }], { signal: controller.signal }).then(() => null, (e: unknown) => e as ExecutorError);
    assert.ok(error);
    assert.match(error.message, /the call was cancelled/);
    winrs.intercept = () => undefined;
    const [os] = await executor.run([{ op: 'os.info' }]);
    assert.is(os.op, 'os.info');
    assert.ok(winrs.log.includes('Signal'), 'the cancelled command was terminated');
    assert.is(winrs.created, 1);
    assert.is([...winrs.shells.values()][0].size, 1, 'one agent in the shell');
  } finally {
    await executor.close();
    await listener.close();
  }
  assert.is(winrs.shells.size, 0, 'no shell left toward MaxShellsPerUser');
});

if (run) {
  type Setup = { scheme?: 'http' | 'https'; listener?: Partial<WinrmListenerOptions>; client?: Partial<WinrmExecutorOptions> };
  /** A listener on a fresh host, and an executor to it (NTLM unless told otherwise). */
  /** What the listener does when a request arrives (a test sets it to act at that point). */
  let onRequest: (action: string) => void = () => {};
  async function setup(options: Setup = {}) {
    const hostFile = await makeHost('server-2016');
    onRequest = () => {};
    const winrm = await serveWinrm(() => readHost(hostFile), { hostFile, write: (h) => writeHost(hostFile, h), pwsh: PWSH!, user: USER, password: PASSWORD, onRequest: (action) => onRequest(action), ...options.listener });
    const url = new URL(options.scheme === 'https' ? winrm.https : winrm.http);
    const executor = createWinrmExecutor({
      scheme: options.scheme ?? 'http',
      host: '127.0.0.1',
      port: Number(url.port),
      user: '',
      fingerprint: winrm.certificateSha256,
      agentBackend: 'file',
      env: { RUNBOOK_WINRM_USER: USER, RUNBOOK_WINRM_PASSWORD: PASSWORD },
      ...options.client,
    });
    return { hostFile, winrm, executor, port: Number(url.port) };
  }
  async function done(executor: { close(): Promise<void> }, winrm: ServedWinrm) {
    await executor.close();
    await winrm.close();
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
  const set = (key: string, data: string) => ({ op: 'registry.set' as const, view: '64' as const, key, name: 'v', value: { type: 'REG_SZ' as const, data } });
  const get = (key: string) => ({ op: 'registry.get' as const, view: '64' as const, key, name: 'v' });

  for (const scheme of ['http', 'https'] as const) {
    test(`NTLM over ${scheme.toUpperCase()}: os.info and a registry round trip with UTF-8 and PowerShell-looking values, one shell and one PowerShell for every call`, async () => {
      const { winrm, executor } = await setup({ scheme });
      try {
        const [os] = await executor.run([{ op: 'os.info' }]);
        assert.is((os as { build: number }).build, 14393);
        const data = `it's "x" \`y\` $(Stop-Computer) ; 中文 ü\n`;
        const [changed, got] = await executor.run([set('SOFTWARE\\Rbe Test', data), get('SOFTWARE\\Rbe Test')]);
        assert.is((changed as { changed: boolean }).changed, true);
        assert.equal((got as { value: unknown }).value, { type: 'REG_SZ', data });
        await executor.run([{ op: 'boot.time' }]);
        assert.is(executor.roundTrips, 3);
        // Over HTTPS the preflight reads the protocol the connection uses (TLS 1.2 or 1.3 must stay enabled).
        const tls = await executor.transportTls!();
        if (scheme === 'https') assert.match(String(tls), /^TLSv1\.[23]$/);
        else assert.is(tls, null);
      } finally {
        await done(executor, winrm);
      }
    });
  }

  test('a domain account, from RUNBOOK_WINRM_DOMAIN or as DOMAIN\\user, logs on', async () => {
    for (const env of [{ RUNBOOK_WINRM_USER: USER, RUNBOOK_WINRM_DOMAIN: 'CORP' }, { RUNBOOK_WINRM_USER: `CORP\\${USER}` }]) {
      const { winrm, executor } = await setup({ client: { env: { ...env, RUNBOOK_WINRM_PASSWORD: PASSWORD } } });
      try {
        const [os] = await executor.run([{ op: 'os.info' }]);
        assert.is(os.op, 'os.info');
      } finally {
        await done(executor, winrm);
      }
    }
  });

  test('Basic over HTTPS where the listener allows it', async () => {
    const { winrm, executor } = await setup({ scheme: 'https', listener: { allowBasic: true }, client: { auth: 'basic' } });
    try {
      const [os] = await executor.run([{ op: 'os.info' }]);
      assert.is(os.op, 'os.info');
    } finally {
      await done(executor, winrm);
    }
  });

  test('a batch larger than one envelope is sent in chunks within the server\'s MaxEnvelopeSizekb', async () => {
    const { winrm, executor } = await setup({ listener: { maxEnvelopeSizeKb: 32 }, client: { maxEnvelopeKb: 32 } });
    try {
      const big = 'ü'.repeat(40_000);
      const [, got] = await executor.run([set('SOFTWARE\\Rbe Big', big), get('SOFTWARE\\Rbe Big')]);
      assert.is((got as { value: { data: string } }).value.data, big);
    } finally {
      await done(executor, winrm);
    }
  });

  test('after the target restarted, the shell is made again and the call succeeds', async () => {
    const { hostFile, winrm, executor } = await setup();
    try {
      const [before] = await executor.run([{ op: 'boot.time' }]);
      // A boot happened: the listener ends the shells made before it.
      const host = await readHost(hostFile);
      host.bootTime = new Date(Date.parse(host.bootTime) + 3_600_000).toISOString();
      await writeHost(hostFile, host);
      const failed = await executor.run([{ op: 'boot.time' }]).then(() => null, (error: ExecutorError) => error);
      if (failed) assert.ok(failed.transient, failed.message);
      const [after] = await executor.run([{ op: 'boot.time' }]);
      assert.is.not((after as { bootTime: string }).bootTime, (before as { bootTime: string }).bootTime);
    } finally {
      await done(executor, winrm);
    }
  });

  test('refused credentials are a permanent error before anything runs, naming the user and never the password', async () => {
    const { hostFile, winrm, executor } = await setup({ client: { env: { RUNBOOK_WINRM_USER: USER, RUNBOOK_WINRM_PASSWORD: 'pa$$ wrong' } } });
    const before = JSON.stringify((await hostOf(hostFile)).registry);
    try {
      await expectError(executor.run([set('SOFTWARE\\X', 'y')]), 'permanent', /refused the credentials of rbe-admin/);
      assert.is(JSON.stringify((await hostOf(hostFile)).registry), before);
    } finally {
      await done(executor, winrm);
    }
  });

  test('Basic over HTTP: refused on the controller unless allowed, and told apart when the server refuses unencrypted messages', async () => {
    const { winrm, executor, port } = await setup({ listener: { allowBasic: true }, client: { auth: 'basic' } });
    try {
      await expectError(executor.run([{ op: 'os.info' }]), 'permanent', /would send the password and every message unencrypted/);
      const allowed = createWinrmExecutor({ scheme: 'http', host: '127.0.0.1', port, user: '', auth: 'basic', agentBackend: 'file', env: { RUNBOOK_WINRM_USER: USER, RUNBOOK_WINRM_PASSWORD: PASSWORD, RUNBOOK_WINRM_ALLOW_UNENCRYPTED: '1' } });
      await expectError(allowed.run([{ op: 'os.info' }]), 'permanent', /refuses unencrypted messages/);
      await allowed.close();
    } finally {
      await done(executor, winrm);
    }
  });

  test('a certificate that is not the pinned one, or not from the CA given, is refused; the right CA is trusted', async () => {
    const { winrm, port } = await setup({ scheme: 'https' });
    try {
      const base = { scheme: 'https' as const, host: '127.0.0.1', port, user: '', agentBackend: 'file' as const, env: { RUNBOOK_WINRM_USER: USER, RUNBOOK_WINRM_PASSWORD: PASSWORD } };
      const pinned = createWinrmExecutor({ ...base, fingerprint: 'AA'.repeat(32) });
      await expectError(pinned.run([{ op: 'os.info' }]), 'permanent', /is not the pinned one[\s\S]*RUNBOOK_WINRM_FINGERPRINT/);
      await pinned.close();
      const unknownCa = createWinrmExecutor(base);
      await expectError(unknownCa.run([{ op: 'os.info' }]), 'permanent', /certificate is not trusted[\s\S]*RUNBOOK_WINRM_CA_FILE/);
      await unknownCa.close();
      const caFile = join(await tempDir(), 'ca.pem');
      await writeFile(caFile, winrm.certificatePem);
      const trusted = createWinrmExecutor({ ...base, caFile });
      const [os] = await trusted.run([{ op: 'os.info' }]);
      assert.is(os.op, 'os.info');
      await trusted.close();
    } finally {
      await winrm.close();
    }
  });

  test('no listener is a transient "refused" error', async () => {
    const { winrm, executor } = await setup();
    await winrm.close();
    try {
      await expectError(executor.run([{ op: 'os.info' }]), 'refused', /no WinRM listener answers/);
    } finally {
      await executor.close();
    }
  });

  test('an envelope larger than the server takes is a permanent error that says what to set', async () => {
    const { winrm, executor } = await setup({ listener: { maxEnvelopeSizeKb: 40 } });
    try {
      await expectError(executor.run([{ op: 'os.info' }]), 'permanent', /too large[\s\S]*RUNBOOK_WINRM_MAX_ENVELOPE_KB/);
    } finally {
      await done(executor, winrm);
    }
  });

  test('a connection dropped mid-receive is a transient "reset" (the engine retries it only where the batch is safe to repeat)', async () => {
    const { hostFile, winrm, executor } = await setup();
    try {
      await executor.run([{ op: 'os.info' }]);
      await writeHost(hostFile, { ...(await readHost(hostFile)), latencyMs: 3000 });
      // The listener goes away while the agent works on the call: the Receive waiting for its answer drops.
      onRequest = (action) => {
        if (action.endsWith('/Receive')) void winrm.close();
      };
      await expectError(executor.run([{ op: 'boot.time' }]), 'reset', /dropped|reset|closed/);
    } finally {
      await done(executor, winrm);
    }
  });

  test('a call that outlives its timeout fails at once; the next call starts another agent', async () => {
    const { hostFile, winrm, executor } = await setup();
    try {
      await executor.run([{ op: 'os.info' }]);
      await writeHost(hostFile, { ...(await readHost(hostFile)), latencyMs: 4000 });
      await expectError(executor.run([{ op: 'boot.time' }], { timeoutMs: 600 }), 'timeout', /did not answer within 600 ms/);
      await writeHost(hostFile, { ...(await readHost(hostFile)), latencyMs: 0 });
      const [boot] = await executor.run([{ op: 'boot.time' }]);
      assert.is(boot.op, 'boot.time');
    } finally {
      await done(executor, winrm);
    }
  });
}

test.run();
