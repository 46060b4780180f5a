/**
 * Colours for people: only on a terminal, and never with `NO_COLOR` set (no-color.org).
 */

const useColor = () => !process.env.NO_COLOR && process.stdout.isTTY === true;
const paint = (code: number, text: string) => (useColor() ? `\x1b[${code}m${text}\x1b[0m` : text);

export const green = (t: string) => paint(32, t);
export const red = (t: string) => paint(31, t);
export const yellow = (t: string) => paint(33, t);
export const dim = (t: string) => paint(2, t);
export const bold = (t: string) => paint(1, t);

/** How an outcome reads: well, worth a look, or bad. */
export type Tone = 'ok' | 'warn' | 'bad' | 'none';

/** The colour of a tone: green, yellow, red, or dim. */
export function toned(tone: Tone, text: string): string {
  return { ok: green, warn: yellow, bad: red, none: dim }[tone](text);
}
