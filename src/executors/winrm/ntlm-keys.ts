/**
 * The NTLMv2 key schedule (MS-NLMP §3.3.2, §3.4.5): from the password to the response key, the
 * proof, the session keys; and the sealing and signing keys of each direction. Pure functions over
 * buffers; nothing here is kept.
 */
import { createHash, createHmac } from 'node:crypto';
import { md4 } from './crypto.js';
import { NtlmFlag, utf16 } from './ntlm-wire.js';

export const hmacMd5 = (key: Buffer, ...data: Buffer[]): Buffer => {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
};
export const md5 = (...data: Buffer[]): Buffer => {
  const h = createHash('md5');
  for (const d of data) h.update(d);
  return h.digest();
};

/**
 * NTOWFv2: HMAC_MD5(MD4(UNICODE(Passwd)), UNICODE(Uppercase(User) + UserDom)) — the NTLMv2 response key.
 * Uppercase is JavaScript's full case mapping, as gss-ntlmssp's ('Straße' → 'STRASSE'); whether
 * Windows maps the few characters whose uppercase is longer the same way no document says.
 */
export const ntowfv2 = (password: string, user: string, domain: string): Buffer =>
  hmacMd5(md4(utf16(password)), utf16(user.toUpperCase() + domain));

/** Windows FILETIME (100 ns ticks since 1601-01-01 UTC) of a JavaScript time, as 8 bytes. */
export function fileTime(ms: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE((BigInt(Math.round(ms)) + 11_644_473_600_000n) * 10_000n);
  return out;
}

/**
 * The NTLMv2_CLIENT_CHALLENGE ("temp" of §3.3.2): RespType 1, HiRespType 1, 6 zero bytes, the
 * timestamp, the client challenge, 4 zero bytes, the AV pairs, 4 zero bytes.
 */
export function clientBlob(time: Buffer, clientChallenge: Buffer, avPairs: Buffer): Buffer {
  return Buffer.concat([Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]), time, clientChallenge, Buffer.alloc(4), avPairs, Buffer.alloc(4)]);
}

/** NTProofStr and the session base key of §3.3.2 for a response key, server challenge and blob. */
export function ntlmv2Proof(responseKey: Buffer, serverChallenge: Buffer, blob: Buffer): { ntProof: Buffer; sessionBaseKey: Buffer } {
  const ntProof = hmacMd5(responseKey, serverChallenge, blob);
  return { ntProof, sessionBaseKey: hmacMd5(responseKey, ntProof) };
}

/** LMv2 response of §3.3.2: HMAC_MD5(ResponseKeyLM, ServerChallenge || ClientChallenge) || ClientChallenge. */
export const lmv2Response = (responseKey: Buffer, serverChallenge: Buffer, clientChallenge: Buffer): Buffer =>
  Buffer.concat([hmacMd5(responseKey, serverChallenge, clientChallenge), clientChallenge]);

const MAGIC = {
  clientSign: 'session key to client-to-server signing key magic constant\0',
  serverSign: 'session key to server-to-client signing key magic constant\0',
  clientSeal: 'session key to client-to-server sealing key magic constant\0',
  serverSeal: 'session key to server-to-client sealing key magic constant\0',
} as const;

/** SIGNKEY and SEALKEY (§3.4.5.2, §3.4.5.3) with extended session security, for one direction. */
export function directionKeys(exportedSessionKey: Buffer, flags: number, from: 'client' | 'server'): { signKey: Buffer; sealKey: Buffer } {
  const signKey = md5(exportedSessionKey, Buffer.from(from === 'client' ? MAGIC.clientSign : MAGIC.serverSign, 'latin1'));
  const sealBase =
    flags & NtlmFlag.NEGOTIATE_128 ? exportedSessionKey : flags & NtlmFlag.NEGOTIATE_56 ? exportedSessionKey.subarray(0, 7) : exportedSessionKey.subarray(0, 5);
  const sealKey = md5(sealBase, Buffer.from(from === 'client' ? MAGIC.clientSeal : MAGIC.serverSeal, 'latin1'));
  return { signKey, sealKey };
}

/**
 * The MsvAvChannelBindings value: MD5 of a gss_channel_bindings_struct (RFC 2744 §3.11, as MS-NLMP
 * §2.2.2.1 says) whose addresses are empty and whose application data is `applicationData` — each
 * address type and length a 4-byte little-endian zero, then the data's length and the data.
 */
export function channelBindingsHash(applicationData: Buffer): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt32LE(applicationData.length, 16);
  return md5(head, applicationData);
}
