/**
 * Where the state lives: the command a start-up task runs to resume a run after a reboot.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resumeCommandFor, stateDirOf } from '../../src/cli/state.js';
import { ValidationError } from '../../src/errors.js';
import { tempDir } from '../helpers.js';
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

test('a state directory checked before a confirmation is refused as for a run, and nothing is made', async () => {
  const dir = await tempDir();
  const missing = join(dir, 'a', 'b');
  assert.is(await stateDirOf(missing, { checkOnly: true }), missing);
  assert.not.ok(existsSync(join(dir, 'a')), 'nothing made');
  await writeFile(join(dir, 'file'), '');
  for (const bad of [join(dir, 'file'), join(dir, 'file', 'under')]) {
    try {
      await stateDirOf(bad, { checkOnly: true });
      assert.unreachable(`${bad} is refused`);
    } catch (error) {
      assert.instance(error, ValidationError);
      assert.match((error as Error).message, /the state directory cannot be used: .*(is a file|ENOTDIR)/);
    }
  }
  assert.is(await stateDirOf(missing), missing);
  assert.ok(existsSync(join(missing, 'runs')), 'made when not only checked');
});

test.run();
