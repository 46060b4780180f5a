/**
 * The powershell-remoting executor over PowerShell's SSH transport, through the real sshd with the
 * `powershell` subsystem: one local PowerShell, one session reused for every call, made again after
 * the session dies.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ExecutorError } from '../../src/errors.js';
import { OUTCOMES, outcomeOf } from '../../src/engine/outcome.js';
import type { RunbookDefinition } from '../../src/index.js';
import { createRemotingExecutor, parseRemotingTarget, remotingShell, winrmHttpsEndpoint } from '../../src/executors/powershell-remoting.js';
import { expectSameAsSimulated, makeHost, newRunner, registryText, tempDir, withWinrmDefaultPorts } from '../helpers.js';
import { PWSH, needPwsh } from '../pwsh.js';
import { SSHD, startSshd, type TestSshd } from '../sshd.js';
import { descendants, parentOf, untilGone } from '../processes.js';
import { ValidationError, readHost, writeHost } from '../../src/index.js';
import { readFileSync } from 'node:fs';

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}


const run = needPwsh('test/executors/powershell-remoting.test.ts');

/** An executor for the test sshd; `env` over the defaults (its key and known_hosts, no ssh-agent). */
function executorFor(sshd: TestSshd, env: Record<string, string> = {}) {
  return createRemotingExecutor(
    { transport: 'ssh', host: '127.0.0.1', port: sshd.port, user: sshd.username },
    { shell: PWSH!, env: { RUNBOOK_SSH_KEY: sshd.keyPath, RUNBOOK_SSH_KNOWN_HOSTS: sshd.knownHostsPath, SSH_AUTH_SOCK: '', ...env }, agentBackend: 'file' },
  );
}

/** A one-step run through the executor: its result, exit code, the retries it made and its round trips. */
async function runOnce(sshd: TestSshd, env: Record<string, string>) {
  const executor = executorFor(sshd, env);
  try {
    const runbook: RunbookDefinition = { name: 'schannel-only', steps: [{ id: 'schannel', uses: 'windows/schannel' }] };
    const run = newRunner(await tempDir()).start(runbook, { executor });
    const retries: string[] = [];
    run.events.on('step:retry', (e) => void (e.willRetry && retries.push(e.error.message)));
    const result = await run.result;
    return { result, exitCode: OUTCOMES[outcomeOf(result)].exitCode, retries, roundTrips: executor.roundTrips };
  } finally {
    await executor.close();
  }
}

/** A copy of the test sshd's authorized key, encrypted with a passphrase. */
async function encryptedKey(sshd: TestSshd, passphrase: string): Promise<string> {
  const key = join(await tempDir(), 'id_ed25519');
  await writeFile(key, await readFile(sshd.keyPath), { mode: 0o600 });
  execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', passphrase, '-f', key]);
  return key;
}

const NO_TRACE = /\n\s+at .+:\d+:\d+/;


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

test('whether a WinRM session is the HTTPS listener a handshake proves is decided by the fact winrm.default-ports, not a port of its own', () => {
  withWinrmDefaultPorts({ http: 15985, https: 15986 }, () => {
    assert.equal(winrmHttpsEndpoint(parseRemotingTarget('winrm://orch01:15986'), {}), [{ name: 'winrm-https', host: 'orch01', port: 15986, servername: 'orch01' }]);
    assert.equal(winrmHttpsEndpoint(parseRemotingTarget('winrm://orch01:5986'), {}), [], 'no longer the HTTPS default: no endpoint to prove');
    assert.equal(winrmHttpsEndpoint(parseRemotingTarget('winrm://10.0.0.5'), { RUNBOOK_WINRM_HTTPS: '1' }), [{ name: 'winrm-https', host: '10.0.0.5', port: 15986 }]);
  });
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
  // A path (of a file that is there) goes on to PowerShell (here: not installed).
  const path = join(await tempDir(), 'id_ed25519');
  await writeFile(path, '', { mode: 0o600 });
  assert.match((await attempt({ RUNBOOK_SSH_KEY: path })).message, /PowerShell \(\/nonexistent\/pwsh\) is not installed/);
});

if (run) {
  test('a WSMan session is made with an idle timeout, and one whose connection broke is removed, not only forgotten (New-PSSession, Invoke-Command and Remove-PSSession stubbed in the real host script)', async () => {
    // No WSMan here: the host script runs in the real PowerShell with the three cmdlets replaced by
    // functions that note what they are given; Invoke-Command fails as a broken connection does.
    const dir = await tempDir();
    const log = join(dir, 'calls.log');
    const stubs = join(dir, 'stubs.ps1');
    await writeFile(stubs, [
      `$global:rbeStubLog = '${log}'`,
      'function global:New-PSSession { param([string]$ComputerName, [int]$Port, $Credential, [switch]$UseSSL, $SessionOption, $ErrorAction)',
      '  $idle = if ($null -eq $SessionOption) { "none" } else { [string]$SessionOption.IdleTimeout.TotalMilliseconds }',
      '  Add-Content -Path $global:rbeStubLog -Value "new $ComputerName idle=$idle"',
      '  return [pscustomobject]@{ Id = 7; State = "Opened" } }',
      'function global:Invoke-Command { param($Session, $ScriptBlock, $ArgumentList, $ErrorAction)',
      '  throw (New-Object System.Management.Automation.Remoting.PSRemotingTransportException "the connection to the remote host was lost") }',
      'function global:Remove-PSSession { param($Session, $ErrorAction) Add-Content -Path $global:rbeStubLog -Value "remove $($Session.Id)" }',
      '',
    ].join('\n'));
    // The "PowerShell" the executor starts: the real one, given the stubs first, then the host script and its argument.
    const shell = join(dir, 'stubbed-pwsh');
    await writeFile(shell, `#!/bin/sh\n# $1..$5: -NoProfile -NonInteractive -ExecutionPolicy Bypass -File; $6 the host script, $7 the agent\nexec '${PWSH}' -NoProfile -NonInteractive -Command ". '${stubs}'; & \\"$6\\" \\"$7\\""\n`, { mode: 0o755 });
    const executor = createRemotingExecutor({ transport: 'wsman', host: 'orch01', port: 0, user: '' }, { shell, env: { RUNBOOK_WINRM_USER: '' }, agentBackend: 'file' });
    try {
      const error = await executor.run([{ op: 'os.info' }]).catch((e: Error) => e);
      assert.instance(error, ExecutorError);
      assert.is((error as ExecutorError).kind, 'reset', (error as Error).message);
    } finally {
      await executor.close();
    }
    const calls = (await readFile(log, 'utf8')).trim().split(/\r?\n/);
    assert.equal(calls, ['new orch01 idle=180000', 'remove 7']);
  });
}

if (run && SSHD) {
  test('a call that times out ends the local host with everything it started (runtime, ssh), by PID, and the next call gets a new host instead of queueing behind the batch', async () => {
    const hostFile = await makeHost('server-2016');
    const sshd = await startSshd(PWSH, { RUNBOOK_AGENT_HOST_FILE: hostFile });
    const executor = executorFor(sshd);
    const hosts = () => descendants(process.pid).filter((pid) => cmdline(pid).includes('remoting-host.ps1') && !cmdline(pid).startsWith('/bin/sh'));
    const tree = (root: number) => [root, ...descendants(root)];
    const latency = async (ms: number) => writeHost(hostFile, { ...(await readHost(hostFile)), latencyMs: ms });
    try {
      await executor.run([{ op: 'boot.time' }]);
      const first = hosts().filter((pid) => !hosts().includes(parentOf(pid)));
      assert.is(first.length, 1, 'one host');
      const firstTree = tree(first[0]);
      assert.ok(firstTree.some((pid) => /(^|\/)ssh\0/.test(cmdline(pid))), `ssh runs under the host: ${firstTree.map(cmdline).join(' | ')}`);
      await latency(90_000);
      const timedOut = await executor.run([{ op: 'boot.time' }], { timeoutMs: 2000 }).then(() => null, (error: ExecutorError) => error);
      assert.is(timedOut?.kind, 'timeout');
      await untilGone(firstTree, 10_000);
      await latency(0);
      // Before, the single-threaded host ran the 90 s batch first: this call timed out behind it.
      const [boot] = await executor.run([{ op: 'boot.time' }], { timeoutMs: 60_000 });
      assert.is(boot.op, 'boot.time');
      assert.not.ok(hosts().includes(first[0]));
    } finally {
      await executor.close();
      await sshd.stop();
    }
  });

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

  test('an encrypted key with no ssh-agent, or a key file that is not there, is refused once and at once, naming the file: unreachable, exit 69, no retry', async () => {
    const hostFile = await makeHost('server-2016');
    const sshd = await startSshd(PWSH, { RUNBOOK_AGENT_HOST_FILE: hostFile });
    try {
      const encrypted = await encryptedKey(sshd, 'right-horse-battery');
      const absent = join(await tempDir(), 'id_absent');
      const cases: [string, RegExp][] = [
        [encrypted, /^the SSH private key \S+id_ed25519 \(RUNBOOK_SSH_KEY\) is encrypted, and pwsh\+ssh cannot give ssh its passphrase .*\n  → load the key into ssh-agent \(ssh-add \S+id_ed25519\)/],
        [absent, /^the SSH private key \S+id_absent \(RUNBOOK_SSH_KEY\) does not exist \(pwsh\+ssh:\/\/\S+\)\n  → set RUNBOOK_SSH_KEY to the path of a private key file this user can read/],
      ];
      for (const [key, expected] of cases) {
        const { result, exitCode, retries, roundTrips } = await runOnce(sshd, { RUNBOOK_SSH_KEY: key, RUNBOOK_SSH_PASSPHRASE: 'right-horse-battery' });
        assert.is(result.status, 'unreachable', JSON.stringify(result.error));
        assert.is(exitCode, 69);
        assert.equal(retries, [], 'not retried');
        assert.is(roundTrips, 1, 'one attempt');
        assert.match(result.error!.message, expected);
        assert.is(result.error!.transient, false);
        assert.not.match(result.error!.message, /right-horse|BEGIN|openssh-key/);
        assert.not.match(result.error!.message, NO_TRACE);
      }
    } finally {
      await sshd.stop();
    }
  });

  test("a key the target does not authorize, or an encrypted one the ssh-agent does not hold, is refused once as failed authentication, in ssh's words", async () => {
    const hostFile = await makeHost('server-2016');
    const sshd = await startSshd(PWSH, { RUNBOOK_AGENT_HOST_FILE: hostFile });
    try {
      const other = join(await tempDir(), 'id_other');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
      const encrypted = await encryptedKey(sshd, 'right-horse-battery');
      const cases: [Record<string, string>, RegExp][] = [
        [{ RUNBOOK_SSH_KEY: other }, /check that the target authorizes the key \S+id_other \(RUNBOOK_SSH_KEY\)/],
        // An agent may hold an encrypted key, so ssh is left to try it: this one holds nothing (it is not there).
        [{ RUNBOOK_SSH_KEY: encrypted, SSH_AUTH_SOCK: join(dirname(encrypted), 'no-agent.sock') }, /\S+id_ed25519 is encrypted: pwsh\+ssh can use it only through ssh-agent/],
      ];
      for (const [env, hint] of cases) {
        const { result, exitCode, retries, roundTrips } = await runOnce(sshd, env);
        assert.is(result.status, 'unreachable', JSON.stringify(result.error));
        assert.is(exitCode, 69);
        assert.equal(retries, [], 'not retried');
        assert.is(roundTrips, 1, 'one attempt');
        assert.match(result.error!.message, /^SSH authentication failed: \S+@127\.0\.0\.1: Permission denied \(publickey\)\. \(pwsh\+ssh:\/\/\S+\)\n  → /);
        assert.match(result.error!.message, hint);
        assert.is(result.error!.transient, false);
      }
    } finally {
      await sshd.stop();
    }
  });

  test('RUNBOOK_SSH_FINGERPRINT: the pinned key connects without known_hosts; another, or one not written as a fingerprint, is refused before anything runs', async () => {
    const hostFile = await makeHost('server-2016');
    const sshd = await startSshd(PWSH, { RUNBOOK_AGENT_HOST_FILE: hostFile });
    const before = await registryText(hostFile);
    const empty = join(await tempDir(), 'known_hosts');
    await writeFile(empty, '');
    try {
      const wrong = `SHA256:${'A'.repeat(43)}`;
      for (const [fingerprint, expected] of [
        [wrong, new RegExp(`^the host key ${sshd.fingerprint.replace(/[+/]/g, '\\$&')} is not the one RUNBOOK_SSH_FINGERPRINT pins \\(${wrong}\\); nothing was run there \\(pwsh\\+ssh://`)],
      ] as const) {
        // The host's own known_hosts entry is there: only the pin may decide.
        const executor = executorFor(sshd, { RUNBOOK_SSH_FINGERPRINT: fingerprint });
        try {
          const error = await executor.run([{ op: 'registry.set', view: '64', key: 'SOFTWARE\\X', name: 'Y', value: { type: 'REG_DWORD', data: 1 } }]).catch((e: Error) => e);
          assert.instance(error, ExecutorError);
          assert.is((error as ExecutorError).kind, 'permanent');
          assert.match((error as Error).message, expected);
        } finally {
          await executor.close();
        }
      }
      // One not written as a fingerprint is refused when the executor is made, before any PowerShell starts.
      assert.throws(
        () => executorFor(sshd, { RUNBOOK_SSH_FINGERPRINT: 'AA:BB:CC' }),
        (error: Error) => error instanceof ValidationError && /^RUNBOOK_SSH_FINGERPRINT is not an SSH host key fingerprint in a form ssh-keygen prints \(pwsh\+ssh:\/\//.test(error.message),
      );
      assert.is(await registryText(hostFile), before, 'nothing ran');
      const pinned = executorFor(sshd, { RUNBOOK_SSH_FINGERPRINT: `${sshd.fingerprint}=`, RUNBOOK_SSH_KNOWN_HOSTS: empty });
      try {
        const [os] = await pinned.run([{ op: 'os.info' }]);
        assert.is((os as { caption: string }).caption, 'Microsoft Windows Server 2016 Datacenter');
      } finally {
        await pinned.close();
      }
    } finally {
      await sshd.stop();
    }
  });

  test('a pinned host whose key changes later is refused by ssh itself when the session is made again', async () => {
    const hostFile = await makeHost('server-2016');
    const sshd = await startSshd(PWSH, { RUNBOOK_AGENT_HOST_FILE: hostFile });
    const empty = join(await tempDir(), 'known_hosts');
    await writeFile(empty, '');
    const executor = executorFor(sshd, { RUNBOOK_SSH_FINGERPRINT: sshd.fingerprint, RUNBOOK_SSH_KNOWN_HOSTS: empty });
    try {
      await executor.run([{ op: 'boot.time' }]);
      // The same address answers with another host key: the session's processes (this sshd's) ended by PID.
      const sessions = sshd.sessions();
      await sshd.stop();
      for (const pid of sessions) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // it ended with sshd
        }
      }
      const hostKey = join(dirname(sshd.keyPath), 'host_ed25519');
      await rm(hostKey);
      await rm(`${hostKey}.pub`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
      await sshd.start();
      // The broken session may first answer as reset (transient); the session made again is refused.
      let refused: ExecutorError | null = null;
      for (let i = 0; i < 3 && !refused; i++) {
        const error = await executor.run([{ op: 'boot.time' }]).then(() => null, (e: ExecutorError) => e);
        assert.ok(error, 'a call reached the host behind another key');
        if (!error.transient) refused = error;
      }
      assert.ok(refused, 'refused');
      assert.is(refused.kind, 'permanent');
      assert.match(refused.message, /^ssh refused the host key: it is not the one RUNBOOK_SSH_FINGERPRINT pins \(Host key verification failed\.\)/);
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
