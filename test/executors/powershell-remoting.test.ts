/**
 * The powershell-remoting executor over PowerShell's SSH transport, through the real sshd with the
 * `powershell` subsystem: one local PowerShell, one session reused for every call, made again after
 * the session dies.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecutorError } from '../../src/errors.js';
import { createRemotingExecutor, parseRemotingTarget, remotingShell, winrmHttpsEndpoint } from '../../src/executors/powershell-remoting.js';
import { expectSameAsSimulated, makeHost, tempDir } from '../helpers.js';
import { PWSH, needPwsh } from '../pwsh.js';
import { SSHD, startSshd } from '../sshd.js';

const run = needPwsh('test/executors/powershell-remoting.test.ts');


test('remoting targets parse', () => {
  assert.equal(parseRemotingTarget('winrm://orch01'), { transport: 'wsman', host: 'orch01', port: 0, user: '' });
  assert.equal(parseRemotingTarget('winrm://orch01:5986'), { transport: 'wsman', host: 'orch01', port: 5986, user: '' });
  assert.equal(parseRemotingTarget('pwsh+ssh://admin@orch01:2222'), { transport: 'ssh', host: 'orch01', port: 2222, user: 'admin' });
  assert.throws(() => parseRemotingTarget('winrm:/orch01'));
});

test('a WinRM session names its port when the target gives one (a run made on winrm://orch01:5986 records it), none when it leaves the default', async () => {
  for (const [given, named] of [
    ['winrm://orch01:5986', 'winrm://orch01:5986'],
    ['winrm://admin@orch01:5985', 'winrm://orch01:5985'],
    ['winrm://orch01', 'winrm://orch01'],
    ['pwsh+ssh://admin@orch01', 'pwsh+ssh://admin@orch01:22'],
  ]) {
    const executor = createRemotingExecutor(parseRemotingTarget(given), { shell: '/nonexistent/pwsh' });
    assert.is(executor.target, named, given);
    await executor.close();
  }
});

test('a WinRM session over HTTPS is a TLS endpoint to prove by handshake; over HTTP or SSH it is none', () => {
  assert.equal(winrmHttpsEndpoint(parseRemotingTarget('winrm://orch01.contoso.com:5986'), {}), [{ name: 'winrm-https', host: 'orch01.contoso.com', port: 5986, servername: 'orch01.contoso.com' }]);
  assert.equal(winrmHttpsEndpoint(parseRemotingTarget('winrm://10.0.0.5'), { RUNBOOK_WINRM_HTTPS: '1' }), [{ name: 'winrm-https', host: '10.0.0.5', port: 5986 }]);
  assert.equal(winrmHttpsEndpoint(parseRemotingTarget('winrm://orch01'), {}), []);
  assert.equal(winrmHttpsEndpoint(parseRemotingTarget('pwsh+ssh://admin@orch01'), { RUNBOOK_WINRM_HTTPS: '1' }), []);
});

test('pwsh+ssh:// is driven from PowerShell 7 on a Windows controller too, whose own powershell.exe has no -HostName', () => {
  assert.is(remotingShell('ssh', undefined, {}, 'win32'), 'pwsh');
  assert.is(remotingShell('ssh', undefined, { RUNBOOK_PWSH: 'powershell.exe' }, 'win32'), 'pwsh');
  assert.is(remotingShell('ssh', undefined, { RUNBOOK_PWSH: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe' }, 'win32'), 'pwsh');
  assert.is(remotingShell('ssh', undefined, { RUNBOOK_PWSH: 'C:\\Program Files\\PowerShell\\7\\pwsh.exe' }, 'win32'), 'C:\\Program Files\\PowerShell\\7\\pwsh.exe');
  // WinRM works from either: the platform's default stays.
  assert.is(remotingShell('wsman', undefined, {}, 'win32'), 'powershell.exe');
  assert.is(remotingShell('wsman', undefined, {}, 'linux'), 'pwsh');
});

test('pwsh+ssh:// given Windows PowerShell explicitly is refused with an error naming PowerShell 7, before anything starts', async () => {
  const executor = createRemotingExecutor(parseRemotingTarget('pwsh+ssh://admin@orch01'), { shell: 'powershell.exe' });
  const error = await executor.run([{ op: 'boot.time' }]).catch((e: Error) => e);
  assert.instance(error, Error);
  assert.match((error as Error).message, /needs PowerShell 6 or later on this machine: powershell\.exe is Windows PowerShell 5\.1/);
  assert.match((error as Error).message, /install PowerShell 7/);
  await executor.close();
});

test('pwsh+ssh:// with a private key in RUNBOOK_SSH_KEY instead of its path is refused before PowerShell starts, the key never shown', async () => {
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), Buffer.from('a secret that must stay here'.repeat(8))]).toString('base64');
  const lines = body.match(/.{1,70}/g)!;
  const key = `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
  // A PowerShell that does not exist: a call that got as far as starting it would say so instead.
  const target = parseRemotingTarget('pwsh+ssh://admin@orch01:2222');
  const attempt = async (env: Record<string, string>) => {
    const executor = createRemotingExecutor(target, { shell: '/nonexistent/pwsh', env });
    const error = await executor.run([{ op: 'boot.time' }]).catch((e: Error) => e);
    await executor.close();
    return error as ExecutorError;
  };
  const before = process.env.RUNBOOK_SSH_KEY;
  process.env.RUNBOOK_SSH_KEY = Buffer.from(key).toString('base64');
  let fromProcess: ExecutorError;
  try {
    fromProcess = await attempt({});
  } finally {
    if (before === undefined) delete process.env.RUNBOOK_SSH_KEY;
    else process.env.RUNBOOK_SSH_KEY = before;
  }
  for (const error of [await attempt({ RUNBOOK_SSH_KEY: key }), fromProcess]) {
    assert.instance(error, ExecutorError);
    assert.is(error.kind, 'permanent');
    assert.match(error.message, /^RUNBOOK_SSH_KEY holds a private key, not the path of a key file; its value is not shown \(pwsh\+ssh:\/\/admin@orch01:2222\)\n  → save the key to a file only you can read/);
    assert.not.match(error.message, /BEGIN|openssh-key|LS0tLS1CRUdJT/);
    for (const line of lines) assert.not.ok(error.message.includes(line), line);
  }
  // A path goes on to PowerShell (here: not installed).
  assert.match((await attempt({ RUNBOOK_SSH_KEY: '/home/ops/.ssh/id_ed25519' })).message, /PowerShell \(\/nonexistent\/pwsh\) is not installed/);
});

if (run && SSHD) {
  test('one session serves every call, and is made again when it dies', async () => {
    const hostFile = await makeHost('server-2016');
    const sshd = await startSshd(PWSH, { RUNBOOK_AGENT_HOST_FILE: hostFile });
    const executor = createRemotingExecutor(
      { transport: 'ssh', host: '127.0.0.1', port: sshd.port, user: sshd.username },
      { shell: PWSH!, env: { RUNBOOK_SSH_KEY: sshd.keyPath, RUNBOOK_SSH_KNOWN_HOSTS: sshd.knownHostsPath }, agentBackend: 'file' },
    );
    try {
      // The remote PowerShell sessions are processes this test's sshd started: counted and ended by PID.
      const before = sshd.sessions();
      await executor.run([{ op: 'boot.time' }]);
      const afterOne = sshd.sessions();
      assert.ok(afterOne.length > before.length, 'the first call opened a session');
      for (let i = 0; i < 4; i++) await executor.run([{ op: 'boot.time' }]);
      assert.equal(sshd.sessions(), afterOne, 'four more calls started no PowerShell');
      for (const pid of afterOne) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // it ended meanwhile
        }
      }
      await new Promise((r) => setTimeout(r, 300));
      let answered = false;
      for (let i = 0; i < 3 && !answered; i++) {
        try {
          await executor.run([{ op: 'os.info' }]);
          answered = true;
        } catch (error) {
          assert.ok((error as { transient: boolean }).transient, (error as Error).message);
        }
      }
      assert.ok(answered, 'a new session answered');
    } finally {
      await executor.close();
      await sshd.stop();
    }
  });

  test('the bundled runbook runs through PowerShell remoting and leaves the registry the simulated run leaves', async () => {
    const hostFile = await makeHost('server-2016');
    const simFile = join(await tempDir(), 'sim.json');
    await copyFile(hostFile, simFile);
    const sshd = await startSshd(PWSH, { RUNBOOK_AGENT_HOST_FILE: hostFile });
    const executor = createRemotingExecutor(
      { transport: 'ssh', host: '127.0.0.1', port: sshd.port, user: sshd.username },
      { shell: PWSH!, env: { RUNBOOK_SSH_KEY: sshd.keyPath, RUNBOOK_SSH_KNOWN_HOSTS: sshd.knownHostsPath }, agentBackend: 'file' },
    );
    try {
      await expectSameAsSimulated(executor, hostFile, simFile);
    } finally {
      await executor.close();
      await sshd.stop();
    }
  });
}

test.run();
