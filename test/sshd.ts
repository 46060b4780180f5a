/**
 * A real OpenSSH server on 127.0.0.1 for the tests: a free port, a generated host key and user key,
 * and (when PowerShell is there) the `powershell` subsystem for PowerShell remoting over SSH.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { tempDir } from './helpers.js';
import { agentProcesses, descendants } from './processes.js';

export const SSHD = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'].find((p) => existsSync(p)) ?? null;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface TestSshd {
  port: number;
  username: string;
  keyPath: string;
  knownHostsPath: string;
  fingerprint: string;
  /** Each host key's known_hosts line (`[127.0.0.1]:PORT type key`), by type (`ed25519`, `rsa`). */
  knownHostsLines: Record<string, string>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The PIDs of this sshd's session processes (its descendants), for tests that end them by PID. */
  sessions(): number[];
  /** The PIDs of the agent sessions (PowerShell running the agent) among them. */
  agents(): number[];
}

async function waitForPort(port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port}`);
}

/**
 * sshd's one `SetEnv` line for the sessions' environment, none when it is empty (sshd_config takes a
 * keyword's first value: a second `SetEnv` line would be ignored).
 */
function sessionEnv(env: Record<string, string>): string[] {
  const pairs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return pairs.length > 0 ? [`SetEnv ${pairs.join(' ')}`] : [];
}

/**
 * Starts sshd; `pwsh` (when given) serves the `powershell` subsystem. Its host key is Ed25519, and
 * `extraHostKeys` adds keys of other types (as Windows' OpenSSH has RSA, ECDSA and Ed25519 keys).
 */
export async function startSshd(pwsh: string | null, env: Record<string, string> = {}, extraHostKeys: 'rsa'[] = []): Promise<TestSshd> {
  if (!SSHD) throw new Error('sshd is not installed: .ci/run installs openssh-server');
  const dir = await tempDir('rbe-sshd-');
  const hostKey = join(dir, 'host_ed25519');
  const userKey = join(dir, 'user_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  for (const type of extraHostKeys) execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', join(dir, `host_${type}`)]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', userKey]);
  const authorized = join(dir, 'authorized_keys');
  await writeFile(authorized, await readFile(`${userKey}.pub`, 'utf8'), { mode: 0o600 });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      ...extraHostKeys.map((type) => `HostKey ${join(dir, `host_${type}`)}`),
      `AuthorizedKeysFile ${authorized}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'LogLevel ERROR',
      ...(pwsh ? [`Subsystem powershell ${pwsh} -sshs -NoLogo -NoProfile`] : []),
      // The test machine's agent reads its registry from a simulated-host file, as configured here; its
      // sessions keep their temporary files where the tests do. SHLVL=1: sshd runs every session's
      // command through the user's shell, and Debian's bash, started by sshd as a top-level shell, reads
      // ~/.bashrc — on this project's machines a pyenv set-up that starts ~10 processes, ~0.5 s of CPU a
      // session. A shell that finds SHLVL set is not top-level and skips it; the sessions need nothing
      // from it.
      // The runtime setting test/pwsh.ts gives every PowerShell of the tests, for the sessions' PowerShells too.
      ...sessionEnv({
        ...env,
        SHLVL: '1',
        ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
        ...(process.env.DOTNET_TC_CallCounting ? { DOTNET_TC_CallCounting: process.env.DOTNET_TC_CallCounting } : {}),
      }),
      '',
    ].join('\n'),
  );
  execFileSync('mkdir', ['-p', '/run/sshd']);
  const hostPub = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/);
  const knownHostsPath = join(dir, 'known_hosts');
  await writeFile(knownHostsPath, `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}\n`);
  const fingerprint = execFileSync('ssh-keygen', ['-lf', `${hostKey}.pub`, '-E', 'sha256']).toString().split(/\s+/)[1];
  const knownHostsLines: Record<string, string> = {};
  for (const type of ['ed25519', ...extraHostKeys]) {
    const pub = (await readFile(join(dir, `host_${type}.pub`), 'utf8')).trim().split(/\s+/);
    knownHostsLines[type] = `[127.0.0.1]:${port} ${pub[0]} ${pub[1]}`;
  }
  let child: ChildProcess | null = null;
  const sshd: TestSshd = {
    port,
    username: userInfo().username,
    keyPath: userKey,
    knownHostsPath,
    fingerprint,
    knownHostsLines,
    async start() {
      child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      await waitForPort(port);
    },
    async stop() {
      if (!child) return;
      const c = child;
      child = null;
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
      // sshd's sessions are its children; make sure none keeps the port.
      await new Promise((r) => setTimeout(r, 100));
    },
    sessions: () => (child?.pid ? descendants(child.pid) : []),
    agents: () => (child?.pid ? agentProcesses(child.pid) : []),
  };
  await sshd.start();
  return sshd;
}
