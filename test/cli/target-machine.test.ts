/**
 * `runbook rollback <id> --target <another host>`: refused with exit 2 before anything changes, naming
 * both machines and what to do; the run stays undoable on its own host. Needs `npm run build`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeHost, registryText, tempDir } from '../helpers.js';
import { cli } from './run-cli.js';

test('rollback --target another machine exits 2, changes nothing on either host, and stays undoable on its own host', async () => {
  const a = await makeHost('server-2016');
  const b = await makeHost('server-2022');
  const state = await tempDir();
  const ran = await cli(['run', 'orchestrator-tls12', '--target', `sim:${a}`, '--state-dir', state, '--param', 'pollIntervalMs=10', '--param', 'allowRestart=true', '--json']);
  assert.is(ran.code, 0, ran.stderr);
  const runId = (JSON.parse(ran.stdout.trim().split('\n')[0]) as { runId: string }).runId;
  const [aBefore, bBefore] = [await registryText(a), await registryText(b)];
  const refused = await cli(['rollback', runId, '--target', `sim:${b}`, '--state-dir', state, '--yes']);
  assert.is(refused.code, 2, refused.stdout + refused.stderr);
  assert.match(refused.stderr, `run ${runId} was made on sim:${a}`);
  assert.match(refused.stderr, `sim:${b} is another address`);
  assert.match(refused.stderr, /without --target/);
  assert.not.match(refused.stdout, /Rolling back|rolled back/);
  const forced = await cli(['rollback', runId, '--target', `sim:${b}`, '--state-dir', state, '--force']);
  assert.is(forced.code, 2, forced.stdout + forced.stderr);
  assert.match(forced.stderr, /it is another machine/);
  assert.is(await registryText(a), aBefore);
  assert.is(await registryText(b), bBefore);
  // Without --target: its own host, undone.
  const undone = await cli(['rollback', runId, '--state-dir', state]);
  assert.is(undone.code, 0, undone.stdout + undone.stderr);
  assert.match(undone.stdout, `Rolling back orchestrator-tls12 → sim:${a}`);
  assert.is.not(await registryText(a), aBefore, 'the run was undone on its own host');
});

test.run();
