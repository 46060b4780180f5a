/**
 * `tls-server-end-point` channel bindings (RFC 5929 §4.1) for NTLM over HTTPS: the prefix followed by
 * a hash of the server's DER certificate, the hash being the one the certificate's signature uses —
 * except MD5 and SHA-1, replaced by SHA-256. Signature algorithms that name no single hash (RSA-PSS,
 * Ed25519) get SHA-256 here, as the common implementations do.
 */
import { createHash } from 'node:crypto';

/** Hash of each signature algorithm OID (DER content bytes, hex) this module recognises. */
const SIGNATURE_HASH: Readonly<Record<string, 'sha256' | 'sha384' | 'sha512'>> = {
  '2a864886f70d01010c': 'sha384', // sha384WithRSAEncryption
  '2a864886f70d01010d': 'sha512', // sha512WithRSAEncryption
  '2a8648ce3d040303': 'sha384', // ecdsa-with-SHA384
  '2a8648ce3d040304': 'sha512', // ecdsa-with-SHA512
};

/** Reads one DER element at `at`: its tag, where its content starts and ends. */
function element(der: Buffer, at: number): { tag: number; start: number; end: number } {
  const tag = der[at]!;
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i += 1) len = len * 256 + der[start + i]!;
    start += n;
  }
  if (start + len > der.length) throw new RangeError('the certificate is not valid DER: an element runs past its end');
  return { tag, start, end: start + len };
}

/** The DER bytes of the certificate's signatureAlgorithm OID (Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signature }). */
function signatureAlgorithmOid(der: Buffer): string {
  const cert = element(der, 0);
  const tbs = element(der, cert.start);
  const algorithm = element(der, tbs.end);
  const oid = element(der, algorithm.start);
  if (cert.tag !== 0x30 || tbs.tag !== 0x30 || algorithm.tag !== 0x30 || oid.tag !== 0x06) throw new RangeError('the certificate is not an X.509 certificate in DER');
  return der.subarray(oid.start, oid.end).toString('hex');
}

/**
 * The channel-binding application data for a server certificate given in DER.
 *
 * @example
 * ```ts
 * import { connect } from 'node:tls';
 * const socket = connect({ host: 'winrm.example.com', port: 5986 }, () => {
 *   const channelBindings = tlsServerEndPoint(socket.getPeerX509Certificate()!.raw); // 'tls-server-end-point:' + hash
 *   console.log(channelBindings.length); // 21 + 32 for a certificate signed with SHA-256
 * });
 * ```
 */
export function tlsServerEndPoint(certificateDer: Buffer): Buffer {
  const hash = SIGNATURE_HASH[signatureAlgorithmOid(certificateDer)] ?? 'sha256';
  return Buffer.concat([Buffer.from('tls-server-end-point:', 'ascii'), createHash(hash).update(certificateDer).digest()]);
}
