/**
 * The forms a secret takes in text, as regular expressions for the mask to look for all at once. Two
 * families: text escapes, where each character of the secret is written as itself or escaped (URL,
 * JSON, XML); and byte encodings, where only the whole secret's bytes decide the characters (base64 of
 * its UTF-8 or UTF-16LE bytes, hex of either, run together or comma-separated).
 *
 * Each text escape is one pattern in which every character has its own few spellings, so a form with
 * some characters escaped and others not (`%40` here, `@` there, as URL encoders differ) is found
 * too. Within one pattern the spellings of a character differ in their first character or are
 * complete escapes that cannot be cut short, so a match never backtracks more than an escape's length:
 * the cost stays linear in the text.
 */
import { base64Cores } from '../util/base64-cores.js';
import { escapeRegExp } from '../util/escape-regexp.js';

/**
 * Secrets at least this many characters long are also matched in another case (`S3CRET-VALUE` for
 * `s3cret-value`, which a case-insensitive system may echo). A shorter one is not: a secret `Test`
 * matched in any case would mask every `test` and `TEST` in the journal.
 */
export const MIN_CASELESS = 8;

/**
 * A hex form is matched where it spells at least this many bytes (16 hex digits or more). A shorter
 * one is not: hex is made only of 0-9 and a-f, which hashes, GUIDs, thumbprints and plain numbers are
 * made of too — the hex of a PIN `1234` is `31323334`, an ordinary eight-digit number, and an
 * eight-digit piece of a SHA-256 digest matches a given one about once in 4 · 10⁹; sixteen digits make
 * both as good as never. So the hex of a secret's UTF-8 bytes (`7030737321…`, `70,30,73,73,21,…`)
 * needs a secret of 8 bytes or more, while the hex of its UTF-16LE bytes (`70003000…`, `70,00,30,00,…`,
 * how Windows keeps text in a REG_BINARY and `reg export` writes a REG_EXPAND_SZ or REG_MULTI_SZ) has
 * 16 digits for every secret of 4 characters — the shortest masked inside other text — and is matched
 * for each: what is left out for a short secret is only what is as short as an ordinary number.
 */
export const MIN_HEX_BYTES = 8;

/** Characters no encoder escapes (URL-unreserved letters, digits and `-._`): only ever themselves. */
const PLAIN = /^[A-Za-z0-9._-]$/;

const hex = (n: number, width: number): string[] => {
  const digits = n.toString(16).padStart(width, '0');
  return [digits, digits.toUpperCase()];
};

/**
 * The spellings of one character of a secret: of itself, and for a long secret of its other cases
 * too. A case that is more than one character (`ß` upper-cased is `SS`) is spelled character by
 * character.
 */
function spellings(c: string, caseless: boolean, spell: (c: string) => string[]): string[] {
  const variants = caseless ? [...new Set([c, c.toLowerCase(), c.toUpperCase()])] : [c];
  return variants.flatMap((v) => [...v].reduce<string[]>((heads, d) => heads.flatMap((h) => spell(d).map((s) => h + s)), ['']));
}

/** `%XX` for each UTF-8 byte (hex in either case); `+` or `%20` for a space (form encoding). */
function urlSpellings(c: string): string[] {
  if (PLAIN.test(c)) return [c];
  if (c === ' ') return [' ', '+', '%20'];
  const bytes = [...Buffer.from(c)];
  const escaped = [0, 1].map((k) => bytes.map((b) => `%${hex(b, 2)[k]}`).join(''));
  // An encoder always escapes `%`; taking it as itself too would make `%25` ambiguous.
  return c === '%' ? escaped : [c, ...escaped];
}

/** As a JSON string holds it: itself unless it must be escaped, its short escape, `\uXXXX` (as PowerShell's ConvertTo-Json writes `<>&'`), `\/`. */
function jsonSpellings(c: string): string[] {
  if (PLAIN.test(c)) return [c];
  const must = JSON.stringify(c).slice(1, -1);
  const units = Array.from({ length: c.length }, (_, i) => c.charCodeAt(i));
  const escaped = [0, 1].map((k) => units.map((u) => `\\u${hex(u, 4)[k]}`).join(''));
  return [must, ...escaped, ...(c === '/' ? ['\\/'] : [])];
}

/** A JSON spelling inside another JSON string (a document in a string): its `\` and `"` escaped again. */
function jsonTwiceSpellings(c: string): string[] {
  return jsonSpellings(c).map((s) => JSON.stringify(s).slice(1, -1));
}

/** As XML or HTML text and attributes hold it: `&amp; &lt; &gt; &quot; &apos;`, `&#N;`, `&#xH;`. */
function xmlSpellings(c: string): string[] {
  if (PLAIN.test(c)) return [c];
  const named: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
  const point = c.codePointAt(0) ?? 0;
  const numeric = [`&#${point}`, ...hex(point, 1).flatMap((h) => [`&#x${h}`, `&#X${h}`])].map((s) => `${s};`);
  // `&` and `<` cannot stand for themselves in XML.
  return [...(c === '&' || c === '<' ? [] : [c]), ...(named[c] ? [named[c]] : []), ...numeric];
}

/** One position of a pattern: a character class when every spelling is one code unit, else an alternation, longest first. */
function group(spellings: string[]): string {
  const unique = [...new Set(spellings)].sort((a, b) => b.length - a.length);
  if (unique.length === 1) return escapeRegExp(unique[0]);
  if (unique.every((s) => s.length === 1)) return `[${unique.map(escapeRegExp).join('')}]`;
  return `(?:${unique.map(escapeRegExp).join('|')})`;
}

/** The longest of some texts; `''` for none. */
function longest(texts: readonly string[] | null): string {
  return (texts ?? []).reduce((a, b) => (b.length > a.length ? b : a), '');
}

/** `[aA]` for each hex letter, so that hex is matched in either case. */
function caselessHex(digits: string): string {
  return digits.replace(/[a-f]/g, (d) => `[${d}${d.toUpperCase()}]`);
}

/** What {@link secretForms} finds for a secret. */
export interface SecretForms {
  /** Regular expression sources (no flags needed; for a `g` search), one for each form. */
  readonly patterns: readonly string[];
  /**
   * Lower-case texts of which every match of a pattern holds one, lower-cased (a pattern's longest run
   * of characters no encoder escapes, or a byte form whole): a text whose lower-cased copy holds none
   * of them holds no form of the secret, and need not be searched. Empty (`''`) when a pattern has
   * none, so that every text is searched.
   */
  readonly anchors: readonly string[];
}

/**
 * The forms of `secret` the mask covers, each once: the secret itself, URL-encoded (`%XX` in either
 * case, a space as `+` or `%20`, any characters left unescaped), JSON-escaped once and twice (short
 * escapes, `\uXXXX`, `\/`), XML/HTML-escaped (named and numeric references) — each, for a secret of
 * {@link MIN_CASELESS} characters or more, also in any case; the base64 and base64url cores of its
 * UTF-8 and UTF-16LE bytes (PowerShell's `-EncodedCommand`) at each alignment, where at least 8
 * characters long; and the hex of its UTF-8 and UTF-16LE bytes in either case, run together or
 * comma-separated as a `.reg` file writes them, each where it spells {@link MIN_HEX_BYTES} bytes or
 * more. Meant for secrets of 4 characters or more: every form is at least as long.
 *
 * @example
 * ```ts
 * const { patterns, anchors } = secretForms('p@ss w0rd!');
 * const re = new RegExp(patterns.join('|'), 'g');
 * 'GET /login?pw=p%40ss+w0rd%21'.replace(re, '***'); // 'GET /login?pw=***'
 * '<Password>p@ss w0rd&#x21;</Password>'.replace(re, '***'); // '<Password>***</Password>'
 * 'P@SS W0RD!'.replace(re, '***'); // '***' (10 characters: matched in any case)
 * anchors; // ['w0rd', 'cebzcyb3mhjki', …, '70407373207730726421', '70,40,73,…', '70004000…', '70,00,40,00,…']
 * ```
 */
export function secretForms(secret: string): SecretForms {
  const chars = [...secret];
  const caseless = chars.length >= MIN_CASELESS;
  // Each layer spells a character no encoder escapes as itself: its group is made once.
  const plain = chars.map((c) => (PLAIN.test(c) ? group(caseless ? [c.toLowerCase(), c.toUpperCase()] : [c]) : undefined));
  const text = (spell: (c: string) => string[]) => chars.map((c, i) => plain[i] ?? group(spellings(c, caseless, spell))).join('');
  const patterns = new Set([text((c) => [c]), text(urlSpellings), text(jsonSpellings), text(jsonTwiceSpellings), text(xmlSpellings)]);
  // Every text form spells each of these characters as itself (in some case).
  const anchors = new Set([longest(secret.match(/[A-Za-z0-9._-]+/g)).toLowerCase()]);
  for (const bytes of [Buffer.from(secret), Buffer.from(secret, 'utf16le')]) {
    for (const core of base64Cores(bytes).filter((c) => c.length >= 8)) {
      patterns.add(escapeRegExp(core));
      patterns.add(escapeRegExp(core.replace(/\+/g, '-').replace(/\//g, '_')));
      // One anchor for both alphabets: the longest piece they write alike.
      anchors.add(longest(core.match(/[A-Za-z0-9]+/g)).toLowerCase());
    }
  }
  for (const bytes of [Buffer.from(secret), Buffer.from(secret, 'utf16le')]) {
    if (bytes.length < MIN_HEX_BYTES) continue;
    const pairs = [...bytes].map((b) => b.toString(16).padStart(2, '0'));
    // Hex as Buffer#toString('hex') and PowerShell write it, and as a .reg file does (`xx,yy,`): each
    // in either case. A .reg line `reg export` wraps (`,\` and an indented new line) is not one of
    // these; what reads an export decodes its values (windows/reg-file.ts, regFileTexts).
    for (const digits of [pairs.join(''), pairs.join(',')]) {
      patterns.add(caselessHex(digits));
      anchors.add(digits);
    }
  }
  return { patterns: [...patterns], anchors: [...anchors] };
}
