/**
 * The Windows registry as this project speaks of it: views, typed values, locations, and a value a step
 * wants at a location. The executor contract (`executors/types.ts`) and the step kinds take these types
 * from here; nothing here imports the rest of the project.
 */
import { KEY_NAME_CHARACTERS } from './facts/registry.js';

/**
 * Registry view: `64` is the native view of a 64-bit OS, `32` the WOW64 view (Wow6432Node).
 *
 * @example
 * ```ts
 * const view: RegistryView = '32'; // a 32-bit program's values, under Wow6432Node
 * const [answer] = await executor.run([{ op: 'registry.get', view, key: 'SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319', name: 'SchUseStrongCrypto' }]);
 * ```
 */
export type RegistryView = '64' | '32';

/**
 * The registry value types, by a short name: `RegistryType.dword` is `'REG_DWORD'`; `RegistryType`
 * also types the values.
 *
 * @example
 * ```ts
 * const value: RegistryValue = { type: RegistryType.dword, data: 1 };
 * const isText = (t: RegistryType) => t === RegistryType.sz || t === RegistryType.expandSz;
 * ```
 */
export const RegistryType = {
  dword: 'REG_DWORD',
  qword: 'REG_QWORD',
  sz: 'REG_SZ',
  expandSz: 'REG_EXPAND_SZ',
  multiSz: 'REG_MULTI_SZ',
  binary: 'REG_BINARY',
} as const;
export type RegistryType = (typeof RegistryType)[keyof typeof RegistryType];

/**
 * A registry value with its type. DWORDs are unsigned 32-bit numbers (`0xFFFFFFFF` is 4294967295),
 * QWORDs decimal strings, MULTI_SZ string arrays, BINARY lowercase hex.
 *
 * @example
 * ```ts
 * const enabled: RegistryValue = { type: 'REG_DWORD', data: 1 };
 * const paths: RegistryValue = { type: 'REG_MULTI_SZ', data: ['C:\\Tools', 'D:\\Tools'] };
 * ```
 */
export type RegistryValue =
  | { type: 'REG_DWORD'; data: number }
  | { type: 'REG_QWORD'; data: string }
  | { type: 'REG_SZ' | 'REG_EXPAND_SZ'; data: string }
  | { type: 'REG_MULTI_SZ'; data: string[] }
  | { type: 'REG_BINARY'; data: string };

/** A value's location. `key` is a path below HKEY_LOCAL_MACHINE, e.g. `SYSTEM\CurrentControlSet\...`. */
export type RegistryLocation = {
  view: RegistryView;
  key: string;
  name: string;
};

/**
 * A registry value a step may write, declared up front so that a backup step can capture it first.
 *
 * @example
 * ```ts
 * const write: DeclaredWrite = {
 *   view: '64',
 *   key: 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Server',
 *   name: 'Enabled',
 *   desired: { type: 'REG_DWORD', data: 0 },
 * };
 * ```
 */
export type DeclaredWrite = RegistryLocation & {
  /** The value it must have; null: it must be absent (Windows' own default applies). */
  desired: RegistryValue | null;
  /** `nonzero`: any non-zero DWORD already satisfies the desired value (how Windows reads `Enabled`). */
  satisfiedBy?: 'exact' | 'nonzero';
};

/**
 * The SCHANNEL protocols (the keys below `SCHANNEL\Protocols`); TLS 1.3 is handled apart (on by
 * default from Windows Server 2022).
 */
export type ProtocolName = 'SSL 2.0' | 'SSL 3.0' | 'TLS 1.0' | 'TLS 1.1' | 'TLS 1.2';
export type ProtocolSide = 'Client' | 'Server';
/**
 * Which protocols the SCHANNEL provider uses, per side; null where Windows' own default applies.
 *
 * @example
 * ```ts
 * declare const protocols: ProtocolMap;
 * if (protocols['TLS 1.0'].Server !== false) console.warn('TLS 1.0 is not disabled on the server side');
 * ```
 */
export type ProtocolMap = Record<ProtocolName, Record<ProtocolSide, boolean | null>>;

/**
 * Why a registry location cannot be written, or null when it can. A key path is refused when one of
 * its key names holds a character that is not printable (a C0 or C1 control: CR, LF, NUL, …): Windows
 * names keys with printable characters only (the fact `registry.key-name-characters`), and every other
 * printable character, `]` among them, is allowed. A value name may hold any character, but not a NUL:
 * the Win32 registry calls the agent reaches through .NET take names as NUL-terminated strings, so the
 * name written would be cut at it — another value than the one planned.
 *
 * @example
 * ```ts
 * refusedRegistryName('SOFTWARE\\Contoso]x', 'Port'); // null: ] is printable
 * refusedRegistryName('SOFTWARE\\A\r\n[-HKEY_LOCAL_MACHINE\\SOFTWARE\\B', 'Port'); // 'key path … holds U+000D, …'
 * ```
 */
export function refusedRegistryName(key: string, name: string): string | null {
  const control = /[\u0000-\u001f\u007f-\u009f]/.exec(key);
  if (control && KEY_NAME_CHARACTERS.value.printableOnly) {
    return `key path ${JSON.stringify(key)} holds ${codePoint(control[0])}, which no Windows key name can: a key name is one or more printable characters other than the backslash`;
  }
  if (name.includes('\0')) return `value name ${JSON.stringify(name)} holds a NUL, which the registry calls end the name at: another value would be written`;
  return null;
}

function codePoint(c: string): string {
  return `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}
