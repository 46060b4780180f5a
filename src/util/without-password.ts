/**
 * A store URL with its password masked or left out. A PostgreSQL password can stand in three places,
 * and each is covered:
 *
 * - the URL's user-info, `postgres://rbe:pw@db/runs`;
 * - a `password` query parameter, `postgres://rbe@db/runs?password=pw`, which node-postgres reads
 *   (pg-connection-string takes the query's parameters as `URLSearchParams` decodes them: the name
 *   `password` exactly, lower-case, also when written percent-encoded, `pass%77ord`; it wins over the
 *   user-info's);
 * - a libpq keyword/value string, `host=db password=pw` (not taken as a store, but echoed when refused).
 *
 * Masking is textual, so that it also works on a URL that does not parse (the one an error must name),
 * where `new URL()` would throw; where a password's end is ambiguous (an unencoded `@`, `&` or `#` in
 * it), more is masked rather than less.
 */

/** A run of characters to mask, `[start, end)`. */
type Span = [start: number, end: number];

/**
 * Whether a query parameter's name, as written between its `?`/`&` and its `=`, is the one
 * pg-connection-string reads as the password: decoded as `URLSearchParams` decodes it (`%XX`, `+` as
 * a space), after dropping the tabs and newlines the URL parser drops.
 */
function isPasswordName(written: string): boolean {
  const [name] = new URLSearchParams(`${written.replace(/[\t\n\r]/g, '')}=`).keys();
  return name === 'password';
}

/**
 * Where a `password` parameter's value ends: at the next `&` that starts another `name=` pair. A piece
 * after an `&` without an `=` (or with a `#` before it) is taken as part of the password (an `&` or `#`
 * it holds unencoded), not shown.
 */
function valueEnd(text: string, from: number): number {
  const next = /&[^&=#]*=/g;
  next.lastIndex = from;
  return next.exec(text)?.index ?? text.length;
}

/**
 * The values of `password` parameters anywhere in `text`: after any `?` or `&` (a URL that does not
 * parse has no query for certain), non-empty.
 */
function parameterSpans(text: string): Span[] {
  const spans: Span[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '?' && text[i] !== '&') continue;
    const eq = text.indexOf('=', i + 1);
    if (eq < 0) break;
    const written = text.slice(i + 1, eq);
    if (/[?&#]/.test(written) || !isPasswordName(written)) continue;
    const end = valueEnd(text, eq + 1);
    if (end > eq + 1) spans.push([eq + 1, end]);
  }
  return spans;
}

/**
 * The user-info's password: whatever stands between the first `:` after the scheme and the last `@`
 * (a password may itself hold `:`, `/` or `@`).
 *
 * @example
 * ```ts
 * userInfoSpans('winrm://admin:pw@orch01'); // [[14, 16]]
 * ```
 */
export function userInfoSpans(text: string): Span[] {
  const scheme = text.indexOf('://');
  const start = scheme < 0 ? 0 : scheme + 3;
  const at = text.lastIndexOf('@');
  if (at < start) return [];
  const colon = text.indexOf(':', start);
  return colon < 0 || colon > at ? [] : [[colon + 1, at]];
}

/**
 * The values of libpq's `password` keyword (`password=pw`, `password = 'a b'`): after the start or a
 * space, any case; a quoted value runs to its closing quote, backslash escapes included; an unquoted
 * one to the next space.
 */
function keywordSpans(text: string): Span[] {
  const spans: Span[] = [];
  const keyword = /(?:^|\s)password\s*=\s*/gi;
  for (let m = keyword.exec(text); m; m = keyword.exec(text)) {
    const start = keyword.lastIndex;
    let i = start;
    if (text[i] === "'") {
      for (i++; i < text.length && text[i] !== "'"; i++) if (text[i] === '\\') i++;
      i = Math.min(i + 1, text.length);
    } else {
      for (; i < text.length && !/\s/.test(text[i]); i++) if (text[i] === '\\') i++;
      i = Math.min(i, text.length);
    }
    if (i > start) spans.push([start, i]);
    keyword.lastIndex = Math.max(i, start + 1);
  }
  return spans;
}

/** `text` with each span (merged where they overlap or touch) shown as `***`. */
function masked(text: string, spans: Span[]): string {
  if (spans.length === 0) return text;
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  let out = '';
  let shown = 0;
  let [start, end] = sorted[0];
  for (const [s, e] of [...sorted.slice(1), [text.length + 1, text.length + 1] as Span]) {
    if (s <= end) {
      end = Math.max(end, e);
      continue;
    }
    out += `${text.slice(shown, start)}***`;
    shown = end;
    [start, end] = [s, e];
  }
  return out + text.slice(shown);
}

/**
 * A store URL as it may be shown: every password in it becomes `***`, whether or not it parses —
 * the user-info's (whatever stands between the user name and the last `@`, which may itself hold
 * `:`, `/` or `@`), each `password` query parameter's value (its name as node-postgres reads it,
 * percent-encoded or not), and in a libpq keyword/value string the `password` keyword's value (quoted
 * or not).
 *
 * @example
 * ```ts
 * withoutPassword('postgre://rbe:pa/ss:w@rd@db:5432/runs'); // 'postgre://rbe:***@db:5432/runs'
 * withoutPassword('postgres://rbe@db/runs?sslmode=require&password=pw'); // 'postgres://rbe@db/runs?sslmode=require&password=***'
 * withoutPassword("host=db password='a b' dbname=runs"); // 'host=db password=*** dbname=runs'
 * ```
 */
export function withoutPassword(text: string): string {
  return masked(text, [...userInfoSpans(text), ...parameterSpans(text), ...keywordSpans(text)]);
}

/**
 * A URL whose user-info is already taken care of (a parsed URL's, masked by the parser) with each
 * `password` query parameter's value shown as `***`, as {@link withoutPassword} finds them.
 *
 * @example
 * ```ts
 * maskPasswordParameters('postgres://rbe@db/runs?user=rbe&pass%77ord=p%40ss'); // 'postgres://rbe@db/runs?user=rbe&pass%77ord=***'
 * ```
 */
export function maskPasswordParameters(url: string): string {
  return masked(url, parameterSpans(url));
}

/**
 * Whether a parsed store URL carries a password node-postgres would use: in its user-info, or as a
 * non-empty `password` query parameter.
 *
 * @example
 * ```ts
 * hasPassword(new URL('postgres://rbe@db/runs?password=pw')); // true
 * hasPassword(new URL('postgres://rbe@db/runs?sslmode=require')); // false
 * ```
 */
export function hasPassword(url: URL): boolean {
  return url.password !== '' || url.searchParams.getAll('password').some((v) => v !== '');
}

/**
 * A store URL for a command line, with no password left in it: the user-info's is left out (the user
 * stays), each non-empty `password` query parameter is removed (with any piece of its value an
 * unencoded `&` split off), the fragment too (node-postgres ignores it). The other parameters stay as
 * written. A URL that does not parse is returned masked, as {@link withoutPassword} shows it: it could
 * not have opened a store either.
 *
 * @example
 * ```ts
 * urlWithoutPassword('postgres://rbe:pw@db:5432/runs?password=pw&sslmode=require'); // 'postgres://rbe@db:5432/runs?sslmode=require'
 * ```
 */
export function urlWithoutPassword(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return withoutPassword(url);
  }
  u.password = '';
  u.hash = '';
  const kept: string[] = [];
  let dropping = false;
  for (const piece of u.search.slice(1).split('&')) {
    const eq = piece.indexOf('=');
    // A piece without `=` after a password is part of it (an unencoded `&`); '#' cannot remain here.
    if (dropping && eq < 0) continue;
    dropping = eq > 0 && eq < piece.length - 1 && isPasswordName(piece.slice(0, eq));
    if (!dropping) kept.push(piece);
  }
  u.search = kept.join('&');
  return u.toString();
}
