import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { md4, Rc4, rc4Once } from '../../../src/executors/winrm/crypto.js';

test('MD4 gives the digests of the RFC 1320 test suite (appendix A.5)', () => {
  const suite: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['1234567890'.repeat(8), 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  for (const [input, digest] of suite) assert.is(md4(Buffer.from(input, 'latin1')).toString('hex'), digest, JSON.stringify(input));
});

test('MD4 pads at the block edges (55, 56 and 64 bytes) the way OpenSSL\'s legacy MD4 does', () => {
  // Digests from `openssl dgst -md4 -provider legacy` of that many 'x' bytes.
  assert.is(md4(Buffer.alloc(55, 'x')).toString('hex'), '92f32bb82c95ad10e8f87ae58ab06807');
  assert.is(md4(Buffer.alloc(56, 'x')).toString('hex'), '374d5f08103b7092c83b4626ebceffab');
  assert.is(md4(Buffer.alloc(64, 'x')).toString('hex'), 'b1abf956a5ae6f3221e5fe85e300fbb0');
});

test('RC4 gives the RFC 6229 keystreams (40- and 128-bit keys, offsets 0 and 16) and keeps its state across calls', () => {
  const k40 = new Rc4(Buffer.from('0102030405', 'hex'));
  assert.is(k40.update(Buffer.alloc(16)).toString('hex'), 'b2396305f03dc027ccc3524a0a1118a8');
  assert.is(k40.update(Buffer.alloc(16)).toString('hex'), '6982944f18fc82d589c403a47a0d0919');
  assert.is(rc4Once(Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'), Buffer.alloc(16)).toString('hex'), '9ac7cc9a609d1ef7b2932899cde41b97');
});

test('RC4 decrypts what it encrypted, and refuses an empty key', () => {
  const key = Buffer.from('secret key');
  const plain = Buffer.from('the same bytes back');
  assert.equal(rc4Once(key, rc4Once(key, plain)), plain);
  assert.throws(() => new Rc4(Buffer.alloc(0)), /1 to 256 bytes/);
});

test.run();
