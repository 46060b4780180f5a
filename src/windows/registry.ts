/**
 * The Windows registry as this project speaks of it: views, typed values, locations, and a value a step
 * wants at a location. The executor contract (`executors/types.ts`) and the step kinds take these types
 * from here; nothing here imports the rest of the project.
 */

/** Registry view: `64` is the native view of a 64-bit OS, `32` the WOW64 view (Wow6432Node). */
export type RegistryView = '64' | '32';

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

/** A registry value a step may write, declared up front so that a backup step can capture it first. */
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
/** Which protocols the SCHANNEL provider uses, per side; null where Windows' own default applies. */
export type ProtocolMap = Record<ProtocolName, Record<ProtocolSide, boolean | null>>;
