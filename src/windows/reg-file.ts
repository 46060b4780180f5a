/**
 * The `.reg` file format (Registry Editor 5.00), as `reg export` writes it and `reg import` reads it:
 * UTF-16 text in a real export, shown here as strings; DWORDs as `dword:` eight hex digits, QWORDs and
 * strings other than REG_SZ as `hex(b|2|7):` little-endian bytes, a deleted value as `"name"=-` and a
 * deleted key as `[-HKEY_LOCAL_MACHINE\…]`. A REG_SZ is a quoted string on one line, which has no escape
 * for a line break: one that holds a line break (or a NUL) is written as `hex(1):`, its UTF-16LE bytes
 * with the terminating NUL, which `reg import` reads back as the same REG_SZ.
 *
 * A line is one entry, and nothing in a key's `[…]` or a value's quoted name escapes a line break, a
 * NUL or (in a key path) the `]` that closes it: a key or value name holding one cannot be written
 * here at all ({@link regKeyCarried}, {@link regNameCarried}), and the file's comments have them
 * escaped ({@link regComment}). The file is UTF-16LE with its byte order mark ({@link encodeRegFile}).
 */
import type { RegistryValue } from './registry.js';
import { REG_FILE_ENCODING } from './facts/registry.js';

/** The first line of every `.reg` file. */
export const REG_HEADER = 'Windows Registry Editor Version 5.00';

/**
 * Characters a `.reg` line cannot carry as they are: C0 and C1 controls (CR, LF and NUL among them),
 * and the Unicode line and paragraph separators, which an editor shows as line breaks.
 */
const UNCARRIED = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** True when a key path can be written between `[HKEY_LOCAL_MACHINE\` and `]`: no line break, NUL, control or `]`. */
export function regKeyCarried(path: string): boolean {
  return !UNCARRIED.test(path) && !path.includes(']');
}

/** True when a value name can be written quoted on its line (its `\` and `"` escaped): no line break, NUL or control. */
export function regNameCarried(name: string): boolean {
  return !UNCARRIED.test(name);
}

/**
 * A comment line: `; ` and the text with every character a line cannot carry as `\uXXXX`, so that
 * nothing in it (a target's name, a key path) ends the comment and starts an entry.
 *
 * @example
 * ```ts
 * regComment('run r1 on sim:/tmp/x\r\n[-HKEY_LOCAL_MACHINE\\SOFTWARE]'); // '; run r1 on sim:/tmp/x\u000d\u000a[-HKEY_LOCAL_MACHINE\SOFTWARE]'
 * ```
 */
export function regComment(text: string): string {
  return `; ${escapeUncarried(text, UNCARRIED)}`;
}

/** Each character of `text` that `pattern` matches as `\uXXXX` (a backslash before `u` stays as it is: comments are for people). */
export function escapeUncarried(text: string, pattern: RegExp): string {
  const global = new RegExp(pattern.source, 'g');
  return text.replace(global, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A `.reg` file's bytes: UTF-16LE after its byte order mark, as Registry Editor exports one (the fact
 * `registry.reg-file-encoding`), so that `reg import` reads every name and string as written, whatever
 * the machine's code page.
 */
export function encodeRegFile(text: string): Buffer {
  if (REG_FILE_ENCODING.value !== 'utf-16le-bom') throw new Error(`no writer for .reg files in ${REG_FILE_ENCODING.value}`);
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

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
      return UNCARRIED.test(value.data) ? `${quoted}=hex(1):${utf16Hex(`${value.data}\0`)}` : `${quoted}=${quote(value.data)}`;
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

/**
 * A value line as `reg export` writes it: a hex value's bytes wrapped after a comma so that no line is
 * longer than 80 characters, each line but the last ending in `\`, the next indented by two spaces.
 */
export function wrapRegLine(line: string): string {
  const m = /^(.*=hex(?:\([0-9a-f]+\))?:)([0-9a-f]{2}(?:,[0-9a-f]{2})*)$/.exec(line);
  if (!m || line.length <= 80) return line;
  const bytes = m[2].split(',');
  const lines: string[] = [];
  let current = m[1];
  bytes.forEach((b, i) => {
    const piece = i < bytes.length - 1 ? `${b},` : b;
    if (current.length + piece.length > 79 && current.trim() !== '') {
      lines.push(`${current}\\`);
      current = '  ';
    }
    current += piece;
  });
  return [...lines, current].join('\r\n');
}

/** A line that deletes a value: `"Name"=-`. */
export function regDeleteLine(name: string): string {
  return `${quote(name)}=-`;
}

/**
 * The texts a `.reg` file holds, for a reader looking for a string in it: the file as it is, and the
 * bytes of each `hex:`/`hex(n):` value — a REG_EXPAND_SZ, REG_MULTI_SZ or REG_BINARY, or a REG_SZ with a
 * line break, whose text is in the file only so — read as UTF-16LE text (at both byte alignments: a
 * REG_BINARY may hold a string after an odd number of bytes) and as UTF-8; and the number of each
 * `dword:` and `hex(b):` (REG_QWORD) value, in decimal. A value's lines are joined
 * first where `reg export` wrapped them (a `\` at a line's end, the next line indented).
 *
 * @example
 * ```ts
 * regFileTexts('"Exp"=hex(2):25,00,54,00,\\\r\n  4d,00,50,00,25,00,00,00');
 * // [the file as it is, '%TMP%\0' (UTF-16LE), '吀䴀倀─\0' (after one byte), '%\0T\0M\0P\0%\0\0\0' (UTF-8)]
 * ```
 */
export function regFileTexts(content: string): string[] {
  const texts = [content];
  const joined = content.replace(/\\\r?\n[ \t]*/g, '');
  for (const [, type, digits] of joined.matchAll(/=hex(\([0-9a-f]+\))?:([0-9a-f]{2}(?:,[0-9a-f]{2})*)/gi)) {
    const bytes = Buffer.from(digits.replace(/,/g, ''), 'hex');
    texts.push(bytes.toString('utf16le'), bytes.subarray(1).toString('utf16le'), bytes.toString('utf8'));
    // A REG_QWORD (`hex(b):`, 8 bytes, little-endian): its number, in decimal.
    if (type?.toLowerCase() === '(b)' && bytes.length === 8) texts.push(bytes.readBigUInt64LE().toString());
  }
  // A REG_DWORD (`dword:0000abcd`): its number, in decimal.
  for (const [, digits] of joined.matchAll(/=dword:([0-9a-f]{8})/gi)) texts.push(String(Number.parseInt(digits, 16)));
  return texts;
}
