/**
 * Where the state lives: the command a start-up task runs to resume a run after a reboot.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resumeCommandFor } from '../../src/cli/state.js';
import { fileStore } from '../../src/store/file-store.js';
import type { Store } from '../../src/store/types.js';

test('the resume command names the run, the state directory as given, and node and the CLI by absolute path', () => {
  const command = resumeCommandFor('r1', 'C:\\runbook state\\', fileStore('/tmp/x'));
  assert.equal(command.slice(2), ['resume', 'r1', '--state-dir', 'C:\\runbook state\\']);
  assert.is(command[0], process.execPath);
});

test('a run in PostgreSQL is resumed from PostgreSQL: the task carries --store, without the password', () => {
  const store = { kind: 'postgres', location: 'postgres://runbook:***@db/runbook', url: 'postgres://runbook:s3cret@db:5432/runbook' } as unknown as Store;
  const command = resumeCommandFor('r1', '/var/runbook', store);
  const at = command.indexOf('--store');
  assert.ok(at > 0, `no --store in ${command.join(' ')}`);
  assert.is(command[at + 1], 'postgres://runbook@db:5432/runbook');
  assert.not.match(command.join(' '), /s3cret/);
});

test.run();
