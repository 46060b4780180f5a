/**
 * Windows PowerShell 5.1 started with `-EncodedCommand` and redirected output writes its error stream
 * as CLIXML, not text: a `#< CLIXML` line, then an `<Objs>` document whose records carry a stream in
 * their `S` attribute — `progress` objects (the "Preparing modules for first use" bar), and `<S
 * S="Error">` strings holding the error's lines. Characters XML cannot hold are written `_xHHHH_`
 * (a line break is `_x000D__x000A_`), and the usual XML entities are used. pywinrm's
 * `Session._clean_error_msg` reads the same format (the `S` nodes, `_x000D__x000A_` as a line break);
 * this is the project's own reading of it.
 */

/** Where CLIXML starts: its header, its document, or (a stream whose start was cut off) an error record. */
const CLIXML = /#< CLIXML|<Objs\b|<S S="Error">/;

/** The `_xHHHH_` escapes of CLIXML strings, then the XML entities. */
function unescape(text: string): string {
  return text
    .replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/&(lt|gt|amp|apos|quot|#x[0-9a-fA-F]+|#\d+);/g, (_, e: string) => {
      if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
      return ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' } as Record<string, string>)[e];
    });
}

/**
 * The error records of a stream PowerShell wrote as CLIXML, as plain text (one line each, in order);
 * an empty list when the text holds no CLIXML error record (a stream cut at its start included).
 *
 * @example
 * ```ts
 * clixmlErrors('#< CLIXML\r\n<Objs Version="1.1.0.1"><S S="Error">Access denied_x000D__x000A_</S></Objs>'); // ['Access denied']
 * ```
 */
export function clixmlErrors(text: string): string[] {
  if (!CLIXML.test(text)) return [];
  const lines: string[] = [];
  for (const m of text.matchAll(/<S\s+S="Error"\s*>([\s\S]*?)<\/S>/g)) lines.push(unescape(m[1]));
  // One message may be written across several records, each ending its line with CRLF.
  return lines.join('').split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
}

/**
 * What PowerShell wrote on its error stream, readable: CLIXML's error records as plain lines, other
 * text as it is; the CLIXML header and progress records alone make nothing.
 *
 * @example
 * ```ts
 * plainStderr('#< CLIXML\r\n<Objs><Obj S="progress" RefId="0"></Obj></Objs>'); // ''
 * plainStderr('plain words'); // 'plain words'
 * ```
 */
export function plainStderr(text: string): string {
  if (!CLIXML.test(text)) return text;
  const before = text.slice(0, text.search(CLIXML)).trim();
  return [before, ...clixmlErrors(text)].filter(Boolean).join('\n');
}
