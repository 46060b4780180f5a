/**
 * The three NTLM messages and their AV pairs on the wire (MS-NLMP §2.2.1, §2.2.2.1): building and
 * reading them, nothing about keys. Every multi-byte field is little-endian; every variable field is
 * a (length, max length, offset) triple pointing into the payload after the fixed header.
 */

/** NegotiateFlags bits (MS-NLMP §2.2.2.5). Values are unsigned 32-bit. */
export const NtlmFlag = {
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  SIGN: 0x00000010,
  SEAL: 0x00000020,
  DATAGRAM: 0x00000040,
  LM_KEY: 0x00000080,
  NTLM: 0x00000200,
  ANONYMOUS: 0x00000800,
  ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  IDENTIFY: 0x00100000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  NEGOTIATE_128: 0x20000000,
  KEY_EXCH: 0x40000000,
  NEGOTIATE_56: 0x80000000,
} as const;

/** AvId values of the AV_PAIR structure (MS-NLMP §2.2.2.1). */
export const AvId = {
  EOL: 0,
  NbComputerName: 1,
  NbDomainName: 2,
  DnsComputerName: 3,
  DnsDomainName: 4,
  DnsTreeName: 5,
  Flags: 6,
  Timestamp: 7,
  SingleHost: 8,
  TargetName: 9,
  ChannelBindings: 10,
} as const;

/** MsvAvFlags bit: the AUTHENTICATE_MESSAGE carries a MIC (MS-NLMP §2.2.2.1). */
export const AV_FLAG_MIC_PRESENT = 0x00000002;

export type AvPair = { id: number; value: Buffer };

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

/**
 * The VERSION structure we send (MS-NLMP §2.2.2.10): informational only ("for debugging purposes");
 * NTLMRevisionCurrent 0x0F is NTLMSSP_REVISION_W2K3, the only current revision.
 */
export const OUR_VERSION = Buffer.from([10, 0, 0, 0, 0, 0, 0, 0x0f]);

/** A message that cannot be read: too short, a field pointing outside it, the wrong type. */
export class WireError extends Error {}

export const utf16 = (s: string): Buffer => Buffer.from(s, 'utf16le');

export function encodeAvPairs(pairs: readonly AvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const { id, value } of pairs) {
    if (id === AvId.EOL) continue;
    const head = Buffer.alloc(4);
    head.writeUInt16LE(id, 0);
    head.writeUInt16LE(value.length, 2);
    parts.push(head, value);
  }
  parts.push(Buffer.alloc(4)); // MsvAvEOL
  return Buffer.concat(parts);
}

/** Reads AV pairs up to MsvAvEOL (or the end of the buffer, which some peers omit the EOL before). */
export function decodeAvPairs(data: Buffer): AvPair[] {
  const pairs: AvPair[] = [];
  let at = 0;
  while (at + 4 <= data.length) {
    const id = data.readUInt16LE(at);
    const len = data.readUInt16LE(at + 2);
    if (id === AvId.EOL) return pairs;
    if (at + 4 + len > data.length) throw new WireError('an AV pair runs past the end of the target information');
    pairs.push({ id, value: Buffer.from(data.subarray(at + 4, at + 4 + len)) });
    at += 4 + len;
  }
  return pairs;
}

/** Lays out a fixed header and its variable fields: fills each (len, maxlen, offset) triple. */
function assemble(header: Buffer, fields: readonly { at: number; data: Buffer }[]): Buffer {
  let offset = header.length;
  for (const { at, data } of fields) {
    header.writeUInt16LE(data.length, at);
    header.writeUInt16LE(data.length, at + 2);
    header.writeUInt32LE(offset, at + 4);
    offset += data.length;
  }
  return Buffer.concat([header, ...fields.map((f) => f.data)]);
}

function field(message: Buffer, at: number): Buffer {
  if (at + 8 > message.length) throw new WireError('the message is shorter than its header');
  const len = message.readUInt16LE(at);
  const offset = message.readUInt32LE(at + 4);
  if (len === 0) return Buffer.alloc(0);
  if (offset + len > message.length) throw new WireError('a field points past the end of the message');
  return Buffer.from(message.subarray(offset, offset + len));
}

function header(message: Buffer, type: 1 | 2 | 3, minLength: number): void {
  if (message.length < minLength || !message.subarray(0, 8).equals(SIGNATURE)) throw new WireError('it is not an NTLMSSP message');
  const actual = message.readUInt32LE(8);
  if (actual !== type) throw new WireError(`expected NTLM message type ${type}, got ${actual}`);
}

export interface NegotiateMessage { flags: number }

export function encodeNegotiate(flags: number): Buffer {
  const head = Buffer.alloc(40);
  SIGNATURE.copy(head, 0);
  head.writeUInt32LE(1, 8);
  head.writeUInt32LE(flags >>> 0, 12);
  OUR_VERSION.copy(head, 32);
  return assemble(head, [{ at: 16, data: Buffer.alloc(0) }, { at: 24, data: Buffer.alloc(0) }]);
}

export function decodeNegotiate(message: Buffer): NegotiateMessage {
  header(message, 1, 16);
  return { flags: message.readUInt32LE(12) };
}

export interface ChallengeMessage {
  flags: number;
  serverChallenge: Buffer;
  targetName: Buffer;
  targetInfo: Buffer;
}

export function encodeChallenge(c: ChallengeMessage): Buffer {
  const head = Buffer.alloc(56);
  SIGNATURE.copy(head, 0);
  head.writeUInt32LE(2, 8);
  head.writeUInt32LE(c.flags >>> 0, 20);
  c.serverChallenge.copy(head, 24);
  OUR_VERSION.copy(head, 48);
  return assemble(head, [{ at: 12, data: c.targetName }, { at: 40, data: c.targetInfo }]);
}

export function decodeChallenge(message: Buffer): ChallengeMessage {
  header(message, 2, 32);
  const flags = message.readUInt32LE(20);
  const hasInfo = message.length >= 48 && (flags & NtlmFlag.TARGET_INFO) !== 0;
  return {
    flags,
    serverChallenge: Buffer.from(message.subarray(24, 32)),
    targetName: field(message, 12),
    targetInfo: hasInfo ? field(message, 40) : Buffer.alloc(0),
  };
}

export interface AuthenticateMessage {
  flags: number;
  lmResponse: Buffer;
  ntResponse: Buffer;
  domain: Buffer;
  user: Buffer;
  workstation: Buffer;
  encryptedSessionKey: Buffer;
  /** 16 bytes, or empty when the message has no room for one (no VERSION, old peers). */
  mic: Buffer;
}

/** Where the MIC sits in an AUTHENTICATE_MESSAGE that carries VERSION (MS-NLMP §2.2.1.3). */
export const MIC_OFFSET = 72;

export function encodeAuthenticate(a: Omit<AuthenticateMessage, 'mic'>): Buffer {
  const head = Buffer.alloc(88);
  SIGNATURE.copy(head, 0);
  head.writeUInt32LE(3, 8);
  head.writeUInt32LE(a.flags >>> 0, 60);
  OUR_VERSION.copy(head, 64);
  // Payload order as Windows writes it: domain, user, workstation, then the responses and the key.
  return assemble(head, [
    { at: 28, data: a.domain },
    { at: 36, data: a.user },
    { at: 44, data: a.workstation },
    { at: 12, data: a.lmResponse },
    { at: 20, data: a.ntResponse },
    { at: 52, data: a.encryptedSessionKey },
  ]);
}

export function decodeAuthenticate(message: Buffer): AuthenticateMessage {
  header(message, 3, 64);
  const flags = message.readUInt32LE(60);
  // The payload starts at the lowest offset of a non-empty field; a MIC fits only if that leaves 88 bytes of header.
  const offsets = [12, 20, 28, 36, 44, 52].filter((at) => message.readUInt16LE(at) > 0).map((at) => message.readUInt32LE(at + 4));
  const payloadStart = Math.min(message.length, ...offsets);
  return {
    flags,
    lmResponse: field(message, 12),
    ntResponse: field(message, 20),
    domain: field(message, 28),
    user: field(message, 36),
    workstation: field(message, 44),
    encryptedSessionKey: field(message, 52),
    mic: payloadStart >= MIC_OFFSET + 16 ? Buffer.from(message.subarray(MIC_OFFSET, MIC_OFFSET + 16)) : Buffer.alloc(0),
  };
}
