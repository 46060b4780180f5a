/**
 * `undo.ps1`: readable (one change per line, each once), valid PowerShell, and it writes DWORDs from
 * 0x80000000 up (0xFFFFFFFF above all) and QWORDs above 2^63 as the registry stores them, in real
 * PowerShell; it deletes a created key only when empty. `undo.reg`: never a key's whole tree, and a
 * REG_SZ with a line break as hex(1).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UNDO_DATA_FUNCTION, mergeUndo, renderUndoPowerShell, renderUndoReg, undoOfValues, type RegistryPrior, type UndoValue } from '../../src/windows/undo-files.js';
import { PWSH, needPwsh } from '../pwsh.js';
import { tempDir } from '../helpers.js';

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

if (needPwsh('test/windows/undo-files.test.ts')) {
  test('undo.ps1 parses in PowerShell without errors', async () => {
    const dir = await tempDir();
    const file = join(dir, 'undo.ps1');
    await writeFile(file, renderUndoPowerShell(undo, 'run r1'));
    const check = `$t = $null; $e = $null; [void][System.Management.Automation.Language.Parser]::ParseFile('${file}', [ref]$t, [ref]$e); $e.Count`;
    const { stdout } = await promisify(execFile)(PWSH!, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', check]);
    assert.is(stdout.trim(), '0');
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
