/**
 * `runbook sim capture`: a host read and written as a simulated host, ready for a rehearsal.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { makeHost, tempDir } from '../helpers.js';

test('sim capture --mask writes a simulated host that plan accepts, and changes nothing on the host read', async () => {
  const host = await makeHost('server-2012r2', (h) => void (h.sqlInstances = [{ name: 'ORCHDB', version: '12.2.5000.0' }]));
  const before = await readFile(host, 'utf8');
  const out = join(await tempDir(), 'copy.json');
  const r = await cli(['sim', 'capture', '--target', `sim:${host}`, '--out', out, '--mask']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /captured .*copy\.json: Microsoft Windows Server 2012 R2 Standard \(\d+ registry keys, \d+ round trip\(s\), read operations only, names masked\)/);
  assert.is(await readFile(host, 'utf8'), before);
  const copy = JSON.parse(await readFile(out, 'utf8'));
  assert.is(copy.format, 'runbook-engine/simulated-host@1');
  assert.equal(copy.sqlInstances, [{ name: 'INSTANCE1', version: '12.2.5000.0' }]);
  const plan = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${out}`, '--state-dir', await tempDir()]);
  assert.is(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /change\(s\) planned \(26 value\(s\)/);
});

test('sim create and a plan say what a rehearsal assumes; a host that states nothing the facts leave open is refused before its run starts (exit 2), saying what to write', async () => {
  const dir = await tempDir();
  const file = join(dir, 'h.json');
  const create = await cli(['sim', 'create', '--preset', 'server-2025', '--out', file]);
  assert.is(create.code, 0, create.stderr);
  assert.match(create.stdout, /\n {2}rehearsal assumption \(schannelDefaults\): TLS 1\.0 Server refused, TLS 1\.1 Server refused, TLS 1\.3 Server accepted — Rehearsal assumption, not a fact: .*schannel\.tls10-tls11-default-from-2022 is disputed/);
  const plan = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${file}`, '--state-dir', join(dir, 's')]);
  assert.is(plan.code, 0, plan.stderr);
  assert.ok(plan.stderr.includes(`sim:${file}: rehearsal assumption (schannelDefaults): TLS 1.0 Server refused`), plan.stderr);
  const doc = JSON.parse(await readFile(file, 'utf8'));
  delete doc.schannelDefaults;
  await writeFile(file, JSON.stringify(doc));
  const open = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${file}`, '--state-dir', join(dir, 's')]);
  // The host file is the operator's input: refused before any step (exit 2), not a target that does not answer (69).
  assert.is(open.code, 2, open.stderr);
  assert.match(open.stderr, /error: cannot use the simulated host sim:/);
  assert.match(open.stderr, /Windows' default for TLS 1\.0 Server on build 26100 \(schannel\.tls10-tls11-default-from-2022, disputed\)/);
  assert.match(open.stderr, /the simulated host cannot serve its TLS endpoints: .*schannelDefaults does not state/);
  assert.match(open.stderr, /"schannelDefaults": \{ "TLS 1\.0": \{ "Server": false \}/);
  assert.not.match(open.stdout, /TLS 1\.0 +accepted/, 'no handshake is made up');
});

test('sim capture without --target or --out is a usage error (exit 2)', async () => {
  assert.is((await cli(['sim', 'capture', '--out', 'x.json'])).code, 2);
  assert.is((await cli(['sim', 'capture', '--target', 'local'])).code, 2);
});


test('sim capture without WinRM credentials exits 69 as plan does, writing no file', async () => {
  const out = join(await tempDir(), 'copy.json');
  const r = await cli(['sim', 'capture', '--target', 'winrm+https://127.0.0.1:1', '--out', out], { RUNBOOK_WINRM_USER: '', RUNBOOK_WINRM_PASSWORD: '' });
  assert.is(r.code, 69, r.stderr);
  assert.match(r.stderr, /cannot reach the target: no WinRM credentials: RUNBOOK_WINRM_USER is not set .*\n  → nothing was changed\. set RUNBOOK_WINRM_USER/);
  assert.not.ok(existsSync(out));
});

test('sim create and sim fleet overwrite nothing without --force (exit 2, the file as it was)', async () => {
  const dir = await tempDir();
  const file = join(dir, 'h.json');
  assert.is((await cli(['sim', 'create', '--preset', 'server-2016', '--out', file])).code, 0);
  await writeFile(file, '{"mine":true}');
  const again = await cli(['sim', 'create', '--preset', 'server-2016', '--out', file]);
  assert.is(again.code, 2, again.stderr);
  assert.match(again.stderr, /h\.json exists: nothing was overwritten[\s\S]*--force/);
  assert.is(await readFile(file, 'utf8'), '{"mine":true}');
  assert.is((await cli(['sim', 'create', '--preset', 'server-2016', '--out', file, '--force'])).code, 0);
  assert.is((await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'f')])).code, 0);
  const fleet = await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'f')]);
  assert.is(fleet.code, 2);
  assert.match(fleet.stderr, /3 files exist: nothing was overwritten/);
  assert.is((await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'f'), '--force'])).code, 0);
});

test('--out naming a folder (create, capture, even with --force) or, for sim fleet, a file is refused (exit 2) saying what to give; nothing is written', async () => {
  const dir = await tempDir();
  const host = await makeHost('server-2016');
  for (const args of [['sim', 'create', '--preset', 'server-2016', '--out', dir], ['sim', 'create', '--preset', 'server-2016', '--out', dir, '--force'], ['sim', 'capture', '--target', `sim:${host}`, '--out', dir, '--force']]) {
    const r = await cli(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`error: ${dir} is a folder, not a file: nothing was written[\\s\\S]*→ give --out a file's path`));
    assert.not.match(r.stderr, /EISDIR|\n\s+at /);
    assert.not.match(r.stderr, /pass --force/, 'forcing would not help');
  }
  assert.equal(await readdir(dir), [], 'nothing left in the folder');
  const file = join(dir, 'h.json');
  await writeFile(file, '{"mine":true}');
  for (const force of [[], ['--force']]) {
    const r = await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '2', '--out', file, ...force]);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /h\.json is a file, not a folder: nothing was written[\s\S]*→ give --out a folder/);
    assert.not.match(r.stderr, /EEXIST/);
  }
  assert.is(await readFile(file, 'utf8'), '{"mine":true}');
});

test('list, validate and sim presets honour --json', async () => {
  const list = JSON.parse((await cli(['list', '--json'])).stdout) as { runbooks: { name: string; parameters: Record<string, unknown> }[]; stepKinds: { kind: string }[] };
  assert.ok(list.runbooks.some((r) => r.name === 'orchestrator-tls12' && 'tlsEndpoints' in r.parameters));
  assert.ok(list.stepKinds.length > 5);
  const presets = JSON.parse((await cli(['sim', 'presets', '--json'])).stdout) as { name: string }[];
  assert.ok(presets.some((p) => p.name === 'server-2016'));
  const file = join(await tempDir(), 'rb.yaml');
  await writeFile(file, 'name: one\nsteps:\n  - id: pre\n    uses: orchestrator/preflight\n');
  const valid = await cli(['validate', file, '--json']);
  assert.is(valid.code, 0, valid.stderr);
  assert.equal(JSON.parse(valid.stdout).valid, true);
});

test.run();
