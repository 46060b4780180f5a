/**
 * WinRM's HTTP message encryption with an NTLM session (MS-WSMV §2.2.9.1.1, "Negotiate Encrypted
 * Message"): the SOAP body travels as `multipart/encrypted` with two parts — a header part naming
 * the protocol and the original content type and length, then `application/octet-stream` holding a
 * 4-byte little-endian signature length, the NTLM signature (16 bytes) and the sealed body. Each
 * delimiter line is `--Encrypted Boundary`, each part header is preceded by a tab, and the sealed
 * bytes are followed directly by the closing `--Encrypted Boundary--` (as Windows and pywinrm write it).
 *
 * `multipart/x-multi-encrypted` (the body split into several such pairs, which WinRM uses for large
 * CredSSP messages) is read too; encryptBody always writes a single pair, as pywinrm does for NTLM.
 */
import { NtlmError, type NtlmSession } from './ntlm.js';

export type { NtlmSession } from './ntlm.js';

/** The protocol of WinRM's SPNEGO (NTLM or Kerberos) message encryption. */
export const SPNEGO_ENCRYPTED = 'application/HTTP-SPNEGO-session-encrypted';

const BOUNDARY = 'Encrypted Boundary';
const OCTET_STREAM = 'application/octet-stream';
const CRLF = Buffer.from('\r\n');

/** True when a Content-Type header says the body is encrypted with SPNEGO (NTLM here). */
export function isEncryptedContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [type] = contentType.split(';');
  return /^multipart\/(x-multi-)?encrypted$/i.test(type!.trim()) && parameter(contentType, 'protocol')?.toLowerCase() === SPNEGO_ENCRYPTED.toLowerCase();
}

function parameter(contentType: string, name: string): string | undefined {
  for (const part of contentType.split(';').slice(1)) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim().toLowerCase() !== name) continue;
    return part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

/**
 * Seals `body` (whose own type is `contentType`, e.g. `application/soap+xml;charset=UTF-8`) into a
 * WinRM encrypted body and the Content-Type header to send with it.
 *
 * @example
 * ```ts
 * declare const session: NtlmSession; // an NtlmInitiator's, after authenticate()
 * const envelope = '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">…</s:Envelope>';
 * const { body, contentType } = encryptBody(session, Buffer.from(envelope), 'application/soap+xml;charset=UTF-8');
 * await fetch('http://host:5985/wsman', { method: 'POST', body: new Uint8Array(body), headers: { 'Content-Type': contentType } });
 * ```
 */
export function encryptBody(session: NtlmSession, body: Buffer, contentType: string): { body: Buffer; contentType: string } {
  const { signature, sealed } = session.seal(body);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(signature.length);
  const out = Buffer.concat([
    Buffer.from(
      `--${BOUNDARY}\r\n` +
        `\tContent-Type: ${SPNEGO_ENCRYPTED}\r\n` +
        `\tOriginalContent: type=${contentType};Length=${body.length}\r\n` +
        `--${BOUNDARY}\r\n` +
        `\tContent-Type: ${OCTET_STREAM}\r\n`,
      'latin1',
    ),
    length,
    signature,
    sealed,
    Buffer.from(`--${BOUNDARY}--\r\n`, 'latin1'),
  ]);
  return { body: out, contentType: `multipart/encrypted;protocol="${SPNEGO_ENCRYPTED}";boundary="${BOUNDARY}"` };
}

const bad = (what: string): NtlmError => new NtlmError('bad-message', `the encrypted WinRM body is malformed: ${what}`);

/**
 * Unseals a WinRM encrypted body (`multipart/encrypted` or `multipart/x-multi-encrypted`) and checks
 * every part's signature and length. Throws NtlmError 'bad-message' for a malformed body or one that
 * is not encrypted, 'bad-signature' for a part altered in transit.
 *
 * @example
 * ```ts
 * declare const session: NtlmSession; // the same session that encrypted the request
 * declare const response: Response;   // WinRM's answer
 * const envelope = decryptBody(session, Buffer.from(await response.arrayBuffer()), response.headers.get('content-type') ?? '').toString('utf8');
 * ```
 */
export function decryptBody(session: NtlmSession, body: Buffer, contentType: string): Buffer {
  if (!isEncryptedContentType(contentType)) throw bad(`its Content-Type is ${JSON.stringify(contentType)}, not multipart/encrypted with protocol "${SPNEGO_ENCRYPTED}"`);
  const delimiter = Buffer.from(`--${parameter(contentType, 'boundary') ?? BOUNDARY}`, 'latin1');
  const plain: Buffer[] = [];
  let at = 0;
  const expectDelimiter = (): 'more' | 'end' => {
    if (body.subarray(at, at + 2).equals(CRLF)) at += 2; // tolerated: a line break after the sealed bytes
    if (!body.subarray(at, at + delimiter.length).equals(delimiter)) throw bad(`expected the boundary at byte ${at}`);
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString('latin1') === '--') return 'end';
    if (!body.subarray(at, at + 2).equals(CRLF)) throw bad(`the boundary at byte ${at - delimiter.length} is not followed by a line break`);
    at += 2;
    return 'more';
  };
  while (expectDelimiter() === 'more') {
    // Header part: tab-indented header lines up to the next boundary.
    const next = body.indexOf(delimiter, at);
    if (next < 0) throw bad('a header part has no data part after it');
    const headers = body.subarray(at, next).toString('latin1').split('\r\n').map((l) => l.trim()).filter(Boolean);
    const type = headers.find((h) => /^content-type:/i.test(h))?.slice('content-type:'.length).trim();
    if (type?.toLowerCase() !== SPNEGO_ENCRYPTED.toLowerCase()) throw bad(`a header part's Content-Type is ${JSON.stringify(type ?? null)}`);
    const original = headers.find((h) => /^originalcontent:/i.test(h));
    const length = Number(/;\s*length=(\d+)/i.exec(original ?? '')?.[1] ?? NaN);
    if (!Number.isSafeInteger(length)) throw bad('a header part has no OriginalContent with its Length');
    at = next;
    if (expectDelimiter() !== 'more') throw bad('a header part has no data part after it');
    // Data part: its Content-Type line, then signature length, signature, sealed bytes.
    const lineEnd = body.indexOf(CRLF, at);
    const line = lineEnd < 0 ? '' : body.subarray(at, lineEnd).toString('latin1').trim();
    if (!/^content-type:\s*application\/octet-stream$/i.test(line)) throw bad(`a data part starts with ${JSON.stringify(line.slice(0, 60))}`);
    at = lineEnd + 2;
    if (at + 4 > body.length) throw bad('a data part ends before its signature length');
    const signatureLength = body.readUInt32LE(at);
    at += 4;
    if (at + signatureLength + length > body.length) throw bad(`a data part is shorter than its signature and the ${length} bytes it announces`);
    const signature = body.subarray(at, at + signatureLength);
    at += signatureLength;
    // NTLM sealing is a stream cipher: the sealed bytes are exactly as long as the original content.
    plain.push(session.unseal(body.subarray(at, at + length), signature));
    at += length;
  }
  return Buffer.concat(plain);
}
