/**
 * `undo.ps1`: readable (one change per line, each once), valid PowerShell, and it writes DWORDs from
 * 0x80000000 up (0xFFFFFFFF above all) and QWORDs above 2^63 as the registry stores them, in real
 * PowerShell.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UNDO_DATA_FUNCTION, renderUndoPowerShell, type RegistryPrior } from '../../src/windows/undo-files.js';
import { PWSH, needPwsh } from '../pwsh.js';
import { tempDir } from '../helpers.js';

const SCH = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';
const prior = (key: string, name: string, value: RegistryPrior['value'], keyExists = true, existingAncestor = key): RegistryPrior => ({ view: '64', key, name, keyExists, existingAncestor, value });

const priors: RegistryPrior[] = [
  prior(`${SCH}\\TLS 1.2\\Server`, 'Enabled', { type: 'REG_DWORD', data: 0xffffffff }),
  prior(`${SCH}\\TLS 1.2\\Server`, 'Enabled', { type: 'REG_DWORD', data: 1 }), // a later capture of the same value: the first wins
  prior(`${SCH}\\TLS 1.0\\Server`, 'Enabled', null, false, SCH),
  prior(`${SCH}\\TLS 1.0\\Server`, 'DisabledByDefault', null, false, SCH),
];

test('undo.ps1 lists one change per line, each value and each created key once', () => {
  const script = renderUndoPowerShell(priors, 'run r1');
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

if (needPwsh('test/windows/undo-files.test.ts')) {
  test('undo.ps1 parses in PowerShell without errors', async () => {
    const dir = await tempDir();
    const file = join(dir, 'undo.ps1');
    await writeFile(file, renderUndoPowerShell(priors, 'run r1'));
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
