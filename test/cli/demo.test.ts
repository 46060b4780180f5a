/**
 * `runbook demo` (`npm start`): plan, run, rollback on request, a small fleet, then what to try next;
 * its runs are kept where a later `runbook status` looks by default.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { tempDir } from '../helpers.js';

test('the demo shows plan, run and rollback, then a fleet, ends with what to try next, and status finds its runs', async () => {
  const env = { RUNBOOK_STATE_DIR: join(await tempDir(), 'state') };
  const demo = await cli(['demo'], env);
  assert.is(demo.code, 0, demo.stderr + demo.stdout);
  assert.match(demo.stdout, /1\. plan[\s\S]*Result: changes pending[\s\S]*2\. run[\s\S]*Result: changed[\s\S]*3\. rollback[\s\S]*Result: rolled back on request[\s\S]*4\. a small fleet[\s\S]*Fleet: done — 4 changed/);
  // The procedure it names is the one the default follows, its steps in the order a run drives them.
  assert.match(demo.stdout, /"Set up TLS 1\.2 for Orchestrator" \(revision 11\/01\/2024\)/);
  assert.match(demo.stdout, /registry backup, \.NET Framework, SCHANNEL, WinHTTP/);
  assert.match(demo.stdout, /Try next\n {2}runbook status /);
  const status = await cli(['status'], env);
  assert.match(status.stdout, /-fleet-\w+ +orchestrator-tls12 +4: 4 changed/);
  assert.match(status.stdout, /rolled back on request/);
  assert.match(status.stdout, /changes pending/);
});

test.run();
