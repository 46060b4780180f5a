/**
 * A URL with its password masked, textually: it works on a URL that does not parse (the one an error
 * must name), where `new URL()` would throw.
 */

/**
 * A URL as it may be shown: whatever stands between the user name and the last `@` (a password, which
 * may itself hold `:`, `/` or `@`) becomes `***`, whether or not the URL parses.
 *
 * @example
 * ```ts
 * withoutPassword('postgre://rbe:pa/ss:w@rd@db:5432/runs'); // 'postgre://rbe:***@db:5432/runs'
 * ```
 */
export function withoutPassword(url: string): string {
  const scheme = url.indexOf('://');
  const start = scheme < 0 ? 0 : scheme + 3;
  const at = url.lastIndexOf('@');
  if (at < start) return url;
  const colon = url.indexOf(':', start);
  return colon < 0 || colon > at ? url : `${url.slice(0, colon)}:***${url.slice(at)}`;
}
