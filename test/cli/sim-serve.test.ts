/**
 * `runbook sim serve` as a user runs it: beside its TLS endpoints, the host's WinRM listeners, one
 * line each, taking the account from RUNBOOK_SIM_WINRM_USER / RUNBOOK_SIM_WINRM_PASSWORD.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { CLI, cli } from './run-cli.js';
import { dirname, join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { makeHost } from '../helpers.js';
import { pywinrm } from '../pywinrm.js';

test('sim serve prints a line per WinRM listener after its JSON line, and the listener takes the account from the environment', async () => {
  const host = await makeHost('server-2016');
  const env = { ...process.env, RUNBOOK_SIM_WINRM_USER: 'SIM\\operator', RUNBOOK_SIM_WINRM_PASSWORD: 'Env-Pa55' };
  const server = spawn(process.execPath, [CLI, 'sim', 'serve', host], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr.on('data', (d) => (stderr += d));
  try {
    const lines = await new Promise<string[]>((resolve, reject) => {
      let text = '';
      server.stdout.on('data', (d) => {
        text += d;
        if (text.split('\n').length > 3) resolve(text.split('\n').slice(0, 3));
      });
      server.once('exit', (code) => reject(new Error(`sim serve exited ${code}: ${stderr}`)));
    });
    assert.ok(JSON.parse(lines[0]).endpoints.length > 0);
    const [, http] = /^winrm-http (http:\/\/127\.0\.0\.1:\d+\/wsman)$/.exec(lines[1]) ?? [];
    const [, https, sha] = /^winrm-https (https:\/\/127\.0\.0\.1:\d+\/wsman) sha256:([0-9a-f]{64})$/.exec(lines[2]) ?? [];
    assert.ok(http && https && sha, lines.join('\n'));
    // Authenticated (the shell it asks for does not exist: the fault comes after the login).
    const known = await pywinrm({ step: 'no-such-shell', endpoint: http, transport: 'ntlm', encryption: 'always', user: 'operator', password: 'Env-Pa55' });
    assert.match(known.message as string, /'wsmanfault_code': '2150858843'/, JSON.stringify(known));
    const wrong = await pywinrm({ step: 'no-such-shell', endpoint: http, transport: 'ntlm', encryption: 'always', user: 'operator', password: 'nope' });
    assert.is(wrong.error, 'InvalidCredentialsError');
    assert.not.match(stderr, /Env-Pa55/);
  } finally {
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    assert.is(await exited, 0);
  }
});

test('sim serve of a missing or truncated host file: exit 2 naming the file (as run and inspect), not "cannot reach the target"', async () => {
  const host = await makeHost('server-2016');
  const truncated = join(dirname(host), 'truncated.json');
  await writeFile(truncated, (await readFile(host, 'utf8')).slice(0, 200));
  for (const file of [join(dirname(host), 'nofile.json'), truncated]) {
    const r = await cli(['sim', 'serve', file]);
    assert.is(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(file), r.stderr);
    assert.match(r.stderr, /cannot (read the simulated host file|use the simulated host)/);
    assert.not.match(r.stderr, /cannot reach the target|\n\s+at .+:\d+:\d+/);
  }
});

test.run();
