/**
 * The ssh executor through a real OpenSSH server on 127.0.0.1, running the real agent in PowerShell,
 * whose registry comes from a simulated-host file (set for the sessions with sshd's SetEnv).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { ExecutorError, Runner, ValidationError, readHost, writeHost, type RunbookDefinition } from '../../src/index.js';
import { createHmac } from 'node:crypto';
import { createSshExecutor, fingerprintOf, knownHostsAccept, knownHostsVerdict, parseSshTarget } from '../../src/executors/ssh.js';
import { expectSameAsSimulated, hostOf, kinds, makeHost, registryText, tempDir } from '../helpers.js';
import { descendants, running, untilGone } from '../processes.js';
import { PWSH, needPwsh } from '../pwsh.js';
import { SSHD, startSshd } from '../sshd.js';

const run = needPwsh('test/executors/ssh.test.ts');
if (run && !SSHD && process.env.CI) throw new Error('sshd is required in CI: .ci/run installs openssh-server');
const KEYGEN = !spawnSync('ssh-keygen', ['-?']).error;
if (!KEYGEN && process.env.CI) throw new Error('ssh-keygen is required in CI: .ci/run installs openssh-server');

/** Runs `fn` with these environment variables set (undefined: unset), then puts them back. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const put = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  put(vars);
  try {
    return await fn();
  } finally {
    put(before);
  }
}

/** The error a first call fails with. */
async function firstCallError(options: Partial<Parameters<typeof createSshExecutor>[0]> = {}): Promise<ExecutorError> {
  // Port 1: nothing listens; every error asserted here comes before any connection.
  const executor = createSshExecutor({ host: '127.0.0.1', port: 1, username: 'admin', connectTimeoutMs: 2000, ...options });
  try {
    await executor.run([{ op: 'os.info' }]);
  } catch (error) {
    assert.instance(error, ExecutorError);
    return error as ExecutorError;
  } finally {
    await executor.close();
  }
  throw new Error('the call succeeded');
}

const NO_TRACE = /\n\s+at .+:\d+:\d+/;

/** An executor for the test sshd, its key and known host: the agent on the tests' file backend. */
function executorOf(sshd: Awaited<ReturnType<typeof startSshd>>) {
  return createSshExecutor({
    host: '127.0.0.1',
    port: sshd.port,
    username: sshd.username,
    privateKeyPath: sshd.keyPath,
    knownHostsPath: sshd.knownHostsPath,
    shell: PWSH!,
    connectTimeoutMs: 5000,
    // The sshd's PowerShell has RUNBOOK_AGENT_HOST_FILE: the agent runs on the tests' file backend.
    agentBackend: 'file',
  });
}

async function setup(preset = 'server-2016', tweak?: Parameters<typeof makeHost>[1]) {
  const hostFile = await makeHost(preset, tweak);
  const sshd = await startSshd(PWSH, { RUNBOOK_AGENT_HOST_FILE: hostFile });
  const executor = executorOf(sshd);
  return { hostFile, sshd, executor };
}

test('ssh targets parse; known_hosts and fingerprints are checked as OpenSSH does', () => {
  assert.equal(parseSshTarget('ssh://admin@orch01:2222'), { username: 'admin', host: 'orch01', port: 2222 });
  assert.equal(parseSshTarget('ssh://admin@orch01'), { username: 'admin', host: 'orch01', port: 22 });
  assert.throws(() => parseSshTarget('ssh://orch01'));
  const key = Buffer.from('not really a key');
  const line = `[127.0.0.1]:2222 ssh-ed25519 ${key.toString('base64')}\n`;
  assert.ok(knownHostsAccept(line, '127.0.0.1', 2222, key));
  assert.not.ok(knownHostsAccept(line, '127.0.0.1', 22, key));
  assert.not.ok(knownHostsAccept(line, '127.0.0.1', 2222, Buffer.from('another key')));
  assert.match(fingerprintOf(key), /^SHA256:[A-Za-z0-9+/]+$/);
});

test('known_hosts host patterns match as OpenSSH matches them: wildcards, negation, [host]:port, hashed names, any case', () => {
  const key = Buffer.from('not really a key');
  const b64 = key.toString('base64');
  const accepts = (hosts: string, host: string, port = 22) => knownHostsAccept(`${hosts} ssh-ed25519 ${b64}\n`, host, port, key);
  assert.ok(accepts('*.contoso.com', 'orch01.contoso.com'));
  assert.not.ok(accepts('*.contoso.com', 'contoso.com'));
  assert.ok(accepts('orch0?', 'orch01'));
  assert.not.ok(accepts('orch0?', 'orch012'));
  assert.ok(accepts('10.0.0.*', '10.0.0.7'));
  assert.not.ok(accepts('10.0.0.*', '10.0.1.7'), 'a dot is a dot, not any character');
  assert.ok(accepts('[orch*]:2222', 'orch01', 2222));
  assert.not.ok(accepts('[orch*]:2222', 'orch01', 22));
  assert.ok(accepts('ORCH01.Contoso.com', 'orch01.contoso.com'));
  assert.ok(accepts('*.contoso.com,!bastion.contoso.com', 'orch01.contoso.com'));
  assert.not.ok(accepts('*.contoso.com,!bastion.contoso.com', 'bastion.contoso.com'), 'a negated pattern refuses the line even when another matched');
  assert.not.ok(accepts('!bastion.contoso.com', 'orch01.contoso.com'), 'a negation alone matches nothing');
  const salt = Buffer.from('0123456789abcdefghij');
  const hashed = (name: string) => `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
  assert.ok(accepts(hashed('[orch01]:2222'), 'orch01', 2222));
  assert.ok(accepts(hashed('orch01'), 'ORCH01'), 'ssh hashes the name in lower case');
  assert.not.ok(accepts(hashed('orch01'), 'orch02'));
});

test('a @revoked known_hosts line refuses its key for the hosts it matches, even when another line trusts it; a host trusted only by a @cert-authority line is told apart', () => {
  const key = Buffer.from('\0\0\0\x0bssh-ed25519 a stolen key');
  const b64 = key.toString('base64');
  const text = `orch01 ssh-ed25519 ${b64}\n@revoked * ssh-ed25519 ${b64}\n`;
  assert.not.ok(knownHostsAccept(text, 'orch01', 22, key));
  assert.equal(knownHostsVerdict(text, 'orch01', 22, key), { status: 'revoked', line: 2 });
  // A @revoked line is no key of the host's: another key of its type is not "changed" by it.
  assert.equal(knownHostsVerdict(`@revoked orch01 ssh-ed25519 ${b64}\n`, 'orch01', 22, Buffer.from('\0\0\0\x0bssh-ed25519 the new key')), { status: 'unknown', types: [] });
  // A @revoked line for other hosts leaves this one alone.
  assert.ok(knownHostsAccept(`orch01 ssh-ed25519 ${b64}\n@revoked orch02 ssh-ed25519 ${b64}\n`, 'orch01', 22, key));
  // Trust through a CA key only: told apart from an unknown host, and the CA's key is never the host's.
  const ca = `@cert-authority *.contoso.com ssh-ed25519 ${b64}\n`;
  assert.equal(knownHostsVerdict(ca, 'orch01.contoso.com', 22, key), { status: 'cert-authority', line: 1 });
  assert.not.ok(knownHostsAccept(ca, 'orch01.contoso.com', 22, key));
  // Unknown markers are skipped, as OpenSSH skips them.
  assert.not.ok(knownHostsAccept(`@trusted orch01 ssh-ed25519 ${b64}\n`, 'orch01', 22, key));
});

test('a private key where its path belongs (option or RUNBOOK_SSH_KEY) is refused before any file is read, and never shown', async () => {
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), Buffer.from('a secret that must stay here'.repeat(8))]).toString('base64');
  const key = `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.match(/.{1,70}/g)!.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
  const lines = body.match(/.{1,70}/g)!;
  const fromOption = await firstCallError({ privateKeyPath: key });
  const fromEnv = await withEnv({ RUNBOOK_SSH_KEY: key }, () => firstCallError());
  const encoded = await withEnv({ RUNBOOK_SSH_KEY: Buffer.from(key).toString('base64') }, () => firstCallError());
  assert.match(fromOption.message, /^the privateKeyPath option holds a private key, not the path of a key file; its value is not shown \(ssh:\/\/admin@127\.0\.0\.1:1\)\n/);
  for (const error of [fromEnv, encoded]) {
    assert.match(error.message, /^RUNBOOK_SSH_KEY holds a private key, not the path of a key file; its value is not shown/);
    assert.match(error.message, /→ save the key to a file only you can read \(chmod 600\) and set RUNBOOK_SSH_KEY to that file's path, or load the key into ssh-agent/);
  }
  for (const error of [fromOption, fromEnv, encoded]) {
    assert.is(error.kind, 'permanent');
    assert.not.match(error.message, /BEGIN|openssh-key|LS0tLS1CRUdJT/);
    for (const line of lines) assert.not.ok(error.message.includes(line), line);
  }
  // A path is still a path: one that cannot be read is named.
  assert.match((await firstCallError({ privateKeyPath: '/nonexistent/id_ed25519' })).message, /^cannot read the SSH private key \/nonexistent\/id_ed25519: ENOENT/);
});

test('a host that accepts TCP but never answers SSH: every call is a timeout error, no later error escapes, each timed-out connection is closed', async () => {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    // Read (and drop) what the client sends, so that its end is seen.
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // ssh2 emits a second 'error' ('Connection lost before handshake') once the timed-out socket closes:
  // unheard, it would end this process as an uncaught exception.
  const escaped: unknown[] = [];
  const onUncaught = (error: unknown) => escaped.push(error);
  process.on('uncaughtException', onUncaught);
  const executor = createSshExecutor({ host: '127.0.0.1', port, username: 'admin', connectTimeoutMs: 300 });
  try {
    for (let i = 0; i < 2; i++) {
      try {
        await executor.run([{ op: 'os.info' }]);
        assert.unreachable('the call succeeded');
      } catch (error) {
        assert.instance(error, ExecutorError);
        assert.is((error as ExecutorError).kind, 'timeout');
        assert.match((error as Error).message, /^the SSH handshake timed out: the port accepted the connection but no SSH server answered \(ssh:\/\/admin@127\.0\.0\.1:\d+\)\n  → check that the port is the SSH server's/);
        assert.not.match((error as Error).message, NO_TRACE);
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(escaped, []);
    assert.is(accepted, 2, 'one connection per call');
    assert.is(sockets.size, 0, 'the client closed each connection it gave up on');
  } finally {
    process.off('uncaughtException', onUncaught);
    await executor.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((r) => server.close(r));
  }
});

if (KEYGEN) {
  test('an encrypted key without RUNBOOK_SSH_PASSPHRASE, or with a wrong one, is a credentials error: permanent, no trace, no passphrase', async () => {
    const dir = await tempDir();
    const key = join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'right-horse-battery', '-f', key]);
    const missing = await withEnv({ RUNBOOK_SSH_KEY: key, RUNBOOK_SSH_PASSPHRASE: undefined }, () => firstCallError());
    assert.is(missing.message, `the SSH private key ${key} is encrypted and RUNBOOK_SSH_PASSPHRASE is not set (ssh://admin@127.0.0.1:1)\n  → set RUNBOOK_SSH_PASSPHRASE to its passphrase, or load the key into ssh-agent (ssh-add) and leave RUNBOOK_SSH_KEY unset`);
    const wrong = await withEnv({ RUNBOOK_SSH_KEY: key, RUNBOOK_SSH_PASSPHRASE: 'wrong-staple-9f3k' }, () => firstCallError());
    const expected = `RUNBOOK_SSH_PASSPHRASE does not decrypt the SSH private key ${key} (ssh://admin@127.0.0.1:1)\n  → set RUNBOOK_SSH_PASSPHRASE to the key's passphrase`;
    assert.ok(wrong.message.startsWith(expected), wrong.message);
    const notKey = await withEnv({ RUNBOOK_SSH_PASSPHRASE: undefined }, () => firstCallError({ privateKeyPath: `${key}.pub` }));
    assert.match(notKey.message, /is not an SSH private key in a format ssh2 reads \(OpenSSH, PEM or PuTTY\) .*\n  → set the privateKeyPath option to the path of the private key file \(not its \.pub\)/);
    for (const error of [missing, wrong, notKey]) {
      assert.is(error.kind, 'permanent', 'as a wrong password is: not retried');
      assert.not.match(error.message, NO_TRACE);
      assert.not.match(error.message, /wrong-staple|right-horse|Cannot parse/);
    }
  });
}

if (SSHD) {
  /** The error of a first call to a fresh sshd (no PowerShell needed: the host key is refused before any command). */
  const hostKeyError = async (sshd: Awaited<ReturnType<typeof startSshd>>, options: Partial<Parameters<typeof createSshExecutor>[0]>) => {
    const executor = createSshExecutor({ host: '127.0.0.1', port: sshd.port, username: sshd.username, privateKeyPath: sshd.keyPath, connectTimeoutMs: 5000, ...options });
    try {
      await executor.run([{ op: 'os.info' }]);
    } catch (error) {
      assert.instance(error, ExecutorError);
      return error as ExecutorError;
    } finally {
      await executor.close();
    }
    throw new Error('the call succeeded');
  };

  test('a host key that changed is told apart from an unknown one: the known_hosts line named, and never "add it" as the remedy', async () => {
    const sshd = await startSshd(null);
    try {
      // known_hosts holds another Ed25519 key for this host and port: the server's key changed (or another machine answers).
      const dir = await tempDir();
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'old')]);
      const old = (await readFile(join(dir, 'old.pub'), 'utf8')).trim().split(/\s+/);
      const file = join(dir, 'known_hosts');
      await writeFile(file, `# servers\n[127.0.0.1]:${sshd.port} ${old[0]} ${old[1]}\n`);
      const changed = await hostKeyError(sshd, { knownHostsPath: file });
      assert.is(changed.kind, 'permanent');
      assert.ok(changed.message.startsWith(`the host key ${sshd.fingerprint} is not trusted: ${file} (line 2) holds another ssh-ed25519 key for [127.0.0.1]:${sshd.port} — the host's key changed, or another machine answers at this address; nothing was run there`), changed.message);
      assert.match(changed.message, /only if they match .*ssh-keygen -R "\[127\.0\.0\.1\]:\d+"/);
      assert.not.match(changed.message, /ssh-keyscan/, 'a changed key is not to be fetched and added blindly');
      const unknown = await hostKeyError(sshd, { knownHostsPath: join(dir, 'none') });
      assert.ok(unknown.message.startsWith(`the host key ${sshd.fingerprint} is not trusted: ${join(dir, 'none')} has no key for [127.0.0.1]:${sshd.port}; nothing was run there`), unknown.message);
      assert.match(unknown.message, /once its fingerprint is checked/);
      const pinned = await hostKeyError(sshd, { fingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
      assert.ok(pinned.message.startsWith(`the host key ${sshd.fingerprint} is not trusted: it is not the one the fingerprint option pins (SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA); nothing was run there`), pinned.message);
      for (const error of [changed, unknown, pinned]) assert.not.match(error.message, NO_TRACE);
    } finally {
      await sshd.stop();
    }
  });

  test('a host key marked @revoked in known_hosts is refused though another line lists it; a host trusted only by @cert-authority is told CA-signed keys are not supported', async () => {
    const sshd = await startSshd(null);
    try {
      const dir = await tempDir();
      const file = join(dir, 'known_hosts');
      const [, type, blob] = sshd.knownHostsLines.ed25519.split(' ');
      await writeFile(file, `${sshd.knownHostsLines.ed25519}\n# stolen with the old backup\n@revoked * ${type} ${blob}\n`);
      const revoked = await hostKeyError(sshd, { knownHostsPath: file });
      assert.is(revoked.kind, 'permanent');
      assert.ok(revoked.message.startsWith(`the host key ${sshd.fingerprint} is revoked: ${file} (line 3) marks it @revoked for [127.0.0.1]:${sshd.port}, and a revoked key is never accepted`), revoked.message);
      assert.match(revoked.message, /do not connect to this host until it has a new host key/);
      const caFile = join(dir, 'ca_known_hosts');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'ca')]);
      const ca = (await readFile(join(dir, 'ca.pub'), 'utf8')).trim().split(/\s+/);
      await writeFile(caFile, `@cert-authority [127.0.0.1]:* ${ca[0]} ${ca[1]}\n`);
      const onlyCa = await hostKeyError(sshd, { knownHostsPath: caFile });
      assert.ok(onlyCa.message.startsWith(`the host key ${sshd.fingerprint} is not trusted: ${caFile} trusts [127.0.0.1]:${sshd.port} only through a @cert-authority line (line 1), and the ssh executor does not support CA-signed host keys`), onlyCa.message);
      for (const error of [revoked, onlyCa]) assert.not.match(error.message, NO_TRACE);
    } finally {
      await sshd.stop();
    }
  });

  test('a pinned fingerprint is accepted in the forms ssh-keygen prints or a copy keeps (padded, prefix in any case, MD5); another form is refused when the executor is made', async () => {
    const sshd = await startSshd(null);
    try {
      const dir = await tempDir();
      const hostPub = join(dir, 'host.pub');
      await writeFile(hostPub, `${sshd.knownHostsLines.ed25519.split(' ').slice(1).join(' ')}\n`);
      const md5 = execFileSync('ssh-keygen', ['-lf', hostPub, '-E', 'md5']).toString().split(/\s+/)[1];
      assert.match(md5, /^MD5:[0-9a-f]{2}(:[0-9a-f]{2}){15}$/);
      const empty = join(dir, 'known_hosts');
      await writeFile(empty, '');
      for (const fingerprint of [`${sshd.fingerprint}=`, `sha256:${sshd.fingerprint.slice(7)}`, md5]) {
        const error = await hostKeyError(sshd, { fingerprint, knownHostsPath: empty });
        // The key is accepted: the call goes on to log in and fails later (no PowerShell behind this sshd), not at the host key.
        assert.not.match(error.message, /host key/, `${fingerprint}: ${error.message}`);
      }
      assert.throws(
        () => createSshExecutor({ host: '127.0.0.1', port: sshd.port, username: sshd.username, fingerprint: 'AA:BB:CC' }),
        (error: Error) => error instanceof ValidationError && error.message.startsWith(`the fingerprint option is not an SSH host key fingerprint in a form ssh-keygen prints (ssh://${sshd.username}@127.0.0.1:${sshd.port})`),
      );
    } finally {
      await sshd.stop();
    }
  });

  test('a server with several host keys is checked against the type known_hosts holds for it (as OpenSSH asks for it first)', async () => {
    const sshd = await startSshd(null, {}, ['rsa']);
    try {
      // Only the RSA key is known (an older known_hosts, or ssh-keyscan -t rsa): the server also has an
      // Ed25519 key, the type ssh2 would otherwise ask for first.
      const file = join(await tempDir(), 'known_hosts');
      await writeFile(file, `${sshd.knownHostsLines.rsa}\n`);
      const error = await hostKeyError(sshd, { knownHostsPath: file });
      // The key is accepted: the call goes on to log in and fails later (no PowerShell behind this sshd), not at the host key.
      assert.not.match(error.message, /host key/, error.message);
    } finally {
      await sshd.stop();
    }
  });
}

if (run && SSHD) {
  test('the bundled runbook runs over SSH and leaves the registry the simulated run leaves', async () => {
    const { hostFile, sshd, executor } = await setup();
    const simFile = join(await tempDir(), 'sim.json');
    await copyFile(hostFile, simFile);
    try {
      const result = await expectSameAsSimulated(executor, hostFile, simFile);
      assert.ok(result.roundTrips <= 8, `round trips ${result.roundTrips}`);
    } finally {
      await executor.close();
      await sshd.stop();
    }
  });

  test('an encrypted key with the right RUNBOOK_SSH_PASSPHRASE logs in', async () => {
    const { sshd } = await setup();
    // The sshd's authorized key, encrypted with a passphrase.
    const key = join(await tempDir(), 'id_ed25519');
    await writeFile(key, await readFile(sshd.keyPath), { mode: 0o600 });
    execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'right-horse-battery', '-f', key]);
    const executor = createSshExecutor({ host: '127.0.0.1', port: sshd.port, username: sshd.username, privateKeyPath: key, knownHostsPath: sshd.knownHostsPath, shell: PWSH!, agentBackend: 'file' });
    try {
      const [os] = await withEnv({ RUNBOOK_SSH_PASSPHRASE: 'right-horse-battery', SSH_AUTH_SOCK: undefined }, () => executor.run([{ op: 'os.info' }]));
      assert.is((os as { caption: string }).caption, 'Microsoft Windows Server 2016 Datacenter');
    } finally {
      await executor.close();
      await sshd.stop();
    }
  });

  test('an untrusted host key is refused before anything runs', async () => {
    const { hostFile, sshd } = await setup();
    const before = await registryText(hostFile);
    try {
      const empty = join(await tempDir(), 'known_hosts');
      await writeFile(empty, '');
      for (const options of [{ knownHostsPath: empty }, { fingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }]) {
        const executor = createSshExecutor({ host: '127.0.0.1', port: sshd.port, username: sshd.username, privateKeyPath: sshd.keyPath, shell: PWSH!, agentBackend: 'file', ...options });
        try {
          await executor.run([{ op: 'registry.set', view: '64', key: 'SOFTWARE\\X', name: 'Y', value: { type: 'REG_DWORD', data: 1 } }]);
          assert.unreachable();
        } catch (error) {
          assert.instance(error, ExecutorError);
          assert.is((error as ExecutorError).kind, 'permanent');
          assert.match((error as Error).message, new RegExp(`host key ${sshd.fingerprint.replace(/[+/]/g, '\\$&')} is not trusted`));
        }
      }
      const pinned = createSshExecutor({ host: '127.0.0.1', port: sshd.port, username: sshd.username, privateKeyPath: sshd.keyPath, shell: PWSH!, fingerprint: sshd.fingerprint, agentBackend: 'file' });
      const [os] = await pinned.run([{ op: 'os.info' }]);
      assert.is((os as { caption: string }).caption, 'Microsoft Windows Server 2016 Datacenter');
      await pinned.close();
      assert.is(await registryText(hostFile), before);
    } finally {
      await sshd.stop();
    }
  });

  test('values with quotes, $(…), backticks, semicolons, newlines and non-ASCII round-trip as data over SSH', async () => {
    const { sshd, executor } = await setup();
    try {
      const nasty = `it's "x" \`y\` $(Stop-Computer) ; rm -rf / \n 中文 ü`;
      const [, got] = await executor.run([
        { op: 'registry.set', view: '64', key: `SOFTWARE\\T ${nasty.replace(/\\/g, '/')}`, name: nasty, value: { type: 'REG_SZ', data: nasty } },
        { op: 'registry.get', view: '64', key: `SOFTWARE\\T ${nasty.replace(/\\/g, '/')}`, name: nasty },
      ]);
      assert.equal((got as { value: unknown }).value, { type: 'REG_SZ', data: nasty });
    } finally {
      await executor.close();
      await sshd.stop();
    }
  });

  test('one agent per connection answers every call; close ends it', async () => {
    const { sshd, executor } = await setup();
    try {
      for (let i = 0; i < 3; i++) await executor.run([{ op: 'os.info' }]);
      const agents = sshd.agents();
      assert.is(agents.length, 1, 'three calls, one PowerShell');
      await executor.close();
      await untilGone(agents);
    } finally {
      await executor.close();
      await sshd.stop();
    }
  });

  test('sshd stopped, then started again: the call is retried and the run completes', async () => {
    const { sshd, executor } = await setup();
    try {
      await sshd.stop();
      const runner = new Runner({ stateDir: await tempDir(), kinds, retry: { retries: 8, minTimeout: 150, maxTimeout: 400, randomize: false } });
      const runbook: RunbookDefinition = { name: 'schannel-only', steps: [{ id: 'schannel', uses: 'windows/schannel' }] };
      const run = runner.start(runbook, { executor });
      const retries: string[] = [];
      run.events.on('step:retry', (e) => retries.push(e.error.message));
      setTimeout(() => void sshd.start(), 400);
      const result = await run.result;
      assert.is(result.status, 'succeeded', JSON.stringify(result.error));
      assert.ok(retries.length >= 1);
      assert.match(retries[0], /ECONNREFUSED/);
    } finally {
      await executor.close();
      await sshd.stop();
    }
  });

  test('a call that outlives its timeout, or is cancelled, fails at once and stops the remote command', async () => {
    const { sshd, executor } = await setup('server-2016', (h) => {
      h.latencyMs = 4000;
    });
    try {
      const started = Date.now();
      try {
        await executor.run([{ op: 'boot.time' }], { timeoutMs: 600 });
        assert.unreachable();
      } catch (error) {
        assert.is((error as ExecutorError).kind, 'timeout');
      }
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 300);
      try {
        await executor.run([{ op: 'boot.time' }], { signal: controller.signal });
        assert.unreachable();
      } catch (error) {
        assert.match((error as Error).message, /cancelled/);
      }
      assert.ok(Date.now() - started < 3000, 'neither call waited for the agent');
    } finally {
      await executor.close();
      await sshd.stop();
    }
  });

  test('an agent blocked mid-call is stopped when its call times out or is cancelled, before the next call starts another: no agent process survives (by PID)', async () => {
    // The agent's file backend opens its host file, here a FIFO no one writes: it blocks there, reading
    // nothing from standard input, as an agent stuck in a batch does.
    const fifo = join(await tempDir(), 'host.fifo');
    execFileSync('mkfifo', [fifo]);
    const sshd = await startSshd(PWSH, { RUNBOOK_AGENT_HOST_FILE: fifo });
    const executor = executorOf(sshd);
    // Every agent process seen (its PowerShell and what that started), by PID and by agent: once
    // stopped or orphaned they are no longer sshd's descendants. `most`: agents alive at once.
    const agents = new Map<number, Set<number>>();
    let most = 0;
    const watch = setInterval(() => {
      for (const agent of sshd.agents()) {
        const pids = agents.get(agent) ?? new Set<number>();
        for (const pid of [agent, ...descendants(agent)]) pids.add(pid);
        agents.set(agent, pids);
      }
      most = Math.max(most, [...agents.values()].filter((pids) => [...pids].some(running)).length);
    }, 25);
    try {
      // One call timed out, then at once one cancelled: the engine's retry, as it comes.
      const failure = (p: Promise<unknown>): Promise<string> => p.then(() => 'the call succeeded', (error: Error) => error.message);
      assert.match(await failure(executor.run([{ op: 'os.info' }], { timeoutMs: 5000 })), /did not answer within 5000 ms/);
      // The next call is cancelled once its own agent runs (the first one stopped before it started).
      const controller = new AbortController();
      const first = agents.size;
      const cancel = setInterval(() => {
        if (agents.size > first) setTimeout(() => controller.abort(), 1000), clearInterval(cancel);
      }, 25);
      assert.match(await failure(executor.run([{ op: 'os.info' }], { signal: controller.signal, timeoutMs: 60_000 })), /cancelled/);
      const all = [...agents.values()].flatMap((pids) => [...pids]);
      assert.is(agents.size, 2, `an agent for each call: ${JSON.stringify([...agents.keys()])}`);
      await untilGone(all, 20_000);
      assert.is(most, 1, 'the agent given up on was stopped before the next one started');
    } finally {
      clearInterval(watch);
      await executor.close();
      for (const pid of [...agents.values()].flatMap((pids) => [...pids])) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // ended
        }
      }
      await sshd.stop();
    }
  });

  test('a connection killed while the restart command runs counts as restart requested', async () => {
    const { hostFile, sshd, executor } = await setup();
    // The agent answers the restart command late: time to kill the connection after the restart is
    // done. Only that call is slow (the host file is changed when the step enters the state, before its
    // actor sends the command; the waiting for the boot is quick again).
    const latency = async (ms: number) => writeHost(hostFile, { ...(await readHost(hostFile)), latencyMs: ms });
    try {
      const runner = new Runner({ stateDir: await tempDir(), kinds });
      const runbook: RunbookDefinition = {
        name: 'schannel-then-restart',
        steps: [
          { id: 'schannel', uses: 'windows/schannel' },
          { id: 'restart', uses: 'windows/restart', with: { pollIntervalMs: 50 } },
        ],
      };
      const run = runner.start(runbook, { executor });
      const logs: string[] = [];
      run.events.on('log', (e) => logs.push(e.message));
      run.events.on('step:transition', (e) => {
        if (e.stepId === 'restart' && e.to === 'awaitBoot') void latency(0);
        if (e.stepId === 'restart' && e.to === 'restart') {
          void latency(1500);
          setTimeout(() => {
            // End the session processes this test's sshd started (not the listener), by PID: the
            // connection drops mid-call.
            for (const pid of sshd.sessions()) {
              try {
                process.kill(pid, 'SIGKILL');
              } catch {
                // it ended meanwhile
              }
            }
          }, 700);
        }
      });
      const result = await run.result;
      assert.is(result.status, 'succeeded', JSON.stringify(result.error));
      assert.ok(logs.some((l) => /restart command's connection failed.*boot time will tell/.test(l)), logs.join('\n'));
      assert.is((await hostOf(hostFile)).restarts, 1);
    } finally {
      await executor.close();
      await sshd.stop();
    }
  });
}

test.run();
