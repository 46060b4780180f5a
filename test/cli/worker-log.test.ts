/**
 * A worker's log line for a host's end: the host's graduated outcome, as every other rendering says
 * it, not its run's status.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostEndLine } from '../../src/cli/worker-log.js';

process.env.NO_COLOR = '1';

test("a worker's host:end line carries the host's outcome, not its run's status", () => {
  const end = { fleetId: 'f1', host: 'web01', runId: 'f1.web01' };
  assert.is(hostEndLine({ ...end, status: 'succeeded', outcome: 'compliant' }), 'already compliant  web01  (f1.web01)');
  assert.is(hostEndLine({ ...end, status: 'succeeded', outcome: 'changed' }), 'changed  web01  (f1.web01)');
  const failed = hostEndLine({ ...end, status: 'rolled-back', outcome: 'rolled-back', error: { name: 'StepError', code: 'X', message: 'injected permanent fault on restart\nat …' } });
  assert.is(failed, 'failed and rolled back  web01  (f1.web01): injected permanent fault on restart');
  assert.match(hostEndLine({ ...end, status: 'rolled-back', outcome: 'rolled-back-on-request' }), /^rolled back on request {2}web01/);
  assert.match(hostEndLine({ ...end, status: 'rollback-failed', outcome: 'rollback-failed' }), /^ROLLBACK FAILED — an operator is needed {2}web01/);
  assert.not.match(hostEndLine({ ...end, status: 'awaiting-resume', outcome: 'interrupted' }), /awaiting-resume/);
  assert.match(hostEndLine({ ...end, status: 'fenced' }), /^let go \(another driver took the run over\) {2}web01/);
});

test.run();
