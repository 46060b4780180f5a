/**
 * `undo.ps1`: readable (one change per line, each once), valid PowerShell, and it writes DWORDs from
 * 0x80000000 up (0xFFFFFFFF above all) and QWORDs above 2^63 as the registry stores them, in real
 * PowerShell; it deletes a created key only when empty — run as generated, in PowerShell, against the
 * agent's file-backed registry (the members of RegistryKey it calls stood in for). `undo.reg`: never a
 * key's whole tree, and a REG_SZ with a line break as hex(1).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UNDO_DATA_FUNCTION, mergeUndo, renderUndoPowerShell, renderUndoReg, undoOfValues, type RegistryPrior, type UndoValue } from '../../src/windows/undo-files.js';
import { encodeRegFile } from '../../src/windows/reg-file.js';
import { defineRegistryStep } from '../../src/steps/registry-values.js';
import * as z from '../../src/util/zod.js';
import { PWSH, needPwsh } from '../pwsh.js';
import { hostOf, makeHost, tempDir } from '../helpers.js';
import { agentProgram } from '../../src/executors/agent/protocol.js';

const SCH = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';
const prior = (key: string, name: string, value: RegistryPrior['value'], keyExists = true, existingAncestor = key): UndoValue => ({
  view: '64',
  key,
  name,
  keyExists,
  existingAncestor,
  value,
  wrote: { type: 'REG_DWORD', data: 0 },
});

const priors = [
  prior(`${SCH}\\TLS 1.2\\Server`, 'Enabled', { type: 'REG_DWORD', data: 0xffffffff }),
  prior(`${SCH}\\TLS 1.2\\Server`, 'Enabled', { type: 'REG_DWORD', data: 1 }), // a later capture of the same value: the first wins
  prior(`${SCH}\\TLS 1.0\\Server`, 'Enabled', null, false, SCH),
  prior(`${SCH}\\TLS 1.0\\Server`, 'DisabledByDefault', null, false, SCH),
];
// Each step's undo apart, merged as a run's: the first capture of a value wins.
const undo = mergeUndo(priors.map((p) => undoOfValues([p])));

/** The agent's definitions with its file backend (the simulated-host file RUNBOOK_AGENT_HOST_FILE names), nothing run. */
function agentDefinitions(): string {
  const program = agentProgram('file');
  return program.slice(0, program.indexOf('# ---------- main:'));
}

/**
 * The members of .NET's RegistryKey that undo.ps1 calls, over the agent's file-backed registry (which
 * maps the 32-bit view to Wow6432Node as Windows does), for PowerShell off Windows, where
 * Microsoft.Win32.Registry throws. undo.ps1 runs as it is written: its own Open-View is shadowed by an
 * alias (PowerShell finds an alias before a function). DeleteSubKey refuses a key with subkeys and
 * DeleteSubKeyTree deletes the whole tree, as .NET's do; SetValue stores the .NET data as the registry
 * would and the agent reads it back (a DWORD given as Int32, so 0xFFFFFFFF is -1).
 */
const FILE_REGISTRY = String.raw`
function New-FileKey([string]$view, [string]$path) {
    $k = [pscustomobject]@{ View = $view; Path = $path }
    $k | Add-Member -MemberType ScriptMethod -Name Sub -Value { param([string]$name) if ($this.Path) { return $this.Path + '\' + $name.Trim('\') } return $name.Trim('\') }
    $k | Add-Member -MemberType ScriptMethod -Name OpenSubKey -Value {
        $p = $this.Sub([string]$args[0])
        if (Reg-KeyExists $this.View $p) { return (New-FileKey $this.View $p) }
        return $null
    }
    $k | Add-Member -MemberType ScriptMethod -Name CreateSubKey -Value {
        $p = $this.Sub([string]$args[0])
        $doc = Load-Doc
        foreach ($a in (Get-Ancestors $p)) {
            $phys = File-Physical $this.View $a
            if ($null -eq (File-FindKey $phys)) { $doc.registry[$phys] = [ordered]@{}; File-Touch $phys }
        }
        return (New-FileKey $this.View $p)
    }
    $k | Add-Member -MemberType ScriptMethod -Name SetValue -Value {
        param([string]$name, $data, [Microsoft.Win32.RegistryValueKind]$kind)
        Reg-Write $this.View $this.Path $name (ConvertFrom-Raw $kind.ToString() $data) | Out-Null
    }
    $k | Add-Member -MemberType ScriptMethod -Name DeleteValue -Value { param([string]$name, [bool]$throwOnMissing) Reg-DeleteValue $this.View $this.Path $name }
    $k | Add-Member -MemberType ScriptMethod -Name DeleteSubKey -Value {
        param([string]$name, [bool]$throwOnMissing)
        $p = $this.Sub($name)
        $info = Reg-KeyInfo $this.View $p
        if (-not $info.exists) { return }
        if (@($info.subkeys).Count -gt 0) { throw (New-Object System.InvalidOperationException 'Registry key has subkeys and recursive removes are not supported by this method.') }
        Reg-RemoveTree $this.View $p
    }
    $k | Add-Member -MemberType ScriptMethod -Name DeleteSubKeyTree -Value {
        param([string]$name, [bool]$throwOnMissing)
        $p = $this.Sub($name)
        if (Reg-KeyExists $this.View $p) { Reg-RemoveTree $this.View $p }
    }
    $k | Add-Member -MemberType ScriptProperty -Name ValueCount -Value { @((Reg-KeyInfo $this.View $this.Path).values).Count }
    $k | Add-Member -MemberType ScriptProperty -Name SubKeyCount -Value { @((Reg-KeyInfo $this.View $this.Path).subkeys).Count }
    $k | Add-Member -MemberType ScriptMethod -Name Close -Value { }
    return $k
}
function Open-FileView([string]$view) { return (New-FileKey $view '') }
Set-Alias -Name Open-View -Value Open-FileView
`;

test('undo.ps1 lists one change per line, each value and each created key once', () => {
  const script = renderUndoPowerShell(undo, 'run r1');
  const data = script.split('\r\n');
  const valueLines = data.filter((l) => l.trimStart().startsWith('{"view"') && l.includes('"name"'));
  assert.is(valueLines.length, 3, 'the TLS 1.2 value once, the two new TLS 1.0 values');
  assert.ok(valueLines.some((l) => l.includes('"data":4294967295')), 'the prior of the first capture: 0xFFFFFFFF');
  const keyLines = data.filter((l) => l.trimStart().startsWith('{"view"') && !l.includes('"name"'));
  assert.equal(
    keyLines.map((l) => JSON.parse(l.trim().replace(/,$/, '')).key),
    [`${SCH}\\TLS 1.0\\Server`, `${SCH}\\TLS 1.0`],
    'each created key once, deepest first (two values in the new key named it twice before)',
  );
});

test('undo.ps1 deletes a created key only when it holds no value and no subkey, never a whole tree', () => {
  const script = renderUndoPowerShell(undo, 'run r1');
  assert.not.ok(script.includes('DeleteSubKeyTree'), 'DeleteSubKeyTree deletes what others added to the key since the run');
  assert.ok(script.includes('$empty = $k.ValueCount -eq 0 -and $k.SubKeyCount -eq 0'));
  assert.ok(script.includes('if ($empty) { $base.DeleteSubKey($c.key, $false);'));
});

test('undo.reg deletes no key (a .reg file cannot delete one only when empty): the created keys are listed in comments, their values deleted', () => {
  const reg = renderUndoReg(undo, 'run r1').split('\r\n');
  assert.not.ok(reg.some((l) => l.startsWith('[-')), 'no [-HKEY…]: it would delete the key with whatever was added to it since');
  assert.equal(reg.slice(reg.indexOf(`[HKEY_LOCAL_MACHINE\\${SCH}\\TLS 1.0\\Server]`), reg.indexOf(`[HKEY_LOCAL_MACHINE\\${SCH}\\TLS 1.0\\Server]`) + 3), [
    `[HKEY_LOCAL_MACHINE\\${SCH}\\TLS 1.0\\Server]`,
    '"Enabled"=-',
    '"DisabledByDefault"=-',
  ]);
  assert.ok(reg.includes(`;   HKEY_LOCAL_MACHINE\\${SCH}\\TLS 1.0\\Server`));
  assert.ok(reg.includes(`;   HKEY_LOCAL_MACHINE\\${SCH}\\TLS 1.0`));
  assert.ok(reg.includes('"Enabled"=dword:ffffffff'), 'the first capture');
});

test('undo.reg writes a REG_SZ with a line break as hex(1), UTF-16LE with its NUL, so the file stays whole', () => {
  const text = prior('SOFTWARE\\X', 'Note', { type: 'REG_SZ', data: 'a\nb' });
  const reg = renderUndoReg(undoOfValues([text, prior('SOFTWARE\\X', 'Plain', { type: 'REG_SZ', data: 'say "hi"' })]), 'run r1').split('\r\n');
  assert.ok(reg.includes('"Note"=hex(1):61,00,0a,00,62,00,00,00'));
  assert.ok(reg.includes('"Plain"="say \\"hi\\""'), 'one without a line break stays a quoted string');
});

test('a value whose written data is withheld is listed without it, and the file says why; undo.reg never holds what the run wrote', () => {
  const secret = { ...prior('SOFTWARE\\Contoso', 'Conn', null), wrote: { type: 'REG_SZ' as const, data: 'Password=***' } };
  const plain = { ...prior('SOFTWARE\\Contoso', 'Port', { type: 'REG_DWORD', data: 80 }), wrote: { type: 'REG_DWORD' as const, data: 443 } };
  const both = undoOfValues([secret, plain]);
  const script = renderUndoPowerShell(both, 'run r1', { withhold: (v) => v.name === 'Conn' });
  assert.ok(script.includes('{"view":"64","key":"SOFTWARE\\\\Contoso","name":"Conn","value":null,"wroteWithheld":true}'));
  assert.ok(script.includes('"name":"Port","value":{"type":"REG_DWORD","data":80},"wrote":{"type":"REG_DWORD","data":443}'));
  assert.not.ok(script.includes('Password='));
  assert.match(script, /# "wroteWithheld": what the run wrote there held the value of a secret parameter/);
  assert.not.match(renderUndoPowerShell(both, 'run r1'), /wroteWithheld/);
  const reg = renderUndoReg(both, 'run r1');
  assert.not.ok(reg.includes('Password=') || reg.includes('443'), 'undo.reg holds only the values before the run');
});

test('a value the run may have written is marked in both files', () => {
  const maybe = { ...prior('SOFTWARE\\X', 'A', null), maybe: true as const };
  assert.ok(renderUndoReg(undoOfValues([maybe]), 't').includes('; "A" may have been written\r\n"A"=-'));
  assert.ok(renderUndoPowerShell(undoOfValues([maybe]), 't').includes('"maybe":true'));
});


// ---------- names and titles that must not become code or entries ----------

/** The key of the audit: a `]`, a line break and a key deletion after it. */
const INJECTED_KEY = 'SOFTWARE\\Audit\\k]\r\n"Inj"=dword:00000001\r\n[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Victim';
/** A target whose file name holds a line break and a command. */
const INJECTED_TITLE = 'run r1 (t) on sim:/tmp/x\r\nWrite-Output PWNED #.json, failed';

test('undo.reg leaves out a value whose key path or name a .reg line cannot carry (], CR/LF, NUL, controls), names it in an escaped comment, and escapes line breaks in its title', () => {
  const injected = undoOfValues([
    prior(INJECTED_KEY, 'Enabled', { type: 'REG_DWORD', data: 1 }),
    prior('SOFTWARE\\Audit', 'a\r\n[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Victim2]', null),
    prior('SOFTWARE\\Audit', 'nul\0name', { type: 'REG_SZ', data: 'x' }),
    prior('SOFTWARE\\Audit\\only]bracket', 'B', null),
    { ...prior('SOFTWARE\\Audit', 'Ok', { type: 'REG_SZ', data: 'eof\u001a and \u2028 line' }), maybe: true as const },
    prior('SOFTWARE\\Audit\\New\r\n[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Victim3]', 'C', null, false, 'SOFTWARE\\Audit'),
  ]);
  const lines = renderUndoReg(injected, INJECTED_TITLE).split('\r\n');
  // Every line is the header, blank, a comment, a key of a value kept, or a value line under it.
  for (const line of lines) assert.ok(line === 'Windows Registry Editor Version 5.00' || line === '' || line.startsWith('; ') || line.startsWith('"') || line.startsWith('[HKEY_LOCAL_MACHINE\\'), `a stray line: ${JSON.stringify(line)}`);
  assert.not.ok(lines.some((l) => l.startsWith('[-')), 'no key is deleted');
  assert.not.ok(lines.some((l) => l.startsWith('"Inj"') || l.startsWith('Write-Output')), lines.join('\n'));
  assert.equal(lines.filter((l) => l.startsWith('[')), ['[HKEY_LOCAL_MACHINE\\SOFTWARE\\Audit]'], 'only the key a .reg line carries');
  assert.equal(lines.filter((l) => l.startsWith('"')), ['"Ok"=hex(1):65,00,6f,00,66,00,1a,00,20,00,61,00,6e,00,64,00,20,00,28,20,20,00,6c,00,69,00,6e,00,65,00,00,00'], 'a REG_SZ with a control character as hex(1)');
  assert.ok(lines.includes('; run r1 (t) on sim:/tmp/x\\u000d\\u000aWrite-Output PWNED #.json, failed'), 'the title on one comment line');
  assert.ok(lines.includes('; Values left out of this file: their key path or name holds a character a .reg line cannot carry (a line'));
  assert.ok(lines.includes(';   HKEY_LOCAL_MACHINE\\SOFTWARE\\Audit\\k]\\u000d\\u000a"Inj"=dword:00000001\\u000d\\u000a[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Victim "Enabled"'), lines.join('\n'));
  assert.ok(lines.includes(';   HKEY_LOCAL_MACHINE\\SOFTWARE\\Audit "nul\\u0000name"'), lines.join('\n'));
  assert.ok(lines.includes(';   HKEY_LOCAL_MACHINE\\SOFTWARE\\Audit\\only]bracket "B"'));
  assert.ok(lines.includes(';   HKEY_LOCAL_MACHINE\\SOFTWARE\\Audit\\New\\u000d\\u000a[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Victim3]'), 'a created key listed on one comment line');
});

test('undo.reg is written UTF-16LE with its byte order mark, as Registry Editor exports it', () => {
  const bytes = encodeRegFile(renderUndoReg(undoOfValues([prior('SOFTWARE\\Grüße', 'Név', { type: 'REG_SZ', data: 'Grüße ✓ 中文' })]), 'run r1'));
  assert.equal([...bytes.subarray(0, 4)], [0xff, 0xfe, 0x57, 0x00], 'FF FE, then "W" in UTF-16LE');
  assert.ok(bytes.subarray(2).toString('utf16le').includes('[HKEY_LOCAL_MACHINE\\SOFTWARE\\Grüße]\r\n"Név"="Grüße ✓ 中文"'));
});

test('undo.ps1 is pure ASCII: non-ASCII data as JSON \\u escapes, its title with every line break and non-ASCII character escaped', () => {
  const script = renderUndoPowerShell(undoOfValues([prior('SOFTWARE\\Grüße', 'Név', { type: 'REG_SZ', data: 'Grüße ✓ 中文 😀 \u2019@' })]), `${INJECTED_TITLE} ✓`);
  assert.ok(/^[\x20-\x7e\r\n]*$/.test(script), 'nothing but printable ASCII and CRLF');
  assert.ok(script.startsWith('# run r1 (t) on sim:/tmp/x\\u000d\\u000aWrite-Output PWNED #.json, failed \\u2713\r\n'));
  assert.ok(script.includes('"key":"SOFTWARE\\\\Gr\\u00fc\\u00dfe","name":"N\\u00e9v","value":{"type":"REG_SZ","data":"Gr\\u00fc\\u00dfe \\u2713 \\u4e2d\\u6587 \\ud83d\\ude00 \\u2019@"}'));
});

test('a registry step refuses, when it plans, a key path with a control character (CR, LF, NUL) or a value name with a NUL; a ] in a key is a printable character Windows allows', async () => {
  const kind = defineRegistryStep({ kind: 'test/names', description: 'x', what: 'names', rebootOnChange: false, params: z.object({}), writes: async () => [] });
  const plan = (key: string, name: string) => {
    const write = { view: '64' as const, key, name, desired: { type: 'REG_DWORD' as const, data: 1 } };
    const observed = [{ view: '64' as const, key, name, keyExists: true, existingAncestor: key, value: null }];
    return kind.plan!({ observed: { writes: [write], observed }, rt: { stepId: 's1' } } as never);
  };
  for (const [key, name, says] of [
    [INJECTED_KEY, 'Enabled', 'holds U+000D'],
    ['SOFTWARE\\A\nB', 'Enabled', 'holds U+000A'],
    ['SOFTWARE\\A\0B', 'Enabled', 'holds U+0000'],
    ['SOFTWARE\\A\u0085B', 'Enabled', 'holds U+0085'],
    ['SOFTWARE\\A', 'En\0abled', 'holds a NUL'],
  ]) {
    try {
      await plan(key, name);
      assert.unreachable(`planned ${JSON.stringify(key)} ${JSON.stringify(name)}`);
    } catch (error) {
      assert.is((error as { code?: string }).code, 'PARAMETER_REFUSED', String(error));
      assert.match((error as Error).message, says);
      assert.not.match((error as Error).message, /[\r\0]/, 'the message shows the name escaped');
    }
  }
  const ok = await plan('SOFTWARE\\Audit\\k]x', 'a\r\nb');
  assert.is(ok.changes.length, 1, 'a ] in a key and a line break in a value name are Windows names: planned');
});

if (needPwsh('test/windows/undo-files.test.ts')) {
  test('undo.ps1 passes the Windows PowerShell 5.1 check the agent passes (no syntax, command, parameter or variable 5.1 lacks), with every value type, a maybe, a withheld value and created keys', async () => {
    const { check51 } = await import('../executors/ps51-check.js');
    const all: UndoValue[] = [
      { ...prior(`${SCH}\\TLS 1.0\\Server`, 'Enabled', null, false, SCH), maybe: true },
      prior('SOFTWARE\\X', 'D', { type: 'REG_DWORD', data: 0xffffffff }),
      prior('SOFTWARE\\X', 'Q', { type: 'REG_QWORD', data: '18446744073709551615' }),
      prior('SOFTWARE\\X', 'S', { type: 'REG_SZ', data: 'a\r\nb' }),
      prior('SOFTWARE\\X', 'E', { type: 'REG_EXPAND_SZ', data: '%SystemRoot%' }),
      prior('SOFTWARE\\X', 'M', { type: 'REG_MULTI_SZ', data: ['a', ''] }),
      { ...prior('SOFTWARE\\X', 'B', { type: 'REG_BINARY', data: '00ff' }), view: '32' },
    ];
    const file = join(await tempDir(), 'undo.ps1');
    await writeFile(file, renderUndoPowerShell(undoOfValues(all), 'run r1', { withhold: (v) => v.name === 'D' }));
    assert.equal(check51([{ path: file }]), [[]]);
  });

  test('undo.ps1 parses in PowerShell without errors', async () => {
    const dir = await tempDir();
    const file = join(dir, 'undo.ps1');
    await writeFile(file, renderUndoPowerShell(undo, 'run r1'));
    const check = `$t = $null; $e = $null; [void][System.Management.Automation.Language.Parser]::ParseFile('${file}', [ref]$t, [ref]$e); $e.Count`;
    const { stdout } = await promisify(execFile)(PWSH!, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', check]);
    assert.is(stdout.trim(), '0');
  });

  test('undo.ps1, run in PowerShell against the agent\'s file-backed registry: values back with their types (both views), an empty created key deleted, one someone added a value or subkey to kept with it, and a second run changes nothing', async () => {
    const U = 'SOFTWARE\\RunbookUndo';
    type Value = { type: string; data: unknown };
    const sz = (data: string) => ({ type: 'REG_SZ' as const, data });
    const dw = (data: number) => ({ type: 'REG_DWORD' as const, data });
    // Before the run.
    const original: Record<string, Record<string, Value>> = {
      [U]: {
        D: dw(0xffffffff),
        Q: { type: 'REG_QWORD', data: '18446744073709551615' },
        S: sz('Grüße ✓ 中文 "q" $(x)'),
        M: { type: 'REG_MULTI_SZ', data: ['a', 'ünï'] },
        B: { type: 'REG_BINARY', data: '00ff10' },
        E: { type: 'REG_EXPAND_SZ', data: '%SystemRoot%\\x' },
        T: sz('1'),
      },
      'SOFTWARE\\Wow6432Node\\RunbookUndo': { W: dw(0x80000000) },
    };
    // What the run wrote, each with its prior (a run's captures).
    const wrote = (key: string, name: string, value: UndoValue['value'], now: UndoValue['wrote'], view: '64' | '32' = '64', existingAncestor = key): UndoValue => ({
      view,
      key,
      name,
      keyExists: existingAncestor === key,
      existingAncestor,
      value,
      wrote: now,
    });
    const o = original[U] as Record<string, RegistryPrior['value']>;
    const values = [
      wrote(U, 'D', o.D, dw(1)),
      wrote(U, 'Q', o.Q, { type: 'REG_QWORD', data: '5' }),
      wrote(U, 'S', o.S, sz('plain')),
      wrote(U, 'M', o.M, { type: 'REG_MULTI_SZ', data: ['b'] }),
      wrote(U, 'B', o.B, { type: 'REG_BINARY', data: '01' }),
      wrote(U, 'E', o.E, { type: 'REG_EXPAND_SZ', data: 'other' }),
      wrote(U, 'T', o.T, dw(1)), // its type changed
      wrote(U, 'N', null, dw(1)), // a value the run created
      wrote(U, 'W', dw(0x80000000), dw(0), '32'),
      wrote(`${U}\\New\\Deep`, 'V', null, dw(1), '64', U),
      wrote(`${U}\\Kept`, 'K', null, dw(1), '64', U),
      wrote(`${U}\\Parent\\Child`, 'C', null, dw(1), '64', U),
      wrote(`${U}\\New32`, 'X', null, dw(1), '32', U),
    ];
    // After the run, and after someone added a value to one key it created and a subkey to another.
    const host = await makeHost('server-2016', (h) => {
      const r = h.registry as Record<string, Record<string, Value>>;
      r[U] = { D: dw(1), Q: { type: 'REG_QWORD', data: '5' }, S: sz('plain'), M: { type: 'REG_MULTI_SZ', data: ['b'] }, B: { type: 'REG_BINARY', data: '01' }, E: { type: 'REG_EXPAND_SZ', data: 'other' }, T: dw(1), N: dw(1) };
      r['SOFTWARE\\Wow6432Node\\RunbookUndo'] = { W: dw(0) };
      r['SOFTWARE\\Wow6432Node\\RunbookUndo\\New32'] = { X: dw(1) };
      r[`${U}\\New`] = {};
      r[`${U}\\New\\Deep`] = { V: dw(1) };
      r[`${U}\\Kept`] = { K: dw(1), Added: sz('theirs') };
      r[`${U}\\Parent`] = {};
      r[`${U}\\Parent\\Child`] = { C: dw(1) };
      r[`${U}\\Parent\\Other`] = { O: sz('theirs') };
    });
    const dir = await tempDir();
    const undoFile = join(dir, 'undo.ps1');
    await writeFile(undoFile, renderUndoPowerShell(undoOfValues(values), 'run r1'));
    const harness = join(dir, 'harness.ps1');
    // Dot-sourced, so that the backend's script-scope state ($script:Doc) is the harness's.
    await writeFile(harness, `${agentDefinitions()}\n${FILE_REGISTRY}\n. $env:RBE_UNDO\nComplete-Batch\n`);
    const runUndo = async () => {
      const { stdout } = await promisify(execFile)(PWSH!, ['-NoProfile', '-NonInteractive', '-File', harness], { env: { ...process.env, RUNBOOK_AGENT_HOST_FILE: host, RBE_UNDO: undoFile } });
      return stdout.split(/\r?\n/).filter(Boolean);
    };
    const ours = async () => {
      const registry = (await hostOf(host)).registry as Record<string, Record<string, Value>>;
      return Object.fromEntries(Object.entries(registry).filter(([k]) => /^SOFTWARE\\(Wow6432Node\\)?RunbookUndo(\\|$)/.test(k)));
    };

    const first = await runUndo();
    const expected = {
      ...original,
      [`${U}\\Kept`]: { Added: sz('theirs') },
      [`${U}\\Parent`]: {},
      [`${U}\\Parent\\Other`]: { O: sz('theirs') },
    };
    assert.equal(await ours(), expected);
    assert.ok(first.includes(`deleted key ${U}\\New\\Deep`) && first.includes(`deleted key ${U}\\New`) && first.includes(`deleted key ${U}\\Parent\\Child`) && first.includes(`deleted key ${U}\\New32`), first.join('\n'));
    assert.ok(first.includes(`kept key ${U}\\Kept: not empty`) && first.includes(`kept key ${U}\\Parent: not empty`), first.join('\n'));
    const again = await runUndo();
    assert.equal(await ours(), expected, 'a second run changed the registry');
    assert.not.ok(again.some((l) => l.startsWith('deleted key')), again.join('\n'));
    assert.ok(again.includes(`kept key ${U}\\Kept: not empty`));
  });

  test('undo.ps1 with a line break and a command in its title, date-like and non-ASCII names and data, in one PowerShell: it parses to the fixed program\'s commands and nothing else, and, read as Windows PowerShell 5.1 reads a file without BOM (ANSI) and run under PowerShell 7 against the agent\'s file-backed registry, it restores every string byte for byte', async () => {
    const U = 'SOFTWARE\\RunbookUndoNames';
    const sz = (data: string) => ({ type: 'REG_SZ' as const, data });
    const DATE = '2024-05-01T10:00:00Z';
    const original: Record<string, Record<string, RegistryPrior['value']>> = {
      [U]: {
        [DATE]: sz(DATE),
        Multi: { type: 'REG_MULTI_SZ', data: [DATE, '2024-05-01'] },
        Größe: sz('Grüße ✓ 中文 😀'),
        'a\r\nb': sz('line\r\nbreak'),
      },
      [`${U}\\k]x`]: { V: sz('bracket') },
    };
    const values = Object.entries(original).flatMap(([key, vals]) => Object.entries(vals).map(([name, value]) => ({ ...prior(key, name, value), wrote: sz('changed') })));
    const host = await makeHost('server-2016', (h) => {
      const r = h.registry as Record<string, Record<string, unknown>>;
      for (const [key, vals] of Object.entries(original)) r[key] = Object.fromEntries(Object.keys(vals).map((name) => [name, sz('changed')]));
    });
    const dir = await tempDir();
    const undoFile = join(dir, 'undo.ps1');
    const plainFile = join(dir, 'plain.ps1');
    await writeFile(undoFile, renderUndoPowerShell(undoOfValues(values), INJECTED_TITLE));
    await writeFile(plainFile, renderUndoPowerShell(undoOfValues([prior('SOFTWARE\\X', 'A', null)]), 'run r1'));
    const harness = join(dir, 'harness.ps1');
    // Windows PowerShell 5.1 reads a script without BOM in the ANSI code page: the file is read so
    // (Latin-1, as code page 1252 for these characters) and dot-sourced as text.
    await writeFile(
      harness,
      `${agentDefinitions()}\n${FILE_REGISTRY}\n` +
        String.raw`
function Get-Commands([string]$text) {
  $t = $null; $e = $null
  $ast = [System.Management.Automation.Language.Parser]::ParseInput($text, [ref]$t, [ref]$e)
  $cmds = @($ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] }, $true) | ForEach-Object { $_.Extent.Text })
  return "errors=$($e.Count) $($cmds -join ' | ')"
}
$ansi = [Text.Encoding]::GetEncoding(28591)
$text = [IO.File]::ReadAllText($env:RBE_UNDO, $ansi)
Write-Output ("PARSED " + (Get-Commands $text))
Write-Output ("PLAIN " + (Get-Commands ([IO.File]::ReadAllText($env:RBE_PLAIN, $ansi))))
. ([scriptblock]::Create($text))
Complete-Batch
`,
    );
    const { stdout } = await promisify(execFile)(PWSH!, ['-NoProfile', '-NonInteractive', '-File', harness], { env: { ...process.env, RUNBOOK_AGENT_HOST_FILE: host, RBE_UNDO: undoFile, RBE_PLAIN: plainFile } });
    const out = stdout.split(/\r?\n/);
    const parsed = out.find((l) => l.startsWith('PARSED '))!.slice('PARSED '.length);
    const plain = out.find((l) => l.startsWith('PLAIN '))!.slice('PLAIN '.length);
    assert.ok(parsed.startsWith('errors=0 '), parsed);
    assert.is(parsed, plain, 'the same commands as the program with a plain title and data: nothing of the title or data is code');
    assert.not.ok(out.some((l) => l.includes('PWNED') && !l.startsWith('PARSED') && !l.startsWith('PLAIN')), stdout);
    const registry = (await hostOf(host)).registry as Record<string, Record<string, unknown>>;
    assert.equal({ [U]: registry[U], [`${U}\\k]x`]: registry[`${U}\\k]x`] }, original, 'every name and string as before the run, byte for byte');
  });

  test('DWORDs from 0x80000000 and QWORDs above 2^63 become the signed numbers RegistryKey.SetValue stores with the same bits', async () => {
    const values = [
      { type: 'REG_DWORD', data: 0xffffffff },
      { type: 'REG_DWORD', data: 0x80000000 },
      { type: 'REG_DWORD', data: 1 },
      { type: 'REG_QWORD', data: '18446744073709551615' },
      { type: 'REG_QWORD', data: '5' },
    ];
    const script = [
      ...UNDO_DATA_FUNCTION,
      // The data as undo.ps1 reads it: through ConvertFrom-Json.
      `$values = @'\n${JSON.stringify(values)}\n'@ | ConvertFrom-Json`,
      '$out = @(foreach ($v in $values) { $d = ConvertTo-RegData $v; "$($d.GetType().Name)=$d" })',
      '$out -join ","',
      // What undo.ps1 wrote before: it throws for 0xFFFFFFFF.
      'try { [void]([int][uint32]4294967295); "old=ok" } catch { "old=throws" }',
    ].join('\n');
    const { stdout } = await promisify(execFile)(PWSH!, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', script]);
    const [converted, old] = stdout.trim().split(/\r?\n/);
    assert.is(converted, 'Int32=-1,Int32=-2147483648,Int32=1,Int64=-1,Int64=5');
    assert.is(old, 'old=throws', 'the conversion undo.ps1 used before cannot write 0xFFFFFFFF');
  });
}

test.run();
