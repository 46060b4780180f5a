/**
 * The built CLI at its edges: bad input exits 2 with one clear message and changes nothing, help works
 * for every command, an unreachable target exits 69, signals stop at a safe point, and what a run waits
 * for is said with the command that continues it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeHost, mountTmpfs, registryText, tempDir } from '../helpers.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

type Outcome = { code: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean };

/**
 * The built CLI as a child. A command that does not end within `timeoutMs` (120 s unless told) is
 * killed and reported `timedOut`: a test of something that could hang fails instead of waiting forever.
 */
function cli(args: string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; onStdout?: (text: string, kill: (s: NodeJS.Signals) => void) => void } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    // The child's colours are the test's to decide: NO_COLOR, and no FORCE_COLOR inherited from a CI runner.
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...options.env };
    delete env.FORCE_COLOR;
    const child = spawn(process.execPath, [CLI, ...args], { env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const limit = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 120_000);
    child.stdout.on('data', (d) => {
      stdout += d;
      options.onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

const FAST = ['--param', 'pollIntervalMs=10'];
const NO_TRACE = /\n\s+at .+:\d+:\d+/;

for (const command of ['run', 'plan', 'resume', 'status', 'rollback', 'list', 'validate', 'probe', 'sim', 'demo']) {
  test(`runbook ${command} --help prints its usage and exits 0`, async () => {
    const r = await cli([command, '--help']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Usage: runbook ${command}`));
    assert.is(r.stderr, '');
  });
}

test('a state directory that is a file: exit 2, one message, no stack trace, nothing run', async () => {
  const host = await makeHost('server-2016');
  const before = await readFile(host, 'utf8');
  const file = join(await tempDir(), 'state');
  await writeFile(file, 'not a folder');
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', file, ...FAST]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /the state directory cannot be used: it is a file/);
  assert.not.match(r.stderr, NO_TRACE);
  assert.is(await readFile(host, 'utf8'), before);
});

test('sim create into a missing folder and demo with an unknown preset: exit 2 without a stack trace', async () => {
  const dir = await tempDir();
  const create = await cli(['sim', 'create', '--preset', 'server-2016', '--out', join(dir, 'nodir', 'x.json')]);
  assert.is(create.code, 2);
  assert.match(create.stderr, /the folder .*nodir does not exist/);
  const demo = await cli(['demo', '--preset', 'nope', '--state-dir', dir]);
  assert.is(demo.code, 2);
  assert.match(demo.stderr, /unknown preset "nope"/);
  for (const r of [create, demo]) assert.not.match(r.stderr, NO_TRACE);
});

test('sim create --out under a file says the file is no folder, not that the folder does not exist', async () => {
  const dir = await tempDir();
  const file = join(dir, 'h.json');
  await writeFile(file, 'x');
  const r = await cli(['sim', 'create', '--preset', 'server-2016', '--out', join(file, 'x.json')]);
  assert.is(r.code, 2, r.stderr);
  assert.ok(r.stderr.includes(`${file} is a file, not a folder`), r.stderr);
  assert.not.match(r.stderr, /does not exist/);
  assert.is(await readFile(file, 'utf8'), 'x');
});

test('--target given twice is refused naming both (the last won silently); nothing is made', async () => {
  const dir = await tempDir();
  const [a, b] = [await makeHost('server-2016'), await makeHost('server-2019')];
  const state = join(dir, 'state');
  for (const args of [['plan', 'orchestrator-tls12', '--state-dir', state], ['list'], ['inspect'], ['sim', 'capture', '--out', join(dir, 'c.json')]]) {
    const r = await cli([...args, '-t', `sim:${a}`, '-t', `sim:${b}`]);
    assert.is(r.code, 2, `${args[0]}: ${r.stderr}${r.stdout}`);
    assert.ok(r.stderr.includes(`--target given twice (sim:${a}, then sim:${b}); give it once`), r.stderr);
    assert.not.match(r.stderr, NO_TRACE);
  }
  assert.not.ok(existsSync(state), 'no run made');
  assert.not.ok(existsSync(join(dir, 'c.json')), 'nothing captured');
});

test('an ssh:// port outside 1-65535, or a host starting with "-", exits 2 naming it before any run is made, for one target or in an inventory', async () => {
  const dir = await tempDir();
  const state = join(dir, 'state');
  const inventory = join(dir, 'inventory.yaml');
  await writeFile(inventory, 'hosts:\n  - name: a\n    target: ssh://u@127.0.0.1:65536\n');
  for (const [args, wanted] of [
    [['-t', 'ssh://u@127.0.0.1:0'], 'the port 0 is not between 1 and 65535'],
    [['-t', 'ssh://u@127.0.0.1:65536'], 'the port 65536 is not between 1 and 65535'],
    [['-t', 'pwsh+ssh://u@127.0.0.1:65536'], 'the port 65536 is not between 1 and 65535'],
    [['-t', 'ssh://u@-oProxyCommand=touch'], 'the host "-oProxyCommand=touch" starts with "-"'],
    [['--inventory', inventory, '--yes'], 'the port 65536 is not between 1 and 65535'],
  ] as const) {
    const r = await cli(['plan', 'orchestrator-tls12', ...args, '--state-dir', state, '--retries', '0']);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}${r.stdout}`);
    assert.ok(r.stderr.includes(wanted), r.stderr);
    assert.not.match(r.stderr, NO_TRACE);
  }
  assert.not.ok(existsSync(state), 'no run made');
});

test('a reader that stops early (list | head -1) gets no EPIPE trace', async () => {
  const r = await new Promise<Outcome>((resolve) => {
    const child = spawn(process.execPath, [CLI, 'list'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.once('data', () => child.stdout.destroy());
    child.on('close', (code, signal) => resolve({ code, signal, stdout: '', stderr, timedOut: false }));
  });
  assert.is(r.stderr, '');
  assert.is(r.code, 0);
});

test('a bad parameter exits 2 before any write and leaves no run behind; --json adds one error object', async () => {
  const host = await makeHost('server-2016');
  const before = await readFile(host, 'utf8');
  const state = await tempDir();
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, '--param', 'hotfixSupersededBy=5011258', '--json']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /steps\[6\] \(id hotfix\)\.with\.supersededBy\.0: a KB number/);
  const error = JSON.parse(r.stdout.trim());
  assert.is(error.event, 'error');
  assert.is(error.exitCode, 2);
  assert.is(await readFile(host, 'utf8'), before);
  assert.equal(existsSync(join(state, 'runs')) ? await readdir(join(state, 'runs')) : [], []);
});

test('a parameter this host cannot carry out (tls13=enabled on Server 2016) exits 2 naming the parameter, the fact and its source; nothing is written', async () => {
  const host = await makeHost('server-2016');
  const before = await readFile(host, 'utf8');
  const state = await tempDir();
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST, '--param', 'tls13=enabled']);
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /parameter tls13=enabled is impossible here: .*no TLS 1\.3.*fact schannel\.tls13-first-build \("Protocols in TLS\/SSL \(Schannel SSP\)", https:\/\/learn\.microsoft\.com\//);
  assert.not.match(r.stdout + r.stderr, NO_TRACE);
  assert.is(await readFile(host, 'utf8'), before);
  const plan = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, '--param', 'tls13=enabled']);
  assert.is(plan.code, 2, 'plan refuses it the same way');
});

test('an unreachable target exits 69, on stderr naming the target, the cause and what to check; a plan never says compliant; --retries sets the retries', async () => {
  const state = await tempDir();
  const env = { RUNBOOK_SSH_PASSWORD: "not-used" };
  // --retries: none for the run, one for the plan (instead of the default three and their back-off).
  const retries: Record<string, string> = { run: '0', plan: '1' };
  for (const command of ['run', 'plan']) {
    const r = await cli([command, 'orchestrator-tls12', '--target', 'ssh://admin@127.0.0.1:1', '--state-dir', state, ...FAST, '--retries', retries[command]], { env });
    assert.is(r.code, 69, `${command}: ${r.stderr}${r.stdout}`);
    assert.match(r.stderr, /cannot reach the target ssh:\/\/admin@127\.0\.0\.1:1/);
    assert.match(r.stderr, /nothing was changed\. Check that the host is up/);
    const summary = r.stdout.slice(r.stdout.indexOf('Result:'));
    assert.match(summary, /Result: unreachable — nothing was changed/);
    assert.not.match(summary, /ECONNREFUSED|already as required/);
  }
  for (const runId of await readdir(join(state, 'runs'))) {
    const records = (await readFile(join(state, 'runs', runId, 'journal.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    // Recorded exactly as typed (user and port included), for a resume to reconnect the same way.
    assert.is(records[0].targetSpec, 'ssh://admin@127.0.0.1:1');
    const attempts = records.filter((r) => r.type === 'step.attempt').length;
    assert.is(attempts, records[0].checkMode ? 2 : 1, 'one attempt, plus one per retry');
  }
  const bad = await cli(['run', 'orchestrator-tls12', '--target', 'ssh://admin@127.0.0.1:1', '--state-dir', state, '--retries', 'many'], { env });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /option '--retries <N>' argument 'many' is invalid\. Expected a whole number from 0 to 20\./);
});

test('an ssh:// host that accepts TCP but never answers SSH: exit 69 with what, where and what to check, no stack trace, the run recorded unreachable (not interrupted)', async () => {
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const state = await tempDir();
  try {
    // One retry: the crash came with the second attempt's connection, after the first timed out.
    for (const command of ['plan', 'run']) {
      const r = await cli([command, 'orchestrator-tls12', '--target', `ssh://root@127.0.0.1:${port}`, '--state-dir', state, ...FAST, '--retries', '1'], { env: { RUNBOOK_SSH_PASSWORD: 'not-used' } });
      assert.is(r.code, 69, `${command}: ${r.stderr}${r.stdout}`);
      assert.match(r.stderr, new RegExp(`cannot reach the target ssh://root@127\\.0\\.0\\.1:${port}: the SSH handshake timed out: the port accepted the connection but no SSH server answered`));
      assert.match(r.stderr, /→ nothing was changed\. check that the port is the SSH server's \(sshd\)/);
      assert.not.match(r.stdout + r.stderr, NO_TRACE);
      assert.not.match(r.stdout + r.stderr, /Unhandled 'error' event|Connection lost before handshake|node:events/);
    }
    const status = await cli(['status', '--state-dir', state, '--json']);
    const runs = JSON.parse(status.stdout) as { status: string }[];
    assert.is(runs.length, 2);
    for (const run of runs) assert.is(run.status, 'unreachable');
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((r) => server.close(r));
  }
});

test('RUNBOOK_SSH_KEY holding the key itself (ssh://, pwsh+ssh://, one target or a fleet): refused, exit 69, the key in no output, journal or report', async () => {
  const lines = Buffer.concat([Buffer.from('openssh-key-v1\0'), Buffer.from('a secret that must stay here'.repeat(8))]).toString('base64').match(/.{1,70}/g)!;
  const env = { RUNBOOK_SSH_KEY: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n` };
  const dir = await tempDir();
  const state = join(dir, 'state');
  const outputs: string[] = [];
  for (const target of ['ssh://admin@127.0.0.1:1', 'pwsh+ssh://admin@127.0.0.1:1']) {
    for (const json of [[], ['--json']]) {
      const r = await cli(['run', 'orchestrator-tls12', '--target', target, '--state-dir', state, ...FAST, '--retries', '0', ...json], { env });
      assert.is(r.code, 69, `${target}: ${r.stderr}${r.stdout}`);
      assert.match(r.stdout + r.stderr, /RUNBOOK_SSH_KEY holds a private key, not the path of a key file; its value is not shown/);
      assert.not.match(r.stdout + r.stderr, NO_TRACE);
      outputs.push(r.stdout, r.stderr);
    }
  }
  const inventory = join(dir, 'inventory.yaml');
  await writeFile(inventory, 'hosts:\n  - { name: web01, target: "ssh://admin@127.0.0.1:1" }\n  - { name: web02, target: "pwsh+ssh://admin@127.0.0.2:2" }\n');
  const fleet = await cli(['run', 'orchestrator-tls12', '--inventory', inventory, '--state-dir', state, ...FAST, '--retries', '0', '--max-failures', '2'], { env });
  assert.is(fleet.code, 69, fleet.stderr + fleet.stdout);
  outputs.push(fleet.stdout, fleet.stderr);
  const [fleetId] = await readdir(join(state, 'fleets'));
  const files = (await readdir(state, { recursive: true, withFileTypes: true })).filter((f) => f.isFile()).map((f) => join(f.parentPath, f.name));
  for (const name of ['journal.jsonl', 'report.json', 'report.md', 'junit.xml']) assert.ok(files.some((f) => f.endsWith(name)), name);
  assert.match(await readFile(join(state, 'fleets', fleetId, 'junit.xml'), 'utf8'), /RUNBOOK_SSH_KEY holds a private key/);
  for (const [where, text] of [...outputs.map((o, i) => [`output ${i}`, o]), ...(await Promise.all(files.map(async (f) => [f, await readFile(f, 'utf8')])))]) {
    assert.not.match(text, /BEGIN OPENSSH|openssh-key|LS0tLS1CRUdJT/, where);
    for (const line of lines) assert.not.ok(text.includes(line), `${where} holds a line of the key`);
  }
});

test('an encrypted RUNBOOK_SSH_KEY without its passphrase, or with a wrong one: exit 69 (inspect as run) saying which, no stack trace, no passphrase', async () => {
  if (spawnSync('ssh-keygen', ['-?']).error) {
    if (process.env.CI) throw new Error('ssh-keygen is required in CI: .ci/run installs openssh-server');
    return console.log('  (skipped: no ssh-keygen)');
  }
  const dir = await tempDir();
  const key = join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'right-horse-battery', '-f', key]);
  const cases: [Record<string, string>, RegExp][] = [
    [{ RUNBOOK_SSH_KEY: key, RUNBOOK_SSH_PASSPHRASE: '' }, /the SSH private key \S+id_ed25519 is encrypted and RUNBOOK_SSH_PASSPHRASE is not set/],
    [{ RUNBOOK_SSH_KEY: key, RUNBOOK_SSH_PASSPHRASE: 'wrong-staple-9f3k' }, /RUNBOOK_SSH_PASSPHRASE does not decrypt the SSH private key \S+id_ed25519/],
  ];
  for (const [env, expected] of cases) {
    const inspect = await cli(['inspect', '--target', 'ssh://admin@127.0.0.1:1'], { env: { ...env, SSH_AUTH_SOCK: '' } });
    const run = await cli(['run', 'orchestrator-tls12', '--target', 'ssh://admin@127.0.0.1:1', '--state-dir', join(dir, 'state'), ...FAST, '--retries', '0'], { env: { ...env, SSH_AUTH_SOCK: '' } });
    assert.is(inspect.code, 69, inspect.stderr);
    assert.is(run.code, 69, run.stderr + run.stdout);
    for (const r of [inspect, run]) {
      assert.match(r.stderr, expected);
      assert.not.match(r.stdout + r.stderr, /unexpected error|wrong-staple|right-horse/);
      assert.not.match(r.stdout + r.stderr, NO_TRACE);
    }
  }
});

test('allowRestart=false: exit 75, the hint names --allow-restart, status says awaiting restart window, rollback undoes it', async () => {
  const host = await makeHost('server-2016');
  const before = await registryText(host);
  const state = await tempDir();
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST, '--param', 'allowRestart=false']);
  assert.is(r.code, 75, r.stderr);
  const runId = (await readdir(join(state, 'runs')))[0];
  assert.match(r.stdout, new RegExp(`continue with: runbook resume ${runId} --allow-restart`));
  for (let i = 0; i < 3; i++) assert.is((await cli(['resume', runId, '--state-dir', state])).code, 75);
  const status = await cli(['status', '--state-dir', state]);
  assert.match(status.stdout, /awaiting a restart window/);
  const rolled = await cli(['rollback', runId, '--state-dir', state]);
  assert.is(rolled.code, 0, rolled.stderr + rolled.stdout);
  assert.match(rolled.stdout, /Rolling back/);
  assert.match(rolled.stdout, /rolled back on request/);
  assert.is(await registryText(host), before);
});

test('SIGINT stops at a safe point: exit 75 with a report, and the resume completes', async () => {
  const host = await makeHost('server-2016', (h) => {
    h.latencyMs = 40;
  });
  const state = await tempDir();
  let sent = false;
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST], {
    onStdout: (text, kill) => {
      // A pipe prints a line as each step ends: dotnet's is printed as schannel starts.
      if (!sent && /^host +dotnet +changed /m.test(text)) {
        sent = true;
        kill('SIGINT');
      }
    },
  });
  assert.is(r.code, 75, r.stderr + r.stdout);
  assert.match(r.stderr, /stopping at the next safe point/);
  assert.match(r.stdout, /interrupted \(awaiting resume\)/);
  const runId = (await readdir(join(state, 'runs')))[0];
  assert.ok(existsSync(join(state, 'runs', runId, 'report.json')));
  const resumed = await cli(['resume', runId, '--state-dir', state]);
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
  assert.is(JSON.parse(await readFile(host, 'utf8')).restarts, 1);
});

test('resume --all attempts every run, lists damaged and refused ones, and exits non-zero', async () => {
  const state = await tempDir();
  const hosts = [await makeHost('server-2016'), await makeHost('server-2016')];
  for (const host of hosts) {
    const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST, '--param', 'allowRestart=false']);
    assert.is(r.code, 75);
  }
  const [a, b] = (await readdir(join(state, 'runs'))).sort();
  // One journal damaged in the middle: a complete line whose checksum no longer matches.
  const file = join(state, 'runs', a, 'journal.jsonl');
  const lines = (await readFile(file, 'utf8')).split('\n');
  lines[2] = lines[2].replace('"type"', '"typo"');
  await writeFile(file, lines.join('\n'));
  const r = await cli(['resume', '--all', '--allow-restart', '--state-dir', state]);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${a}: damaged — corrupt journal record`));
  assert.match(r.stdout, /Result: changed/, 'the other run was resumed');
  const status = await cli(['status', '--state-dir', state]);
  assert.match(status.stdout, new RegExp(`${a}  damaged`));
  assert.match(status.stdout, new RegExp(`${b}\\s+changed`));
});

test('an empty journal (or one whose only line was never finished): status, resume and rollback call it damaged naming the file and what to do, exit 2, the host unchanged', async () => {
  const state = await tempDir();
  const host = await makeHost('server-2016');
  assert.is((await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST, '--param', 'allowRestart=false'])).code, 75);
  const [id] = await readdir(join(state, 'runs'));
  const journal = join(state, 'runs', id, 'journal.jsonl');
  const before = await readFile(host, 'utf8');
  // No summary.json: as a run whose controller stopped before its first record was durable.
  await rm(join(state, 'runs', id, 'summary.json'));
  for (const [content, what] of [['', 'empty \\(0 bytes\\)'], ['{"seq":1,"type":"run.st', '23 bytes without one complete record \\(its first line was never finished\\)']]) {
    await writeFile(journal, content);
    const said = new RegExp(`the journal of run ${id} is ${what}: nothing in it says what the run did \\(${journal.replace(/[.\\/]/g, '\\$&')}\\)\\n  → if the file was emptied, restore journal\\.jsonl from a backup; if its run stopped before its first record .* remove the folder `);
    const list = await cli(['status', '--state-dir', state]);
    assert.is(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${id}  damaged .* the journal of run ${id} is ${what}`));
    for (const args of [['status', id], ['resume', id], ['rollback', id, '--yes'], ['resume', '--all']]) {
      const r = await cli([...args, '--state-dir', state]);
      assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      if (args[1] === '--all') assert.match(r.stderr, new RegExp(`${id}: damaged — the journal of run ${id} is ${what}`));
      else assert.match(r.stderr, said);
      assert.not.match(r.stderr, /does not begin with run\.started/);
      assert.not.match(r.stderr, NO_TRACE);
    }
    assert.is(await readFile(journal, 'utf8'), content, 'the journal as it was');
    assert.is(await readFile(host, 'utf8'), before, 'the host unchanged');
  }
});

test('a runbook file deleted before the resume is refused unless --force', async () => {
  const host = await makeHost('server-2016');
  const state = await tempDir();
  const dir = await tempDir();
  const doc = join(dir, 'mine.yaml');
  const bundled = await readFile(join(import.meta.dirname, '..', '..', 'runbooks', 'orchestrator-tls12.yaml'), 'utf8');
  await writeFile(doc, bundled.replace('name: orchestrator-tls12', 'name: mine'));
  const r = await cli(['run', doc, '--target', `sim:${host}`, '--state-dir', state, ...FAST, '--param', 'allowRestart=false']);
  assert.is(r.code, 75, r.stderr);
  const runId = (await readdir(join(state, 'runs')))[0];
  await rm(doc);
  const refused = await cli(['resume', runId, '--allow-restart', '--state-dir', state]);
  assert.is(refused.code, 2);
  assert.match(refused.stderr, /cannot be loaded from .*mine\.yaml/);
  assert.match(refused.stderr, /--force/);
  const forced = await cli(['resume', runId, '--allow-restart', '--force', '--state-dir', state]);
  assert.is(forced.code, 0, forced.stderr + forced.stdout);
});

test('a run resumes against the target exactly as it was typed', async () => {
  const host = await makeHost('server-2016');
  const state = await tempDir();
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST, '--param', 'allowRestart=false']);
  assert.is(r.code, 75);
  const runId = (await readdir(join(state, 'runs')))[0];
  const first = JSON.parse((await readFile(join(state, 'runs', runId, 'journal.jsonl'), 'utf8')).split('\n')[0]);
  assert.is(first.targetSpec, `sim:${host}`);
});

test('a journal write the disk refuses: exit 75 naming the file, the changes and `runbook resume`, no stack trace; the resume succeeds; refused at the first record: exit 2, nothing changed', async () => {
  const host = await makeHost('server-2016');
  const before = await registryText(host);
  const state = await tempDir();
  const first = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST, '--json'], { env: { RUNBOOK_JOURNAL_FAULT: '1:ENOSPC' } });
  assert.is(first.code, 2, first.stderr);
  assert.not.match(first.stderr, NO_TRACE);
  assert.match(first.stderr, /journal\.jsonl could not be written durably \(ENOSPC: the disk is full\); nothing was changed on the target/);
  assert.match(first.stdout, /"code":"NOT_DURABLE","exitCode":2/);
  assert.is(await registryText(host), before);
  assert.equal(await readdir(join(state, 'runs')), [], 'a run whose first record never reached the disk leaves nothing behind');

  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST], { env: { RUNBOOK_JOURNAL_FAULT: '12:EIO:sync' } });
  assert.is(r.code, 75, r.stderr);
  assert.not.match(r.stderr, NO_TRACE);
  assert.not.match(r.stderr, /unexpected error/);
  const runId = /runbook resume ([\w.-]+)/.exec(r.stderr)?.[1];
  assert.ok(runId, r.stderr);
  assert.match(r.stderr, /the target holds changes of this run \(steps [^)]+\)/);
  assert.match(r.stderr, /free space in .* then `runbook resume /);
  const resumed = await cli(['resume', runId!, '--state-dir', state]);
  assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
});

test('report and summary files a full disk refuses after the run ended: the run keeps its outcome and exit code, a warning names each file and `runbook resume`, which writes them again', async () => {
  const host = await makeHost('server-2016');
  const state = await tempDir();
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST], { env: { RUNBOOK_WRITE_FAULT: 'report.json,report.md,summary.json:ENOSPC' } });
  assert.is(r.code, 0, r.stderr);
  assert.not.match(r.stderr, NO_TRACE);
  assert.not.match(r.stderr, /^error:/m);
  const runId = (await readdir(join(state, 'runs')))[0];
  const runDir = join(state, 'runs', runId);
  for (const file of ['report.json', 'report.md', 'summary.json']) {
    assert.ok(r.stderr.includes(`${join(runDir, file)} could not be written (ENOSPC: the disk is full); the run's journal is intact and its outcome stands`), r.stderr);
    assert.not.ok(existsSync(join(runDir, file)));
  }
  assert.match(r.stderr, new RegExp(`free space in ${state}, then \`runbook resume ${runId}\` writes the run's files again`));
  assert.match(r.stdout, /report: .*report\.md not written \(ENOSPC: the disk is full\)/);
  assert.ok(existsSync(join(runDir, 'undo.reg')), 'the undo files were written');
  const again = await cli(['resume', runId, '--state-dir', state]);
  assert.is(again.code, 0, again.stderr);
  for (const file of ['report.json', 'report.md', 'summary.json']) assert.ok(existsSync(join(runDir, file)), file);
  // A rollback's end, too.
  const back = await cli(['rollback', runId, '--state-dir', state, '--yes'], { env: { RUNBOOK_WRITE_FAULT: 'report.md:EFBIG' } });
  assert.not.match(back.stderr, NO_TRACE);
  assert.not.match(back.stderr, /^error:/m);
  assert.ok(back.stderr.includes(`${join(runDir, 'report.md')} could not be written (EFBIG: the file is too large for its file system)`), back.stderr);
  assert.not.match(back.stderr, /disk is full/);
  const status = await cli(['status', runId, '--state-dir', state, '--json']);
  assert.is((JSON.parse(status.stdout) as { status: string }).status, 'rolled-back');
});

test('sim create and sim fleet on a full disk: exit 2 naming the file, the cause and what to do, no stack trace', async () => {
  const dir = await tempDir();
  const one = await cli(['sim', 'create', '--preset', 'server-2016', '--out', join(dir, 'h.json')], { env: { RUNBOOK_WRITE_FAULT: 'h.json:ENOSPC' } });
  assert.is(one.code, 2, one.stderr);
  assert.not.match(one.stderr, NO_TRACE);
  assert.ok(one.stderr.includes(`error: ${join(dir, 'h.json')} could not be written (ENOSPC: the disk is full)\n  → free space in ${dir}, then run the command again`), one.stderr);
  const many = await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet')], { env: { RUNBOOK_WRITE_FAULT: 'inventory.yaml:EDQUOT' } });
  assert.is(many.code, 2, many.stderr);
  assert.ok(many.stderr.includes(`${join(dir, 'fleet', 'inventory.yaml')} could not be written (EDQUOT: the disk quota is used up)`), many.stderr);
});

test('a simulated host on a read-only file system: run, resume and rollback refuse it before the first write (exit 2, "cannot write the simulated host file"), plan still reads it; sim create there names the file, not its temporary file', async () => {
  const mount = join(await tempDir('rbe-ro-'), 'hosts');
  if (!mountTmpfs(mount, '4m', 'the read-only case')) return;
  try {
    const host = join(mount, 'h.json');
    const made = await cli(['sim', 'create', '--preset', 'server-2016', '--out', host]);
    assert.is(made.code, 0, made.stderr);
    const state = await tempDir();
    // A run that waits for a restart window: its resume and rollback are refused the same way below.
    const first = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST, '--param', 'allowRestart=false']);
    assert.is(first.code, 75, first.stderr);
    const [runId] = await readdir(join(state, 'runs'));
    execFileSync('mount', ['-o', 'remount,ro', mount]);
    const before = await readFile(host, 'utf8');
    const refusals = [
      await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', await tempDir(), ...FAST]),
      await cli(['resume', runId, '--allow-restart', '--state-dir', state]),
      await cli(['rollback', runId, '--yes', '--state-dir', state]),
    ];
    for (const r of refusals) {
      assert.is(r.code, 2, r.stderr + r.stdout);
      assert.ok(r.stderr.includes(`error: cannot write the simulated host file ${host}: it is not writable (EROFS: a read-only file system)`), r.stderr);
      assert.match(r.stderr, /nothing was changed/);
      assert.not.match(r.stderr, NO_TRACE);
      assert.not.match(r.stderr, /\.tmp\b/);
    }
    assert.is(await readFile(host, 'utf8'), before);
    const plan = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', await tempDir(), ...FAST]);
    assert.is(plan.code, 0, plan.stderr);
    const create = await cli(['sim', 'create', '--preset', 'server-2016', '--out', join(mount, 'new.json')]);
    assert.is(create.code, 2, create.stderr);
    assert.ok(create.stderr.includes(`error: ${join(mount, 'new.json')} could not be written (EROFS: `), create.stderr);
    assert.match(create.stderr, new RegExp(`→ make ${mount} writable again, then run the command again`));
    assert.not.match(create.stderr, /\.tmp\b/);
  } finally {
    execFileSync('umount', [mount]);
  }
});

test('a mistyped store URL is refused without any part of its password, whatever the password holds', async () => {
  for (const url of ['postgre://rbe:pa/ss:w@rd@db:5432/runs', 'postgres//rbe:s3cr:et/x@db/runs']) {
    const r = await cli(['status', '--state-dir', await tempDir()], { env: { RUNBOOK_STORE: url } });
    assert.is(r.code, 2, r.stderr);
    assert.not.match(r.stderr, /pa\/ss|w@rd|s3cr|et\/x/);
    assert.match(r.stderr, /rbe:\*\*\*@db/);
  }
  // A postgres:// URL that does not parse is bad input (exit 2), not a store that cannot be reached (69).
  const r = await cli(['status', '--state-dir', await tempDir()], { env: { RUNBOOK_STORE: 'postgres://rbe:pa/ss:w@rd@db:5432/runs' } });
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /the store URL \(--store or \$RUNBOOK_STORE\) "postgres:\/\/rbe:\*\*\*@db:5432\/runs": not a URL/);
  assert.not.match(r.stderr, /pa\/ss|w@rd|\n\s+at /);
});

test('a libpq key=value string for the store is refused naming where it came from, its password masked, on stderr and in --json', async () => {
  for (const [value, shown] of [
    ['host=127.0.0.1 user=rbe password=S3cr3t-Store dbname=runs', 'host=127.0.0.1 user=rbe password=*** dbname=runs'],
    ["host=127.0.0.1 password='S3cr3t Store' dbname=runs", 'host=127.0.0.1 password=*** dbname=runs'],
  ]) {
    for (const json of [[], ['--json']]) {
      const r = await cli(['status', '--state-dir', await tempDir(), ...json], { env: { RUNBOOK_STORE: value } });
      assert.is(r.code, 2, r.stderr);
      const out = `${r.stdout}${r.stderr}`;
      assert.not.match(out, /S3cr3t/);
      assert.ok(r.stderr.includes(`$RUNBOOK_STORE takes a postgres:// URL, got "${shown}" (a key=value connection string is not read): give postgres://user@host:port/database, with the password in $PGPASSWORD`), r.stderr);
      if (json.length > 0) assert.match(JSON.parse(r.stdout.trim().split('\n').pop()!).message, /^\$RUNBOOK_STORE takes a postgres:\/\/ URL, got "host=127\.0\.0\.1 .*password=\*\*\* dbname=runs"/);
    }
  }
});

test('a malformed simulated host file (services: "x"): exit 2 naming the file and the field, no stack trace, the host unchanged', async () => {
  const host = await makeHost('server-2016');
  const doc = JSON.parse(await readFile(host, 'utf8'));
  await writeFile(host, JSON.stringify({ ...doc, services: 'x' }));
  const before = await readFile(host, 'utf8');
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', await tempDir(), ...FAST]);
  assert.is(r.code, 2, r.stderr + r.stdout);
  assert.not.match(r.stderr, NO_TRACE);
  assert.match(r.stderr, /services: Invalid input: expected record/);
  assert.ok(r.stderr.includes(host));
  assert.is(await readFile(host, 'utf8'), before);
  // Said once, by the line that says what happened (the file's own advice does not say it again).
  assert.is(r.stderr.split('nothing was changed').length - 1, 1, r.stderr);
});

test('a simulated host file whose SQL instances, downtime or restart times the simulator cannot compute with: exit 2 naming the field before anything is sent (list and inspect too), the host unchanged, no run made', async () => {
  const host = await makeHost('server-2016');
  const doc = JSON.parse(await readFile(host, 'utf8'));
  const cases: [Record<string, unknown>, string][] = [
    [{ sqlInstances: [{ name: null }] }, 'sqlInstances.0.name: Invalid input: expected string, received null'],
    [{ sqlInstances: [5] }, 'sqlInstances.0: Invalid input: expected object, received number'],
    [{ downtimeMs: 1e308 }, 'downtimeMs: Too big: expected number to be <=100000000000000'],
    [{ down: { since: 'x', until: 'y' } }, 'down.since: expected a date and time (ISO 8601)'],
    [{ sqlInstances: [{ name: 'A', version: 7 }] }, 'sqlInstances.0.version: Invalid input: expected string, received number'],
  ];
  for (const [fields, wanted] of cases) {
    const text = JSON.stringify({ ...doc, ...fields });
    await writeFile(host, text);
    const state = join(await tempDir(), 'state');
    for (const args of [['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST], ['list', '--target', `sim:${host}`], ['inspect', '--target', `sim:${host}`]]) {
      const r = await cli(args);
      assert.is(r.code, 2, `${args[0]} ${wanted}: ${r.stderr}${r.stdout}`);
      assert.not.match(r.stderr, NO_TRACE);
      assert.ok(r.stderr.includes(wanted), r.stderr);
      assert.ok(r.stderr.includes(host), 'names the file');
      assert.is(await readFile(host, 'utf8'), text, 'the host unchanged');
    }
    assert.not.ok(existsSync(state), 'no run made');
  }
});

test('a simulated host file that is not JSON: exit 2, where the JSON breaks, what to do, "nothing was changed" said once, the file unchanged', async () => {
  const host = await makeHost('server-2016');
  await writeFile(host, '{bad');
  const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', await tempDir(), ...FAST]);
  assert.is(r.code, 2, r.stderr + r.stdout);
  assert.not.match(r.stderr, NO_TRACE);
  assert.match(r.stderr, /not valid JSON: it breaks at line 1, column 2 \(/);
  assert.match(r.stderr, /runbook sim create --preset/);
  assert.is(r.stderr.split('nothing was changed').length - 1, 1, r.stderr);
  assert.is(await readFile(host, 'utf8'), '{bad');
});

test('a sim: target naming a file that is not JSON (a password file): its content is in no message, only where the JSON breaks; a fleet refuses it before any host is contacted, as one host does', async () => {
  const dir = await tempDir();
  const passwd = join(dir, 'passwd');
  await writeFile(passwd, 'root:x:0:0:Qz7root-note:/root:/bin/bash\nsvc:x:1:1::/:/bin/false\n');
  const inventory = join(dir, 'inventory.yaml');
  await writeFile(inventory, `hosts:\n  - name: odd\n    target: sim:${passwd}\n    groups: [web]\nwaves:\n  - name: all\n    groups: [web]\n`);
  const state = join(dir, 'state');
  const single = await cli(['run', 'orchestrator-tls12', '--target', `sim:${passwd}`, '--state-dir', state, ...FAST]);
  const fleet = await cli(['run', 'orchestrator-tls12', '--inventory', inventory, '--state-dir', state, '--yes', ...FAST]);
  for (const r of [single, fleet]) {
    assert.is(r.code, 2, r.stderr + r.stdout);
    assert.match(r.stdout + r.stderr, /the simulated host file is not valid JSON: it breaks at line 1, column 1/);
    assert.ok((r.stdout + r.stderr).includes(passwd), 'names the file');
    assert.not.ok(/root:x|Qz7root/.test(r.stdout + r.stderr), r.stdout + r.stderr);
  }
  assert.match(fleet.stderr, new RegExp(`host odd of ${inventory}: cannot use the simulated host`));
  assert.not.ok(existsSync(state), 'no run, fleet or report was made');
});

/** Everything under a folder, as paths relative to it (what a refused command must not have added). */
async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

test('a state directory on /proc or /sys is refused at once (exit 2) naming the folder and why: Node\'s recursive mkdir looped there forever', async () => {
  const host = await makeHost('server-2016');
  const before = await readFile(host, 'utf8');
  for (const [dir, named] of [['/proc/self', 'it is on procfs'], [`/proc/rbe-${process.pid}/state`, '/proc is on procfs'], [`/sys/rbe-${process.pid}`, '/sys is on sysfs']]) {
    const r = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', dir, ...FAST], { timeoutMs: 30_000 });
    assert.not.ok(r.timedOut, `--state-dir ${dir} did not end`);
    assert.is(r.code, 2, `${dir}: ${r.stdout}${r.stderr}`);
    assert.ok(r.stderr.startsWith(`error: the state directory cannot be used: ${named}, a virtual file system of the kernel's state (such as /proc or /sys) that cannot hold files\n  - ${dir}\n  → pass --state-dir`), r.stderr);
    assert.not.match(r.stderr, NO_TRACE);
  }
  // A fleet's `--out` too, checked before anything is written.
  const fleet = await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '2', '--out', `/proc/rbe-${process.pid}/fleet`], { timeoutMs: 30_000 });
  assert.not.ok(fleet.timedOut, 'sim fleet --out /proc/… did not end');
  assert.is(fleet.code, 2, fleet.stderr);
  assert.match(fleet.stderr, /^error: the --out folder cannot be used: \/proc is on procfs, .*; nothing was written\n/);
  assert.is(await readFile(host, 'utf8'), before, 'the target is as it was');
});

test('status --reports that cannot take the files (on /proc, a file, under a file, a full disk): exit 2 naming the folder, why and what to give, no stack trace', async () => {
  const host = await makeHost('server-2016');
  const state = await tempDir();
  const run = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state, ...FAST]);
  assert.is(run.code, 0, run.stderr);
  const runId = (await readdir(join(state, 'runs')))[0];
  const stateFiles = await filesUnder(state);
  const file = join(await tempDir(), 'passwd');
  await writeFile(file, 'root:x:0:0::/root:/bin/sh\n');
  for (const [dir, why] of [
    [`/proc/rbe-${process.pid}`, '/proc is on procfs, a virtual file system'],
    ['/proc/self', 'it is on procfs, a virtual file system'],
    [file, 'it is a file, not a folder'],
    [join(file, 'reports'), `${file} is a file, not a folder`],
  ]) {
    const r = await cli(['status', runId, '--reports', dir, '--state-dir', state], { timeoutMs: 30_000 });
    assert.not.ok(r.timedOut, `--reports ${dir} did not end`);
    assert.is(r.code, 2, `${dir}: ${r.stdout}${r.stderr}`);
    assert.ok(r.stderr.startsWith(`error: the --reports folder cannot be used: ${why}`), r.stderr);
    assert.ok(r.stderr.includes(`; nothing was written\n  - ${dir}\n  → give --reports a folder this user can write`), r.stderr);
    assert.not.match(r.stderr, NO_TRACE);
    assert.is(r.stdout, '', 'refused before the run is shown');
  }
  assert.is(await readFile(file, 'utf8'), 'root:x:0:0::/root:/bin/sh\n');
  // A full disk names the file that could not be written and what to do.
  const reports = join(await tempDir(), 'reports');
  const full = await cli(['status', runId, '--reports', reports, '--state-dir', state], { env: { RUNBOOK_WRITE_FAULT: 'report.md:ENOSPC' } });
  assert.is(full.code, 2, full.stderr);
  assert.ok(full.stderr.includes(`error: ${join(reports, 'report.md')} could not be written (ENOSPC: the disk is full)\n  → free space in ${reports}, then run the command again`), full.stderr);
  assert.not.ok(existsSync(join(reports, 'report.md')));
  assert.equal(await filesUnder(state), stateFiles, 'nothing changed in the state directory');
});

test('an empty --state-dir or --reports (an unset shell variable) is a usage error, as --limit "" is; an empty RUNBOOK_STATE_DIR is unset (./.runbook), never the current folder', async () => {
  const host = await makeHost('server-2016');
  const before = await readFile(host, 'utf8');
  const here = await tempDir();
  for (const args of [['run', 'orchestrator-tls12', '--target', `sim:${host}`, ...FAST], ['status'], ['resume', '--all']]) {
    for (const empty of ['', ' ']) {
      const r = await cli([...args, '--state-dir', empty], { cwd: here });
      assert.is(r.code, 2, `${args[0]} --state-dir "${empty}": ${r.stdout}${r.stderr}`);
      assert.ok(r.stderr.startsWith(`error: --state-dir "${empty}" names no file or folder (an unset shell variable?): give a folder, or leave --state-dir out to use $RUNBOOK_STATE_DIR or ./.runbook\nsee \`runbook ${args[0]} --help\``), r.stderr);
    }
  }
  const reports = await cli(['status', 'some-run', '--reports', '', '--state-dir', here], { cwd: here });
  assert.is(reports.code, 2, reports.stderr);
  assert.match(reports.stderr, /^error: --reports "" names no file or folder \(an unset shell variable\?\)/);
  assert.equal(await readdir(here), [], 'nothing made in the current folder');
  assert.is(await readFile(host, 'utf8'), before, 'the target is as it was');
  const unset = await cli(['run', 'orchestrator-tls12', '--target', `sim:${host}`, ...FAST], { cwd: here, env: { RUNBOOK_STATE_DIR: '' } });
  assert.is(unset.code, 0, unset.stderr);
  assert.equal(await readdir(here), ['.runbook'], 'the run went to ./.runbook, not ./runs');
});

test('serve --state-dir naming a folder that does not exist says at start there are no runs there, as status does, and makes nothing', async () => {
  const missing = join(await tempDir(), 'mistyped', 'state');
  let sent = false;
  const r = await cli(['serve', '--port', '0', '--json', '--state-dir', missing], {
    timeoutMs: 60_000,
    onStdout: (text, kill) => {
      // Once: a second SIGTERM, after the console's handler has taken the first, would end it by the signal.
      if (!sent && text.includes('\n')) {
        sent = true;
        kill('SIGTERM');
      }
    },
  });
  assert.not.ok(r.timedOut, r.stderr);
  assert.is(r.code, 0, r.stderr);
  assert.is((JSON.parse(r.stdout.split('\n')[0]) as { event: string }).event, 'serving');
  assert.ok(r.stderr.includes(`note: no runs in ${missing} (no such folder: check --state-dir, or $RUNBOOK_STATE_DIR)`), r.stderr);
  assert.not.ok(existsSync(join(missing, '..')), 'nothing made');
  const status = await cli(['status', '--state-dir', missing]);
  assert.ok(status.stdout.includes(`no runs in ${missing} (no such folder: check --state-dir, or $RUNBOOK_STATE_DIR)`), status.stdout);
});

test.run();
