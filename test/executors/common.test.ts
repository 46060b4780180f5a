import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { boundedCall, callTimeout, DEFAULT_CALL_TIMEOUT_MS } from '../../src/executors/common.js';
import type { ExecutorError } from '../../src/index.js';
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLocalExecutor } from '../../src/executors/local.js';
import { resolveParameters } from '../../src/index.js';
import { makeHost, tempDir } from '../helpers.js';
import { PWSH, needPwsh } from '../pwsh.js';

test('a call that takes too long is stopped and ends as a timeout; the first outcome wins', async () => {
  let stopped = 0;
  let late: ((v: string) => void) | undefined;
  const error = await boundedCall<string>('t', { timeoutMs: 5 }, undefined, (resolve, _reject, onStop) => {
    late = resolve;
    onStop(() => (stopped += 1));
  }).catch((e: ExecutorError) => e);
  assert.is((error as ExecutorError).kind, 'timeout');
  assert.match((error as Error).message, /did not answer within 5 ms/);
  assert.is(stopped, 1);
  late!('too late'); // ignored
});

test('a cancelled call is stopped and says so; an answer in time is the result', async () => {
  const controller = new AbortController();
  let stopped = false;
  const pending = boundedCall<string>('t', { signal: controller.signal }, 60_000, (_resolve, _reject, onStop) => onStop(() => (stopped = true)));
  controller.abort();
  const error = (await pending.catch((e) => e)) as ExecutorError;
  assert.is(error.kind, 'permanent');
  assert.match(error.message, /cancelled/);
  assert.ok(stopped);
  assert.is(await boundedCall<string>('t', {}, 60_000, (resolve) => resolve('ok')), 'ok');
});

test('the timeout is the call\'s, else the executor\'s, else the documented default', () => {
  assert.is(callTimeout({ timeoutMs: 1 }, 2), 1);
  assert.is(callTimeout({}, 2), 2);
  assert.is(callTimeout({}), DEFAULT_CALL_TIMEOUT_MS);
  assert.is(DEFAULT_CALL_TIMEOUT_MS, 120_000);
});

test('the agent\'s PowerShell is not given the secret variables (a secret parameter\'s, RUNBOOK_*_PASSWORD), so neither is what it starts', async () => {
  if (!needPwsh('test/executors/common.test.ts')) return;
  // The agent gets its values as JSON on stdin; reg.exe, shutdown.exe and schtasks inherit its
  // environment, which held every secret of the controller.
  const dir = await tempDir();
  const dump = join(dir, 'env.txt');
  // PowerShell, started through a wrapper that writes down the environment it is given.
  const shell = join(dir, 'pwsh-env');
  await writeFile(shell, `#!/bin/sh\nenv > "$RBE_ENV_DUMP"\nexec ${JSON.stringify(PWSH)} "$@"\n`);
  await chmod(shell, 0o755);
  const agentFile = join(dir, 'host.json');
  await copyFile(await makeHost('server-2016'), agentFile);
  const SECRET = 'hunter2-Secr3t-param';
  const PASSWORD = 'winrm-Pa55word';
  process.env.RBE_TEST_CHILD_TOKEN = SECRET;
  process.env.RUNBOOK_WINRM_PASSWORD = PASSWORD;
  process.env.RBE_TEST_PLAIN = 'plain-value';
  // The store's credentials too: a URL with its password, and libpq's variable.
  const STORE_PASSWORD = 'st0re-Pa55word';
  const before = { RUNBOOK_STORE: process.env.RUNBOOK_STORE, PGPASSWORD: process.env.PGPASSWORD };
  process.env.RUNBOOK_STORE = `postgres://rbe:${STORE_PASSWORD}@127.0.0.1:5432/rbe`;
  process.env.PGPASSWORD = `${STORE_PASSWORD}-pg`;
  const executor = createLocalExecutor({ shell, env: { RUNBOOK_AGENT_HOST_FILE: agentFile, RBE_ENV_DUMP: dump } });
  try {
    // As the CLI reads a runbook's secret parameter from its variable.
    const { params } = resolveParameters({ name: 'r', parameters: { token: { type: 'string', secret: true, env: 'RBE_TEST_CHILD_TOKEN' } }, steps: [] }, {});
    assert.is(params.token, SECRET);
    const [os] = await executor.run([{ op: 'os.info' }]);
    assert.ok(os, 'the agent answered');
    const env = await readFile(dump, 'utf8');
    assert.ok(env.includes('RBE_TEST_PLAIN=plain-value'), 'the rest of the environment is given');
    assert.ok(env.includes(`RUNBOOK_AGENT_HOST_FILE=${agentFile}`));
    assert.not.ok(env.includes(SECRET), 'the secret parameter\'s variable reached the agent');
    assert.not.ok(env.includes(PASSWORD), 'RUNBOOK_WINRM_PASSWORD reached the agent');
    assert.not.ok(env.includes(STORE_PASSWORD), 'the store\'s password (RUNBOOK_STORE or PGPASSWORD) reached the agent');
  } finally {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await executor.close();
    delete process.env.RBE_TEST_CHILD_TOKEN;
    delete process.env.RUNBOOK_WINRM_PASSWORD;
    delete process.env.RBE_TEST_PLAIN;
  }
});

test.run();
