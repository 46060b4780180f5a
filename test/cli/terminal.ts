/**
 * A small terminal for the CLI's live-output tests: it takes what stdout and stderr write (text, the
 * cursor moves and erases log-update sends), wraps at its width as a terminal does, and shows the
 * screen as lines of text — so that a test sees what a person would, stale copies included.
 */
import stringWidth from 'string-width';

export interface FakeTerminal {
  /** The streams to hand to the renderer: both write to the one screen. */
  stdout: { write(text: string): boolean; columns: number; rows: number; isTTY: true };
  stderr: { write(text: string): boolean; columns: number; rows: number; isTTY: true };
  /** Every string written to either stream, in order. */
  writes: string[];
  /** The screen's lines, trailing blanks cut, trailing empty lines dropped. */
  screen(): string[];
}

export function fakeTerminal(columns: number, rows = 50): FakeTerminal {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  const writes: string[] = [];
  const line = () => (lines[row] ??= []);
  const put = (ch: string) => {
    const w = Math.max(1, stringWidth(ch));
    if (col + w > columns) {
      // Autowrap, as a terminal does with a line wider than itself.
      row += 1;
      col = 0;
    }
    const l = line();
    while (l.length < col) l.push(' ');
    l[col] = ch;
    for (let i = 1; i < w; i++) l[col + i] = '';
    col += w;
  };
  const write = (text: string) => {
    writes.push(text);
    const chars = [...new Intl.Segmenter().segment(text)].map((s) => s.segment);
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i];
      if (ch === '\x1b') {
        let seq = '';
        let j = i + 1;
        while (j < chars.length && !/[A-Za-z]/.test(chars[j])) seq += chars[j++];
        const final = chars[j];
        i = j;
        const n = Number(seq.replace(/^\[/, '')) || 1;
        if (seq.startsWith('[?') || final === 'm') continue;
        if (final === 'A') row = Math.max(0, row - n);
        else if (final === 'B') row += n;
        else if (final === 'G') col = n - 1;
        else if (final === 'K') {
          const l = line();
          if (seq === '[2') l.length = 0;
          else l.length = Math.min(l.length, col);
        }
        continue;
      }
      if (ch === '\r') col = 0;
      else if (ch === '\r\n' || ch === '\n') {
        row += 1;
        col = 0;
        line();
      } else put(ch);
    }
    return true;
  };
  const stream = { write, columns, rows, isTTY: true as const };
  return {
    stdout: stream,
    stderr: { ...stream },
    writes,
    screen() {
      const out = Array.from({ length: lines.length }, (_, i) => (lines[i] ?? []).join('').trimEnd());
      while (out.length > 0 && out.at(-1) === '') out.pop();
      return out;
    },
  };
}
