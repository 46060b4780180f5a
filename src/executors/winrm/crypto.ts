/**
 * The two ciphers NTLM needs that Node's default OpenSSL 3 provider no longer offers: MD4 (RFC 1320,
 * for the NT hash) and RC4 (the stream cipher that seals NTLM messages and wraps the session key).
 * Both are small and have published test vectors (RFC 1320 §A.5, RFC 6229), which
 * test/executors/winrm/crypto.test.ts checks; MD5 and HMAC-MD5 come from node:crypto.
 *
 * Neither is a general-purpose primitive here: they exist for MS-NLMP only and are not exported from
 * the package.
 */

/** MD4's three rounds per RFC 1320 §3.4: F, G, H with their constants and shift amounts. */
const rotl = (x: number, s: number): number => ((x << s) | (x >>> (32 - s))) >>> 0;

/**
 * The MD4 digest of `data` (RFC 1320).
 *
 * @example
 * ```ts
 * md4(Buffer.from('abc')).toString('hex'); // 'a448017aaf21d8525fc10ae87aa6729d'
 * ```
 */
export function md4(data: Buffer): Buffer {
  // Padding (§3.1, §3.2): a 1 bit, zeros to 56 mod 64 bytes, then the bit length as 64-bit little-endian.
  const padded = Buffer.alloc(((data.length + 8) >> 6) * 64 + 64);
  data.copy(padded);
  padded[data.length] = 0x80;
  const bits = data.length * 8;
  padded.writeUInt32LE(bits >>> 0, padded.length - 8);
  padded.writeUInt32LE(Math.floor(bits / 0x100000000) >>> 0, padded.length - 4);

  let a = 0x67452301;
  let b = 0xefcdab89;
  let c = 0x98badcfe;
  let d = 0x10325476;
  const x = new Array<number>(16);
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i += 1) x[i] = padded.readUInt32LE(block + i * 4);
    const [aa, bb, cc, dd] = [a, b, c, d];
    // Round 1: F(x, y, z) = xy v not(x) z; shifts 3, 7, 11, 19.
    for (const k of [0, 4, 8, 12]) {
      a = rotl((a + ((b & c) | (~b & d)) + x[k]!) >>> 0, 3);
      d = rotl((d + ((a & b) | (~a & c)) + x[k + 1]!) >>> 0, 7);
      c = rotl((c + ((d & a) | (~d & b)) + x[k + 2]!) >>> 0, 11);
      b = rotl((b + ((c & d) | (~c & a)) + x[k + 3]!) >>> 0, 19);
    }
    // Round 2: G(x, y, z) = xy v xz v yz, plus 0x5a827999; shifts 3, 5, 9, 13.
    for (const k of [0, 1, 2, 3]) {
      a = rotl((a + ((b & c) | (b & d) | (c & d)) + x[k]! + 0x5a827999) >>> 0, 3);
      d = rotl((d + ((a & b) | (a & c) | (b & c)) + x[k + 4]! + 0x5a827999) >>> 0, 5);
      c = rotl((c + ((d & a) | (d & b) | (a & b)) + x[k + 8]! + 0x5a827999) >>> 0, 9);
      b = rotl((b + ((c & d) | (c & a) | (d & a)) + x[k + 12]! + 0x5a827999) >>> 0, 13);
    }
    // Round 3: H(x, y, z) = x xor y xor z, plus 0x6ed9eba1; shifts 3, 9, 11, 15.
    for (const k of [0, 2, 1, 3]) {
      a = rotl((a + (b ^ c ^ d) + x[k]! + 0x6ed9eba1) >>> 0, 3);
      d = rotl((d + (a ^ b ^ c) + x[k + 8]! + 0x6ed9eba1) >>> 0, 9);
      c = rotl((c + (d ^ a ^ b) + x[k + 4]! + 0x6ed9eba1) >>> 0, 11);
      b = rotl((b + (c ^ d ^ a) + x[k + 12]! + 0x6ed9eba1) >>> 0, 15);
    }
    a = (a + aa) >>> 0;
    b = (b + bb) >>> 0;
    c = (c + cc) >>> 0;
    d = (d + dd) >>> 0;
  }
  const out = Buffer.alloc(16);
  out.writeUInt32LE(a, 0);
  out.writeUInt32LE(b, 4);
  out.writeUInt32LE(c, 8);
  out.writeUInt32LE(d, 12);
  return out;
}

/**
 * An RC4 keystream that keeps its state between calls, as NTLM's sealing "handle" does (MS-NLMP
 * §3.4.3: one handle per direction for the whole connection). The state is private: it is key
 * material and must not show in `util.inspect`.
 *
 * @example
 * ```ts
 * const rc4 = new Rc4(Buffer.from('0102030405', 'hex'));
 * rc4.update(Buffer.alloc(4)).toString('hex'); // 'b2396305'
 * rc4.update(Buffer.alloc(4)).toString('hex'); // 'f03dc027': the keystream goes on
 * ```
 */
export class Rc4 {
  readonly #s = new Uint8Array(256);
  #i = 0;
  #j = 0;

  constructor(key: Buffer) {
    if (key.length === 0 || key.length > 256) throw new RangeError(`an RC4 key is 1 to 256 bytes long, not ${key.length}`);
    const s = this.#s;
    for (let i = 0; i < 256; i += 1) s[i] = i;
    for (let i = 0, j = 0; i < 256; i += 1) {
      j = (j + s[i]! + key[i % key.length]!) & 0xff;
      [s[i], s[j]] = [s[j]!, s[i]!];
    }
  }

  /** XORs `data` with the next bytes of the keystream (encrypts and decrypts alike). */
  update(data: Buffer): Buffer {
    const s = this.#s;
    const out = Buffer.alloc(data.length);
    let i = this.#i;
    let j = this.#j;
    for (let n = 0; n < data.length; n += 1) {
      i = (i + 1) & 0xff;
      j = (j + s[i]!) & 0xff;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
      out[n] = data[n]! ^ s[(s[i]! + s[j]!) & 0xff]!;
    }
    this.#i = i;
    this.#j = j;
    return out;
  }
}

/** RC4K of MS-NLMP §6: one-shot RC4 with a fresh key (used to wrap the exported session key). */
export const rc4Once = (key: Buffer, data: Buffer): Buffer => new Rc4(key).update(data);
