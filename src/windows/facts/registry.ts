/** Windows facts: the registry and its `.reg` files. Each states its source; see `types.ts` for the shape. */
import { defineFact, type WindowsFact } from './types.js';

/**
 * What a key's name may hold: printable characters, never a backslash (the separator of a path). A
 * registry step refuses, when it plans, a key path with a character that is not printable (a control
 * character: CR, LF, NUL and the rest of C0 and C1): Windows has no such key, and a path that held one
 * could only be a mistake or an attempt to break the files an operator runs (`undo.reg`). Any other
 * printable character (`]` among them) is allowed, as Windows allows it.
 */
export const KEY_NAME_CHARACTERS = defineFact({
  id: 'registry.key-name-characters',
  topic: 'Registry',
  statement: 'a key name is one or more printable characters other than the backslash: a key path with a control character (CR, LF, NUL, …) names no key and is refused when a registry step plans',
  value: { printableOnly: true, forbidden: ['\\'] },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'Structure of the Registry',
      url: 'https://learn.microsoft.com/windows/win32/sysinfo/structure-of-the-registry',
      quote: 'Each key has a name consisting of one or more printable characters.',
    },
    {
      title: 'Structure of the Registry',
      url: 'https://learn.microsoft.com/windows/win32/sysinfo/structure-of-the-registry',
      quote: 'Key names cannot include the backslash character (\\), but any other printable character can be used. Value names and data can include the backslash character.',
    },
  ],
});

/**
 * The encoding of a `Windows Registry Editor Version 5.00` file: UTF-16LE with its byte order mark, as
 * Registry Editor's own export writes it. `undo.reg` is written so; the BOM says the encoding, so no
 * reader guesses it from a code page (a BOM-less UTF-8 file would be read in the ANSI code page, its
 * non-ASCII names and data mangled).
 */
export const REG_FILE_ENCODING = defineFact({
  id: 'registry.reg-file-encoding',
  topic: 'Registry',
  statement: 'a "Windows Registry Editor Version 5.00" file is UTF-16LE text beginning with its byte order mark (FF FE), as regedit exports it: undo.reg is written so',
  value: 'utf-16le-bom',
  status: 'unknown',
  proof: 'none',
  sources: [],
  note:
    'No Microsoft Learn page states the encoding (KB 310516, "How to add, modify, or delete registry subkeys and values by using a .reg file", gives the header and syntax only). Third-party pages describe what regedit exports: "By default, regedit will save .reg files as Unicode text files in little endian format with the BOM 0xFFFE at the front of the file." (UGTS Document #36, "Registry .reg files and Unicode", ugts.azurewebsites.net/data/UGTS/document/2/3/36.aspx). The engine decides nothing by it beyond writing the form regedit itself writes, whose byte order mark names its encoding to any reader.',
});

/** Every registry fact, in the order of `docs/windows-facts.md`. */
export const REGISTRY_FACTS: readonly WindowsFact[] = [KEY_NAME_CHARACTERS, REG_FILE_ENCODING];
