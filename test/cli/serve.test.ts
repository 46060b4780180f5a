/**
 * `runbook serve` from the command line: it binds 127.0.0.1 and prints the address with its token; it
 * refuses another address without TLS or --insecure; with --cert/--key it serves HTTPS; SIGTERM ends it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'node:https';
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

test.run();
