/**
 * The columns a text takes on a terminal: a wide character (CJK, most emoji) two, a colour code none.
 * Printable ASCII, with or without colour codes, is counted here; anything else by string-width, which
 * is loaded the first time such a text comes. string-width's module builds a grapheme segmenter and
 * an emoji pattern when it loads — about 30 ms, a tenth of a `runbook plan` — which a command whose
 * host names and step ids are ASCII does not need off a terminal (in a pipe, in CI, in a script). On a
 * terminal the live view's libraries (cli-truncate, log-update) load it themselves.
 */
import { createRequire } from 'node:module';

type StringWidth = typeof import('string-width').default;

/** Printable ASCII only: one column per character. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/** A colour code (SGR), the only escape this CLI writes into the texts it measures. */
const SGR = /\x1b\[[0-9;]*m/g;

let stringWidth: StringWidth | undefined;

/**
 * string-width, loaded on first use. The CLI's build bundles its dependencies: there the bundler turns
 * this `require` into its own copy, evaluated on the first call (`typeof require` is then its shim's,
 * always a function, so the other branch is never taken in a bundle — a build that kept string-width
 * external would fail here; the library's build, which does, never includes this module). Run from the
 * sources, where an ES module has no `require`, Node loads it from `node_modules` (`require` of an ES
 * module, Node ≥ 20.19).
 */
function loadStringWidth(): StringWidth {
  const loaded = (typeof require === 'function' ? require('string-width') : createRequire(import.meta.url)('string-width')) as { default: StringWidth };
  return loaded.default;
}

/**
 * The columns `text` takes: as string-width counts them (a wide character two, a colour code or a
 * control character none), without loading it for printable ASCII.
 *
 * @example
 * ```ts
 * textWidth('web01'); // 5
 * textWidth('\x1b[31mfailed\x1b[39m'); // 6
 * textWidth('東京'); // 4
 * ```
 */
export function textWidth(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return text.length;
  if (text.includes('\x1b')) {
    const bare = text.replace(SGR, '');
    if (PRINTABLE_ASCII.test(bare)) return bare.length;
  }
  stringWidth ??= loadStringWidth();
  return stringWidth(text);
}
