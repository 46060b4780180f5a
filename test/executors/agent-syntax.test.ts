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

/** Checks every file of $env:RBE_FILES (a JSON array) and prints each finding as "<index> <finding>". */
const CHECK = `
$ErrorActionPreference = 'Stop'
$files = @(ConvertFrom-Json $env:RBE_FILES)
for ($i = 0; $i -lt $files.Count; $i++) {
$tokens = $null; $errors = $null
$ast = [System.Management.Automation.Language.Parser]::ParseFile($files[$i], [ref]$tokens, [ref]$errors)
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
$found | ForEach-Object { "$i $_" }
}
`;

/** What the check finds in each file, from one PowerShell for all of them (each start costs ~1 CPU-s). */
function checkAll(sources: string[]): string[][] {
  const out = execFileSync(PWSH!, ['-NoProfile', '-NonInteractive', '-Command', CHECK], { env: { ...process.env, RBE_FILES: JSON.stringify(sources) } }).toString();
  const found: string[][] = sources.map(() => []);
  for (const line of out.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const [, i, finding] = /^(\d+) (.*)$/.exec(line) ?? [];
    assert.ok(finding !== undefined, `unexpected output: ${line}`);
    found[Number(i)].push(finding);
  }
  return found;
}

/** The findings of the three files the tests look at, checked once, before the tests. */
let findings: { agent: string[]; joined: string[]; bad: string[] };

if (run) {
  test.before(async () => {
    const { writeFile } = await import('node:fs/promises');
    const { tempDir } = await import('../helpers.js');
    const { agentScriptFile } = await import('../../src/executors/agent-protocol.js');
    const bad = join(await tempDir(), 'bad.ps1');
    await writeFile(bad, '$a = $true ? 1 : 2\n$b = $null ?? 3\n$c ??= 4\nGet-Date && Get-Date\n$d = ${x}?.Name\nfunction f { process { } clean { } }\n');
    const [agent, joined, badFound] = checkAll([AGENT, agentScriptFile('file'), bad]);
    findings = { agent, joined, bad: badFound };
  });

  test('the agent parses and uses nothing Windows PowerShell 5.1 lacks', () => {
    assert.equal(findings.agent, []);
  });

  test('the production agent has no test branch; the tests\' backend is its own file, joined only on request', async () => {
    const { readFileSync } = await import('node:fs');
    const { agentProgram } = await import('../../src/executors/agent-protocol.js');
    const production = readFileSync(AGENT, 'utf8');
    assert.not.match(production, /RUNBOOK_AGENT_HOST_FILE|HostFile|Load-Doc/);
    assert.is(agentProgram('windows'), production);
    assert.match(agentProgram('file'), /function Load-Doc/);
    // The joined program parses as one, with nothing 5.1 lacks.
    assert.equal(findings.joined, []);
  });

  test('the check finds each 7-only construct (it can fail)', () => {
    const found = findings.bad;
    for (const what of ['ternary', '??', '??=', '&& / ||', 'null-conditional', 'clean block']) {
      assert.ok(found.some((f) => f.startsWith(what)), `${what} not found in ${found.join('; ')}`);
    }
  });
}

test.run();
