/**
 * PowerShell's own parser walks the agent's syntax tree: it must parse without errors and use nothing
 * that Windows PowerShell 5.1 lacks (ternary, ??, ??=, ?. and ?[], && / || chains, clean blocks).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PWSH, needPwsh } from '../pwsh.js';

const run = needPwsh('test/executors/agent-syntax.test.ts');
const AGENT = join(import.meta.dirname, '..', '..', 'src', 'executors', 'agent', 'agent.ps1');

const CHECK = `
$ErrorActionPreference = 'Stop'
$tokens = $null; $errors = $null
$ast = [System.Management.Automation.Language.Parser]::ParseFile($env:RBE_FILE, [ref]$tokens, [ref]$errors)
$found = New-Object System.Collections.ArrayList
foreach ($e in $errors) { [void]$found.Add("parse error line $($e.Extent.StartLineNumber): $($e.Message)") }
$nodes = $ast.FindAll({ $true }, $true)
foreach ($n in $nodes) {
  $t = $n.GetType().Name
  $line = $n.Extent.StartLineNumber
  if ($t -eq 'TernaryExpressionAst') { [void]$found.Add("ternary at line $line") }
  if ($t -eq 'PipelineChainAst') { [void]$found.Add("&& / || chain at line $line") }
  if ($t -eq 'BinaryExpressionAst' -and $n.Operator -eq 'QuestionQuestion') { [void]$found.Add("?? at line $line") }
  if ($t -eq 'AssignmentStatementAst' -and $n.Operator -eq 'QuestionQuestionEquals') { [void]$found.Add("??= at line $line") }
  if (($t -eq 'MemberExpressionAst' -or $t -eq 'InvokeMemberExpressionAst' -or $t -eq 'IndexExpressionAst') -and $n.NullConditional) { [void]$found.Add("null-conditional access at line $line") }
  if ($t -eq 'ScriptBlockAst' -and $null -ne $n.CleanBlock) { [void]$found.Add("clean block at line $line") }
}
$found | ForEach-Object { $_ }
`;

function check(source: string): string[] {
  const out = execFileSync(PWSH!, ['-NoProfile', '-NonInteractive', '-Command', CHECK], { env: { ...process.env, RBE_FILE: source } }).toString();
  return out.split('\n').map((l) => l.trim()).filter(Boolean);
}

if (run) {
  test('the agent parses and uses nothing Windows PowerShell 5.1 lacks', () => {
    assert.equal(check(AGENT), []);
  });

  test('the production agent has no test branch; the tests\' backend is its own file, joined only on request', async () => {
    const { readFileSync } = await import('node:fs');
    const { agentProgram, agentScriptFile } = await import('../../src/executors/agent-protocol.js');
    const production = readFileSync(AGENT, 'utf8');
    assert.not.match(production, /RUNBOOK_AGENT_HOST_FILE|HostFile|Load-Doc/);
    assert.is(agentProgram('windows'), production);
    assert.match(agentProgram('file'), /function Load-Doc/);
    // The joined program parses as one, with nothing 5.1 lacks.
    assert.equal(check(agentScriptFile('file')), []);
  });

  test('the check finds each 7-only construct (it can fail)', async () => {
    const { writeFile } = await import('node:fs/promises');
    const { tempDir } = await import('../helpers.js');
    const file = join(await tempDir(), 'bad.ps1');
    await writeFile(file, '$a = $true ? 1 : 2\n$b = $null ?? 3\n$c ??= 4\nGet-Date && Get-Date\n$d = ${x}?.Name\nfunction f { process { } clean { } }\n');
    const found = check(file);
    for (const what of ['ternary', '??', '??=', '&& / ||', 'null-conditional', 'clean block']) {
      assert.ok(found.some((f) => f.startsWith(what)), `${what} not found in ${found.join('; ')}`);
    }
  });
}

test.run();
