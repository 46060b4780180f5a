/**
 * The files an operator runs on the target's console when a rollback could not reach it: `undo.reg`
 * (for `reg import` or a double click) and `undo.ps1` (the same, for PowerShell 5.1 or 7). Both put
 * back the prior value of every registry value a run may have changed, delete the values that did not
 * exist before, and delete the keys the run created.
 *
 * Keys are HKLM paths in a registry view; the 32-bit view of `SOFTWARE\X` is `SOFTWARE\Wow6432Node\X`
 * on the 64-bit Windows that Orchestrator runs on (Windows Server 2008 R2 and later are 64-bit only).
 */
import type { RegistryValue, RegistryView } from './registry.js';
import { REG_HEADER, regDeleteLine, regLine } from './reg-file.js';

/** The state of one registry value before a run, as its step captured it. */
export type RegistryPrior = {
  view: RegistryView;
  key: string;
  name: string;
  keyExists: boolean;
  /** The deepest key of the path that existed (empty when not even the first existed). */
  existingAncestor: string;
  value: RegistryValue | null;
};

/** The key's path in the physical registry (the 32-bit view spelled out). */
export function physicalKey(view: RegistryView, key: string): string {
  const parts = key.replace(/^\\+|\\+$/g, '').split('\\');
  if (view === '64' || parts[0].toLowerCase() !== 'software' || parts[1]?.toLowerCase() === 'wow6432node') return parts.join('\\');
  return [parts[0], 'Wow6432Node', ...parts.slice(1)].join('\\');
}

/** Keys that did not exist before the run, deepest first. */
export function createdKeys(prior: RegistryPrior): string[] {
  if (prior.keyExists) return [];
  const parts = prior.key.split('\\');
  const depth = prior.existingAncestor ? prior.existingAncestor.split('\\').length : 0;
  const keys: string[] = [];
  for (let i = parts.length; i > depth; i--) keys.push(parts.slice(0, i).join('\\'));
  return keys;
}

/** The first capture of each value wins: it is the state before the run. */
function distinct(priors: readonly RegistryPrior[]): RegistryPrior[] {
  const seen = new Map<string, RegistryPrior>();
  for (const p of priors) {
    const id = `${p.view}|${p.key.toLowerCase()}|${p.name.toLowerCase()}`;
    if (!seen.has(id)) seen.set(id, p);
  }
  return [...seen.values()];
}

/**
 * Orders strings by UTF-16 code unit: the same order on every machine (`localeCompare` follows the
 * locale, and its first call builds an ICU collator, some milliseconds).
 */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Renders `undo.reg`: per key, the prior values (and `"name"=-` for values that were absent), then
 * `[-…]` for the keys the run created, deepest first.
 *
 * @example
 * ```ts
 * renderUndoReg([{ view: '64', key: 'SOFTWARE\\X', name: 'A', keyExists: true, existingAncestor: 'SOFTWARE\\X', value: null }], 'run r1');
 * ```
 */
export function renderUndoReg(priors: readonly RegistryPrior[], title: string): string {
  const list = distinct(priors);
  const lines = [REG_HEADER, '', `; ${title}`, '; Restores the values a run changed; deletes the values and keys it created.', ''];
  const byKey = new Map<string, string[]>();
  for (const p of list) {
    const key = physicalKey(p.view, p.key);
    const entry = byKey.get(key) ?? [];
    entry.push(p.value ? regLine(p.name, p.value) : regDeleteLine(p.name));
    byKey.set(key, entry);
  }
  const created = new Set(list.flatMap((p) => createdKeys(p).map((k) => physicalKey(p.view, k))));
  for (const [key, entries] of [...byKey].sort(([a], [b]) => byCodeUnit(a, b))) {
    if (created.has(key)) continue; // deleted whole below
    lines.push(`[HKEY_LOCAL_MACHINE\\${key}]`, ...entries, '');
  }
  for (const key of [...created].sort((a, b) => backslashesIn(b) - backslashesIn(a) || byCodeUnit(a, b))) {
    lines.push(`[-HKEY_LOCAL_MACHINE\\${key}]`, '');
  }
  return lines.join('\r\n');
}

/** Created keys, each once (two values of one new key name it twice), deepest first. */
function distinctCreated(list: readonly RegistryPrior[]): { view: RegistryView; key: string }[] {
  const seen = new Map<string, { view: RegistryView; key: string }>();
  for (const p of list) {
    for (const key of createdKeys(p)) {
      const id = `${p.view}|${key.toLowerCase()}`;
      if (!seen.has(id)) seen.set(id, { view: p.view, key });
    }
  }
  return [...seen.values()].sort((a, b) => backslashesIn(b.key) - backslashesIn(a.key) || byCodeUnit(a.key, b.key));
}

/** How deep a key is, as its backslashes (compared in a sort, where splitting it allocated at every comparison). */
function backslashesIn(key: string): number {
  let n = 0;
  for (let at = key.indexOf('\\'); at >= 0; at = key.indexOf('\\', at + 1)) n += 1;
  return n;
}

/**
 * The PowerShell function of `undo.ps1` that turns a prior's data into what `RegistryKey.SetValue`
 * takes. A DWORD is stored as the Int32 with the same 32 bits (0xFFFFFFFF is -1): `[int][uint32]` would
 * throw for every DWORD from 0x80000000 on, on Windows PowerShell 5.1 and PowerShell 7 alike; likewise a
 * QWORD as the Int64 with the same 64 bits. Exported for the tests, which run it in real PowerShell.
 */
export const UNDO_DATA_FUNCTION = [
  'function ConvertTo-RegData($value) {',
  '  switch ([string]$value.type) {',
  '    "REG_DWORD" { return [BitConverter]::ToInt32([BitConverter]::GetBytes([uint32]$value.data), 0) }',
  '    "REG_QWORD" { return [BitConverter]::ToInt64([BitConverter]::GetBytes([uint64]::Parse([string]$value.data, [Globalization.CultureInfo]::InvariantCulture)), 0) }',
  '    "REG_MULTI_SZ" { return [string[]]@($value.data) }',
  '    "REG_BINARY" { $hex = [string]$value.data; return [byte[]]@(for ($i = 0; $i -lt $hex.Length; $i += 2) { [Convert]::ToByte($hex.Substring($i, 2), 16) }) }',
  '    default { return [string]$value.data }',
  '  }',
  '}',
];

/**
 * Renders `undo.ps1`: one fixed program and the priors as JSON data (a single-quoted here-string, which
 * PowerShell never expands), so no registry path or value can become code. The data lists one change
 * per line — each value once, each created key once — so that an operator can read what it will do.
 *
 * @example
 * ```ts
 * renderUndoPowerShell([{ view: '64', key: 'SOFTWARE\\X', name: 'A', keyExists: true, existingAncestor: 'SOFTWARE\\X', value: null }], 'run r1');
 * ```
 */
export function renderUndoPowerShell(priors: readonly RegistryPrior[], title: string): string {
  const list = distinct(priors);
  const created = distinctCreated(list);
  const lines = (items: readonly unknown[]) => items.map((item, i) => `    ${JSON.stringify(item)}${i < items.length - 1 ? ',' : ''}`);
  const data = ['{', '  "values": [', ...lines(list), '  ],', '  "createdKeys": [', ...lines(created), '  ]', '}'];
  return [
    `# ${title}`,
    '# Restores the values a run changed and deletes the values and keys it created. Run elevated:',
    '#   powershell -ExecutionPolicy Bypass -File undo.ps1',
    '# "values": each value as it was before the run (value null: it did not exist, so it is deleted);',
    '# "createdKeys": keys the run created, deleted when the values are back.',
    '$ErrorActionPreference = "Stop"',
    "$data = @'",
    ...data,
    "'@ | ConvertFrom-Json",
    'function Open-View([string]$view) {',
    '  $v = [Microsoft.Win32.RegistryView]::Registry64',
    '  if ($view -eq "32") { $v = [Microsoft.Win32.RegistryView]::Registry32 }',
    '  [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, $v)',
    '}',
    ...UNDO_DATA_FUNCTION,
    '$kinds = @{ REG_DWORD = "DWord"; REG_QWORD = "QWord"; REG_SZ = "String"; REG_EXPAND_SZ = "ExpandString"; REG_MULTI_SZ = "MultiString"; REG_BINARY = "Binary" }',
    'foreach ($p in @($data.values)) {',
    '  $base = Open-View $p.view',
    '  if ($null -eq $p.value) {',
    '    $k = $base.OpenSubKey($p.key, $true)',
    '    if ($null -ne $k) { $k.DeleteValue($p.name, $false); $k.Close(); Write-Output "deleted $($p.key)\\$($p.name)" }',
    '  } else {',
    '    $k = $base.CreateSubKey($p.key)',
    '    $kind = [Microsoft.Win32.RegistryValueKind]$kinds[[string]$p.value.type]',
    '    $k.SetValue($p.name, (ConvertTo-RegData $p.value), $kind)',
    '    $k.Close(); Write-Output "restored $($p.key)\\$($p.name)"',
    '  }',
    '}',
    'foreach ($c in @($data.createdKeys)) {',
    '  $base = Open-View $c.view',
    '  if ($null -ne $base.OpenSubKey($c.key)) { $base.DeleteSubKeyTree($c.key, $false); Write-Output "deleted key $($c.key)" }',
    '}',
    '',
  ].join('\r\n');
}
