/**
 * The Windows PowerShell 5.1 check of the suite: PowerShell's own parser reads each file and a walk of
 * its syntax tree reports what 5.1 lacks or does differently. Shared by agent-ps51.test.ts (every agent
 * file, and bad snippets that prove each rule fires) and agent-syntax.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { PWSH } from '../pwsh.js';

/**
 * The walk, in PowerShell. $env:RBE_FILES is a JSON array of { path, ps7Only }; each finding is printed
 * as "<index> <finding>". A file marked ps7Only (a host that runs only in PowerShell 7) may use the
 * SSH remoting parameters; nothing else is allowed anywhere.
 */
const CHECK = String.raw`
$ErrorActionPreference = 'Stop'
$files = @(ConvertFrom-Json $env:RBE_FILES)
# Commands Windows PowerShell 5.1 does not have.
$missing = @('join-string', 'get-error', 'test-json', 'get-uptime', 'remove-alias', 'remove-service', 'start-threadjob',
  'convertfrom-markdown', 'show-markdown', 'get-markdownoption', 'set-markdownoption', 'get-pssubsystem')
# Parameters 5.1 lacks, by command ('*': any command).
$params = @{
  '*' = @('AsHashtable', 'AsByteStream')
  'foreach-object' = @('Parallel', 'ThrottleLimit', 'TimeoutSeconds', 'AsJob', 'UseNewRunspace')
  'convertfrom-json' = @('Depth', 'NoEnumerate', 'DateKind')
  'convertto-json' = @('AsArray', 'EscapeHandling', 'EnumsAsStrings')
  'select-string' = @('Raw', 'NoEmphasis')
  'get-date' = @('AsUTC', 'UnixTimeSeconds')
  'split-path' = @('LeafBase', 'Extension')
  'import-module' = @('UseWindowsPowerShell', 'SkipEditionCheck')
  'invoke-webrequest' = @('SkipCertificateCheck', 'Authentication', 'SslProtocol', 'Resume', 'SkipHttpErrorCheck', 'StatusCodeVariable', 'ResponseHeadersVariable')
  'invoke-restmethod' = @('SkipCertificateCheck', 'Authentication', 'SslProtocol', 'Resume', 'SkipHttpErrorCheck', 'StatusCodeVariable', 'ResponseHeadersVariable')
  'test-connection' = @('TargetName', 'Ping', 'TcpPort', 'Traceroute', 'MtuSize', 'Repeat')
}
$ssh = @('HostName', 'SSHTransport', 'KeyFilePath', 'Subsystem', 'SSHConnection', 'Options')
$remoting = @('new-pssession', 'enter-pssession', 'invoke-command')
# Automatic variables 5.1 does not define (under Set-StrictMode 2.0 reading one throws).
$variables = @('IsWindows', 'IsLinux', 'IsMacOS', 'IsCoreCLR', 'PSStyle', 'PSNativeCommandUseErrorActionPreference')
for ($i = 0; $i -lt $files.Count; $i++) {
  $tokens = $null; $errors = $null
  $ast = [System.Management.Automation.Language.Parser]::ParseFile($files[$i].path, [ref]$tokens, [ref]$errors)
  $found = New-Object System.Collections.ArrayList
  foreach ($e in $errors) { [void]$found.Add("parse error line $($e.Extent.StartLineNumber): $($e.Message)") }
  foreach ($n in $ast.FindAll({ $true }, $true)) {
    $t = $n.GetType().Name
    $line = $n.Extent.StartLineNumber
    if ($t -eq 'TernaryExpressionAst') { [void]$found.Add("ternary at line $line") }
    if ($t -eq 'PipelineChainAst') { [void]$found.Add("&& / || chain at line $line") }
    if ($t -eq 'BinaryExpressionAst' -and $n.Operator -eq 'QuestionQuestion') { [void]$found.Add("?? at line $line") }
    if ($t -eq 'AssignmentStatementAst' -and $n.Operator -eq 'QuestionQuestionEquals') { [void]$found.Add("??= at line $line") }
    if (($t -eq 'MemberExpressionAst' -or $t -eq 'InvokeMemberExpressionAst' -or $t -eq 'IndexExpressionAst') -and $n.NullConditional) { [void]$found.Add("null-conditional access at line $line") }
    if ($t -eq 'ScriptBlockAst' -and $null -ne $n.CleanBlock) { [void]$found.Add("clean block at line $line") }
    if ($t -eq 'VariableExpressionAst' -and $variables -contains $n.VariablePath.UserPath) { [void]$found.Add('variable $' + $n.VariablePath.UserPath + " (not in 5.1) at line $line") }
    if ($t -eq 'CommandAst') {
      $name = [string]$n.GetCommandName()
      $lower = $name.ToLowerInvariant()
      if ($missing -contains $lower) { [void]$found.Add("command $name (not in 5.1) at line $line") }
      if ($lower -match '^(shutdown|reg|schtasks)(\.exe)?$') { [void]$found.Add("native $name called directly (5.1 throws on its stderr under Stop: use Invoke-Native) at line $line") }
      if (($lower -eq 'set-consoleoutputencoding' -or $lower -eq 'set-consoleinputencoding')) {
        $p = $n.Parent
        while ($null -ne $p -and -not ($p -is [System.Management.Automation.Language.TryStatementAst])) { $p = $p.Parent }
        if ($null -eq $p) { [void]$found.Add("console encoding set outside try (5.1 without a console throws) at line $line") }
      }
      foreach ($e in $n.CommandElements) {
        if ($e -isnot [System.Management.Automation.Language.CommandParameterAst]) {
          if ($e -is [System.Management.Automation.Language.StringConstantExpressionAst] -and $e.Value -match '^utf8(No)?BOM$') { [void]$found.Add("encoding $($e.Value) (not in 5.1) at line $line") }
          continue
        }
        $p = $e.ParameterName
        $bad = @($params['*']) + @($params[$lower] | Where-Object { $_ })
        if ($bad -contains $p) { [void]$found.Add("$name -$p (not in 5.1) at line $line") }
        if ($remoting -contains $lower -and $ssh -contains $p -and -not $files[$i].ps7Only) { [void]$found.Add("$name -$p (SSH remoting, PowerShell 6+) outside a PowerShell 7 host at line $line") }
      }
    }
    if ($t -eq 'AssignmentStatementAst' -and $n.Left.Extent.Text -match '^\[Console\]::(Output|Input)Encoding$') {
      $f = $n.Parent
      while ($null -ne $f -and -not ($f -is [System.Management.Automation.Language.FunctionDefinitionAst])) { $f = $f.Parent }
      $guard = $n.Parent
      while ($null -ne $guard -and -not ($guard -is [System.Management.Automation.Language.TryStatementAst])) { $guard = $guard.Parent }
      if ($null -eq $guard -and ($null -eq $f -or $f.Name -notmatch '^Set-Console(Output|Input)Encoding$')) { [void]$found.Add("[Console] encoding assigned outside try or Set-Console*Encoding (unguarded on 5.1) at line $line") }
    }
  }
  $found | ForEach-Object { "$i $_" }
}
`;

/** A file to check; `ps7Only` marks a host that runs only in PowerShell 7 (SSH remoting allowed). */
export type Checked = { path: string; ps7Only?: boolean };

/** What the check finds in each file, from one PowerShell for all of them (each start costs ~1 CPU-s). */
export function check51(files: Checked[]): string[][] {
  const out = execFileSync(PWSH!, ['-NoProfile', '-NonInteractive', '-Command', CHECK], { env: { ...process.env, RBE_FILES: JSON.stringify(files) } }).toString();
  const found: string[][] = files.map(() => []);
  for (const line of out.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const m = /^(\d+) (.*)$/.exec(line);
    if (!m) throw new Error(`unexpected output of the 5.1 check: ${line}`);
    found[Number(m[1])].push(m[2]);
  }
  return found;
}
