/**
 * The console's actions as child processes of the built CLI (`npm run build` first): an id is given to
 * the child after `--`, so that whatever it holds is read as the run's id, never as an option of
 * `runbook resume` or `runbook rollback`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileStore } from '../../src/index.js';
import { ConsoleActions, type ActionEntry, type ActionName } from '../../src/console/actions.js';
import { ConsoleReader } from '../../src/console/reader.js';
import type { Session } from '../../src/console/auth.js';
import { tempDir } from '../helpers.js';
import { CLI } from '../cli/run-cli.js';

const session: Session = { id: 'session-id', csrf: 'csrf', created: new Date().toISOString(), address: '127.0.0.1', userAgent: 'actions-test' };

test('an id that reads as an option reaches the child as an id: --all resumes no run, --help prints no help, -rf is no unknown option', async () => {
  const state = await tempDir();
  // Each action's end as the console tells it (an entry that came first waits for its reader).
  const ends = new Map<number, { entry?: ActionEntry; told?: (entry: ActionEntry) => void }>();
  const slot = (pid: number) => ends.get(pid) ?? ends.set(pid, {}).get(pid)!;
  const onEntry = (e: ActionEntry) => {
    if (e.event !== 'ended') return;
    const s = slot(e.pid!);
    s.entry = e;
    s.told?.(e);
  };
  // The child is unref'd (the console does not wait for it): this guard keeps the test's process up,
  // and fails an action that never ends instead of waiting forever.
  const endOf = (pid: number) =>
    new Promise<ActionEntry>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`action ${pid}: no end after 60 s`)), 60_000);
      const done = (entry: ActionEntry) => {
        clearTimeout(guard);
        resolve(entry);
      };
      if (slot(pid).entry) done(slot(pid).entry!);
      else slot(pid).told = done;
    });
  const actions = new ConsoleActions({ reader: new ConsoleReader(fileStore(state), state), stateDir: state, cli: [CLI], onEntry });
  for (const [action, id] of [['resume', '--all'], ['resume', '--help'], ['rollback', '-rf']] as [ActionName, string][]) {
    const started = await actions.start(action, id, 'run', session);
    const entry = await endOf(started.pid!);
    const log = await readFile(join(state, started.log!), 'utf8');
    assert.is(entry.exitCode, 2, `${action} ${id}: ${log}`);
    assert.match(log, /no journal for this run/, `${action} ${id}`);
    assert.ok(log.includes(join('runs', id, 'journal.jsonl')), `${action} ${id}: the run looked for is "${id}"`);
    assert.not.match(log, /Usage:|unknown option|no interrupted runs/);
  }
});

test.run();
