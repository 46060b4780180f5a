/**
 * The base64 characters that only some bytes decide, wherever those bytes stand in a longer encoded
 * text: the secret mask looks for a secret's, the SSH key check for a key's armor and magic.
 */

/**
 * For each of the three places `bytes` can start at within a 3-byte group, the characters of its
 * base64 encoding that do not depend on what comes before or after it (character j holds bits
 * 6j..6j+5; the bytes' bits are 8·offset .. 8·(offset + length) − 1).
 *
 * @example
 * ```ts
 * base64Cores(Buffer.from('-----BEGIN')); // ['LS0tLS1CRUdJT', '0tLS0tQkVHSU', 'tLS0tLUJFR0lO']
 * ```
 */
export function base64Cores(bytes: Buffer): string[] {
  return [0, 1, 2].map((offset) => {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    return encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
  });
}
