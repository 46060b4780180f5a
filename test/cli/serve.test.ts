/**
 * `runbook serve` from the command line: it binds 127.0.0.1 and prints the address with its token; it
 * refuses another address without TLS or --insecure; with --cert/--key it serves HTTPS; SIGTERM ends it;
 * a port in use or an address not of this machine is one line that says what to give instead, exit 2.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { listenRefused } from '../../src/cli/commands/serve.js';
import { CLI, cli } from './run-cli.js';
import { tempDir } from '../helpers.js';

/** Starts `runbook serve`; resolves with its first line (JSON) and the child, to end by its PID. */
function startServe(args: string[]): Promise<{ first: { url: string; port: number; live: string }; pid: number; exited: Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve({ first: JSON.parse(out.split('\n')[0]), pid: child.pid!, exited });
    });
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

test('serve binds 127.0.0.1, prints the address with its token, answers, and ends on SIGTERM with exit 0', async () => {
  const state = await tempDir();
  const s = await startServe(['--state-dir', state]);
  assert.match(s.first.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
  assert.is(s.first.live, 'watch', 'the file store is watched');
  assert.is((await fetch(s.first.url, { redirect: 'manual' })).status, 303);
  process.kill(s.pid, 'SIGTERM');
  assert.is(await s.exited, 0);
});

test('another address without TLS is refused (exit 2) unless --insecure; --cert goes with --key', async () => {
  const state = await tempDir();
  const r = await cli(['serve', '--host', '0.0.0.0', '--state-dir', state]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--host 0\.0\.0\.0 would serve the console to the network in clear text: give --cert and --key \(HTTPS\), or --insecure/);
  const half = await cli(['serve', '--cert', 'x.pem', '--state-dir', state]);
  assert.is(half.code, 2);
  assert.match(half.stderr, /--cert and --key go together/);
  const port = await cli(['serve', '--port', 'eighty', '--state-dir', state]);
  assert.is(port.code, 2);
  assert.match(port.stderr, /option '--port <N>' argument 'eighty' is invalid\. Expected a whole number from 0 to 65535\./);
});

test('a port in use, an address that is not this machine\'s: one line that says where, why and what to give instead, exit 2, no stack', async () => {
  const state = await tempDir();
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as AddressInfo).port;
  try {
    const inUse = await cli(['serve', '--port', String(port), '--state-dir', state]);
    assert.is(inUse.code, 2, inUse.stderr);
    assert.is(inUse.stderr.split('\n')[0], `error: cannot serve the console on 127.0.0.1:${port}: the port is in use (another program listens on it): give another --port, or --port 0 for any free one`);
    assert.not.match(inUse.stderr, /unexpected|EADDRINUSE|\n\s+at /);
    const json = await cli(['serve', '--port', String(port), '--state-dir', state, '--json']);
    assert.is(json.code, 2);
    assert.equal(JSON.parse(json.stdout.trim().split('\n').at(-1)!), { event: 'error', code: 'usage', exitCode: 2, message: `cannot serve the console on 127.0.0.1:${port}: the port is in use (another program listens on it): give another --port, or --port 0 for any free one` });
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
  // 192.0.2.1 is for documentation (RFC 5737): no machine holds it.
  const elsewhere = await cli(['serve', '--host', '192.0.2.1', '--insecure', '--port', '0', '--state-dir', state]);
  assert.is(elsewhere.code, 2, elsewhere.stderr);
  assert.is(elsewhere.stderr.split('\n')[0], 'error: cannot serve the console on 192.0.2.1 (any free port): 192.0.2.1 is not an address of this machine: give --host one of its addresses (127.0.0.1: this machine only; 0.0.0.0: all of them)');
  assert.not.match(elsewhere.stderr, /unexpected|EADDRNOTAVAIL|\n\s+at /);
});

test('a port below 1024 without the privilege to listen there says so and what to give instead (tested on the message: a test run by root could listen there)', () => {
  const denied = Object.assign(new Error('listen EACCES: permission denied 127.0.0.1:80'), { code: 'EACCES' });
  assert.is(listenRefused(denied, '127.0.0.1', 80)?.message, 'cannot serve the console on 127.0.0.1:80: ports below 1024 need privileges this process does not have (root, or CAP_NET_BIND_SERVICE): give --port 1024 or above, or --port 0 for any free one');
  assert.is(listenRefused(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), 'console.invalid', 8740)?.message, 'cannot serve the console on console.invalid:8740: console.invalid is not a name this machine can resolve: give --host one of its addresses or names (127.0.0.1: this machine only)');
  assert.is(listenRefused(new Error('something else'), '127.0.0.1', 8740), undefined, 'any other failure stays as it is');
});

test('with --cert and --key the console is served over HTTPS, its cookie marked Secure', async () => {
  const dir = await tempDir();
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  const s = await startServe(['--state-dir', join(dir, 'state'), '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem')]);
  try {
    assert.match(s.first.url, /^https:\/\/127\.0\.0\.1:\d+\/\?token=/);
    const set = await new Promise<string>((resolve, reject) => {
      const req = request(s.first.url, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(String(res.headers['set-cookie'] ?? ''));
      });
      req.on('error', reject);
      req.end();
    });
    assert.match(set, /HttpOnly; SameSite=Strict; Path=\/; Secure/);
  } finally {
    process.kill(s.pid, 'SIGTERM');
    await s.exited;
  }
});

test('--cert and --key that are not PEM, or a key that is not the certificate\'s: exit 2 naming both files, no stack trace, nothing served', async () => {
  const dir = await tempDir();
  for (const n of ['a', 'b']) execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${n}-key.pem`), '-out', join(dir, `${n}-cert.pem`), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  await writeFile(join(dir, 'junk.pem'), 'not a certificate\n');
  const cases: [string, string, RegExp][] = [
    [join(dir, 'junk.pem'), join(dir, 'a-key.pem'), /a file is not PEM/],
    [join(dir, 'a-cert.pem'), join(dir, 'b-key.pem'), /the key is not the private key of this certificate/],
  ];
  for (const [cert, key, why] of cases) {
    const r = await cli(['serve', '--host', '0.0.0.0', '--port', '0', '--cert', cert, '--key', key, '--state-dir', join(dir, 'state')]);
    assert.is(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`error: cannot use --cert ${cert} with --key ${key}: `), r.stderr);
    assert.match(r.stderr, why);
    assert.not.match(r.stderr, /unexpected error|\n\s+at .+:\d+:\d+/);
    assert.is(r.stdout, '');
  }
});

test.run();
