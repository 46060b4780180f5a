/**
 * The whole runbook over `winrm://` from the CLI (the built package), against the simulated host's
 * WinRM listener (NTLM, sealed messages) running the real agent in PowerShell: plan, run with the
 * restart, rollback, a controller killed mid-run and resumed, and refused credentials (exit 69).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSimulatedExecutor, loadRunbook, readHost, writeHost } from '../../src/index.js';
import { serveWinrm } from '../../src/simulator/winrm-listener.js';
import { parseWinrmTarget } from '../../src/executors/winrm.js';
import { FAST, hostOf, kinds, makeHost, newRunner, registryText, tempDir } from '../helpers.js';
import { PWSH, needPwsh } from '../pwsh.js';
import { cli } from './run-cli.js';

const run = needPwsh('test/cli/winrm.test.ts') && process.platform !== 'win32';
const USER = 'rbe-admin';
const PASSWORD = 'Sim-Pa55word!';
const PARAMS = ['--param', `pollIntervalMs=${FAST.pollIntervalMs}`];

async function listener() {
  const hostFile = await makeHost('server-2016');
  // The same host run through the simulated executor, for the registry to compare with.
  const simFile = join(await tempDir(), 'sim.json');
  await copyFile(hostFile, simFile);
  const winrm = await serveWinrm(() => readHost(hostFile), { hostFile, write: (h) => writeHost(hostFile, h), pwsh: PWSH!, user: USER, password: PASSWORD });
  const target = `winrm://127.0.0.1:${new URL(winrm.http).port}`;
  // The agent on the listener's side runs the tests' file backend; credentials only from the environment.
  const env = { RUNBOOK_WINRM_USER: USER, RUNBOOK_WINRM_PASSWORD: PASSWORD, RUNBOOK_AGENT_BACKEND: 'file' };
  return { hostFile, simFile, winrm, target, env, state: await tempDir() };
}

async function simulatedRegistry(simFile: string): Promise<string> {
  const result = await newRunner(await tempDir()).start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(simFile), params: FAST }).result;
  assert.is(result.status, 'succeeded');
  return registryText(simFile);
}

/** Every file under `dir` (none when it was never made), with its text. */
async function filesUnder(dir: string): Promise<{ file: string; text: string }[]> {
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return Promise.all(names.map(async (file) => ({ file, text: await readFile(join(dir, file), 'utf8').catch(() => '') })));
}

test('a target carrying a password is refused (exit 2) before anything is made or contacted, the password masked and written nowhere', async () => {
  const SECRET = 'TopSecret99';
  const dir = await tempDir();
  const inventory = join(dir, 'inventory.yaml');
  await writeFile(inventory, `hosts:\n  - name: web01\n    target: winrm://admin:${SECRET}@127.0.0.1:1\n`);
  const cases: [string[], RegExp, RegExp][] = [
    [['plan', 'orchestrator-tls12', '--target', `winrm://admin:${SECRET}@127.0.0.1:1`], /target "winrm:\/\/admin:\*\*\*@127\.0\.0\.1:1" carries a password/, /RUNBOOK_WINRM_PASSWORD/],
    [['run', 'orchestrator-tls12', '--target', `winrm+https://admin:${SECRET}@orch01`], /"winrm\+https:\/\/admin:\*\*\*@orch01" carries a password/, /RUNBOOK_WINRM_PASSWORD/],
    // A target that does not parse is not echoed whole either.
    [['plan', 'orchestrator-tls12', '--target', `winrm://admin:${SECRET}@orch01:notaport`], /admin:\*\*\*@orch01:notaport/, /RUNBOOK_WINRM_PASSWORD/],
    [['plan', 'orchestrator-tls12', '--target', `ssh://admin:${SECRET}@web01`], /"ssh:\/\/admin:\*\*\*@web01" carries a password/, /RUNBOOK_SSH_KEY/],
    [['inspect', '--target', `winrm://admin:${SECRET}@127.0.0.1:1`], /admin:\*\*\*@127/, /RUNBOOK_WINRM_PASSWORD/],
    [['resume', 'nonexistent-run', '--target', `winrm://admin:${SECRET}@127.0.0.1:1`], /admin:\*\*\*@127/, /RUNBOOK_WINRM_PASSWORD/],
    [['rollback', 'nonexistent-run', '--target', `winrm://admin:${SECRET}@127.0.0.1:1`], /admin:\*\*\*@127/, /RUNBOOK_WINRM_PASSWORD/],
    [['run', 'orchestrator-tls12', '--inventory', inventory, '--yes'], /hosts\[0\] \(web01\)\.target: "winrm:\/\/admin:\*\*\*@127\.0\.0\.1:1" carries a password/, /RUNBOOK_WINRM_PASSWORD/],
  ];
  for (const [args, says, advice] of cases) {
    const state = join(await tempDir(), 'state');
    // inspect keeps no state; every other command is given a state directory that must stay clean.
    const r = await cli([...args, ...(args[0] === 'inspect' ? [] : ['--state-dir', state]), '--json'], { RUNBOOK_WINRM_USER: '', RUNBOOK_WINRM_PASSWORD: '' });
    const label = args.slice(0, 1).concat(args.slice(-1)).join(' ');
    assert.is(r.code, 2, `${label}: ${r.stderr}${r.stdout}`);
    assert.match(r.stderr + r.stdout, says, label);
    assert.match(r.stderr + r.stdout, advice, label);
    assert.not.ok((r.stdout + r.stderr).includes(SECRET), `${label}: the password is printed`);
    for (const { file, text } of await filesUnder(state)) assert.not.ok(text.includes(SECRET) || file.includes(SECRET), `${label}: the password is in ${file}`);
  }
});

test('a UPN user parses (the last @ separates the host); a password in the target is refused by the parser itself, masked', () => {
  assert.equal(parseWinrmTarget('winrm://admin@contoso.com@orch01:5985'), { scheme: 'http', host: 'orch01', port: 5985, user: 'admin@contoso.com' });
  assert.throws(() => parseWinrmTarget('winrm://admin:TopSecret99@orch01'), (e: Error) => e.message.includes('admin:***@orch01') && !e.message.includes('TopSecret99'));
});

if (run) {
  test('plan, run with the restart, and rollback over winrm://: the registry the simulated run leaves, then the one before', async () => {
    const { hostFile, simFile, winrm, target, env, state } = await listener();
    try {
      const before = await registryText(hostFile);
      const plan = await cli(['plan', 'orchestrator-tls12', '--target', target, '--state-dir', state, ...PARAMS], env);
      assert.is(plan.code, 0, plan.stderr + plan.stdout);
      assert.is(await registryText(hostFile), before, 'the plan changed nothing');
      const done = await cli(['run', 'orchestrator-tls12', '--target', target, '--state-dir', state, '--json', ...PARAMS], env);
      assert.is(done.code, 0, done.stderr + done.stdout);
      const summary = JSON.parse(done.stdout.trim().split('\n').pop()!);
      assert.is(summary.status, 'succeeded');
      assert.ok(summary.roundTrips <= 8, `round trips ${summary.roundTrips}`);
      assert.is((await hostOf(hostFile)).restarts, 1);
      assert.is(await registryText(hostFile), await simulatedRegistry(simFile));
      assert.not.match(done.stdout + done.stderr, new RegExp(PASSWORD), 'the password is never printed');
      for (const file of await readdir(state, { recursive: true })) {
        const text = await readFile(join(state, file), 'utf8').catch(() => '');
        assert.not.ok(text.includes(PASSWORD), `the password is in ${file}`);
      }
      const back = await cli(['rollback', summary.runId, '--state-dir', state], env);
      assert.is(back.code, 0, back.stderr + back.stdout);
      assert.is(await registryText(hostFile), before);
    } finally {
      await winrm.close();
    }
  });

  test('a controller killed mid-run over winrm:// is resumed to the end', async () => {
    const { hostFile, simFile, winrm, target, env, state } = await listener();
    try {
      const killed = await cli(['run', 'orchestrator-tls12', '--target', target, '--state-dir', state, ...PARAMS], { ...env, RUNBOOK_CRASH_AFTER: '25' });
      assert.is(killed.code, null, 'killed by its signal');
      const [interrupted] = JSON.parse((await cli(['status', '--state-dir', state, '--json'])).stdout);
      assert.is(interrupted.status, 'running');
      const resumed = await cli(['resume', interrupted.runId, '--state-dir', state], env);
      assert.is(resumed.code, 0, resumed.stderr + resumed.stdout);
      assert.match(resumed.stdout, /Result: changed/);
      assert.is(await registryText(hostFile), await simulatedRegistry(simFile));
    } finally {
      await winrm.close();
    }
  });

  test('refused credentials: exit 69 before any change, the user named and the password nowhere', async () => {
    const { hostFile, winrm, target, env, state } = await listener();
    try {
      const before = await registryText(hostFile);
      const r = await cli(['run', 'orchestrator-tls12', '--target', target, '--state-dir', state, ...PARAMS], { ...env, RUNBOOK_WINRM_PASSWORD: 'wrong-Pa55' });
      assert.is(r.code, 69, r.stderr + r.stdout);
      assert.match(r.stderr, /refused the credentials of rbe-admin/);
      assert.not.match(r.stdout + r.stderr, /wrong-Pa55/);
      assert.is(await registryText(hostFile), before);
    } finally {
      await winrm.close();
    }
  });
}

test.run();
