/**
 * Windows PowerShell 5.1 in the suite. Every agent file is read by PowerShell's own parser and walked
 * for what 5.1 lacks (syntax, cmdlets, parameters, variables), and bad snippets prove each rule fires.
 * Then the agent runs here, in PowerShell 7, with the 5.1 behaviours that can be reproduced: its 5.1
 * JSON path (ConvertFrom-Json, dates kept as text as 5.1 keeps them), no console (the encoding setters
 * throw "The handle is invalid", as in a WinRM session), and native programs whose standard error is
 * written under $ErrorActionPreference = 'Stop'.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PwshScripts, needPwsh } from '../pwsh.js';
import { check51 } from './ps51-check.js';
import { SHUTDOWN_IN_PROGRESS, SHUTDOWN_IS_SCHEDULED } from '../../src/windows/facts/restart.js';
import { SQL_LOGIN_REFUSED_ERRORS } from '../../src/windows/facts/sql.js';

const run = needPwsh('test/executors/agent-ps51.test.ts');
const AGENT_DIR = join(import.meta.dirname, '..', '..', 'src', 'executors', 'agent');
const AGENT = join(AGENT_DIR, 'agent.ps1');

/** Each bad line and the finding it must produce. */
const BAD: [string, string][] = [
  ['$a = $true ? 1 : 2', 'ternary'],
  ['$b = $null ?? 3', '??'],
  ['$c ??= 4', '??='],
  ['Get-Date && Get-Date', '&& / ||'],
  ['$d = ${x}?.Name', 'null-conditional'],
  ['function f { process { } clean { } }', 'clean block'],
  ["$h = '{}' | ConvertFrom-Json -AsHashtable", 'ConvertFrom-Json -AsHashtable'],
  ["$j = ConvertFrom-Json '{}' -Depth 5", 'ConvertFrom-Json -Depth'],
  ['Get-Content x.bin -AsByteStream', 'Get-Content -AsByteStream'],
  ['1..3 | ForEach-Object -Parallel { $_ }', 'ForEach-Object -Parallel'],
  ["'a', 'b' | Join-String -Separator ','", 'command Join-String'],
  ['Get-Error', 'command Get-Error'],
  ["$s = New-PSSession -HostName orch01 -UserName admin", 'New-PSSession -HostName'],
  ["if ($IsWindows) { 'w' }", 'variable $IsWindows'],
  ["Set-Content x.txt 'x' -Encoding utf8NoBOM", 'encoding utf8NoBOM'],
  ['& shutdown.exe /r /t 0 2>&1 | Out-Null', 'native shutdown.exe called directly'],
  ['reg.exe export HKLM\\SOFTWARE x.reg /y', 'native reg.exe called directly'],
  ['[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false', '[Console] encoding assigned outside try'],
  ['Set-ConsoleOutputEncoding $utf8', 'console encoding set outside try'],
];

/** The agent's text before its run marker: every function, nothing run. */
function agentFunctions(): string {
  const text = readFileSync(AGENT, 'utf8');
  const at = text.indexOf('# ---------- run:');
  assert.ok(at > 0, 'agent.ps1 has a run marker after its definitions');
  return text.slice(0, at);
}

/**
 * The PowerShell that runs this file's scripts (the agent, or its functions and a driver): one for the
 * file, each run in a script scope of its own with its own environment and standard input, as
 * `pwsh -NoProfile -NonInteractive -File <script>` would run it.
 */
const scripts = new PwshScripts();
test.after(() => scripts.close());

if (run) {
  let findings: string[][];

  test.before(async () => {
    const { tempDir } = await import('../helpers.js');
    const { agentScriptFile } = await import('../../src/executors/agent/protocol.js');
    const dir = await tempDir();
    const { bootstrapArgs } = await import('../../src/executors/agent/protocol.js');
    const args = bootstrapArgs({ announcePid: true });
    const bootstrap = join(dir, 'bootstrap.ps1');
    await writeFile(bootstrap, Buffer.from(args[args.indexOf('-EncodedCommand') + 1], 'base64').toString('utf16le'));
    const bad = join(dir, 'bad.ps1');
    await writeFile(bad, `${BAD.map(([line]) => line).join('\n')}\n`);
    findings = check51([
      { path: AGENT },
      { path: join(AGENT_DIR, 'agent-file-backend.ps1') },
      { path: agentScriptFile('file') },
      { path: join(AGENT_DIR, 'remoting-host.ps1') },
      { path: bootstrap },
      { path: bad },
    ]);
  });

  test('every agent file (agent, its test backend, the two joined, the remoting host, the SSH bootstrap) uses nothing Windows PowerShell 5.1 lacks', () => {
    assert.equal(findings.slice(0, 5), [[], [], [], [], []]);
  });

  test('the check finds each thing 5.1 lacks, each on its own line (it can fail)', () => {
    const found = findings[5];
    BAD.forEach(([line, what], i) => {
      assert.ok(found.some((f) => f.includes(what) && f.endsWith(`line ${i + 1}`)), `${what} (line ${i + 1}: ${line}) not found in:\n${found.join('\n')}`);
    });
  });

  test('the 5.1 JSON path (ConvertFrom-Json, no Newtonsoft) answers exactly as the PowerShell 7 path does', async () => {
    const { agentProgram, agentRequest, parseAgentAnswer } = await import('../../src/executors/agent/protocol.js');
    const { makeHost, tempDir } = await import('../helpers.js');
    const dir = await tempDir();
    // 5.1: Test-WindowsPowerShell says so, and ConvertFrom-Json keeps date-like strings as text (7.5's -DateKind String).
    const shim = [
      "function Test-WindowsPowerShell { [Console]::Error.WriteLine('ps51-json-path'); return $true }",
      'function ConvertFrom-Json { param([Parameter(ValueFromPipeline = $true)]$InputObject) Microsoft.PowerShell.Utility\\ConvertFrom-Json -InputObject $InputObject -DateKind String }',
    ].join('\n');
    const program = agentProgram('file');
    const at = program.indexOf('# ---------- main:');
    const ps51 = join(dir, 'agent-51.ps1');
    await writeFile(ps51, `${program.slice(0, at)}${shim}\n${program.slice(at)}`);
    const ps7 = join(dir, 'agent-7.ps1');
    await writeFile(ps7, program);
    const answers: unknown[] = [];
    for (const file of [ps51, ps7]) {
      const host = await makeHost('server-2016');
      const bootTime = JSON.parse(readFileSync(host, 'utf8')).bootTime as string;
      const key = 'SOFTWARE\\runbook-engine-test';
      const { marker, json } = agentRequest([
        { op: 'registry.set', view: '64', key, name: 'Text', value: { type: 'REG_SZ', data: 'Grüße ✓ 2026-11-20T06:12:44Z' } },
        { op: 'registry.set', view: '64', key, name: 'One', value: { type: 'REG_MULTI_SZ', data: ['only'] } },
        { op: 'registry.set', view: '64', key, name: 'Max', value: { type: 'REG_DWORD', data: 4294967295 } },
        { op: 'registry.get', view: '64', key, name: 'Text' },
        { op: 'registry.get', view: '64', key, name: 'One' },
        { op: 'sql.instances' },
        { op: 'restart', delaySeconds: 0, reason: 'test', ifBootTime: bootTime, plannedReason: { major: 2, minor: 4 } },
      ]);
      const r = await scripts.run(file, { RUNBOOK_AGENT_HOST_FILE: host }, `${json}\n`);
      assert.is(r.stderr.includes('ps51-json-path'), file === ps51, `the 5.1 path ran only where forced: ${r.stderr}`);
      answers.push(parseAgentAnswer(r.stdout, marker, file));
    }
    assert.equal(answers[0], answers[1]);
    const results = answers[0] as { op: string; value?: unknown; requested?: boolean }[];
    assert.equal(results[3].value, { type: 'REG_SZ', data: 'Grüße ✓ 2026-11-20T06:12:44Z' }, 'a date-like string stays the string it was');
    assert.equal(results[4].value, { type: 'REG_MULTI_SZ', data: ['only'] }, 'a one-element list stays a list');
    assert.is(results[6].requested, true, "the boot-time guard read the baseline as the host's own boot time");
  });

  test('without a console (the encoding setters throw "The handle is invalid", as in a WinRM session) the agent still answers', async () => {
    const { agentProgram, agentRequest, parseAgentAnswer } = await import('../../src/executors/agent/protocol.js');
    const { makeHost, tempDir } = await import('../helpers.js');
    const shim = [
      "function Set-ConsoleOutputEncoding($encoding) { [Console]::Error.WriteLine('no-console'); throw (New-Object System.IO.IOException 'The handle is invalid.') }",
      "function Set-ConsoleInputEncoding($encoding) { throw (New-Object System.IO.IOException 'The handle is invalid.') }",
    ].join('\n');
    const program = agentProgram('file');
    const at = program.indexOf('# ---------- main:');
    const file = join(await tempDir(), 'agent-no-console.ps1');
    await writeFile(file, `${program.slice(0, at)}${shim}\n${program.slice(at)}`);
    const { marker, json } = agentRequest([{ op: 'os.info' }]);
    const r = await scripts.run(file, { RUNBOOK_AGENT_HOST_FILE: await makeHost('server-2016') }, `${json}\n`);
    assert.match(r.stderr, /no-console/, 'the setter was tried (and threw)');
    const [os] = parseAgentAnswer(r.stdout, marker, file);
    assert.is(os.op, 'os.info');
  });

  test("native programs run through Invoke-Native: stderr under $ErrorActionPreference = 'Stop' throws nothing, the exit code and both streams come back", async () => {
    const { tempDir } = await import('../helpers.js');
    const file = join(await tempDir(), 'native.ps1');
    await writeFile(
      file,
      `${agentFunctions()}
$ErrorActionPreference = 'Stop'
# PowerShell 7's nearest to 5.1: a native command's failure is an error under Stop.
$PSNativeCommandUseErrorActionPreference = $true
$r = Invoke-Native '/bin/sh' @('-c', 'echo oops >&2; echo out; exit 3')
[Console]::Out.Write((ConvertTo-Json -InputObject $r -Compress))
`,
    );
    const r = await scripts.run(file);
    assert.is(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout), { exitCode: 3, stdout: 'out\n', stderr: 'oops\n' });
  });

  test('arguments reach a program as given, by the CommandLineToArgvW rules: a trailing \\ survives its closing quote', async () => {
    const { tempDir } = await import('../helpers.js');
    const args = ['C:\\runbook state\\', 'C:\\state\\', 'a "quoted" word', '', 'plain', 'two\\\\', 'x\\"y', 'résumé ✓'];
    const file = join(await tempDir(), 'argv.ps1');
    await writeFile(
      file,
      `${agentFunctions()}
$arguments = @(ConvertFrom-Json $env:RBE_ARGS)
$r = Invoke-Native $env:RBE_NODE (@('-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))') + $arguments)
[Console]::Out.Write($r.stdout)
`,
    );
    const r = await scripts.run(file, { RBE_ARGS: JSON.stringify(args), RBE_NODE: process.execPath });
    assert.is(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout), args);
  });

  test('the restart: /d p:2:4 on the command line; exit 1115 is a shutdown in progress, 1190 one scheduled, others fail; an unreadable baseline is not "restarted"', async () => {
    const { tempDir } = await import('../helpers.js');
    const file = join(await tempDir(), 'restart.ps1');
    await writeFile(
      file,
      `${agentFunctions()}
$script:Seen = $null
function Invoke-Native([string]$file, $arguments) { $script:Seen = @($file) + @($arguments); return [ordered]@{ exitCode = [int]$env:RBE_EXIT; stdout = ''; stderr = 'shutdown said no' } }
$op = [ordered]@{ delaySeconds = 0; reason = 'runbook-engine run r1'; plannedReason = [ordered]@{ major = 2; minor = 4 } }
if ($env:RBE_CODES) { $op.pendingCodes = [ordered]@{ scheduled = [int]($env:RBE_CODES.Split(',')[0]); inProgress = [int]($env:RBE_CODES.Split(',')[1]) } }
$out = [ordered]@{}
try { $out.result = Invoke-Restart $op } catch { $out.error = $_.Exception.Message }
$out.argv = $script:Seen
$out.unreadable = @((Test-RestartedSince '2026-11-20T06:14:02Z' '' 5000), (Test-RestartedSince 'x' '2026-11-20T06:12:44Z' 5000), (Test-RestartedSince '2026-11-20T06:14:02Z' '2026-11-20T06:12:44Z' 5000))
# The tolerance is the op's (toleranceMs): 3 seconds apart is a restart at 2000, not at 5000 nor without one.
$out.tolerance = @((Test-RestartedSince '2026-11-20T06:12:47Z' '2026-11-20T06:12:44Z' 2000), (Test-RestartedSince '2026-11-20T06:12:47Z' '2026-11-20T06:12:44Z' 5000), (Test-RestartedSince '2026-11-20T06:14:02Z' '2026-11-20T06:12:44Z' $null))
[Console]::Out.Write((ConvertTo-Json -InputObject $out -Compress -Depth 5))
`,
    );
    // The codes are the op's data (the restart step sends the facts' 1190 and 1115), not the agent's own.
    const codes = `${SHUTDOWN_IS_SCHEDULED.value},${SHUTDOWN_IN_PROGRESS.value}`;
    // The file's PowerShell runs the script once for each case, with its own RBE_EXIT and RBE_CODES.
    const cases: [number, string][] = [[0, codes], [1115, codes], [1190, codes], [5, codes], [7, '7,8'], [8, '7,8'], [1190, '7,8'], [1115, '']];
    const runs = await scripts.cases(file, cases.map(([exit, pendingCodes]) => ({ RBE_EXIT: String(exit), RBE_CODES: pendingCodes })));
    const as = (exit: number, pendingCodes = codes) => JSON.parse(runs[cases.findIndex(([e, c]) => e === exit && c === pendingCodes)].stdout);
    const ok = as(0);
    assert.equal(ok.argv, ['shutdown.exe', '/r', '/f', '/t', '0', '/d', 'p:2:4', '/c', 'runbook-engine run r1']);
    assert.equal(ok.result, { requested: true, alreadyRestarted: false });
    assert.equal(ok.unreadable, [false, false, true]);
    assert.equal(ok.tolerance, [true, false, false], 'the boot-time tolerance is the op\'s toleranceMs; none proves no restart');
    assert.equal(as(1115).result, { requested: false, alreadyRestarted: false, shutdownInProgress: true });
    assert.equal(as(1190).result, { requested: false, alreadyRestarted: false, pendingShutdown: true });
    assert.match(as(5).error, /shutdown\.exe failed with exit code 5: shutdown said no/);
    assert.equal(as(7, '7,8').result, { requested: false, alreadyRestarted: false, pendingShutdown: true });
    assert.equal(as(8, '7,8').result, { requested: false, alreadyRestarted: false, shutdownInProgress: true });
    assert.match(as(1190, '7,8').error, /shutdown\.exe failed with exit code 1190/);
    assert.match(as(1115, '').error, /shutdown\.exe failed with exit code 1115/, 'no codes sent: none is pending');
  });

  test('.NET 3.5: the agent reads the key, name and data the op carries (the fact dotnet.v35-install-key), and refuses an op without them', async () => {
    const { tempDir } = await import('../helpers.js');
    const file = join(await tempDir(), 'dotnet35.ps1');
    await writeFile(
      file,
      `${agentFunctions()}
$script:Read = $null
function Reg-Read([string]$view, [string]$key, [string]$name) { $script:Read = @($view, $key, $name); return [ordered]@{ type = 'REG_DWORD'; data = 7 } }
$out = [ordered]@{}
$op = [ordered]@{ key = 'SOFTWARE\\Test\\v3.5'; name = 'Here'; data = [int]$env:RBE_DATA }
$out.installed = (Get-Dotnet35Tls $op).installed
$out.read = $script:Read
try { Get-Dotnet35Tls ([ordered]@{}) | Out-Null } catch { $out.error = $_.Exception.Message }
[Console]::Out.Write((ConvertTo-Json -InputObject $out -Compress -Depth 5))
`,
    );
    // WINDIR: System.dll is looked for under it (absent here: no file, no version).
    const windir = await tempDir();
    // The file's PowerShell runs the script once for each case, with its own RBE_DATA.
    const runs = await scripts.cases(file, [{ RBE_DATA: '7' }, { RBE_DATA: '1' }], { WINDIR: windir });
    const as = (data: number) => {
      const r = runs[[7, 1].indexOf(data)];
      assert.is(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const seven = as(7);
    assert.equal(seven.read, ['64', 'SOFTWARE\\Test\\v3.5', 'Here']);
    assert.is(seven.installed, true);
    assert.is(as(1).installed, false, 'the data compared is the op\'s, not a 1 of the agent');
    assert.match(seven.error, /dotnet35\.tls needs the op's key, name and data/);
  });

  test('sql.ping: the agent reads as "answered" the SQL errors the op\'s answeredErrors name (the fact sql.login-refused-errors), none of its own', async () => {
    const { tempDir } = await import('../helpers.js');
    const file = join(await tempDir(), 'sqlping.ps1');
    await writeFile(
      file,
      `${agentFunctions()}
$script:Given = 'unset'
function Test-SqlAnswer([string]$server, [int]$timeoutSeconds, $answeredErrors) { $script:Given = @($answeredErrors); return [ordered]@{ answered = $true; detail = 'x' } }
$op = [ordered]@{ op = 'sql.ping'; server = '.'; timeoutSeconds = 5 }
if ($env:RBE_ERRORS) { $op.answeredErrors = @($env:RBE_ERRORS.Split(',') | ForEach-Object { [int]$_ }) }
$null = Invoke-HostOp $op
[Console]::Out.Write((ConvertTo-Json -InputObject @($script:Given) -Compress))
`,
    );
    // The file's PowerShell runs the script once for each case, with its own RBE_ERRORS.
    const cases = [SQL_LOGIN_REFUSED_ERRORS.value.join(','), '7,8', ''];
    const runs = await scripts.cases(file, cases.map((errors) => ({ RBE_ERRORS: errors })));
    const given = (errors: string) => {
      const r = runs[cases.indexOf(errors)];
      assert.is(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    assert.equal(given(SQL_LOGIN_REFUSED_ERRORS.value.join(',')), [18456, 18452, 4060]);
    assert.equal(given('7,8'), [7, 8]);
    assert.equal(given(''), [], 'no errors sent: none is an answer');
    // The numbers are nowhere in the agent: they come with the op.
    const agent = readFileSync(AGENT, 'utf8');
    for (const n of SQL_LOGIN_REFUSED_ERRORS.value) assert.not.ok(agent.includes(String(n)), `agent.ps1 holds no ${n}`);
  });

  test("registry.exportText, the agent's own (reg.exe stood in for): reg export of the key to a temporary file, read as UTF-16, the same text the export op writes to its file; the file deleted, after a failure too; a missing key answers exists: false without running reg, its export fails with reg's message", async () => {
    const { agentProgram, agentRequest, parseAgentAnswer } = await import('../../src/executors/agent/protocol.js');
    const { makeHost, tempDir } = await import('../helpers.js');
    const agent = readFileSync(AGENT, 'utf8');
    // The Windows backend's functions, as agent.ps1 has them, over the file backend's: only reg.exe is stood in for.
    const own = (name: string) => {
      const at = agent.indexOf(`function ${name}(`);
      assert.ok(at > 0, `agent.ps1 defines ${name}`);
      return agent.slice(at, agent.indexOf('\n}\n', at) + 3);
    };
    const shim = [
      own('Reg-Export'),
      own('Reg-ExportText'),
      // reg.exe: writes the key's text (the file backend's) as reg does, UTF-16 with a byte order mark; a key
      // named Breaks is written and then fails, as a reg cut short would leave its file.
      'function Invoke-Native([string]$file, $arguments) {',
      "    [Console]::Error.WriteLine('reg-argv ' + (ConvertTo-Json -InputObject (@($file) + @($arguments)) -Compress))",
      "    $view = '64'",
      "    if ($arguments[3] -eq '/reg:32') { $view = '32' }",
      '    $key = ([string]$arguments[1]).Substring(5)',
      "    if (-not (Reg-KeyExists $view $key)) { return [ordered]@{ exitCode = 1; stdout = ''; stderr = 'ERROR: The system was unable to find the specified registry key or value.' } }",
      '    [System.IO.File]::WriteAllText([string]$arguments[2], (File-ExportText $view $key), [System.Text.Encoding]::Unicode)',
      "    if ($key.EndsWith('\\Breaks')) { return [ordered]@{ exitCode = 5; stdout = ''; stderr = 'ERROR: Access is denied.' } }",
      "    return [ordered]@{ exitCode = 0; stdout = 'The operation completed successfully.'; stderr = '' }",
      '}',
    ].join('\n');
    const program = agentProgram('file');
    const at = program.indexOf('# ---------- main:');
    const dir = await tempDir();
    const file = join(dir, 'agent-reg.ps1');
    await writeFile(file, `${program.slice(0, at)}${shim}\n${program.slice(at)}`);
    const key = 'SOFTWARE\\RunbookExport';
    const host = await makeHost('server-2016', (h) => {
      h.registry[key] = {
        Text: { type: 'REG_SZ', data: 'Grüße ✓ 中文 "q" C:\\x' },
        Expand: { type: 'REG_EXPAND_SZ', data: '%SystemRoot%\\é' },
        Multi: { type: 'REG_MULTI_SZ', data: ['a', 'ünï'] },
        Bin: { type: 'REG_BINARY', data: '00ff10' },
        Q: { type: 'REG_QWORD', data: '18446744073709551615' },
        D: { type: 'REG_DWORD', data: 0xffffffff },
      };
      h.registry[`${key}\\Sub`] = { Café: { type: 'REG_DWORD', data: 1 } };
      h.registry[`${key}\\Breaks`] = {};
    });
    const temp = await tempDir();
    const exportFile = join(dir, 'export.reg');
    const requests = [
      agentRequest([
        { op: 'registry.exportText', view: '64', key },
        { op: 'registry.exportText', view: '64', key: 'SOFTWARE\\RunbookNoSuchKey' },
        { op: 'registry.export', view: '64', key, file: exportFile },
      ]),
      agentRequest([{ op: 'registry.exportText', view: '64', key: `${key}\\Breaks` }]),
      agentRequest([{ op: 'registry.export', view: '64', key: 'SOFTWARE\\RunbookNoSuchKey', file: join(dir, 'missing.reg') }]),
    ];
    // The temporary folder is TMPDIR here (GetTempPath), so that what is left in it can be seen.
    const r = await scripts.run(file, { RUNBOOK_AGENT_HOST_FILE: host, TMPDIR: temp }, `${requests.map((q) => q.json).join('\n')}\n`);
    assert.is(r.code, 0, r.stderr);
    const [text, missing, exported] = parseAgentAnswer(r.stdout, requests[0].marker, file) as { op: string; exists?: boolean; content: string }[];
    assert.is(text.exists, true);
    assert.match(text.content, /^Windows Registry Editor Version 5\.00\r\n\r\n\[HKEY_LOCAL_MACHINE\\SOFTWARE\\RunbookExport\]\r\n/);
    assert.ok(text.content.includes('"Text"="Grüße ✓ 中文 \\"q\\" C:\\\\x"'), 'non-ASCII read back from the UTF-16 file');
    assert.ok(text.content.includes('[HKEY_LOCAL_MACHINE\\SOFTWARE\\RunbookExport\\Sub]\r\n"Café"=dword:00000001'), text.content);
    assert.is(exported.content, text.content, "the export op's answer");
    const written = readFileSync(exportFile);
    assert.equal([...written.subarray(0, 2)], [0xff, 0xfe], 'the file as reg writes it, UTF-16LE with its mark');
    assert.is(written.subarray(2).toString('utf16le'), text.content, 'the file the export op wrote holds the same text');
    assert.equal(missing, { op: 'registry.exportText', exists: false, content: '' });
    assert.throws(() => parseAgentAnswer(r.stdout, requests[1].marker, file), /operation 0: reg export failed \(5\): ERROR: Access is denied\./);
    assert.throws(() => parseAgentAnswer(r.stdout, requests[2].marker, file), /operation 0: reg export failed \(1\): ERROR: The system was unable to find the specified registry key or value\./);
    // reg.exe's command lines: the key and a file in the temporary folder for the reads, the op's file for the export; none for the missing key's read.
    const argv = r.stderr.split('\n').filter((l) => l.startsWith('reg-argv ')).map((l) => JSON.parse(l.slice('reg-argv '.length)) as string[]);
    assert.is(argv.length, 4, r.stderr);
    assert.equal(argv[0].slice(0, 2), ['reg.exe', 'export']);
    assert.equal([argv[0][2], argv[0][4], argv[0][5]], ['HKLM\\SOFTWARE\\RunbookExport', '/reg:64', '/y']);
    assert.match(argv[0][3], new RegExp(`^${temp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/runbook-[0-9a-f]{32}\\.reg$`));
    assert.equal(argv[1], ['reg.exe', 'export', 'HKLM\\SOFTWARE\\RunbookExport', exportFile, '/reg:64', '/y']);
    assert.is(argv[2][2], 'HKLM\\SOFTWARE\\RunbookExport\\Breaks');
    assert.is(argv[3][2], 'HKLM\\SOFTWARE\\RunbookNoSuchKey', 'the export of a missing key runs reg, which fails');
    const { readdir } = await import('node:fs/promises');
    assert.equal(await readdir(temp), [], 'a temporary file was left behind');
  });

  test('the resume task runs as SYSTEM logged on as a service account, its arguments quoted for CommandLineToArgvW', () => {
    const text = readFileSync(AGENT, 'utf8');
    assert.match(text, /New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest/);
    assert.match(text, /\$arguments = ConvertTo-ArgumentLine @\(\$command \| Select-Object -Skip 1\)/);
  });
}

test.run();
