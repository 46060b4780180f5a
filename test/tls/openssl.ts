/**
 * Independent TLS peers for the prober's tests: `openssl s_server` instances (Debian's openssl; .ci/run
 * installs it when missing) that the tests start and stop by PID.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

export const OPENSSL = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find((p) => existsSync(p));

/** openssl is required in CI; elsewhere its tests say they were skipped. */
export function needOpenssl(file: string): boolean {
  if (OPENSSL) return true;
  if (process.env.CI) throw new Error(`openssl is required in CI for ${file}: .ci/run installs it (Debian package openssl)`);
  console.log(`  (skipped ${file}: no openssl on this machine)`);
  return false;
}

let certs: Promise<{ key: string; cert: string }> | undefined;
function certificate(): Promise<{ key: string; cert: string }> {
  certs ??= (async () => {
    const dir = await tempDir('rbe-openssl-');
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(OPENSSL!, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    return { key, cert };
  })();
  return certs;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An `openssl s_server` that speaks only the given version flag (e.g. `-tls1_2`); resolves once it listens. */
export async function sServer(versionFlag: string): Promise<{ port: number; process: ChildProcess; stop(): Promise<void> }> {
  const { key, cert } = await certificate();
  const port = await freePort();
  const child = spawn(OPENSSL!, ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', cert, '-key', key, versionFlag, '-cipher', 'DEFAULT:@SECLEVEL=0', '-www'], { stdio: ['ignore', 'pipe', 'ignore'] });
  // s_server prints ACCEPT once it listens.
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('ACCEPT')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`openssl s_server exited ${code} before listening`)));
  });
  child.stdout!.resume();
  return {
    port,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * What `openssl s_client` says of one version against a port: `accepted` with the version, or `refused`.
 * Asynchronous, so that a server in this very process can answer.
 */
export function sClient(port: number, versionFlag: string): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile(OPENSSL!, ['s_client', '-connect', `127.0.0.1:${port}`, versionFlag, '-cipher', 'DEFAULT:@SECLEVEL=0'], { timeout: 10_000 }, (_error, stdout, stderr) => {
      const out = `${stdout}${stderr}`;
      const m = /Protocol\s*:\s*(TLSv[\d.]+)/.exec(out);
      resolve(m && !/Cipher is \(NONE\)/.test(out) ? `accepted ${m[1]}` : 'refused');
    });
    child.stdin?.end();
  });
}
