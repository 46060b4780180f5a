/**
 * `runbook sim serve` and `runbook probe` as a user runs them: the served endpoints, probed from another
 * process, and the server stopped by its PID with SIGTERM.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CLI, cli } from './run-cli.js';
import { makeHost } from '../helpers.js';

test('sim serve prints its endpoints as one JSON line; probe --json sees what the host has in effect; SIGTERM ends serve with 0', async () => {
  const host = await makeHost('server-2016');
  const server = spawn(process.execPath, [CLI, 'sim', 'serve', host], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const first = await new Promise<string>((resolve, reject) => {
      let text = '';
      server.stdout.on('data', (d) => {
        text += d;
        if (text.includes('\n')) resolve(text.split('\n')[0]);
      });
      server.once('exit', (code) => reject(new Error(`sim serve exited ${code}`)));
    });
    const { endpoints } = JSON.parse(first) as { endpoints: { name: string; port: number }[] };
    assert.equal(endpoints.map((e) => e.name), ['winrm-https', 'orchestrator-web-service']);
    const r = await cli(['probe', `127.0.0.1:${endpoints[0].port}`, '--protocol', 'TLS 1.0', '--protocol', 'TLS 1.3', '--json']);
    assert.is(r.code, 0, r.stderr);
    const { verdicts, notTestable } = JSON.parse(r.stdout);
    assert.equal(verdicts.map((v: { protocol: string; outcome: string }) => [v.protocol, v.outcome]), [['TLS 1.0', 'accepted'], ['TLS 1.3', 'refused']]);
    assert.match(notTestable, /SSL 2\.0, SSL 3\.0/);
    const plain = await cli(['probe', `127.0.0.1:${endpoints[1].port}`, '--protocol', 'TLS 1.2']);
    assert.match(plain.stdout, new RegExp(`127\\.0\\.0\\.1:${endpoints[1].port}\\s+TLS 1\\.2\\s+accepted\\s+handshake completed: TLSv1\\.2`));
    assert.match(plain.stdout, /not tested: SSL 2\.0/);
  } finally {
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    assert.is(await exited, 0);
  }
});

test('probe: a wrong endpoint or protocol is a usage error (exit 2); an unreachable one is inconclusive (exit 1)', async () => {
  assert.is((await cli(['probe'])).code, 2);
  const bad = await cli(['probe', 'orch01']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /"orch01" is not host:port/);
  assert.is((await cli(['probe', '127.0.0.1:1', '--protocol', 'SSL 3.0'])).code, 2);
  const down = await cli(['probe', '127.0.0.1:1', '--protocol', 'TLS 1.2']);
  assert.is(down.code, 1);
  assert.match(down.stdout, /inconclusive\s+not reachable: ECONNREFUSED/);
});

test.run();
