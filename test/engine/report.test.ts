import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { handshakeRows, renderReportMarkdown } from '../../src/engine/report.js';
import { makeHost, restartRefused, runToEnd } from '../helpers.js';

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

test.run();
