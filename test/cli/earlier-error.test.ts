/**
 * A run that failed, whose rollback failed (its host did not come back), then finished by `runbook
 * rollback` once the host answered: it is rolled back on request, and the failure it met is history —
 * the terminal's result, report.md and `status <run-id>` show it as `earlier:`, without the advice it
 * carried then (`runbook rollback …` retries, done since), never as the run's error.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Runner, createSimulatedExecutor, loadRunbook, writeHost } from '../../src/index.js';
import { renderSummary } from '../../src/cli/render.js';
import { FAST, hostOf, kinds, makeHost, tempDir } from '../helpers.js';
import { cli } from './run-cli.js';

test('after a retried rollback completes, the failure before it reads as earlier, not as the error of a run rolled back on request', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.downtimeMs = 1e12;
  });
  const stateDir = await tempDir();
  const runner = new Runner({ stateDir, kinds, compensationBudgetMs: 300, retry: { minTimeout: 5, maxTimeout: 20, randomize: false } });
  const executor = await createSimulatedExecutor(file);
  const failed = await runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor, params: { ...FAST, restartTimeoutSeconds: 1 } }).result;
  assert.is(failed.status, 'rollback-failed');
  // While it is the run's state, the failure is its error, with what to do.
  assert.match(renderSummary(failed, 'x'), /Error: the target was not ready by[\s\S]*runbook rollback/);
  const back = await hostOf(file);
  back.downtimeMs = 10;
  back.down = { since: back.down!.since, until: new Date(Date.now() - 1).toISOString() };
  await writeHost(file, back);
  const undone = await (await runner.rollback(failed.runId, { executor })).result;
  assert.is(undone.outcome, 'rolled-back-on-request', JSON.stringify(undone.error));

  const summary = renderSummary(undone, 'x');
  assert.match(summary, /Result: rolled back on request\n {2}earlier: the target was not ready by \S+: boot time still \S+ \(restart\) \(RESTART_TIMEOUT\)\n/);
  assert.not.match(summary, /Error:/);
  assert.not.match(summary, /retries what the rollback could not undo/, 'the advice of the failure, done since');

  const md = await readFile(join(runner.runDir(failed.runId), 'report.md'), 'utf8');
  assert.match(md, /\n- earlier: `RESTART_TIMEOUT` the target was not ready by \S+: boot time still \S+ \(restart\) \(then rolled back on request\)\n/);
  assert.not.match(md, /- error:/);
  assert.match(md, /\nError `RESTART_TIMEOUT` \(earlier\): the target was not ready by \S+: boot time still \S+ \(restart\)\n/, 'the step\'s failure, as history');
  assert.not.match(md, /retries what the rollback could not undo/);

  const status = await cli(['status', failed.runId, '--state-dir', stateDir]);
  assert.is(status.code, 0, status.stderr);
  assert.match(status.stdout, /\n {2}outcome: rolled back on request\n {2}earlier: the target was not ready by \S+: boot time still \S+ \(restart\) \(RESTART_TIMEOUT\)\n/);
  assert.not.match(status.stdout, /retries/);
  await executor.close();
});

test.run();
