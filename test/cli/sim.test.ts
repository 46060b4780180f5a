/**
 * `runbook sim capture`: a host read and written as a simulated host, ready for a rehearsal.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
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
  assert.match(plan.stdout, /change\(s\) planned \(25 value\(s\)/);
});

test('sim capture without --target or --out is a usage error (exit 2)', async () => {
  assert.is((await cli(['sim', 'capture', '--out', 'x.json'])).code, 2);
  assert.is((await cli(['sim', 'capture', '--target', 'local'])).code, 2);
});

test.run();
