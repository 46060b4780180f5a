/**
 * The registry backup and secret parameters, end to end with the built CLI: no file name and no file
 * content under the state directory holds a secret (one host and a two-host fleet), nor the console's
 * run API, its download header, or `status --reports`; a backup that would hold a secret fails before
 * any change, the host file byte for byte as it was.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileStore } from '../../src/index.js';
import { startConsole } from '../../src/console/server.js';
import { hostOf, makeHost, tempDir, textOf } from '../helpers.js';
import { cli } from './run-cli.js';
import { regLine, wrapRegLine } from '../../src/windows/reg-file.js';

/** A secret a backup file's name would carry: the last part of `SOFTWARE\Zx9 Top77`, made a file name, is `Zx9-Top77`. */
const SECRET = 'Zx9-Top77';
const PROTOCOLS = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';

/** A runbook that backs up `keys` (YAML list items) before a change to SCHANNEL, with a secret parameter. */
async function runbook(dir: string, keys: string[]): Promise<string> {
  const file = join(dir, 'rb.yaml');
  await writeFile(
    file,
    `name: rb\nparameters:\n  tok: { type: string, secret: true, env: RBE_BACKUP_TOK }\nsteps:\n  - id: backup\n    uses: windows/registry-backup\n    with:\n      keys:\n${keys.map((k) => `        - key: '${k}'\n`).join('')}  - id: schannel\n    uses: windows/schannel\n    with:\n      mode: tls12-only\n`,
  );
  return file;
}

/** Every path under `dir` whose name or content holds `secret`, relative to it. */
async function holding(dir: string, secret: string): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(e.parentPath, e.name);
    if (e.name.includes(secret)) found.push(path.slice(dir.length + 1));
    else if (e.isFile() && textOf(await readFile(path)).includes(secret)) found.push(path.slice(dir.length + 1));
  }
  return found;
}

const env = (secret = SECRET) => ({ RBE_BACKUP_TOK: secret });

/** A REG_EXPAND_SZ whose export line `reg export` wraps inside the secret's bytes. */
const WRAPPED = `%SystemRoot%\\system32;%TEMP%;${SECRET}`;

test('the export of WRAPPED breaks its line inside the secret\'s bytes', () => {
  const line = wrapRegLine(regLine('Exp', { type: 'REG_EXPAND_SZ', data: WRAPPED }));
  const bytes = [...Buffer.from(SECRET, 'utf16le')].map((b) => b.toString(16).padStart(2, '0')).join(',');
  assert.ok(line.includes(',\\\r\n  '), line);
  assert.not.ok(line.includes(bytes), line);
  assert.ok(line.replace(/\\\r\n {2}/g, '').includes(bytes), line);
});

test('a key whose last part would make a secret of the file name: the backup is named by its place, on disk, in the console and in status --reports', async () => {
  const dir = await tempDir();
  const host = await makeHost('server-2016');
  const state = join(dir, 'state');
  const r = await cli(['run', await runbook(dir, ['SOFTWARE\\Zx9 Top77', PROTOCOLS]), '--target', `sim:${host}`, '--state-dir', state, '--yes'], env());
  assert.is(r.code, 0, r.stderr + r.stdout);
  const [runId] = await readdir(join(state, 'runs'));
  // The ordinary key keeps its readable name; the other is named by its place in `keys`.
  assert.equal((await readdir(join(state, 'runs', runId, 'backups'))).sort(), [`${runId}-Protocols-64bit.reg`, `${runId}-key1-64bit.reg`]);
  assert.equal(await holding(state, SECRET), []);
  assert.not.ok(r.stdout.includes(SECRET) || r.stderr.includes(SECRET), 'printed');
  const onTarget = Object.keys((await hostOf(host)).files);
  assert.is(onTarget.length, 2);
  assert.not.ok(onTarget.some((f) => f.includes(SECRET)), 'the target\'s copy is named without it too');

  const reports = join(dir, 'reports');
  const status = await cli(['status', runId, '--state-dir', state, '--reports', reports]);
  assert.is(status.code, 0, status.stderr);
  assert.ok((await readdir(join(reports, 'backups'))).includes(`${runId}-key1-64bit.reg`));
  assert.equal(await holding(reports, SECRET), []);

  const c = await startConsole({ store: fileStore(state), stateDir: state, port: 0 });
  try {
    const base = c.url.slice(0, c.url.indexOf('/?'));
    const cookie = ((await fetch(c.url, { redirect: 'manual' })).headers.get('set-cookie') ?? '').split(';')[0];
    const run = await (await fetch(`${base}/api/runs/${runId}`, { headers: { cookie } })).text();
    assert.ok(run.includes(`backups/${runId}-key1-64bit.reg`), 'the file is offered');
    assert.not.ok(run.includes(SECRET), 'the run API holds the secret');
    const file = await fetch(`${base}/api/runs/${runId}/files/backups/${runId}-key1-64bit.reg`, { headers: { cookie } });
    assert.is(file.status, 200);
    assert.not.ok((file.headers.get('content-disposition') ?? '').includes(SECRET));
    assert.not.ok((await file.text()).includes(SECRET));
  } finally {
    await c.close();
  }
});

test('a two-host fleet: no host\'s backups, reports or fleet reports hold the secret in a name or a content', async () => {
  const dir = await tempDir();
  const made = await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet')]);
  assert.is(made.code, 0, made.stderr);
  const state = join(dir, 'state');
  const r = await cli(['run', await runbook(dir, ['SOFTWARE\\Zx9 Top77']), '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--yes'], env());
  assert.is(r.code, 0, r.stderr + r.stdout);
  const runs = await readdir(join(state, 'runs'));
  assert.is(runs.length, 2);
  for (const runId of runs) assert.equal(await readdir(join(state, 'runs', runId, 'backups')), [`${runId}-key1-64bit.reg`]);
  assert.equal(await holding(state, SECRET), []);
  const [fleetId] = await readdir(join(state, 'fleets'));
  const reports = join(dir, 'reports');
  assert.is((await cli(['status', fleetId, '--state-dir', state, '--reports', reports])).code, 0);
  for (const runId of runs) assert.is((await cli(['status', runId, '--state-dir', state, '--reports', join(reports, runId)])).code, 0);
  assert.equal(await holding(reports, SECRET), []);
});

for (const [label, keys, tweak] of [
  ['a key whose path holds the secret', ['SOFTWARE\\${{ params.tok }}'], undefined],
  [
    'a key whose value holds the secret (a connection string)',
    ['SOFTWARE\\Acme'],
    (h: { registry: Record<string, unknown> }) => void (h.registry['SOFTWARE\\Acme'] = { Conn: { type: 'REG_SZ', data: `Server=db;Password=${SECRET}` } }),
  ],
  // `reg export` writes these as the hex of their UTF-16LE text (hex(2):5a,00,78,00,…), the long one
  // wrapped across lines in the middle of the secret: the backup kept the secret in the state directory.
  [
    'a key whose REG_EXPAND_SZ holds the secret (hex(2), its line wrapped inside the secret)',
    ['SOFTWARE\\Acme'],
    (h: { registry: Record<string, unknown> }) => void (h.registry['SOFTWARE\\Acme'] = { Exp: { type: 'REG_EXPAND_SZ', data: WRAPPED } }),
  ],
  [
    'a key whose REG_MULTI_SZ holds the secret (hex(7))',
    ['SOFTWARE\\Acme'],
    (h: { registry: Record<string, unknown> }) => void (h.registry['SOFTWARE\\Acme'] = { Multi: { type: 'REG_MULTI_SZ', data: ['a', SECRET] } }),
  ],
  [
    'a key whose REG_BINARY holds the secret as UTF-16LE text (hex)',
    ['SOFTWARE\\Acme'],
    (h: { registry: Record<string, unknown> }) => void (h.registry['SOFTWARE\\Acme'] = { Blob: { type: 'REG_BINARY', data: `0100${Buffer.from(SECRET, 'utf16le').toString('hex')}0000` } }),
  ],
] as const) {
  test(`${label}: the backup fails before any change, naming the step and the key, the host file byte-identical, the secret nowhere`, async () => {
    const dir = await tempDir();
    const host = await makeHost('server-2016', tweak as never);
    const before = await readFile(host);
    const state = join(dir, 'state');
    const r = await cli(['run', await runbook(dir, keys as unknown as string[]), '--target', `sim:${host}`, '--state-dir', state, '--yes'], env());
    assert.is(r.code, 1, r.stderr + r.stdout);
    assert.match(r.stdout + r.stderr, /step backup: the backup of HKLM\\SOFTWARE\\(\*\*\*|Acme) \(64-bit view\) would hold the value of a secret parameter/);
    assert.match(r.stdout + r.stderr, /the step exported nothing and changed nothing; leave that key out/);
    assert.ok((await readFile(host)).equals(before), 'the host file changed');
    assert.not.ok(r.stdout.includes(SECRET) || r.stderr.includes(SECRET), 'printed');
    assert.equal(await holding(state, SECRET), []);
    const [runId] = await readdir(join(state, 'runs'));
    assert.not.ok((await readdir(join(state, 'runs', runId))).includes('backups'), 'a backup was kept');
    const report = JSON.parse(await readFile(join(state, 'runs', runId, 'report.json'), 'utf8')) as { steps: { id: string; error?: { code: string } }[] };
    assert.is(report.steps[0].error?.code, 'SECRET_IN_BACKUP');
  });
}

test.run();
