/**
 * The secret mask: every form of a secret in every string — inside longer strings, URL-encoded (either
 * case, form-encoded), JSON-escaped once and twice, XML-escaped, base64 of its UTF-8 and UTF-16LE bytes
 * at any alignment, hex, another case — and short secrets only as whole words, so that what is not
 * secret stays readable (hashes, GUIDs and registry paths too); and validation errors that name a
 * secret field without its value.
 */
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMasker, maskRecord } from '../../src/engine/secrets.js';
import { resolveParameters, validateRunbook } from '../../src/engine/loader.js';
import { bundledStepKinds } from '../../src/steps/index.js';
import { regFileTexts } from '../../src/windows/reg-file.js';
import { fingerprint, type RunbookDefinition } from '../../src/engine/runbook.js';

const SECRET = 'p@ss/w:rd"x1';

test('a secret is masked inside longer strings and in its URL-encoded, JSON-escaped and base64 forms', () => {
  const m = createMasker({ token: SECRET });
  for (const [label, text] of [
    ['inside a longer string', `Authorization: ${SECRET}!`],
    ['URL-encoded', `postgres://rbe:${encodeURIComponent(SECRET)}@db/runs`],
    ['JSON-escaped', JSON.stringify({ password: `a ${SECRET} b` })],
    ...[0, 1, 2].map((k) => [`base64 after ${k} byte(s)`, `Basic ${Buffer.from(`${'u'.repeat(k + 3)}:${SECRET}`).toString('base64')}`]),
    ['base64url', Buffer.from(`x:${SECRET}??>>`).toString('base64url')],
  ]) {
    const masked = m.text(text);
    assert.ok(masked.includes('***'), `${label}: ${masked}`);
    assert.not.ok(masked.includes(SECRET), label);
    assert.not.ok(masked.includes(encodeURIComponent(SECRET)), label);
    assert.not.ok(masked.includes(JSON.stringify(SECRET).slice(1, -1)), label);
    for (const k of [0, 1, 2]) {
      const core = Buffer.concat([Buffer.alloc(k), Buffer.from(SECRET)]).toString('base64').slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + SECRET.length)) / 6));
      assert.not.ok(masked.includes(core), `${label}: base64 core at ${k}`);
    }
  }
});

/** The base64 characters only `bytes` decide, at each of the three places it can start in a 3-byte group. */
function cores(bytes: Buffer): string[] {
  return [0, 1, 2].map((k) => Buffer.concat([Buffer.alloc(k), bytes]).toString('base64').slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + bytes.length)) / 6)));
}

const xmlEscaped = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

// A secret with a space and each character XML and JSON escape, 17 characters.
const WIDE = `Hunter2 <&"'> Zq/9`;

test('a secret is masked inside longer strings in its other URL, JSON, XML and case forms', () => {
  const m = createMasker({ token: WIDE });
  const lowerPercent = encodeURIComponent(WIDE).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
  const formEncoded = new URLSearchParams({ pw: WIDE }).toString().slice('pw='.length);
  const jsonTwice = JSON.stringify(JSON.stringify(WIDE)).slice(1, -1);
  const numeric = [...WIDE].map((c) => (/[A-Za-z0-9]/.test(c) ? c : `&#${c.codePointAt(0)};`)).join('');
  const numericHex = [...WIDE].map((c) => (/[ <&"'>/]/.test(c) ? `&#x${c.codePointAt(0)!.toString(16).toUpperCase()};` : c)).join('');
  for (const [label, form, text] of [
    ['URL-encoded, lower-case %xx', lowerPercent, `GET /login?pw=${lowerPercent}&next=/`],
    ['form-encoded, + for a space', formEncoded, `body: user=svc&pw=${formEncoded}&remember=1`],
    ['JSON inside a JSON string', jsonTwice, JSON.stringify({ body: JSON.stringify({ password: WIDE, user: 'svc' }) })],
    ['XML-escaped', xmlEscaped(WIDE), `<s:Envelope><Password>${xmlEscaped(WIDE)}</Password></s:Envelope>`],
    ['numeric character references', numeric, `<p title="${numeric}">`],
    ['hex character references', numericHex, `<p>${numericHex}</p>`],
    ['upper-cased', WIDE.toUpperCase(), `ECHO ${WIDE.toUpperCase()}.`],
    ['lower-cased', WIDE.toLowerCase(), `login as ${WIDE.toLowerCase()} failed`],
  ]) {
    assert.ok(text.includes(form), `${label}: the test's text holds the form`);
    const masked = m.text(text);
    assert.ok(masked.includes('***'), `${label}: ${masked}`);
    assert.not.ok(masked.includes(form), `${label}: ${masked}`);
  }
});

test('a secret is masked inside longer strings as the hex and the UTF-16LE base64 of its bytes', () => {
  const m = createMasker({ token: SECRET });
  const hex = Buffer.from(SECRET).toString('hex');
  for (const [label, text] of [
    ['hex', `blob 00ff${hex}0a`],
    ['HEX', `BLOB 00FF${hex.toUpperCase()}0A`],
  ]) {
    const masked = m.text(text);
    assert.ok(masked.includes('***'), `${label}: ${masked}`);
    assert.not.ok(masked.toLowerCase().includes(hex), `${label}: ${masked}`);
  }
  // PowerShell's -EncodedCommand and [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes(…)):
  // a prefix of k characters puts the secret at byte 2k, so k = 0, 1, 2 give every alignment.
  for (const k of [0, 1, 2]) {
    for (const alphabet of ['base64', 'base64url'] as const) {
      const command = `${'$'.repeat(k)}$p = '${SECRET}'; Connect $p`;
      const masked = m.text(`powershell -EncodedCommand ${Buffer.from(command, 'utf16le').toString(alphabet)}`);
      assert.ok(masked.includes('***'), `${alphabet} after ${k} character(s): ${masked}`);
      for (const core of cores(Buffer.from(SECRET, 'utf16le'))) {
        const written = alphabet === 'base64' ? core : core.replace(/\+/g, '-').replace(/\//g, '_');
        assert.not.ok(masked.includes(written), `${alphabet} after ${k} character(s): ${masked}`);
      }
    }
  }
});

test('a secret is masked as the hex of its UTF-16LE bytes and as comma-separated hex bytes (a .reg file\'s hex(2), hex(7), hex), in either case', () => {
  const m = createMasker({ token: SECRET });
  const pairs = (bytes: Buffer) => [...bytes].map((b) => b.toString(16).padStart(2, '0'));
  const utf16 = pairs(Buffer.from(SECRET, 'utf16le'));
  const utf8 = pairs(Buffer.from(SECRET));
  for (const [label, form] of [
    ['UTF-16LE hex', utf16.join('')],
    ['UTF-16LE HEX', utf16.join('').toUpperCase()],
    ['UTF-16LE, comma-separated', utf16.join(',')],
    ['UTF-16LE, COMMA-SEPARATED', utf16.join(',').toUpperCase()],
    ['UTF-8, comma-separated', utf8.join(',')],
    ['UTF-8, COMMA-SEPARATED', utf8.join(',').toUpperCase()],
  ]) {
    const text = `"Path"=hex(2):25,00,${form},00,00`;
    const masked = m.text(text);
    assert.is(masked, '"Path"=hex(2):25,00,***,00,00', label);
  }
  assert.is(m.text(`blob 0100${utf16.join('')}0000`), 'blob 0100***0000');
});

test('secrets that overlap are masked as one, whichever comes first in the text and in the parameters', () => {
  // At one starting place the first secret's form that matches wins: zzab left 6 of abcdefgh's 8
  // characters showing (***cdefgh).
  for (const secrets of [{ a: 'zzab', b: 'abcdefgh' }, { b: 'abcdefgh', a: 'zzab' }]) {
    const m = createMasker(secrets);
    assert.is(m.text('zzabcdefgh'), '***');
    assert.is(m.text('id=zzabcdefgh;'), 'id=***;');
  }
  for (const secrets of [{ a: 'abcdefgh', b: 'ghzz' }, { b: 'ghzz', a: 'abcdefgh' }]) {
    const m = createMasker(secrets);
    assert.is(m.text('abcdefghzz'), '***');
    assert.is(m.text('ABCDEFghzz'), '***', 'the longer one in another case');
    assert.is(m.text('x abcdefgh ghzz y'), 'x *** *** y', 'apart, each is masked');
  }
});

test('a secret that begins inside another\'s encoded form is masked to its end', () => {
  // abc&def1 XML-escaped is abc&amp;def1, in which def1-xyz9 begins: "-xyz9" was left showing.
  const m = createMasker({ a: 'abc&def1', b: 'def1-xyz9' });
  assert.is(m.text('<v>abc&amp;def1-xyz9</v>'), '<v>***</v>');
  assert.is(m.text('pw=abc%26def1-xyz9&next=1'), 'pw=***&next=1');
  // A short secret's escaped form longer than a longer secret's match at the same place.
  assert.is(createMasker({ a: 'ab&amp', b: 'ab&;' }).text('<x>ab&amp;;</x>'), '<x>***</x>');
});

test('secrets side by side are one ***, and the text around them stays', () => {
  const m = createMasker({ password: 'Winter2024!Orch#01', token: 'tok_8fJ2kLmQ9zXv' });
  assert.is(m.text('[Winter2024!Orch#01tok_8fJ2kLmQ9zXv]'), '[***]');
  assert.is(m.text('tok_8fJ2kLmQ9zXvtok_8fJ2kLmQ9zXv, Winter2024!Orch#01 and tok_8fJ2kLmQ9zXv.'), '***, *** and ***.');
});

test('a typical secret leaves digests, GUIDs, thumbprints and registry paths alone', () => {
  const m = createMasker({ password: 'Winter2024!Orch#01', token: 'tok_8fJ2kLmQ9zXv' });
  const record = {
    path: 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Server',
    sha256: createHash('sha256').update('Winter2024!Orch#01').digest('hex'),
    SHA256: createHash('sha256').update('tok_8fJ2kLmQ9zXv').digest('hex').toUpperCase(),
    guid: '{6F9619FF-8B86-D011-B42D-00C04FC964FF}',
    thumbprint: 'A909502DD82AE41433E6F83886B00D4277A32A7B',
    basic: `Basic ${Buffer.from('svc:Summer2023!').toString('base64')}`,
    note: 'WINTER 2024 maintenance, orch01 TLS 1.2 only, token rotated',
  };
  assert.equal(m.mask(record), record);
});

test('a secret shorter than eight characters is matched neither as the hex of its UTF-8 bytes nor in another case: ordinary numbers and words stay', () => {
  const m = createMasker({ pin: '1234', word: 'Test' });
  // The hex of 1234 is 31323334: an event id here, not the secret; 31,32,33,34 a list of numbers.
  const text = 'event 31323334 in TEST and test logs, ports 31,32,33,34; 1234 and Test masked';
  assert.is(m.text(text), 'event 31323334 in TEST and test logs, ports 31,32,33,34; *** and *** masked');
  // The hex of its UTF-16LE bytes has 16 digits (3100320033003400), as many as the UTF-8 hex of a
  // secret of 8 bytes: it is masked, as the text it spells is.
  assert.is(m.text('blob 3100320033003400, reg 54,00,65,00,73,00,74,00'), 'blob ***, reg ***');
});

test('a secret of digits is masked as the number a step writes (a REG_DWORD\'s data), its decimal and its hex, and other numbers stay', () => {
  const m = createMasker({ pin: '0040960001' });
  const write = { type: 'REG_DWORD', data: 40960001 };
  assert.equal(m.mask({ desired: write, port: 8443, count: 4096, big: 409600010 }), { desired: { type: 'REG_DWORD', data: '***' }, port: 8443, count: 4096, big: 409600010 });
  // Only a registry value's number: the same number elsewhere (a timeout, a port) is what a step acts on.
  assert.equal(createMasker({ pin: '8443' }).mask({ port: 8443, value: { type: 'REG_DWORD', data: 8443 } }), { port: 8443, value: { type: 'REG_DWORD', data: '***' } });
  assert.is(m.text('0x02710001 (40960001)'), '*** (***)');
  assert.is(m.text('"Pin"=dword:02710001, 0X2710001, hex 0x2710001f, id 102710001, 0x000020fb (8443)'), '"Pin"=***, ***, hex 0x2710001f, id 102710001, 0x000020fb (8443)');
  // A number shorter than four digits would mask ordinary counts: `0042` is text only.
  assert.equal(createMasker({ pin: '0042' }).mask({ type: 'REG_DWORD', data: 42, text: 'pin 0042' }), { type: 'REG_DWORD', data: 42, text: 'pin ***' });
  // What a backup's .reg file holds of a DWORD or a QWORD (`hex(b):`, little-endian) reads as its number.
  const qword = Buffer.alloc(8);
  qword.writeBigUInt64LE(40960001n);
  const texts = regFileTexts(`"Pin"=dword:02710001\r\n"Pin64"=hex(b):${[...qword].map((b) => b.toString(16).padStart(2, '0')).join(',')}\r\n`);
  assert.is(texts.filter((t) => m.text(t) !== t).length, 3);
  assert.ok(texts.includes('40960001'));
});

test('a short secret is masked where it stands as a word, and leaves other words alone', () => {
  const m = createMasker({ pin: '12', code: 'ab' });
  assert.is(m.text('pin 12, build 12345, table ab.'), 'pin ***, build 12345, table ***.');
  assert.is(m.mask({ note: 'tablet 120' }).note, 'tablet 120');
});

test('the journal keeps the runbook as it is (its fingerprint still matches) while its data is masked', () => {
  const runbook: RunbookDefinition = { name: 'secretive', description: 'touches the p@ss/w:rd"x1 store', steps: [] };
  const record = maskRecord({ type: 'run.started', runbook, fingerprint: fingerprint(runbook), params: { note: `x${SECRET}` } }, createMasker({ t: SECRET }));
  assert.is(fingerprint(record.runbook), record.fingerprint);
  assert.is(record.params.note, 'x***');
});

test('a secret parameter of the wrong type or value is named, never shown', () => {
  const definition: RunbookDefinition = {
    name: 's',
    parameters: { pin: { type: 'number', secret: true, env: 'RBE_PIN' }, mode: { type: 'string', secret: true, env: 'RBE_MODE', enum: ['a', 'b'] } },
    steps: [],
  };
  let message = '';
  try {
    resolveParameters(definition, {}, { RBE_PIN: 'hunter2-not-a-number', RBE_MODE: 'hunter3-secret' });
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /pin: expected a number, got a string: the value of \$RBE_PIN \(not shown: it is secret\)/);
  assert.match(message, /mode: the value of \$RBE_MODE \(not shown: it is secret\) is not one of the values the runbook allows/);
  assert.not.ok(message.includes('hunter2'));
  assert.not.ok(message.includes('hunter3'));
});

test('a secret parameter is text: a runbook declaring a number secret is refused where it says so', () => {
  const definition = { name: 's', parameters: { pin: { type: 'number', secret: true, env: 'RBE_PIN' } }, steps: [] };
  assert.throws(() => validateRunbook(definition, bundledStepKinds(), 'inline'), (e: Error) => /parameters\.pin\.type: a secret parameter must be of type string/.test(JSON.stringify(e) + e.message));
});

test('a secret shorter than four characters is refused, never shown: masked as a word it would change the journal\'s text', () => {
  const definition: RunbookDefinition = { name: 's', parameters: { token: { type: 'string', secret: true, env: 'RBE_TOKEN' } }, steps: [] };
  let message = '';
  try {
    resolveParameters(definition, {}, { RBE_TOKEN: 'x9Q' });
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /token: the value of \$RBE_TOKEN is shorter than 4 characters \(not shown: it is secret\)/);
  assert.not.ok(message.includes('x9Q'));
  assert.equal(resolveParameters(definition, {}, { RBE_TOKEN: 'x9Qz' }).params, { token: 'x9Qz' });
  // A run started before the rule goes on with the secret it started with (resume, rollback).
  assert.equal(resolveParameters(definition, {}, { RBE_TOKEN: 'x9Q' }, { shortSecrets: true }).params, { token: 'x9Q' });
});

test.run();
