/**
 * The simulated WinRM listener's Negotiate layer: NTLM acceptance and message encryption, as the
 * `winrm` executor's NTLM module provides them (src/executors/winrm/ntlm.ts, http-encryption.ts).
 * Kept behind this one function so that the listener names the shape it needs, not a file.
 */

/** The sealing of an authenticated NTLM session. */
export interface NtlmSessionLike {
  seal(message: Buffer): { signature: Buffer; sealed: Buffer };
  unseal(sealed: Buffer, signature: Buffer): Buffer;
}

/** What the listener needs of NTLM: an acceptor per handshake, and the message encryption of [MS-WSMV] 2.2.9.1. */
export interface NtlmLayer {
  acceptor(options: { lookup: (user: string, domain: string) => string | null; targetName?: string; channelBindings?: Buffer }): {
    challenge(negotiate: Buffer): Buffer;
    accept(authenticate: Buffer): { user: string; domain: string };
    readonly session: NtlmSessionLike;
  };
  encryptBody(session: NtlmSessionLike, body: Buffer, contentType: string): { body: Buffer; contentType: string };
  decryptBody(session: NtlmSessionLike, body: Buffer, contentType: string): Buffer;
}

/** The NTLM layer, or null where there is none (the listener then offers no Negotiate). */
export async function negotiateAuth(): Promise<NtlmLayer | null> {
  return null;
}
