/**
 * The `.reg` file format (Registry Editor 5.00), as `reg export` writes it and `reg import` reads it:
 * UTF-16 text in a real export, shown here as strings; DWORDs as `dword:` eight hex digits, QWORDs and
 * strings other than REG_SZ as `hex(b|2|7):` little-endian bytes, a deleted value as `"name"=-` and a
 * deleted key as `[-HKEY_LOCAL_MACHINE\…]`. A REG_SZ is a quoted string on one line, which has no escape
 * for a line break: one that holds a line break (or a NUL) is written as `hex(1):`, its UTF-16LE bytes
 * with the terminating NUL, which `reg import` reads back as the same REG_SZ.
 */
import type { RegistryValue } from './registry.js';

/** The first line of every `.reg` file. */
export const REG_HEADER = 'Windows Registry Editor Version 5.00';

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** One value line: `"Name"=dword:00000001`. */
export function regLine(name: string, value: RegistryValue): string {
  const quoted = quote(name);
  switch (value.type) {
    case 'REG_DWORD':
      return `${quoted}=dword:${(value.data >>> 0).toString(16).padStart(8, '0')}`;
    case 'REG_SZ':
      return /[\r\n\0]/.test(value.data) ? `${quoted}=hex(1):${utf16Hex(`${value.data}\0`)}` : `${quoted}=${quote(value.data)}`;
    case 'REG_QWORD': {
      const hex = BigInt(value.data).toString(16).padStart(16, '0');
      return `${quoted}=hex(b):${hex.match(/../g)!.reverse().join(',')}`;
    }
    case 'REG_BINARY':
      return `${quoted}=hex:${(value.data.match(/../g) ?? []).join(',')}`;
    case 'REG_EXPAND_SZ':
    case 'REG_MULTI_SZ': {
      const text = value.type === 'REG_MULTI_SZ' ? `${value.data.join('\0')}\0\0` : `${value.data}\0`;
      return `${quoted}=hex(${value.type === 'REG_MULTI_SZ' ? 7 : 2}):${utf16Hex(text)}`;
    }
  }
}

/** A text's UTF-16LE bytes as `.reg` hex: `41,00,0a,00`. */
function utf16Hex(text: string): string {
  return [...Buffer.from(text, 'utf16le')].map((b) => b.toString(16).padStart(2, '0')).join(',');
}

/** A line that deletes a value: `"Name"=-`. */
export function regDeleteLine(name: string): string {
  return `${quote(name)}=-`;
}
