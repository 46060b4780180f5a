/**
 * Text as a regular expression that matches exactly it, anywhere in a pattern: outside or inside a
 * character class, with or without the `u` flag. The syntax characters and `/` are escaped with a
 * backslash; `-` (a range inside a class) is written `\x2d`, since `\-` is an invalid escape outside
 * a class under the `u` flag.
 *
 * @example
 * ```ts
 * escapeRegExp('a.b-c'); // 'a\\.b\\x2dc'
 * new RegExp(`[${escapeRegExp('-]')}]`, 'u').test('-'); // true
 * ```
 */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&').replace(/-/g, '\\x2d');
}
