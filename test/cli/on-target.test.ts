/**
 * `--on-target` rehearses, on a simulated host, the engine running on the host itself (its restart ends
 * the run's process). Anywhere else it would change nothing, so it is refused (exit 2) before anything
 * is contacted or created: a real target's executor knows where the engine runs, and a fleet's hosts
 * are never driven from one of them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { makeHost, tempDir } from '../helpers.js';

test('run and plan refuse --on-target with a target that is not sim: (exit 2, nothing contacted)', async () => {
  for (const target of ['ssh://admin@127.0.0.1:9', 'winrm+https://admin@127.0.0.1:9', 'local']) {
    for (const command of ['run', 'plan']) {
      const r = await cli([command, 'orchestrator-tls12', '--target', target, '--on-target', '--state-dir', await tempDir()]);
      assert.is(r.code, 2, `${command} ${target}: ${r.stderr}`);
      assert.match(r.stderr, /--on-target applies to sim: targets only/);
    }
  }
});

test('run and plan refuse --on-target with --inventory, even of simulated hosts', async () => {
  const dir = await tempDir();
  const host = await makeHost('server-2016');
  await writeFile(join(dir, 'inventory.yaml'), `hosts:\n  - name: host-1\n    target: sim:${host}\n`);
  const r = await cli(['plan', 'orchestrator-tls12', '--inventory', join(dir, 'inventory.yaml'), '--on-target', '--state-dir', join(dir, 'state')]);
  assert.is(r.code, 2, r.stderr + r.stdout);
  assert.match(r.stderr, /--on-target applies to sim: targets only/);
});

test('resume refuses --on-target with a --target that is not sim:', async () => {
  const r = await cli(['resume', '20261207-000000-aaaaaa', '--target', 'ssh://admin@127.0.0.1:9', '--on-target', '--state-dir', await tempDir()]);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /--on-target applies to sim: targets only/);
});

test('a sim: target takes --on-target', async () => {
  const host = await makeHost('server-2016');
  const r = await cli(['plan', 'orchestrator-tls12', '--target', `sim:${host}`, '--on-target', '--state-dir', await tempDir()]);
  assert.is(r.code, 0, r.stderr + r.stdout);
});

test.run();
