/**
 * The files an operator runs on the target's console when a rollback could not reach it: `undo.reg`
 * (for `reg import` or a double click) and `undo.ps1` (the same, for PowerShell 5.1 or 7). Both put
 * back the prior value of every registry value the run wrote and has not undone (or may have written:
 * its write has no answer in the journal), and delete the values that did not exist before; `undo.ps1`
 * then deletes the keys the run created when they are empty, `undo.reg` lists them (it cannot delete a
 * key only when empty).
 *
 * Keys are HKLM paths in a registry view; the 32-bit view of `SOFTWARE\X` is `SOFTWARE\Wow6432Node\X`
 * on the 64-bit Windows that Orchestrator runs on (Windows Server 2008 R2 and later are 64-bit only).
 */
import type { RegistryValue, RegistryView } from './registry.js';
import { REG_HEADER, escapeUncarried, regComment, regDeleteLine, regKeyCarried, regLine, regNameCarried } from './reg-file.js';

/**
 * The state of one registry value before a run, as its step captured it.
 *
 * @example
 * ```ts
 * const prior: RegistryPrior = { view: '64', key: 'SOFTWARE\\Example', name: 'Flag', keyExists: false, existingAncestor: 'SOFTWARE', value: null };
 * ```
 */
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

/**
 * The field of a change that is a whole key (created or deleted) rather than one of its values:
 * `+ HKLM\SOFTWARE\X (64-bit view) (key): (absent) → created`.
 */
export const KEY_FIELD = '(key)';

/** Keys that did not exist before the run, deepest first. */
export function createdKeys(prior: RegistryPrior): string[] {
  if (prior.keyExists) return [];
  const parts = prior.key.split('\\');
  const depth = prior.existingAncestor ? prior.existingAncestor.split('\\').length : 0;
  const keys: string[] = [];
  for (let i = parts.length; i > depth; i--) keys.push(parts.slice(0, i).join('\\'));
  return keys;
}

/**
 * One value a run wrote, or may have written, with its prior (the state before the run) and what the
 * run wrote (`wrote`; null: it deleted the value). `maybe`: the write was sent but no answer of it is in
 * the journal (the run was cut, or the batch failed, before the answer), so it may or may not have been
 * made — undoing it is harmless either way: its undo puts back what was there before.
 *
 * @example
 * ```ts
 * const undo: UndoValue = {
 *   view: '64', key: 'SOFTWARE\\Example', name: 'Flag', keyExists: true, existingAncestor: 'SOFTWARE\\Example',
 *   value: { type: 'REG_DWORD', data: 0 },
 *   wrote: { type: 'REG_DWORD', data: 1 },
 * };
 * ```
 */
export type UndoValue = RegistryPrior & { wrote: RegistryValue | null; maybe?: true };

/**
 * A key a run created (or may have created, `maybe`): undone by deleting it when it is empty.
 *
 * @example
 * ```ts
 * const created: UndoKey = { view: '64', key: 'SOFTWARE\\Example' };
 * ```
 */
export type UndoKey = { view: RegistryView; key: string; maybe?: true };

/**
 * What is left of a run's registry changes: the values to put back and the keys to delete when empty
 * (deepest first). `remaining`, `undo.reg` and `undo.ps1` are all made from it.
 *
 * @example
 * ```ts
 * const undo: RegistryUndo = { values: [], keys: [{ view: '64', key: 'SOFTWARE\\Example' }] };
 * console.log(renderUndoReg(undo, 'undo of run r1'));
 * ```
 */
export type RegistryUndo = { values: UndoValue[]; keys: UndoKey[] };

/**
 * The undo of values written: the values, and the keys their writes created.
 *
 * @example
 * ```ts
 * undoOfValues([{ view: '64', key: 'SOFTWARE\\X\\Y', name: 'A', keyExists: false, existingAncestor: 'SOFTWARE', value: null, wrote: { type: 'REG_DWORD', data: 1 } }]);
 * // keys: SOFTWARE\X\Y, then SOFTWARE\X
 * ```
 */
export function undoOfValues(values: readonly UndoValue[]): RegistryUndo {
  return mergeUndo([{ values: [...values], keys: values.flatMap((v) => createdKeys(v).map((key) => ({ view: v.view, key, ...(v.maybe ? { maybe: true as const } : {}) }))) }]);
}

/**
 * Several undos as one: each value once (the first wins: the earliest step's prior is the state before
 * the run), each key once (made certain when any part is), keys deepest first.
 *
 * @example
 * ```ts
 * const stepOne: RegistryUndo = { values: [], keys: [{ view: '64', key: 'SOFTWARE\\Contoso' }] };
 * const stepTwo: RegistryUndo = { values: [], keys: [{ view: '64', key: 'SOFTWARE\\Contoso' }] };
 * mergeUndo([stepOne, stepTwo]); // the key once
 * ```
 */
export function mergeUndo(parts: readonly RegistryUndo[]): RegistryUndo {
  const values = new Map<string, UndoValue>();
  const keys = new Map<string, UndoKey>();
  for (const part of parts) {
    for (const v of part.values) {
      const id = `${v.view}|${v.key.toLowerCase()}|${v.name.toLowerCase()}`;
      const seen = values.get(id);
      if (!seen) values.set(id, v);
      else if (seen.maybe && !v.maybe) values.set(id, { ...seen, wrote: v.wrote, maybe: undefined });
    }
    for (const k of part.keys) {
      const id = `${k.view}|${k.key.toLowerCase()}`;
      const seen = keys.get(id);
      if (!seen || (seen.maybe && !k.maybe)) keys.set(id, k.maybe ? k : { view: k.view, key: k.key });
    }
  }
  const clean = (v: UndoValue): UndoValue => {
    const { maybe, ...rest } = v;
    return maybe ? { ...rest, maybe } : rest;
  };
  return {
    values: [...values.values()].map(clean),
    keys: [...keys.values()].sort((a, b) => backslashesIn(b.key) - backslashesIn(a.key) || byCodeUnit(a.key, b.key)),
  };
}

/** True when nothing is left to undo. */
export function isEmptyUndo(undo: RegistryUndo): boolean {
  return undo.values.length === 0 && undo.keys.length === 0;
}

/** How a key is shown to people: `HKLM\SOFTWARE\...` with its view. */
export function displayRegistryKey(view: RegistryView, key: string): string {
  return `HKLM\\${key} (${view}-bit view)`;
}

/** How a value's data is shown to people: a DWORD in hex and decimal, other data as it is. */
export function displayRegistryValue(value: RegistryValue | null): string | string[] | null {
  if (!value) return null;
  // Data the journal keeps masked (`***`, a secret's number) is shown as it is.
  if (value.type === 'REG_DWORD' && typeof value.data === 'number') return `0x${value.data.toString(16).padStart(8, '0')} (${value.data})`;
  if (typeof value.data === 'number') return String(value.data);
  return value.data;
}

/**
 * Orders strings by UTF-16 code unit: the same order on every machine (`localeCompare` follows the
 * locale, and its first call builds an ICU collator, some milliseconds).
 */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Renders `undo.reg`: per key, the prior values (and `"name"=-` for values that were absent), each value
 * the run wrote or may have written and nothing else. A `.reg` file cannot delete a key only when it is
 * empty, and `[-…]` deletes a key's whole tree, with whatever someone added to it since the run: the
 * keys the run created are therefore not deleted here but listed in comments (their values are deleted,
 * so they are left empty); `undo.ps1` deletes them when empty.
 *
 * A value whose key path or name a `.reg` line cannot carry (a line break, a NUL or another control
 * character; a `]` in the key path) is left out: a comment names it, escaped, as only in `undo.ps1`,
 * which carries every name as JSON data. Every comment has such characters escaped (`regComment`), the
 * title (which holds the target's name) among them. The text is UTF-16LE on disk (`encodeRegFile`).
 *
 * @example
 * ```ts
 * renderUndoReg({ values: [{ view: '64', key: 'SOFTWARE\\X', name: 'A', keyExists: true, existingAncestor: 'SOFTWARE\\X', value: null, wrote: { type: 'REG_DWORD', data: 1 } }], keys: [] }, 'run r1');
 * ```
 */
export function renderUndoReg(undo: RegistryUndo, title: string): string {
  const lines = [
    REG_HEADER,
    '',
    regComment(title),
    '; Restores the values the run changed and deletes the values it created.',
    '; A value marked "may have been written" was sent without an answer in the journal: restoring it is harmless.',
    '',
  ];
  const byKey = new Map<string, string[]>();
  const leftOut: string[] = [];
  for (const v of undo.values) {
    const key = physicalKey(v.view, v.key);
    if (!regKeyCarried(key) || !regNameCarried(v.name)) {
      leftOut.push(regComment(`  HKEY_LOCAL_MACHINE\\${key} ${JSON.stringify(v.name)}${v.maybe ? ' (may have been written)' : ''}`));
      continue;
    }
    const entry = byKey.get(key) ?? [];
    if (v.maybe) entry.push(regComment(`${JSON.stringify(v.name)} may have been written`));
    entry.push(v.value ? regLine(v.name, v.value) : regDeleteLine(v.name));
    byKey.set(key, entry);
  }
  for (const [key, entries] of [...byKey].sort(([a], [b]) => byCodeUnit(a, b))) {
    lines.push(`[HKEY_LOCAL_MACHINE\\${key}]`, ...entries, '');
  }
  if (leftOut.length > 0) {
    lines.push(
      '; Values left out of this file: their key path or name holds a character a .reg line cannot carry (a line',
      '; break, NUL or other control character, or a ] in the key path), shown here as \\uXXXX. Only undo.ps1 restores them:',
      ...leftOut,
      '',
    );
  }
  if (undo.keys.length > 0) {
    lines.push(
      '; Keys the run created (deepest first). A .reg file cannot delete a key only when it is empty, and',
      '; deleting one would delete whatever was added to it since the run: they are left in place.',
      '; undo.ps1 deletes each one that is empty; or delete them by hand once you have checked they are empty:',
    );
    for (const k of undo.keys) lines.push(regComment(`  HKEY_LOCAL_MACHINE\\${physicalKey(k.view, k.key)}${k.maybe ? ' (may have been created)' : ''}`));
    lines.push('');
  }
  return lines.join('\r\n');
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
 * The PowerShell functions of `undo.ps1` that read its data, every string as it was written: Windows
 * PowerShell 5.1's `ConvertFrom-Json` keeps an ISO-date-looking string a string, PowerShell 6 to 7.4
 * turn it into a DateTime (and 7.5 unless told `-DateKind String`), so that a value named or holding
 * `2024-05-01T10:00:00Z` would be restored as `05/01/2024 10:00:00`. From 6 on the data is read with
 * Newtonsoft.Json, date parsing off, into the objects `ConvertFrom-Json` gives (the program reads
 * `$data.values`, which on a dictionary would be its Values collection). Exported for the tests.
 */
export const UNDO_READ_FUNCTION = [
  'function ConvertFrom-UndoToken($token) {',
  '  if ($token -is [Newtonsoft.Json.Linq.JObject]) {',
  '    $h = [ordered]@{}',
  '    foreach ($p in $token.Properties()) { $h[$p.Name] = ConvertFrom-UndoToken $p.Value }',
  '    return [pscustomobject]$h',
  '  }',
  '  if ($token -is [Newtonsoft.Json.Linq.JArray]) {',
  '    $list = New-Object System.Collections.ArrayList',
  '    foreach ($item in $token.Children()) { [void]$list.Add((ConvertFrom-UndoToken $item)) }',
  '    return ,($list.ToArray())',
  '  }',
  '  return $token.Value',
  '}',
  'function Read-UndoJson([string]$text) {',
  '  if ($PSVersionTable.PSVersion.Major -lt 6) { return (ConvertFrom-Json -InputObject $text) }',
  '  $reader = New-Object Newtonsoft.Json.JsonTextReader (New-Object System.IO.StringReader $text)',
  '  $reader.DateParseHandling = [Newtonsoft.Json.DateParseHandling]::None',
  '  return (ConvertFrom-UndoToken ([Newtonsoft.Json.Linq.JToken]::ReadFrom($reader)))',
  '}',
];

/** Every character but printable ASCII: escaped in `undo.ps1`'s comments. */
const NOT_PRINTABLE_ASCII = /[^\u0020-\u007e]/;

/** JSON with every character past ASCII as `\uXXXX` (JSON.stringify already escapes the controls below 0x20). */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * What {@link renderUndoPowerShell} is told besides the undo.
 *
 * @example
 * ```ts
 * declare const undo: RegistryUndo;
 * const options: UndoPowerShellOptions = { withhold: (v) => v.name === 'Password' };
 * const script = renderUndoPowerShell(undo, 'undo of run r1', options);
 * ```
 */
export interface UndoPowerShellOptions {
  /**
   * True for a value whose `wrote` must not be in the file (it held a secret parameter's value): its
   * entry says `"wroteWithheld": true` instead. What the program does does not change: `wrote` is only
   * for people reading the file, the value is restored all the same.
   * @default () => false
   */
  withhold?: (value: UndoValue) => boolean;
}

/**
 * Renders `undo.ps1`: one fixed program and the undo as JSON data (a single-quoted here-string, which
 * PowerShell never expands), so no registry path or value can become code. The data lists one change
 * per line — each value once, each created key once — so that an operator can read what it will do. A
 * created key is deleted only when it is empty once the values are back (no value, no subkey): what
 * someone added to it since the run stays, as `runbook rollback` leaves it.
 *
 * The file is pure ASCII, for Windows PowerShell 5.1 reads a script without a byte order mark in the
 * ANSI code page (the fact `powershell.script-without-bom-is-ansi`): every other character of the data
 * is a JSON `\uXXXX` escape, and the comments (the title holds the target's name) have every character
 * but printable ASCII so escaped, so that no line break in them starts a line of code. The program
 * reads the data as it was written: PowerShell 6 and later read an ISO-date-looking string with
 * `ConvertFrom-Json` as a DateTime, so there it is read with the Newtonsoft.Json that PowerShell ships,
 * its date parsing off (as the agent reads its requests); Windows PowerShell 5.1 keeps such strings.
 *
 * @example
 * ```ts
 * const wrote: UndoValue = { view: '64', key: 'SOFTWARE\\X', name: 'A', keyExists: true, existingAncestor: 'SOFTWARE\\X', value: null, wrote: { type: 'REG_DWORD', data: 1 } };
 * renderUndoPowerShell({ values: [wrote], keys: [] }, 'run r1');
 * renderUndoPowerShell({ values: [wrote], keys: [] }, 'run r1', { withhold: (v) => v.name === 'A' }); // "wroteWithheld":true, no "wrote"
 * ```
 */
export function renderUndoPowerShell(undo: RegistryUndo, title: string, options: UndoPowerShellOptions = {}): string {
  const lines = (items: readonly unknown[]) => items.map((item, i) => `    ${asciiJson(item)}${i < items.length - 1 ? ',' : ''}`);
  const withheld = undo.values.map((v) => options.withhold?.(v) ?? false);
  // What the program reads: the prior of each value (`wrote` is for people reading the file).
  const values = undo.values.map((v, i) => ({
    view: v.view,
    key: v.key,
    name: v.name,
    value: v.value,
    ...(withheld[i] ? { wroteWithheld: true } : { wrote: v.wrote }),
    ...(v.maybe ? { maybe: true } : {}),
  }));
  const data = ['{', '  "values": [', ...lines(values), '  ],', '  "createdKeys": [', ...lines(undo.keys), '  ]', '}'];
  return [
    `# ${escapeUncarried(title, NOT_PRINTABLE_ASCII)}`,
    '# Restores the values the run changed, deletes the values it created, then deletes the keys it created',
    '# that are empty. Run elevated:',
    '#   powershell -ExecutionPolicy Bypass -File undo.ps1',
    '# "values": each value as it was before the run ("value" null: it did not exist, so it is deleted;',
    '# "wrote": what the run wrote; "maybe": sent without an answer in the journal, restoring it is harmless);',
    ...(withheld.includes(true) ? ['# "wroteWithheld": what the run wrote there held the value of a secret parameter, so it is left out of this', '# file; the value is restored all the same.'] : []),
    '# "createdKeys": keys the run created, deepest first, each deleted only when it holds no value and no subkey.',
    '$ErrorActionPreference = "Stop"',
    "$json = @'",
    ...data,
    "'@",
    ...UNDO_READ_FUNCTION,
    '$data = Read-UndoJson $json',
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
    '  $k = $base.OpenSubKey($c.key)',
    '  if ($null -eq $k) { continue }',
    '  $empty = $k.ValueCount -eq 0 -and $k.SubKeyCount -eq 0',
    '  $k.Close()',
    '  if ($empty) { $base.DeleteSubKey($c.key, $false); Write-Output "deleted key $($c.key)" } else { Write-Output "kept key $($c.key): not empty" }',
    '}',
    '',
  ].join('\r\n');
}
