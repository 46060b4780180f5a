/**
 * The simulated WinRM listener's Negotiate layer: NTLM acceptance and message encryption, from the
 * `winrm` executor's NTLM module (src/executors/winrm/). Kept behind this one shape so that the
 * listener names what it needs of NTLM — an acceptor per handshake, and the message encryption of
 * [MS-WSMV] 2.2.9.1 — and another mechanism could stand in for it.
 */
import { NtlmAcceptor, tlsServerEndPoint, type NtlmSession } from '../executors/winrm/ntlm.js';
import { decryptBody, encryptBody, isEncryptedContentType } from '../executors/winrm/http-encryption.js';

/** What the listener needs of NTLM. */
export interface NtlmLayer {
  acceptor(options: { lookup: (user: string, domain: string) => string | null; targetName?: string; channelBindings?: Buffer }): {
    challenge(negotiate: Buffer): Buffer;
    accept(authenticate: Buffer): { user: string; domain: string };
    readonly session: NtlmSession;
  };
  /** The channel-binding data of a TLS server certificate (DER). */
  channelBindings(certificateDer: Buffer): Buffer;
  isEncrypted(contentType: string | undefined): boolean;
  encryptBody(session: NtlmSession, body: Buffer, contentType: string): { body: Buffer; contentType: string };
  decryptBody(session: NtlmSession, body: Buffer, contentType: string): Buffer;
}

/**
 * The NTLM layer the listener uses.
 *
 * @example
 * ```ts
 * const ntlm = negotiateAuth();
 * const acceptor = ntlm.acceptor({ lookup: (user) => (user === 'admin' ? 'secret' : null) });
 * ```
 */
export function negotiateAuth(): NtlmLayer {
  return {
    acceptor: (options) => new NtlmAcceptor(options),
    channelBindings: tlsServerEndPoint,
    isEncrypted: isEncryptedContentType,
    encryptBody,
    decryptBody,
  };
}
