/**
 * `runbook status` as a job view over a state directory: what it lists when part of it is damaged.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { tempDir } from '../helpers.js';

test('status with one fleet record damaged still lists the other fleets and every run, that fleet marked damaged with why', async () => {
  const dir = await tempDir();
  await cli(['sim', 'fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet')]);
  const state = join(dir, 'state');
  for (let i = 0; i < 2; i++) assert.is((await cli(['plan', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state])).code, 0);
  const [damaged, whole] = (await readdir(join(state, 'fleets'))).sort();
  await writeFile(join(state, 'fleets', damaged, 'fleet.json'), '{"format": 1, "fleetId": ');
  const r = await cli(['status', '--state-dir', state]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`${damaged} +- +\\?: damaged — fleet ${damaged} cannot be read`));
  assert.match(r.stdout, new RegExp(`${whole} +orchestrator-tls12 +2: 2 changes pending`));
  assert.is(r.stdout.match(/changes-pending/g)?.length, 4, 'every run is listed');
  assert.is((await cli(['status', '--state-dir', state, '--fleet', whole])).code, 0);
  const one = await cli(['status', '--state-dir', state, damaged]);
  assert.is(one.code, 2, 'the damaged fleet itself is refused, naming its file');
  assert.match(one.stderr, /fleet\.json/);
});

test.run();
