/**
 * The columns a text takes: counted without string-width for printable ASCII (coloured or not),
 * exactly as string-width counts every text.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import stringWidth from 'string-width';
import { textWidth } from '../../src/cli/text-width.js';

const TEXTS = [
  '',
  'web01',
  'orchestrator-web-01  schannel  applying  1.2s',
  '\x1b[31mfailed\x1b[39m',
  '\x1b[1m\x1b[32mok\x1b[39m\x1b[22m  \x1b[2m(run 1)\x1b[22m',
  '東京-db01',
  '\x1b[33m東京\x1b[39m',
  'SCHANNEL プロトコル 🚀 done',
  'e\u0301te\u0301',
  '👩‍💻 admin',
  'tab\there',
  'line\nbreak',
  'del\x7f',
  '\x1b]8;;https://example.org\x07link\x1b]8;;\x07',
  '\x1b[Kcleared',
  '✔ ↩ ↺ … ·',
];

test('counts every text as string-width does', () => {
  for (const text of TEXTS) assert.is(textWidth(text), stringWidth(text), JSON.stringify(text));
});

test('printable ASCII is its length, a colour code none', () => {
  assert.is(textWidth('web01'), 5);
  assert.is(textWidth('\x1b[31mfailed\x1b[39m'), 6);
  assert.is(textWidth('東京'), 4);
});

test.run();
