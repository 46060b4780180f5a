/**
 * Following a run: the summary, and operator alerts on stderr.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

test('a failed rollback alerts on stderr (where alerts are read when stdout goes to a file), besides the summary', async () => {
  const { follow } = await import('../../src/cli/follow.js');
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
