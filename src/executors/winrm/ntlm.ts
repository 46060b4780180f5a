/**
 * NTLMv2 (MS-NLMP) for WinRM: the initiator (the `winrm` executor's side) and the acceptor (the
 * simulated host's listener), each ending with an {@link NtlmSession} that seals and unseals the
 * HTTP bodies (see http-encryption.ts).
 *
 * What is implemented: NTLMv2 responses only (no LM, no NTLMv1), extended session security, 128-bit
 * keys, KEY_EXCH (a random exported session key), the MIC over the three messages (MsvAvFlags 0x2),
 * MsvAvChannelBindings (the MD5 of the gss channel bindings, for HTTPS), connection-oriented sealing
 * with one RC4 handle and sequence number per direction.
 *
 * Secrets: the password, the NT hash and every key live in private `#fields`; no error message names
 * them; `util.inspect` of these objects shows none of them.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { rc4Once } from './crypto.js';
import { NtlmError } from './ntlm-error.js';
import { channelBindingsHash, clientBlob, fileTime, hmacMd5, lmv2Response, ntlmv2Proof, ntowfv2 } from './ntlm-keys.js';
import { EstablishedSession, type NtlmSession } from './ntlm-session.js';
import {
  AV_FLAG_MIC_PRESENT,
  AvId,
  type AvPair,
  decodeAuthenticate,
  decodeAvPairs,
  decodeChallenge,
  decodeNegotiate,
  encodeAuthenticate,
  encodeAvPairs,
  encodeChallenge,
  encodeNegotiate,
  MIC_OFFSET,
  NtlmFlag,
  utf16,
  WireError,
} from './ntlm-wire.js';

export { NtlmError, type NtlmErrorCode } from './ntlm-error.js';
export type { NtlmSession } from './ntlm-session.js';

/** The account an initiator authenticates as. `user` may be `DOMAIN\user` when `domain` is not given. */
export interface NtlmCredentials {
  user: string;
  password: string;
  /** @default '' (or the part before `\` in `user`) */
  domain?: string;
  /** @default '' */
  workstation?: string;
}

/** Options both sides share: the channel bindings and injectable clock and randomness (for tests). */
interface CommonOptions {
  /**
   * The application data of the GSS channel bindings; for HTTPS `tls-server-end-point:` followed by
   * the hash of the server's certificate (RFC 5929 §4.1; see {@link tlsServerEndPoint}).
   */
  channelBindings?: Buffer;
  /** @default Date.now */
  now?: () => number;
  /** @default crypto.randomBytes */
  random?: (n: number) => Buffer;
}

/** What the initiator asks for: sealing and signing with 128-bit keys, a fresh session key, NTLMv2 with target info. */
const INITIATOR_FLAGS =
  (NtlmFlag.UNICODE |
    NtlmFlag.REQUEST_TARGET |
    NtlmFlag.SIGN |
    NtlmFlag.SEAL |
    NtlmFlag.NTLM |
    NtlmFlag.ALWAYS_SIGN |
    NtlmFlag.EXTENDED_SESSIONSECURITY |
    NtlmFlag.TARGET_INFO |
    NtlmFlag.VERSION |
    NtlmFlag.NEGOTIATE_128 |
    NtlmFlag.KEY_EXCH |
    NtlmFlag.NEGOTIATE_56) >>>
  0;

/** Flags the acceptor grants when the initiator asks for them (everything else is dropped). */
const ACCEPTOR_GRANTS = (INITIATOR_FLAGS & ~NtlmFlag.VERSION) >>> 0;

const readMessage = <T>(what: string, decode: () => T): T => {
  try {
    return decode();
  } catch (e) {
    if (e instanceof WireError) throw new NtlmError('bad-message', `the NTLM ${what} cannot be read: ${e.message}`);
    throw e;
  }
};

const notEstablished = (): never => {
  throw new NtlmError('not-established', 'the NTLM session is not established yet: finish the handshake (authenticate/accept) first');
};

const decodeString = (data: Buffer, unicode: boolean): string => data.toString(unicode ? 'utf16le' : 'latin1');

/**
 * The client side of NTLMv2: NEGOTIATE, then AUTHENTICATE from the server's CHALLENGE.
 *
 * @example
 * ```ts
 * declare function post(token: Buffer): Promise<Buffer>; // sends `Authorization: Negotiate <base64>`, returns the 401's token
 * const ntlm = new NtlmInitiator({ user: 'Administrator', password: process.env.RUNBOOK_WINRM_PASSWORD ?? '', domain: 'HOST' });
 * const challenge = await post(ntlm.negotiate());
 * const authenticate = ntlm.authenticate(challenge); // sent with the first encrypted request
 * const { signature, sealed } = ntlm.session.seal(Buffer.from('<s:Envelope/>'));
 * ```
 */
export class NtlmInitiator {
  readonly #user: string;
  readonly #domain: string;
  readonly #workstation: string;
  readonly #password: string;
  readonly #bindings: Buffer | undefined;
  readonly #now: () => number;
  readonly #random: (n: number) => Buffer;
  #negotiate: Buffer | undefined;
  #session: NtlmSession | undefined;

  constructor(creds: NtlmCredentials, options: CommonOptions = {}) {
    const slash = creds.domain === undefined ? creds.user.indexOf('\\') : -1;
    this.#user = slash >= 0 ? creds.user.slice(slash + 1) : creds.user;
    this.#domain = slash >= 0 ? creds.user.slice(0, slash) : (creds.domain ?? '');
    this.#workstation = creds.workstation ?? '';
    this.#password = creds.password;
    this.#bindings = options.channelBindings;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? randomBytes;
  }

  /** The NEGOTIATE_MESSAGE (the first token). */
  negotiate(): Buffer {
    this.#negotiate = encodeNegotiate(INITIATOR_FLAGS);
    return Buffer.from(this.#negotiate);
  }

  /** The AUTHENTICATE_MESSAGE answering `challenge` (NTLMv2, with a MIC); afterwards `session` is set. */
  authenticate(challenge: Buffer): Buffer {
    const negotiate = this.#negotiate ?? this.negotiate();
    const c = readMessage('CHALLENGE_MESSAGE', () => decodeChallenge(challenge));
    if (!(c.flags & NtlmFlag.EXTENDED_SESSIONSECURITY)) throw new NtlmError('bad-message', 'the server did not agree to NTLM extended session security, which message encryption needs');
    const flags = (c.flags & INITIATOR_FLAGS) >>> 0;
    const unicode = (flags & NtlmFlag.UNICODE) !== 0;
    const serverPairs = readMessage('CHALLENGE_MESSAGE target information', () => decodeAvPairs(c.targetInfo));

    // The AV pairs the client sends back (§3.1.5.1.2): the server's, with MsvAvFlags saying a MIC
    // follows and the channel bindings hash (zeros without TLS), in place of any the server sent.
    const serverFlags = serverPairs.find((p) => p.id === AvId.Flags)?.value.readUInt32LE(0) ?? 0;
    const avFlags = Buffer.alloc(4);
    avFlags.writeUInt32LE((serverFlags | AV_FLAG_MIC_PRESENT) >>> 0);
    const pairs: AvPair[] = [
      ...serverPairs.filter((p) => p.id !== AvId.Flags && p.id !== AvId.ChannelBindings),
      { id: AvId.Flags, value: avFlags },
      { id: AvId.ChannelBindings, value: this.#bindings ? channelBindingsHash(this.#bindings) : Buffer.alloc(16) },
    ];
    const serverTime = serverPairs.find((p) => p.id === AvId.Timestamp)?.value;
    const time = serverTime && serverTime.length === 8 ? serverTime : fileTime(this.#now());
    const clientChallenge = this.#random(8);

    const responseKey = ntowfv2(this.#password, this.#user, this.#domain);
    const blob = clientBlob(time, clientChallenge, encodeAvPairs(pairs));
    const { ntProof, sessionBaseKey } = ntlmv2Proof(responseKey, c.serverChallenge, blob);
    // With a server timestamp the LM response is Z(24) (§3.1.5.1.2); NTLMv2's key exchange key is the session base key.
    const lmResponse = serverTime ? Buffer.alloc(24) : lmv2Response(responseKey, c.serverChallenge, clientChallenge);
    const keyExch = (flags & NtlmFlag.KEY_EXCH) !== 0;
    const exportedSessionKey = keyExch ? this.#random(16) : sessionBaseKey;

    const message = encodeAuthenticate({
      flags,
      lmResponse,
      ntResponse: Buffer.concat([ntProof, blob]),
      domain: unicode ? utf16(this.#domain) : Buffer.from(this.#domain, 'latin1'),
      user: unicode ? utf16(this.#user) : Buffer.from(this.#user, 'latin1'),
      workstation: unicode ? utf16(this.#workstation) : Buffer.from(this.#workstation, 'latin1'),
      encryptedSessionKey: keyExch ? rc4Once(sessionBaseKey, exportedSessionKey) : Buffer.alloc(0),
    });
    hmacMd5(exportedSessionKey, negotiate, challenge, message).copy(message, MIC_OFFSET);
    this.#session = new EstablishedSession(exportedSessionKey, flags, 'client');
    return message;
  }

  /** The established session (throws NtlmError 'not-established' before authenticate()). */
  get session(): NtlmSession {
    return this.#session ?? notEstablished();
  }
}

/** The acceptor's options. */
export interface NtlmAcceptorOptions extends CommonOptions {
  /** The password of `user` in `domain` (as the client sent them), or null when there is no such account. */
  lookup: (user: string, domain: string) => string | null;
  /** The server's NetBIOS name, sent as TargetName and in the target information. @default 'WINRM-SIM' */
  targetName?: string;
}

/**
 * The server side of NTLMv2: CHALLENGE for a NEGOTIATE, then checks the AUTHENTICATE.
 *
 * @example
 * ```ts
 * declare const negotiateToken: Buffer, authenticateToken: Buffer; // from the client's Authorization headers
 * const password = process.env.RUNBOOK_SIM_WINRM_PASSWORD ?? '';
 * const ntlm = new NtlmAcceptor({ lookup: (user) => (user.toLowerCase() === 'administrator' ? password : null), targetName: 'SIMHOST' });
 * const challengeToken = ntlm.challenge(negotiateToken); // sent back in the 401's WWW-Authenticate
 * const { user, domain } = ntlm.accept(authenticateToken); // throws NtlmError 'bad-credentials' on a wrong password
 * const { signature, sealed } = ntlm.session.seal(Buffer.from(`<s:Envelope>hello ${domain}\\${user}</s:Envelope>`));
 * ```
 */
export class NtlmAcceptor {
  readonly #lookup: NtlmAcceptorOptions['lookup'];
  readonly #targetName: string;
  readonly #bindings: Buffer | undefined;
  readonly #now: () => number;
  readonly #random: (n: number) => Buffer;
  #negotiate: Buffer | undefined;
  #challenge: Buffer | undefined;
  #serverChallenge: Buffer | undefined;
  #session: NtlmSession | undefined;

  constructor(options: NtlmAcceptorOptions) {
    this.#lookup = options.lookup;
    this.#targetName = options.targetName ?? 'WINRM-SIM';
    this.#bindings = options.channelBindings;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? randomBytes;
  }

  /** The CHALLENGE_MESSAGE for the client's NEGOTIATE_MESSAGE. */
  challenge(negotiate: Buffer): Buffer {
    const n = readMessage('NEGOTIATE_MESSAGE', () => decodeNegotiate(negotiate));
    if (!(n.flags & NtlmFlag.EXTENDED_SESSIONSECURITY)) throw new NtlmError('bad-message', 'the client did not ask for NTLM extended session security, which message encryption needs');
    const unicode = (n.flags & NtlmFlag.UNICODE) !== 0;
    const flags = ((n.flags & ACCEPTOR_GRANTS) | (unicode ? 0 : NtlmFlag.OEM) | NtlmFlag.TARGET_INFO | NtlmFlag.TARGET_TYPE_SERVER | NtlmFlag.VERSION) >>> 0;
    const name = utf16(this.#targetName);
    const targetInfo = encodeAvPairs([
      { id: AvId.NbDomainName, value: name },
      { id: AvId.NbComputerName, value: name },
      { id: AvId.DnsDomainName, value: name },
      { id: AvId.DnsComputerName, value: name },
      { id: AvId.Timestamp, value: fileTime(this.#now()) },
    ]);
    this.#serverChallenge = this.#random(8);
    this.#negotiate = Buffer.from(negotiate);
    this.#challenge = encodeChallenge({
      flags,
      serverChallenge: this.#serverChallenge,
      targetName: unicode ? name : Buffer.from(this.#targetName, 'latin1'),
      targetInfo,
    });
    return Buffer.from(this.#challenge);
  }

  /**
   * Checks the client's AUTHENTICATE_MESSAGE: the NTLMv2 proof against the account's password, the
   * MIC, and the channel bindings when this acceptor has them. Throws NtlmError; afterwards `session` is set.
   */
  accept(authenticate: Buffer): { user: string; domain: string } {
    if (!this.#challenge || !this.#serverChallenge || !this.#negotiate) throw new NtlmError('bad-message', 'an AUTHENTICATE_MESSAGE came before any CHALLENGE_MESSAGE was sent');
    const a = readMessage('AUTHENTICATE_MESSAGE', () => decodeAuthenticate(authenticate));
    const unicode = (a.flags & NtlmFlag.UNICODE) !== 0;
    const user = decodeString(a.user, unicode);
    const domain = decodeString(a.domain, unicode);
    if (a.flags & NtlmFlag.ANONYMOUS || user === '') throw new NtlmError('bad-credentials', 'anonymous NTLM logons are not accepted');
    if (a.ntResponse.length < 16 + 28 + 4) throw new NtlmError('bad-credentials', `the NTLM logon of ${JSON.stringify(user)} is not NTLMv2 (only NTLMv2 is accepted)`);
    if (!(a.flags & NtlmFlag.EXTENDED_SESSIONSECURITY)) throw new NtlmError('bad-message', 'the client did not keep NTLM extended session security, which message encryption needs');

    const password = this.#lookup(user, domain);
    const refused = () => new NtlmError('bad-credentials', `the NTLM logon of '${domain ? `${domain}\\${user}` : user}' was refused: unknown user or wrong password`);
    if (password === null) throw refused();
    const ntProofSent = a.ntResponse.subarray(0, 16);
    const blob = a.ntResponse.subarray(16);
    const { ntProof, sessionBaseKey } = ntlmv2Proof(ntowfv2(password, user, domain), this.#serverChallenge, blob);
    if (!timingSafeEqual(ntProof, ntProofSent)) throw refused();

    const keyExch = (a.flags & NtlmFlag.KEY_EXCH) !== 0;
    if (keyExch && a.encryptedSessionKey.length !== 16) throw new NtlmError('bad-message', 'the AUTHENTICATE_MESSAGE has no 16-byte encrypted session key although KEY_EXCH was negotiated');
    const exportedSessionKey = keyExch ? rc4Once(sessionBaseKey, a.encryptedSessionKey) : sessionBaseKey;

    const pairs = readMessage('client AV pairs', () => decodeAvPairs(blob.subarray(28)));
    const avFlags = pairs.find((p) => p.id === AvId.Flags)?.value;
    if (avFlags && avFlags.length === 4 && avFlags.readUInt32LE(0) & AV_FLAG_MIC_PRESENT) {
      if (a.mic.length !== 16) throw new NtlmError('bad-message', 'the AUTHENTICATE_MESSAGE says it carries a MIC but has no room for one');
      const zeroed = Buffer.from(authenticate);
      zeroed.fill(0, MIC_OFFSET, MIC_OFFSET + 16);
      const mic = hmacMd5(exportedSessionKey, this.#negotiate, this.#challenge, zeroed);
      if (!timingSafeEqual(mic, a.mic)) throw new NtlmError('bad-message', 'the NTLM message integrity code (MIC) does not match: the handshake was altered in transit');
    }
    if (this.#bindings) {
      const sent = pairs.find((p) => p.id === AvId.ChannelBindings)?.value;
      const expected = channelBindingsHash(this.#bindings);
      if (!sent || sent.length !== 16 || !timingSafeEqual(sent, expected)) {
        throw new NtlmError(
          'channel-binding',
          sent && !sent.equals(Buffer.alloc(16))
            ? 'the NTLM channel bindings do not match this TLS connection: the client saw another server certificate (a proxy or interception in between?)'
            : 'the client sent no NTLM channel bindings, which this HTTPS listener requires (Extended Protection)',
        );
      }
    }
    this.#session = new EstablishedSession(exportedSessionKey, a.flags, 'server');
    return { user, domain };
  }

  /** The established session (throws NtlmError 'not-established' before accept() succeeded). */
  get session(): NtlmSession {
    return this.#session ?? notEstablished();
  }
}

/** The channel-binding application data of an HTTPS server's certificate (RFC 5929 `tls-server-end-point`). */
export { tlsServerEndPoint } from './channel-bindings.js';
