/**
 * An established NTLM session's message security (MS-NLMP §3.4, connection-oriented, with extended
 * session security): one sealing RC4 handle, signing key and sequence number per direction, kept for
 * the life of the connection. seal() uses this side's sending keys; unseal() the peer's.
 */
import { timingSafeEqual } from 'node:crypto';
import { Rc4 } from './crypto.js';
import { NtlmError } from './ntlm-error.js';
import { directionKeys, hmacMd5 } from './ntlm-keys.js';
import { NtlmFlag } from './ntlm-wire.js';

/**
 * Sealing and unsealing on an established NTLM session.
 *
 * @example
 * ```ts
 * declare const client: NtlmSession; // NtlmInitiator.session
 * declare const server: NtlmSession; // NtlmAcceptor.session, the other end of the same handshake
 * const { signature, sealed } = client.seal(Buffer.from('<s:Envelope/>'));
 * server.unseal(sealed, signature).toString(); // '<s:Envelope/>'
 * ```
 */
export interface NtlmSession {
  /** Encrypts `message` and signs it with this side's sending keys and next sequence number. */
  seal(message: Buffer): { signature: Buffer; sealed: Buffer };
  /** Decrypts a message from the peer and checks its 16-byte signature (throws NtlmError 'bad-signature'). */
  unseal(sealed: Buffer, signature: Buffer): Buffer;
}

/** One direction's keys, RC4 handle and sequence number. */
class Direction {
  readonly #signKey: Buffer;
  readonly #rc4: Rc4;
  #seq = 0;
  constructor(keys: { signKey: Buffer; sealKey: Buffer }) {
    this.#signKey = keys.signKey;
    this.#rc4 = new Rc4(keys.sealKey);
  }
  /** SEAL() of §3.4.3 then MAC() of §3.4.4.2: encrypt the message, then the checksum with the same handle. */
  crypt(message: Buffer, keyExch: boolean, decrypt: boolean): { plain: Buffer; out: Buffer; signature: Buffer } {
    const seq = Buffer.alloc(4);
    seq.writeUInt32LE(this.#seq);
    this.#seq = (this.#seq + 1) >>> 0;
    const out = this.#rc4.update(message);
    const plain = decrypt ? out : message;
    let checksum = hmacMd5(this.#signKey, seq, plain).subarray(0, 8);
    if (keyExch) checksum = this.#rc4.update(checksum);
    return { plain, out, signature: Buffer.concat([Buffer.from([1, 0, 0, 0]), checksum, seq]) };
  }
}

/** The session of one side. Key material lives in private fields only (never enumerable, never inspected). */
export class EstablishedSession implements NtlmSession {
  readonly #send: Direction;
  readonly #receive: Direction;
  readonly #keyExch: boolean;

  constructor(exportedSessionKey: Buffer, flags: number, side: 'client' | 'server') {
    if (!(flags & NtlmFlag.EXTENDED_SESSIONSECURITY)) throw new NtlmError('bad-message', 'NTLM message security without extended session security is not supported (NTLMv1 signing)');
    const peer = side === 'client' ? 'server' : 'client';
    this.#send = new Direction(directionKeys(exportedSessionKey, flags, side));
    this.#receive = new Direction(directionKeys(exportedSessionKey, flags, peer));
    this.#keyExch = (flags & NtlmFlag.KEY_EXCH) !== 0;
  }

  seal(message: Buffer): { signature: Buffer; sealed: Buffer } {
    const { out, signature } = this.#send.crypt(message, this.#keyExch, false);
    return { signature, sealed: out };
  }

  unseal(sealed: Buffer, signature: Buffer): Buffer {
    if (signature.length !== 16) throw new NtlmError('bad-signature', `an NTLM signature is 16 bytes, this one ${signature.length}`);
    const { plain, signature: expected } = this.#receive.crypt(sealed, this.#keyExch, true);
    if (!timingSafeEqual(expected, signature)) {
      throw new NtlmError('bad-signature', 'the sealed message does not match its NTLM signature: it was altered, replayed or is out of order; the session cannot be used further');
    }
    return plain;
  }
}
