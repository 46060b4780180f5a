/**
 * The command line's shared pieces: the command a start-up task runs to resume a run after a reboot.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resumeCommandFor } from '../../src/cli/common.js';
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


test('an executor error keeps its own advice (an untrusted host key: ssh-keyscan); only a cause without advice gets the checklist', async () => {
  const { reachAdvice } = await import('../../src/cli/common.js');
  const key = reachAdvice('the host key SHA256:abc is not trusted (ssh://admin@web01)\n  → add the host to known_hosts (ssh-keyscan) or pin its fingerprint with RUNBOOK_SSH_FINGERPRINT');
  assert.is(key.cause, 'the host key SHA256:abc is not trusted (ssh://admin@web01)');
  assert.match(key.advice, /^add the host to known_hosts \(ssh-keyscan\)/);
  assert.not.match(key.advice, /firewall/);
  assert.match(reachAdvice('ECONNREFUSED: connect ECONNREFUSED').advice, /firewall/);
});


test('a failed rollback alerts on stderr (where alerts are read when stdout goes to a file), besides the summary', async () => {
  const { follow } = await import('../../src/cli/common.js');
  const { RunEmitter } = await import('../../src/engine/events.js');
  const result = {
    runId: 'r1', runbook: 'rb', target: 'sim:/x.json', status: 'rollback-failed', outcome: 'rollback-failed', checkMode: false, steps: [],
    roundTrips: 1, pollRoundTrips: 0, retries: 0, rebootRequired: false, startedAt: '', endedAt: '', stateDir: '/s', backups: [],
    remaining: [{ target: 'HKLM\\X', field: 'Enabled', before: null, after: 0, action: 'create' }],
    undoFiles: { reg: '/s/runs/r1/undo.reg', powershell: '/s/runs/r1/undo.ps1' },
  };
  const run = { id: 'r1', events: new RunEmitter(), result: Promise.resolve(result), interrupt: () => undefined } as never;
  const out: string[] = [];
  const err: string[] = [];
  const [stdout, stderr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => out.push(s)) as never;
  process.stderr.write = ((s: string) => err.push(s)) as never;
  try {
    await follow(run, 'plain', '/s');
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
  assert.match(out.join(''), /Result: ROLLBACK FAILED — an operator is needed/);
  assert.match(err.join(''), /ROLLBACK FAILED — an operator is needed: 1 change\(s\) still on sim:\/x\.json; undo them with \/s\/runs\/r1\/undo\.reg/);
});

test.run();
