/**
 * The agent, run for real in PowerShell through the local executor, with its registry and host facts
 * from a simulated-host file. The same operations against the simulated executor must give the same
 * answers and leave the same registry.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSimulatedExecutor, ExecutorError, type Executor, type HostOp, type HostOpResult } from '../../src/index.js';
import { createLocalExecutor } from '../../src/executors/local.js';
import { expectSameAsSimulated, hostOf, makeHost, registryText, tempDir } from '../helpers.js';
import { PWSH, needPwsh } from '../pwsh.js';
import { agentProcesses, descendants, killAll, untilGone } from '../processes.js';
import { readHost, writeHost } from '../../src/index.js';
import { RESTART_EVENT } from '../../src/windows/facts/restart.js';

const run = needPwsh('test/executors/local.test.ts');
const SCH = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';
const NET4 = 'SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319';

/** Each test's local executors, closed after it (a session's PowerShell stays until then). */
const opened: Executor[] = [];
function local(options: Parameters<typeof createLocalExecutor>[0]): Executor {
  const executor = createLocalExecutor(options);
  opened.push(executor);
  return executor;
}
test.after.each(async () => {
  await Promise.all(opened.splice(0).map((e) => e.close()));
});

async function pair(preset = 'server-2016') {
  const simFile = await makeHost(preset);
  const agentFile = join(await tempDir(), 'host.json');
  await copyFile(simFile, agentFile);
  return {
    simFile,
    agentFile,
    sim: await createSimulatedExecutor(simFile),
    agent: local({ shell: PWSH!, env: { RUNBOOK_AGENT_HOST_FILE: agentFile } }),
  };
}

/**
 * The agent the tests share where what they prove is the agent's answers, not its process (a PowerShell
 * start costs ~1.2 s of CPU), with its host file: the agent reads that file for every batch and keeps
 * nothing of one batch for the next.
 */
let shared: { agentFile: string; agent: Executor } | undefined;
test.after(async () => {
  await shared?.agent.close();
});

/**
 * A fresh simulated host and the shared agent's host file made the same: the agent reads its file
 * for every batch, so what an earlier test left there is gone.
 */
async function sharedPair(preset = 'server-2016') {
  const simFile = await makeHost(preset);
  if (!shared) {
    const agentFile = join(await tempDir(), 'host.json');
    shared = { agentFile, agent: createLocalExecutor({ shell: PWSH!, env: { RUNBOOK_AGENT_HOST_FILE: agentFile } }) };
  }
  await copyFile(simFile, shared.agentFile);
  return { simFile, agentFile: shared.agentFile, sim: await createSimulatedExecutor(simFile), agent: shared.agent };
}

/** Drops what differs by clock only. */
function timeless(results: HostOpResult[]): unknown {
  return JSON.parse(JSON.stringify(results, (k, v) => (k === 'lastWriteTime' || k === 'bootTime' || k === 'since' ? '<time>' : v)));
}

const dword = (data: number) => ({ type: 'REG_DWORD' as const, data });

const batch: HostOp[] = [
  { op: 'registry.get', view: '64', key: `${SCH}\\TLS 1.2\\Server`, name: 'Enabled' },
  { op: 'registry.set', view: '64', key: `${SCH}\\TLS 1.2\\Server`, name: 'Enabled', value: dword(0xffffffff) },
  { op: 'registry.set', view: '64', key: `${SCH}\\TLS 1.2\\Server`, name: 'Enabled', value: dword(0xffffffff) },
  { op: 'registry.set', view: '32', key: NET4, name: 'SystemDefaultTlsVersions', value: dword(1) },
  { op: 'registry.get', view: '64', key: `SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v4.0.30319`, name: 'SystemDefaultTlsVersions' },
  { op: 'registry.set', view: '64', key: `${SCH}\\TLS 1.0\\Client`, name: 'Enabled', value: { type: 'REG_SZ', data: '1' } },
  { op: 'registry.set', view: '64', key: `${SCH}\\TLS 1.0\\Client`, name: 'Enabled', value: dword(0) },
  { op: 'registry.set', view: '64', key: 'SOFTWARE\\RunbookTest', name: 'Q', value: { type: 'REG_QWORD', data: '18446744073709551615' } },
  { op: 'registry.set', view: '64', key: 'SOFTWARE\\RunbookTest', name: 'M', value: { type: 'REG_MULTI_SZ', data: ['a', 'b c'] } },
  { op: 'registry.set', view: '64', key: 'SOFTWARE\\RunbookTest', name: 'B', value: { type: 'REG_BINARY', data: '00ff10' } },
  { op: 'registry.set', view: '64', key: 'SOFTWARE\\RunbookTest', name: 'E', value: { type: 'REG_EXPAND_SZ', data: '%SystemRoot%\\x' } },
  { op: 'registry.keyInfo', view: '64', key: 'SOFTWARE\\RunbookTest' },
  { op: 'registry.export', view: '64', key: 'SOFTWARE\\RunbookTest', file: 'C:\\Temp\\t.reg' },
  { op: 'registry.deleteKey', view: '64', key: `${SCH}\\TLS 1.2`, onlyIfEmpty: true },
  { op: 'registry.deleteValue', view: '64', key: `${SCH}\\TLS 1.2\\Server`, name: 'Enabled' },
  { op: 'registry.deleteKey', view: '64', key: `${SCH}\\TLS 1.2\\Server`, onlyIfEmpty: true },
  { op: 'registry.deleteValue', view: '64', key: `${SCH}\\TLS 1.2\\Server`, name: 'Enabled' },
  { op: 'os.info' },
  { op: 'hotfix.list' },
  { op: 'dotnet35.tls' },
  { op: 'sql.instances' },
  { op: 'orchestrator.info' },
  { op: 'service.status', name: 'omanagement' },
  { op: 'service.status', name: 'nosuchservice' },
  { op: 'tls.inEffect' },
];

if (run) {
  test('the agent answers every operation as the simulated host does, and leaves the same registry', async () => {
    const { sim, agent, simFile, agentFile } = await sharedPair();
    const expected = await sim.run(batch);
    const before = agent.roundTrips;
    const got = await agent.run(batch);
    assert.equal(timeless(got), timeless(expected));
    assert.is(await registryText(agentFile), await registryText(simFile));
    assert.is(agent.roundTrips - before, 1);
  });

  test('0xFFFFFFFF is read back unsigned, not as -1', async () => {
    const { agent } = await sharedPair();
    const [, after] = await agent.run([
      { op: 'registry.set', view: '64', key: `${SCH}\\TLS 1.1\\Server`, name: 'Enabled', value: dword(0xffffffff) },
      { op: 'registry.get', view: '64', key: `${SCH}\\TLS 1.1\\Server`, name: 'Enabled' },
    ]);
    assert.equal((after as { value: unknown }).value, dword(4294967295));
  });

  test('paths and values with quotes, backticks, $(…), semicolons, newlines and non-ASCII travel as data', async () => {
    const { agent, agentFile } = await sharedPair();
    const nasty = `it's "q" \`b\` $(Remove-Item -Recurse C:\\) ; exit 1\nline2 ünï 中文 ${'$'}env:PATH`;
    const key = `SOFTWARE\\RunbookTest\\${nasty.replace(/\\/g, '/')}`;
    const results = await agent.run([
      { op: 'registry.set', view: '64', key, name: nasty, value: { type: 'REG_SZ', data: nasty } },
      { op: 'registry.get', view: '64', key, name: nasty },
      { op: 'registry.set', view: '64', key, name: 'multi', value: { type: 'REG_MULTI_SZ', data: [nasty, '$(whoami)'] } },
      { op: 'registry.get', view: '64', key, name: 'multi' },
    ]);
    assert.equal((results[1] as { value: unknown }).value, { type: 'REG_SZ', data: nasty });
    assert.equal((results[3] as { value: unknown }).value, { type: 'REG_MULTI_SZ', data: [nasty, '$(whoami)'] });
    const host = await hostOf(agentFile);
    assert.equal(host.registry[key][nasty], { type: 'REG_SZ', data: nasty });
  });

  test('ISO-date-looking strings pass unchanged on PowerShell 6+, and the restart guard compares the boot time exactly', async () => {
    const { agent, agentFile } = await sharedPair();
    const host = await hostOf(agentFile);
    // WMI-like precision: seven fractional digits, which a DateTime round trip would rewrite.
    host.bootTime = '2026-11-20T06:12:44.1234567Z';
    await (await import('../../src/index.js')).writeHost(agentFile, host);
    const dates = ['2026-01-01', '2026-01-01T00:00:00Z', '2026-11-20T06:12:44.1234567+01:00'];
    const results = await agent.run([
      ...dates.map((d, i): HostOp => ({ op: 'registry.set', view: '64', key: 'SOFTWARE\\RunbookTest', name: `D${i}`, value: { type: 'REG_SZ', data: d } })),
      { op: 'restart', delaySeconds: 0, reason: 'test', ifBootTime: '2026-11-20T06:12:44.1234567Z' },
    ]);
    dates.forEach((d, i) => assert.equal((results[i] as { after: unknown }).after, { type: 'REG_SZ', data: d }, `value ${i} kept as written`));
    assert.equal(results[3], { op: 'restart', requested: true, alreadyRestarted: false }, 'the guard matched the boot time to the digit');
    const stored = (await hostOf(agentFile)).registry['SOFTWARE\\RunbookTest'];
    assert.equal(stored.D1, { type: 'REG_SZ', data: '2026-01-01T00:00:00Z' });
  });

  test('an unreadable boot-time baseline never skips the restart: the agent restarts (as the simulated host does)', async () => {
    const { agent, sim } = await sharedPair();
    for (const ifBootTime of ['', 'not a time']) {
      const op: HostOp = { op: 'restart', delaySeconds: 0, reason: 'test', ifBootTime, plannedReason: { major: 2, minor: 4 } };
      const [a] = await agent.run([op]);
      assert.equal(a, { op: 'restart', requested: true, alreadyRestarted: false }, `agent, baseline ${JSON.stringify(ifBootTime)}`);
    }
    const [s] = await sim.run([{ op: 'restart', delaySeconds: 0, reason: 'test', ifBootTime: 'not a time' }]);
    assert.equal(s, { op: 'restart', requested: true, alreadyRestarted: false }, 'simulated');
  });

  test("each restart is logged with its comment; restart.history answers one run's restarts since a time (whole comments only, an unreadable log says so), from the agent and the simulated host alike", async () => {
    const { agent, sim, agentFile, simFile } = await sharedPair();
    const since = new Date(Date.now() - 60_000).toISOString();
    const [restarted] = await agent.run([{ op: 'restart', delaySeconds: 0, reason: 'runbook-engine run r1', ifBootTime: (await hostOf(agentFile)).bootTime }]);
    assert.equal(restarted, { op: 'restart', requested: true, alreadyRestarted: false });
    const logged = (await hostOf(agentFile)).shutdownEvents ?? [];
    assert.equal(logged.map((e) => e.comment), ['runbook-engine run r1'], 'the restart logged with its comment');
    // One document for both: an r1 restart before `since`, the one just logged, and one of run r10 (r1 is part of its comment).
    const events = [{ time: '2026-01-01T00:00:00.000Z', comment: 'runbook-engine run r1' }, ...logged, { time: new Date().toISOString(), comment: 'runbook-engine run r10' }];
    const op: HostOp = { op: 'restart.history', since, comment: 'runbook-engine run r1', event: { ...RESTART_EVENT.value } };
    for (const [shutdownEvents, expected] of [
      [events, { op: 'restart.history', readable: true, restarts: logged }],
      [null, { op: 'restart.history', readable: false, restarts: [] }],
    ] as const) {
      for (const file of [agentFile, simFile]) {
        const host = await readHost(file);
        host.shutdownEvents = shutdownEvents === null ? null : [...shutdownEvents];
        await writeHost(file, host);
      }
      assert.equal((await agent.run([op]))[0], expected, 'agent');
      assert.equal((await sim.run([op]))[0], expected, 'simulated');
    }
  });

  test('a shutdown already in progress answers shutdownInProgress (1115), one scheduled pendingShutdown (1190), from the agent and the simulated host alike', async () => {
    const { agent, sim, agentFile, simFile } = await sharedPair();
    for (const inProgress of [true, false]) {
      for (const file of [agentFile, simFile]) {
        const host = await readHost(file);
        host.pendingShutdown = { by: 'an administrator', at: new Date(Date.now() + 3_600_000).toISOString(), inProgress };
        await writeHost(file, host);
      }
      const op: HostOp = { op: 'restart', delaySeconds: 0, reason: 'test', ifBootTime: (await hostOf(agentFile)).bootTime };
      const [a] = await agent.run([op]);
      const [s] = await sim.run([op]);
      const expected = inProgress ? { shutdownInProgress: true } : { pendingShutdown: true };
      assert.equal(a, { op: 'restart', requested: false, alreadyRestarted: false, ...expected });
      assert.equal(s, a);
    }
  });

  test('sql.ping: the host\'s own instance answers, a named server as the host says, from the agent and the simulated host alike', async () => {
    const { agent, sim, agentFile, simFile } = await sharedPair();
    for (const file of [agentFile, simFile]) {
      const host = await readHost(file);
      host.sqlServers = { 'sql01\\orch': false };
      await writeHost(file, host);
    }
    const instance = (await hostOf(agentFile)).sqlInstances[0].name;
    const ops: HostOp[] = [
      { op: 'sql.ping', server: instance === 'MSSQLSERVER' ? '.' : `.\\${instance}`, timeoutSeconds: 5 },
      { op: 'sql.ping', server: '.\\NOSUCH', timeoutSeconds: 5 },
      { op: 'sql.ping', server: 'sql01\\ORCH', timeoutSeconds: 5 },
      { op: 'sql.ping', server: 'sql02', timeoutSeconds: 5 },
    ];
    const a = await agent.run(ops);
    assert.equal(await sim.run(ops), a);
    assert.equal(a.map((r) => (r as { answered: boolean }).answered), [true, false, false, true]);
  });

  test('under a non-UTF-8 console (Windows PowerShell\'s OEM code page), a non-ASCII value is stored as sent, not just read back so', async () => {
    const { agentFile } = await pair();
    const { spawnSync } = await import('node:child_process');
    const { agentScriptFile } = await import('../../src/executors/agent/protocol.js');
    const request = JSON.stringify({
      marker: 'abcdefabcdefabcdef12',
      ops: [{ op: 'registry.set', view: '64', key: 'SOFTWARE\\RunbookTest', name: 'Café', value: { type: 'REG_SZ', data: 'Grüße 日本' } }],
    });
    // Latin-1 console encodings, as a console on another code page would have them.
    const latin1 = '[Console]::InputEncoding = [Text.Encoding]::GetEncoding(28591); [Console]::OutputEncoding = [Text.Encoding]::GetEncoding(28591)';
    const out = spawnSync(PWSH!, ['-NoProfile', '-NonInteractive', '-Command', `${latin1}; & '${agentScriptFile('file')}'`], {
      input: request,
      env: { ...process.env, RUNBOOK_AGENT_HOST_FILE: agentFile },
      encoding: 'utf8',
    });
    assert.match(out.stdout, /"data":"Grüße 日本"/);
    assert.equal((await hostOf(agentFile)).registry['SOFTWARE\\RunbookTest'], { Café: { type: 'REG_SZ', data: 'Grüße 日本' } });
  });

  test('registry.exportText answers exactly the text registry.export writes to a file for the same key (each value type, a subkey, non-ASCII), leaves no file and changes nothing; a missing key answers exists: false — from the agent and the simulated host alike', async () => {
    const { agent, agentFile, sim } = await sharedPair();
    const key = 'SOFTWARE\\RunbookExport';
    const setup: HostOp[] = [
      { op: 'registry.set', view: '64', key, name: 'Text', value: { type: 'REG_SZ', data: 'Grüße ✓ 中文 "q" C:\\x' } },
      { op: 'registry.set', view: '64', key, name: 'Expand', value: { type: 'REG_EXPAND_SZ', data: '%SystemRoot%\\é' } },
      { op: 'registry.set', view: '64', key, name: 'Multi', value: { type: 'REG_MULTI_SZ', data: ['a', 'ünï'] } },
      { op: 'registry.set', view: '64', key, name: 'Bin', value: { type: 'REG_BINARY', data: '00ff10' } },
      { op: 'registry.set', view: '64', key, name: 'Q', value: { type: 'REG_QWORD', data: '18446744073709551615' } },
      { op: 'registry.set', view: '64', key, name: 'D', value: dword(0xffffffff) },
      { op: 'registry.set', view: '64', key: `${key}\\Sub`, name: 'Café', value: dword(1) },
    ];
    await agent.run(setup);
    await sim.run(setup);
    const before = await readFile(agentFile);
    const reads: HostOp[] = [
      { op: 'registry.exportText', view: '64', key },
      { op: 'registry.exportText', view: '64', key: 'SOFTWARE\\RunbookNoSuchKey' },
      { op: 'registry.exportText', view: '32', key },
    ];
    const got = await agent.run(reads);
    assert.ok((await readFile(agentFile)).equals(before), 'reading the text changed the host file (a file kept, a key touched)');
    assert.equal(got, await sim.run(reads), 'the simulated host answers the same');
    const [text, missing, otherView] = got as { op: string; exists: boolean; content: string }[];
    assert.equal(missing, { op: 'registry.exportText', exists: false, content: '' });
    assert.equal(otherView, { op: 'registry.exportText', exists: false, content: '' }, 'the 32-bit view is another key');
    assert.is(text.exists, true);
    assert.match(text.content, /^Windows Registry Editor Version 5\.00\r\n\r\n\[HKEY_LOCAL_MACHINE\\SOFTWARE\\RunbookExport\]\r\n/);
    assert.ok(text.content.includes('[HKEY_LOCAL_MACHINE\\SOFTWARE\\RunbookExport\\Sub]\r\n"Café"=dword:00000001'), text.content);
    assert.ok(text.content.includes('"D"=dword:ffffffff'), text.content);
    // The file the export writes, for the same key: the same text.
    const [exported] = (await agent.run([{ op: 'registry.export', view: '64', key, file: 'C:\\Temp\\export.reg' }])) as { content: string }[];
    const files = (await hostOf(agentFile)).files;
    assert.equal(Object.keys(files), ['C:\\Temp\\export.reg'], 'only the export wrote a file');
    assert.is(files['C:\\Temp\\export.reg'], text.content);
    assert.is(exported.content, text.content);
  });

  test('an unknown operation is a permanent error naming it; earlier operations of the batch were done', async () => {
    const { agent, agentFile } = await sharedPair();
    try {
      await agent.run([
        { op: 'registry.set', view: '64', key: 'SOFTWARE\\RunbookTest', name: 'A', value: dword(1) },
        { op: 'registry.format' } as unknown as HostOp,
      ]);
      assert.unreachable();
    } catch (error) {
      assert.instance(error, ExecutorError);
      assert.is((error as ExecutorError).kind, 'permanent');
      assert.match((error as Error).message, /operation 1: unknown operation 'registry.format'/);
    }
    assert.equal((await hostOf(agentFile)).registry['SOFTWARE\\RunbookTest'].A, dword(1));
  });

  test('the bundled runbook runs end to end through the agent, restart and resume included', async () => {
    const { agent, agentFile, simFile } = await sharedPair();
    await expectSameAsSimulated(agent, agentFile, simFile);
    assert.equal((await hostOf(agentFile)).startupTasks, {}, 'the start-up task was removed');
  });

  test('orchestrator-tls13 runs end to end through the agent on Server 2025: the same registry as the simulated host (TLS 1.3 keys, strong crypto in both views)', async () => {
    const { agent, agentFile, simFile } = await sharedPair('server-2025');
    await expectSameAsSimulated(agent, agentFile, simFile, 'orchestrator-tls13');
    const host = await hostOf(agentFile);
    assert.equal(host.registry[`${SCH}\\TLS 1.3\\Server`], { DisabledByDefault: dword(0), Enabled: dword(1) });
    assert.equal(host.registry[`SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v4.0.30319`].SchUseStrongCrypto, dword(1));
  });

  test('one PowerShell answers every call; a call given up on ends it and the next call starts another; close ends it', async () => {
    const { agentFile } = await pair();
    const agent = local({ shell: PWSH!, env: { RUNBOOK_AGENT_HOST_FILE: agentFile } });
    // Agents of the other tests' executors (left open) are not this one's.
    const others = new Set(agentProcesses(process.pid));
    const mine = () => agentProcesses(process.pid).filter((pid) => !others.has(pid));
    for (let i = 0; i < 3; i++) await agent.run([{ op: 'os.info' }]);
    const [first] = mine();
    assert.equal(mine(), [first], 'three calls, one agent');
    // The agent's PowerShell and what it started (a launcher's runtime): all of it is stopped.
    const firstAll = [first, ...descendants(first)];
    // The host answers late: the call times out, and its agent is stopped.
    await writeHost(agentFile, { ...(await readHost(agentFile)), latencyMs: 30_000 });
    try {
      await agent.run([{ op: 'boot.time' }], { timeoutMs: 400 });
      assert.unreachable('answered');
    } catch (error) {
      assert.is((error as ExecutorError).kind, 'timeout');
    }
    await untilGone(firstAll, 5000);
    await writeHost(agentFile, { ...(await readHost(agentFile)), latencyMs: 0 });
    const [os] = await agent.run([{ op: 'os.info' }]);
    assert.is(os.op, 'os.info');
    const [second] = mine();
    assert.ok(second !== undefined && second !== first, 'a new agent for the next call');
    await agent.close();
    await untilGone([second]);
    assert.equal(mine(), []);
  });

  test('a process ended by a signal it does not handle (SIGTERM, Ctrl-C) ends its agent first, launcher and runtime (by PID), then ends by that signal', async () => {
    const { agentFile } = await pair();
    await writeHost(agentFile, { ...(await readHost(agentFile)), latencyMs: 60_000 });
    const script = join(await tempDir(), 'hold.mts');
    const local = join(import.meta.dirname, '..', '..', 'src', 'executors', 'local.ts');
    await writeFile(script, `import { createLocalExecutor } from ${JSON.stringify(local)};\nconst e = createLocalExecutor({ shell: ${JSON.stringify(PWSH)}, env: { RUNBOOK_AGENT_HOST_FILE: ${JSON.stringify(agentFile)} } });\nsetInterval(() => undefined, 1000);\nawait e.run([{ op: 'boot.time' }]).catch(() => undefined);\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: 'ignore' });
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const seen = new Set<number>();
    try {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && seen.size < 2) {
        for (const agent of agentProcesses(child.pid!)) for (const pid of [agent, ...descendants(agent)]) seen.add(pid);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(seen.size >= 1, 'the agent was seen running');
      // The batch is under way (its answer 60 s away) when the signal comes.
      await new Promise((r) => setTimeout(r, 1500));
      child.kill('SIGTERM');
      assert.is(await ended, 'SIGTERM');
      await untilGone([...seen], 5000);
    } finally {
      child.kill('SIGKILL');
      killAll(seen);
    }
  });

  test('the production agent (no test backend joined) refuses a machine without Windows, even with a host file named', async () => {
    const { agentFile } = await pair();
    const agent = local({ shell: PWSH!, env: { RUNBOOK_AGENT_HOST_FILE: agentFile }, agentBackend: 'windows' });
    try {
      await agent.run([{ op: 'os.info' }]);
      assert.unreachable('answered');
    } catch (error) {
      assert.is((error as ExecutorError).kind, 'permanent');
      assert.match((error as Error).message, /no Windows registry/);
    }
  });

  test('a PowerShell that is not installed is a clear permanent error', async () => {
    const agent = local({ shell: '/nonexistent/pwsh' });
    try {
      await agent.run([{ op: 'os.info' }]);
      assert.unreachable();
    } catch (error) {
      assert.is((error as ExecutorError).kind, 'permanent');
      assert.match((error as Error).message, /PowerShell \(\/nonexistent\/pwsh\) is not installed/);
    }
  });
}

test.run();
