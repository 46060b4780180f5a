import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { handshakeRows, renderReportMarkdown } from '../../src/engine/report.js';
import { Runner, StepKindRegistry, createSimulatedExecutor, defineRegistryStep, defineStepKind, validateRunbook, type RunbookDefinition } from '../../src/index.js';
import * as z from '../../src/util/zod.js';
import { makeHost, readRegFile, restartRefused, runToEnd, tempDir } from '../helpers.js';

test('a succeeded run: report.json is the result, report.md shows every step with its changes', async () => {
  const { result, runner } = await runToEnd(await makeHost('server-2016'));
  const dir = runner.runDir(result.runId);
  assert.equal(JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')), JSON.parse(JSON.stringify(result)));
  const md = await readFile(join(dir, 'report.md'), 'utf8');
  assert.match(md, new RegExp(`^# Run ${result.runId}`));
  assert.match(md, /- status: \*\*succeeded\*\*/);
  for (const id of ['preflight', 'backup', 'schannel', 'dotnet', 'hotfix', 'restart', 'ip-verify']) assert.match(md, new RegExp(`### ${id} \\(`));
  assert.match(md, /\| HKLM\\SYSTEM\\[^|]*\\TLS 1\.0\\Server \(64-bit view\) \| Enabled \| \(absent\) \| 0x00000000 \(0\) \| REG_DWORD \| create \|/, 'a change row: key, value, before, after, type, action');
  assert.not.match(md, /Still changed on the target/);
});

test('backups are named among the run\'s files, with where those are kept; a journal from before names were kept reads the same', async () => {
  const { result, runner } = await runToEnd(await makeHost('server-2016'));
  const dir = runner.runDir(result.runId);
  assert.is(result.backups.length, 3);
  for (const b of result.backups) assert.match(b, /^backups\/[^/\\]+\.reg$/);
  const md = await readFile(join(dir, 'report.md'), 'utf8');
  assert.ok(md.includes(`## Backups\n\nKept with the run's files, in ${dir} (and on the target):\n\n${result.backups.map((b) => `- \`${b}\``).join('\n')}`), md);
  // An older journal recorded each backup by its path on the machine that made it.
  const { replay, resultOf } = await import('../../src/engine/replay.js');
  const records = (await runner.store.readJournal(result.runId)).map((r) => (r.type === 'file.saved' ? { ...r, name: undefined, path: join('/elsewhere', 'runs', result.runId, String(r.name)) } : r));
  assert.equal(resultOf(replay(records), result.stateDir).backups, result.backups);
});

test('a rolled-back run: each compensation in the report; a run that left changes lists them and the undo files', async () => {
  const { result } = await runToEnd(await makeHost('server-2016', restartRefused));
  assert.is(result.status, 'rolled-back');
  if (result.status !== 'rolled-back') return;
  const md = renderReportMarkdown(result);
  assert.match(md, /### schannel [\s\S]*?Compensation: \*\*compensated\*\* — restored \d+ registry item/);
  const left = renderReportMarkdown({
    ...result,
    status: 'rollback-failed',
    remaining: [{ target: 'HKLM\\X (64-bit view)', field: 'Enabled', before: null, after: '0x00000000 (0)', action: 'create' }],
    undoFiles: { reg: '/s/undo.reg', powershell: '/s/undo.ps1' },
  });
  assert.match(left, /## Still changed on the target[\s\S]*HKLM\\X \(64-bit view\) \| Enabled/);
  assert.match(left, /`\/s\/undo.reg` — on the target, elevated: `reg import undo.reg`/);
});


test('after a rollback on request the proof by handshake is marked undone: report.md no longer says the server refuses TLS 1.0', async () => {
  const { result, runner, executor } = await runToEnd(await makeHost('server-2016'));
  assert.is(result.outcome, 'changed');
  const proof = handshakeRows(result)!;
  assert.ok(proof.columns.some((c) => c.verdict === 'proven'), 'proven after the restart');
  const undone = await (await runner.rollback(result.runId, { executor })).result;
  assert.is(undone.outcome, 'rolled-back-on-request');
  const table = handshakeRows(undone)!;
  const verify = table.columns.find((c) => c.stepId === 'tls-verify')!;
  assert.ok(verify.undone);
  assert.match(verify.verdict, /^proven before the rollback, undone since/);
  const md = await readFile(join(runner.runDir(result.runId), 'report.md'), 'utf8');
  assert.match(md, /\| tls-verify \(undone\) \|/);
  assert.match(md, /\| was refused \(/);
  assert.match(md, /proven by handshake[^\n]*— undone since by the rollback: this proof no longer holds/);
  assert.not.match(md, /Verdict: [^\n]*tls-verify proven\./);
});

test('the handshake table of a plan shows the baseline alone', async () => {
  const { result } = await runToEnd(await makeHost('server-2016'), { checkMode: true });
  const table = handshakeRows(result)!;
  assert.is(table.columns.length, 1);
  assert.is(table.columns[0].verdict, 'baseline');
  assert.ok(table.rows.every((r) => r.cells.length === 1));
});

test('the undo files of a run that wrote secrets to the registry hold neither secret: what it wrote there is withheld, the values are still restored', async () => {
  // A DWORD whose number is a secret PIN: the mask changes text, not numbers, so undo.ps1 showed it
  // as "wrote"; a REG_SZ holding a token reaches it masked (Password=***), which says nothing.
  const TOKEN = 'hunter2-Secr3t';
  const PIN = '40960001';
  const stores = defineStepKind(
    defineRegistryStep({
      kind: 'test/stores-secrets',
      description: 'stores a connection string and a PIN in the registry',
      what: 'app settings',
      rebootOnChange: false,
      params: z.object({ token: z.string(), pin: z.string() }),
      writes: async ({ params }) => [
        { view: '64', key: 'SOFTWARE\\Contoso\\App', name: 'Conn', desired: { type: 'REG_SZ', data: `Server=db;Password=${params.token}` } },
        { view: '64', key: 'SOFTWARE\\Contoso\\App', name: 'Pin', desired: { type: 'REG_DWORD', data: Number(params.pin) } },
        { view: '64', key: 'SOFTWARE\\Contoso\\App', name: 'Port', desired: { type: 'REG_DWORD', data: 8443 } },
      ],
    }),
  );
  const registry = new StepKindRegistry().register(stores);
  const runbook: RunbookDefinition = {
    name: 'stores-secrets',
    parameters: { token: { type: 'string', secret: true, env: 'RBE_TEST_TOKEN' }, pin: { type: 'string', secret: true, env: 'RBE_TEST_PIN' } },
    steps: [{ id: 'app', uses: 'test/stores-secrets', with: { token: '${{ params.token }}', pin: '${{ params.pin }}' } }],
  };
  process.env.RBE_TEST_TOKEN = TOKEN;
  process.env.RBE_TEST_PIN = PIN;
  try {
    const runner = new Runner({ stateDir: await tempDir(), kinds: registry });
    const result = await runner.start(validateRunbook(runbook, registry, 'inline'), { executor: await createSimulatedExecutor(await makeHost('server-2016')) }).result;
    assert.is(result.status, 'succeeded', result.reason);
    const script = await readFile(result.undoFiles!.powershell, 'utf8');
    const reg = await readRegFile(result.undoFiles!.reg);
    for (const text of [script, reg]) {
      for (const form of [TOKEN, PIN, 'Password=', (Number(PIN)).toString(16)]) assert.not.ok(text.includes(form), `an undo file holds ${form}`);
    }
    const data = JSON.parse(script.slice(script.indexOf("@'") + 2, script.indexOf("'@")));
    assert.equal(
      data.values.map((v: Record<string, unknown>) => [v.name, v.value, v.wroteWithheld, v.wrote]),
      [
        ['Conn', null, true, undefined],
        ['Pin', null, true, undefined],
        ['Port', null, undefined, { type: 'REG_DWORD', data: 8443 }],
      ],
    );
    assert.match(script, /# "wroteWithheld": what the run wrote there held the value of a secret parameter/);
    assert.equal(reg.split('\r\n').filter((l) => l.startsWith('"')), ['"Conn"=-', '"Pin"=-', '"Port"=-']);
  } finally {
    delete process.env.RBE_TEST_TOKEN;
    delete process.env.RBE_TEST_PIN;
  }
});

test('a REG_BINARY holding a secret as UTF-16LE text, as Windows keeps strings: neither undo file, the journal nor the reports hold its hex', async () => {
  const TOKEN = 'Zq9-Secr3tValue';
  const utf16 = Buffer.from(TOKEN, 'utf16le').toString('hex');
  const stores = defineStepKind(
    defineRegistryStep({
      kind: 'test/stores-binary',
      description: 'stores a token as UTF-16LE bytes in a REG_BINARY',
      what: 'app settings',
      rebootOnChange: false,
      params: z.object({ token: z.string() }),
      writes: async ({ params }) => [
        { view: '64', key: 'SOFTWARE\\Contoso\\App', name: 'Blob', desired: { type: 'REG_BINARY', data: Buffer.from(params.token, 'utf16le').toString('hex') } },
        { view: '64', key: 'SOFTWARE\\Contoso\\App', name: 'Port', desired: { type: 'REG_DWORD', data: 8443 } },
      ],
    }),
  );
  const registry = new StepKindRegistry().register(stores);
  const runbook: RunbookDefinition = {
    name: 'stores-binary',
    parameters: { token: { type: 'string', secret: true, env: 'RBE_TEST_TOKEN' } },
    steps: [{ id: 'app', uses: 'test/stores-binary', with: { token: '${{ params.token }}' } }],
  };
  process.env.RBE_TEST_TOKEN = TOKEN;
  try {
    const runner = new Runner({ stateDir: await tempDir(), kinds: registry });
    const run = runner.start(validateRunbook(runbook, registry, 'inline'), { executor: await createSimulatedExecutor(await makeHost('server-2016')) });
    const result = await run.result;
    assert.is(result.status, 'succeeded', result.reason);
    const dir = runner.runDir(run.id);
    const forms = [utf16, utf16.toUpperCase(), utf16.match(/../g)!.join(','), utf16.match(/../g)!.join(',').toUpperCase()];
    for (const file of [result.undoFiles!.powershell, result.undoFiles!.reg, join(dir, 'journal.jsonl'), join(dir, 'report.json'), join(dir, 'report.md')]) {
      const text = await readFile(file, 'utf8');
      for (const form of forms) assert.not.ok(text.toLowerCase().includes(form.toLowerCase()), `${file} holds ${form}`);
    }
    const script = await readFile(result.undoFiles!.powershell, 'utf8');
    const data = JSON.parse(script.slice(script.indexOf("@'") + 2, script.indexOf("'@")));
    assert.equal(data.values.map((v: Record<string, unknown>) => [v.name, v.wroteWithheld]), [['Blob', true], ['Port', undefined]]);
  } finally {
    delete process.env.RBE_TEST_TOKEN;
  }
});

test('a secret PIN written as a REG_DWORD and a REG_QWORD: neither its number, its decimal nor its hex reaches the journal, the reports or the events', async () => {
  // The mask changed text only: the plan showed `0x02710001 (***)` and the journal kept `"data":40960001`.
  const PIN = '40960001';
  const hex = Number(PIN).toString(16);
  const stores = defineStepKind(
    defineRegistryStep({
      kind: 'test/stores-pin',
      description: 'stores a PIN as numbers in the registry',
      what: 'app settings',
      rebootOnChange: false,
      params: z.object({ pin: z.string() }),
      writes: async ({ params }) => [
        { view: '64', key: 'SOFTWARE\\Contoso\\App', name: 'Pin', desired: { type: 'REG_DWORD', data: Number(params.pin) } },
        { view: '64', key: 'SOFTWARE\\Contoso\\App', name: 'Pin64', desired: { type: 'REG_QWORD', data: String(Number(params.pin)) } },
        { view: '64', key: 'SOFTWARE\\Contoso\\App', name: 'Port', desired: { type: 'REG_DWORD', data: 8443 } },
      ],
    }),
  );
  const registry = new StepKindRegistry().register(stores);
  const runbook: RunbookDefinition = {
    name: 'stores-pin',
    parameters: { pin: { type: 'string', secret: true, env: 'RBE_TEST_PIN' } },
    steps: [{ id: 'app', uses: 'test/stores-pin', with: { pin: '${{ params.pin }}' } }],
  };
  process.env.RBE_TEST_PIN = PIN;
  try {
    const runner = new Runner({ stateDir: await tempDir(), kinds: registry });
    const run = runner.start(validateRunbook(runbook, registry, 'inline'), { executor: await createSimulatedExecutor(await makeHost('server-2016')) });
    const seen: string[] = [];
    for (const name of ['run:start', 'run:end', 'step:transition', 'step:settled', 'log'] as const) run.events.on(name, (payload: unknown) => seen.push(JSON.stringify(payload)));
    const result = await run.result;
    assert.is(result.status, 'succeeded', result.reason);
    const dir = runner.runDir(run.id);
    const texts: [string, string][] = [['events', seen.join('\n')], ['the result', JSON.stringify(result)]];
    for (const name of ['journal.jsonl', 'report.json', 'report.md']) texts.push([name, await readFile(join(dir, name), 'utf8')]);
    for (const [name, text] of texts) {
      for (const form of [PIN, hex]) assert.not.ok(text.toLowerCase().includes(form), `${name} holds ${form}`);
    }
    // What is not secret stays: the port, in decimal and hex.
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    assert.ok(md.includes('0x000020fb (8443)'), md);
    assert.match(md, /\| Pin \| \(absent\) \| \*\*\* \(\*\*\*\) \| REG_DWORD \| create \|/);
  } finally {
    delete process.env.RBE_TEST_PIN;
  }
});

test.run();
