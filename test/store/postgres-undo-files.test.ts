/**
 * The undo files a PostgreSQL store keeps for a run are those of its last drive, as in the file store:
 * once a rollback has undone everything, the undo.reg/undo.ps1 an earlier drive saved are gone from the
 * store (`runbook status <id> --reports <dir>` would write them out, listing changes the target no
 * longer holds — which, run later, would undo whatever set those values since). A real server on
 * loopback, started for this file.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Runner, createSimulatedExecutor, loadRunbook } from '../../src/index.js';
import { postgresStore } from '../../src/store/postgres.js';
import { VirtualClock } from '../../src/util/clock.js';
import { FAST, kinds, makeHost, tempDir } from '../helpers.js';
import { postgresForFile } from '../postgres.js';

const { server, stores } = postgresForFile(test);

test('once a rollback has undone everything, the store keeps no undo file of an earlier drive', async () => {
  const url = await server.freshDatabase();
  const stateDir = await tempDir('rbe-worker-');
  const store = await postgresStore(url, { stateDir });
  stores.push(store);
  const clock = new VirtualClock();
  const runner = new Runner({ kinds, store, stateDir, retry: { minTimeout: 5, maxTimeout: 20, randomize: false }, clock });
  const executor = await createSimulatedExecutor(await makeHost('server-2016'), { clock });
  const runbook = await loadRunbook('orchestrator-tls12', kinds);

  const result = await runner.start(runbook, { executor, params: FAST, runId: 'undone' }).result;
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  // The run changed the target: the store keeps its undo files.
  const before = await store.runFiles('undone');
  assert.ok(before['undo.reg'] && before['undo.ps1'], 'the undo files of the run are in the store');

  const undone = await (await runner.rollback('undone', { executor })).result;
  assert.is(undone.status, 'rolled-back');
  assert.is(undone.undoFiles, undefined);
  const after = await store.runFiles('undone');
  assert.not.ok('undo.reg' in after, 'a stale undo.reg is left in the store');
  assert.not.ok('undo.ps1' in after, 'a stale undo.ps1 is left in the store');
  assert.not.match(after['report.md'].toString('utf8'), /undo\.ps1/);
  // The backups the run made are kept: only the undo files of the earlier drive go.
  for (const name of Object.keys(before).filter((n) => n.startsWith('backups/'))) assert.ok(name in after, `${name} kept`);
  await executor.close();
});

test.run();
