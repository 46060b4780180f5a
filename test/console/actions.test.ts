/**
 * The console's actions as child processes of the built CLI (`npm run build` first): an id is given to
 * the child after `--`, so that whatever it holds is read as the run's id, never as an option of
 * `runbook resume` or `runbook rollback`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSimulatedExecutor, fileStore, loadInventory, loadRunbook, startFleet, validateRunbook, type Store } from '../../src/index.js';
import { relaunchDetail } from '../../src/console/action-words.js';
import { ConsoleActions, failureOf, type ActionEntry, type ActionName } from '../../src/console/actions.js';
import { ConsoleReader } from '../../src/console/reader.js';
import type { Session } from '../../src/console/auth.js';
import { FAST, hostOf, kinds, makeHost, newRunner, registryText, tempDir } from '../helpers.js';
import { CLI } from '../cli/run-cli.js';

const session: Session = { id: 'session-id', csrf: 'csrf', created: new Date().toISOString(), address: '127.0.0.1', userAgent: 'actions-test' };

/** Console actions over a state directory (run by `cli`: node's arguments), and how to await an action's end as the console tells it. */
function actionsOver(state: string, store: Store = fileStore(state), cli: string[] = [CLI]): { actions: ConsoleActions; endOf: (pid: number) => Promise<ActionEntry> } {
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
  return { actions: new ConsoleActions({ reader: new ConsoleReader(store, state), stateDir: state, cli, onEntry }), endOf };
}

test('an id that reads as an option reaches the child as an id: --all resumes no run, --help prints no help, -rf is no unknown option', async () => {
  const state = await tempDir();
  const { actions, endOf } = actionsOver(state);
  for (const [action, id] of [['resume', '--all'], ['resume', '--help'], ['rollback', '-rf']] as [ActionName, string][]) {
    const started = await actions.start(action, id, 'run', session);
    const entry = await endOf(started.pid!);
    const log = await readFile(join(state, started.log!), 'utf8');
    assert.is(entry.exitCode, 2, `${action} ${id}: ${log}`);
    assert.match(log, /no journal for this run/, `${action} ${id}`);
    assert.ok(log.includes(join('runs', id, 'journal.jsonl')), `${action} ${id}: the run looked for is "${id}"`);
    assert.not.match(log, /Usage:|unknown option|no interrupted runs/);
    // Why it failed is in the entry, as the CLI said it (its error and its hint), with the log's place.
    assert.match(entry.detail!, new RegExp(`^no journal for this run \\(.*\\) → check the run id with \`runbook status\` and the --state-dir you used \\(${started.log!.replace(/[.]/g, '\\.')}\\)$`), entry.detail);
  }
});

test('a failed action\'s entry says why, masked: a secret value of the run never reaches the journal of actions or the page', async () => {
  const state = await tempDir();
  const executor = await createSimulatedExecutor(await makeHost('server-2016'));
  const SECRET = 'actions-Secr3t-value';
  process.env.RBE_ACTIONS_SECRET = SECRET;
  let runId: string;
  try {
    const run = newRunner(state).start(validateRunbook({ name: 'secretive', parameters: { token: { type: 'string', secret: true, env: 'RBE_ACTIONS_SECRET' } }, steps: [{ id: 'preflight', uses: 'orchestrator/preflight' }] }, kinds, 'inline'), { executor });
    runId = (await run.result).runId;
  } finally {
    await executor.close();
  }
  // A CLI that says a secret in its error (the real one never does): the console masks it all the same.
  const liar = `process.stderr.write('error: the token ' + process.env.RBE_ACTIONS_SECRET + ' was refused\\n  - by the server\\n  → give another one\\nsee \\'runbook --help\\'\\n'); process.exit(2);`;
  const { actions, endOf } = actionsOver(state, fileStore(state), ['-e', liar]);
  try {
    const started = await actions.start('rollback', runId, 'run', session);
    const end = await endOf(started.pid!);
    assert.is(end.exitCode, 2);
    assert.is(end.detail, `the token *** was refused - by the server → give another one (${started.log})`);
    assert.not.ok((await readFile(join(state, 'console', 'actions.jsonl'), 'utf8')).includes(SECRET));
  } finally {
    delete process.env.RBE_ACTIONS_SECRET;
  }
  // No `error:` said: what the exit code means.
  assert.is(failureOf('Fleet: failed — 1 unreachable\n', 69, null, 'console/x.log'), 'a target could not be reached: nothing was changed on it (console/x.log)');
  assert.is(failureOf('', null, 'SIGKILL', 'console/x.log'), 'ended by SIGKILL (console/x.log)');
});

test('relaunching the failed hosts of a plan plans them again (runbook plan): the new fleet is a plan, the host is not changed and not restarted; the confirmation says so', async () => {
  const dir = await tempDir();
  const state = join(dir, 'state');
  const ok = await makeHost('server-2016');
  // Its first read fails for good: unreachable, then reachable when relaunched (the fault is spent).
  const flaky = await makeHost('server-2016', (h) => h.faults.push({ op: 'registry.get', kind: 'permanent', times: 1 }));
  const inventory = join(dir, 'inventory.yaml');
  await writeFile(inventory, JSON.stringify({ hosts: [{ name: 'host-1', target: `sim:${ok}`, groups: ['servers'] }, { name: 'host-2', target: `sim:${flaky}`, groups: ['servers'] }], waves: [{ name: 'servers', groups: ['servers'] }] }));
  const fleet = startFleet({ runner: newRunner(state), kinds, runbook: await loadRunbook('orchestrator-tls12', kinds), inventory: await loadInventory(inventory), connect: (t) => createSimulatedExecutor(t.slice(4)), checkMode: true, maxFailures: 1, params: FAST });
  await fleet.result;
  const store = fileStore(state);
  const plan = await new ConsoleReader(store, state).fleet(fleet.id);
  assert.equal(plan.waves[0].hosts.map((h) => h.outcome), ['changes pending', 'unreachable — nothing was changed']);
  const before = await registryText(flaky);

  const { actions, endOf } = actionsOver(state, store);
  const started = await actions.start('relaunch', fleet.id, 'fleet', session);
  assert.equal([started.hosts, started.checkMode], [['host-2'], true]);
  const end = await endOf(started.pid!);
  const log = await readFile(join(state, started.log!), 'utf8');
  assert.is(end.exitCode, 0, log);
  const relaunched = await store.readFleet(end.fleetId!);
  assert.is(relaunched.checkMode, true, 'the relaunch of a plan is a plan');
  const view = await new ConsoleReader(store, state).fleet(end.fleetId!);
  assert.equal(view.waves[0].hosts.map((h) => [h.name, h.outcome]), [['host-2', 'changes pending']]);
  assert.is(await registryText(flaky), before, 'nothing was changed on the host');
  assert.is((await hostOf(flaky)).restarts, 0, 'the host was not restarted');
  // The page's confirmation says which it is.
  assert.match(relaunchDetail(true), /runbook plan.*nothing is changed and nothing restarts/);
  assert.match(relaunchDetail(false), /runbook run.*changed and they may restart/);
});

test.run();
