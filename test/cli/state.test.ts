/**
 * Where the state lives: the command a start-up task runs to resume a run after a reboot (no password
 * in it, wherever the store URL held one); a store refused on the command line without its password.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resumeCommandFor, stateDirOf, storeOf } from '../../src/cli/state.js';
import { UsageError } from '../../src/cli/args.js';
import { ValidationError } from '../../src/errors.js';
import { kinds, makeHost, tempDir } from '../helpers.js';
import { Runner, createSimulatedExecutor, loadRunbook } from '../../src/index.js';
import { mkdir, readdir } from 'node:fs/promises';
import { cli } from './run-cli.js';
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

test('a password given in the query is left out of the task as well, the other parameters kept', () => {
  for (const [url, expected] of [
    ['postgres://runbook@db:5432/runbook?password=PgS3cr3t-x', 'postgres://runbook@db:5432/runbook'],
    ['postgres://db:5432/runbook?user=rbe&password=PgS3cr3t-x', 'postgres://db:5432/runbook?user=rbe'],
    ['postgres://runbook@db/runbook?sslmode=disable&pass%77ord=PgS3cr3t%2Dx&application_name=rbe', 'postgres://runbook@db/runbook?sslmode=disable&application_name=rbe'],
    ['postgres://runbook:PgS3cr3t-u@db/runbook?password=PgS3cr3t+x', 'postgres://runbook@db/runbook'],
  ]) {
    const store = { kind: 'postgres', location: 'postgres://runbook@db/runbook', url } as unknown as Store;
    const command = resumeCommandFor('r1', '/var/runbook', store);
    assert.is(command[command.indexOf('--store') + 1], expected);
    assert.not.match(command.join(' '), /S3cr3t/);
  }
});

test('--store with a password in its query is refused, and a store that is no postgres:// URL is named with its password masked', async () => {
  const stateDir = await tempDir();
  for (const store of ['postgres://rbe@db/runs?password=S3cr3t-q', 'postgres://db/runs?user=rbe&pass%77ord=S3cr3t-q']) {
    try {
      await storeOf({ stateDir, store });
      assert.unreachable(`${store} is refused`);
    } catch (error) {
      assert.instance(error, UsageError);
      assert.match((error as Error).message, /--store must not carry a password, in the user-info or as \?password=/);
      assert.not.match((error as Error).message, /S3cr3t/);
    }
  }
  const refusals: [values: { store?: string }, env: string | undefined, message: string][] = [
    [{}, 'host=db user=rbe password=S3cr3t-kv dbname=runs', '$RUNBOOK_STORE takes a postgres:// URL, got "host=db user=rbe password=*** dbname=runs" (a key=value connection string is not read): give postgres://user@host:port/database, with the password in $PGPASSWORD'],
    [{ store: "host=db password='S3cr3t kv'" }, undefined, '--store takes a postgres:// URL, got "host=db password=***" (a key=value connection string is not read): give postgres://user@host:port/database, with the password in $PGPASSWORD'],
    [{}, 'mysql://rbe@db/runs?password=S3cr3t-q', '$RUNBOOK_STORE takes a postgres:// URL, got "mysql://rbe@db/runs?password=***": give postgres://user@host:port/database, with the password in $PGPASSWORD'],
  ];
  const saved = process.env.RUNBOOK_STORE;
  try {
    for (const [values, env, message] of refusals) {
      if (env === undefined) delete process.env.RUNBOOK_STORE;
      else process.env.RUNBOOK_STORE = env;
      try {
        await storeOf({ stateDir, ...values });
        assert.unreachable(`${env ?? values.store} is refused`);
      } catch (error) {
        assert.instance(error, UsageError);
        assert.is((error as Error).message, message);
      }
    }
  } finally {
    if (saved === undefined) delete process.env.RUNBOOK_STORE;
    else process.env.RUNBOOK_STORE = saved;
  }
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

test('status with a --state-dir that is a file (or under one) is refused (exit 2) saying so, not "no runs"; a missing one still has no runs', async () => {
  const dir = await tempDir();
  const file = join(dir, 'file');
  await writeFile(file, 'mine');
  for (const [bad, why] of [[file, 'it is a file, not a folder'], [join(file, 'under'), 'a part of its path is a file, not a folder']]) {
    for (const args of [['status'], ['status', 'some-run'], ['status', '--json']]) {
      const r = await cli([...args, '--state-dir', bad]);
      assert.is(r.code, 2, `${args.join(' ')} ${bad}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`error: the state directory cannot be used: ${why}\\n  - ${bad}\\n  → pass --state-dir <dir> \\(or set RUNBOOK_STATE_DIR\\) naming a folder this user can read`));
      assert.not.match(r.stdout + r.stderr, /no runs|no journal/);
    }
  }
  assert.is(await readFile(file, 'utf8'), 'mine');
  const missing = await cli(['status', '--state-dir', join(dir, 'none')]);
  assert.is(missing.code, 0, missing.stderr);
  assert.match(missing.stdout, /no runs in/);
  assert.not.ok(existsSync(join(dir, 'none')), 'nothing made');
});

for (const sub of ['targets', 'fleets']) {
  test(`a state directory whose ${sub} is a file: refused as for runs (exit 2, the file named, no stack trace), for one host and a fleet, nothing run`, async () => {
    const host = await makeHost('server-2016');
    const before = await readFile(host, 'utf8');
    const state = await tempDir();
    await writeFile(join(state, sub), 'not a folder');
    const inventory = join(await tempDir(), 'inventory.yaml');
    await writeFile(inventory, `hosts:\n  h1:\n    target: sim:${host}\n`);
    for (const target of [['--target', `sim:${host}`], ['--inventory', inventory, '--yes']]) {
      const r = await cli(['run', 'orchestrator-tls12', ...target, '--state-dir', state, '--param', 'pollIntervalMs=10']);
      assert.is(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`the state directory cannot be used: ${join(state, sub)} is a file, not a folder`), r.stderr);
      assert.not.match(r.stderr, /unexpected error|\n\s+at .+:\d+:\d+/);
    }
    assert.is(await readFile(host, 'utf8'), before);
    assert.equal(await readdir(join(state, 'runs')), [], 'no run left behind');
  });
}

test("the file store refuses a state directory whose targets is a file as the state directory's error (a ValidationError), and forgets the run", async () => {
  const host = await makeHost('server-2016');
  const state = await tempDir();
  await mkdir(join(state, 'runs'));
  await writeFile(join(state, 'targets'), 'not a folder');
  const runner = new Runner({ kinds, store: fileStore(state) });
  const run = runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(host), params: { pollIntervalMs: 10 } });
  const error = await run.result.then(() => null, (e: unknown) => e);
  assert.instance(error, ValidationError);
  assert.match((error as Error).message, /the state directory cannot be used: .*targets is a file, not a folder/);
  assert.equal(await readdir(join(state, 'runs')), []);
});

test.run();
