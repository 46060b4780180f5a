/**
 * Where a text stops being JSON, told without quoting it: V8's own messages quote the characters around
 * the fault (`Unexpected token 'r', "root:x:0:0"... is not valid JSON`), and the file may be anything
 * (a `sim:` target naming /etc/passwd). The message goes into reports, junit.xml and the console.
 */

/** The offset V8 names (`at position N`), if it names one. */
function namedPosition(message: string): number | null {
  const m = /at position (\d+)/.exec(message);
  return m ? Number(m[1]) : null;
}

/**
 * Where `JSON.parse` fails on `text`: `'json'` when it parses, `'end'` when it only ends too early, or
 * the offset of a fault within it.
 */
function faultAt(text: string): number | 'json' | 'end' {
  try {
    JSON.parse(text);
    return 'json';
  } catch (e) {
    const message = (e as Error).message;
    if (/Unexpected end of JSON input/.test(message)) return 'end';
    const at = namedPosition(message);
    if (at !== null && at >= text.length) return 'end';
    // Without a position (`Unexpected token …`), the fault is within the text.
    return at ?? text.length - 1;
  }
}

/**
 * Where `text` stops being JSON, as `line L, column C` (1-based), or `its end` when it stops too early;
 * null when it is JSON. Nothing of the text is quoted.
 *
 * @example
 * ```ts
 * jsonFaultWhere('{"a": 1,\n  x}'); // 'line 2, column 3'
 * jsonFaultWhere('{"a": '); // 'its end'
 * ```
 */
export function jsonFaultWhere(text: string): string | null {
  const whole = faultAt(text);
  if (whole === 'json') return null;
  if (whole === 'end') return 'its end';
  // The shortest prefix that fails within itself ends just past the fault: every shorter one is a
  // prefix of JSON as far as it goes (it only ends too early). V8 names no position for an unexpected
  // token, so the offset is found by halving.
  let low = 0;
  let high = whole + 1;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (typeof faultAt(text.slice(0, mid + 1)) === 'number') high = mid;
    else low = mid + 1;
  }
  const before = text.slice(0, low);
  const line = before.split('\n').length;
  const column = low - (before.lastIndexOf('\n') + 1) + 1;
  return `line ${line}, column ${column}`;
}
