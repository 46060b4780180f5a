/**
 * What went wrong in NTLM. `bad-credentials`: the account or password is not the one the acceptor
 * knows (or the response was not NTLMv2); `bad-message`: a token that cannot be read or a peer that
 * will not agree to what WinRM needs (NTLMv2 with extended session security); `channel-binding`: the
 * client's channel bindings do not match the TLS channel the acceptor sees; `bad-signature`: a sealed
 * message altered, replayed or out of order; `not-established`: the session used before the
 * handshake finished.
 *
 * Messages never carry a password, a hash or a key: they say which check failed.
 */
export type NtlmErrorCode = 'bad-credentials' | 'bad-message' | 'channel-binding' | 'bad-signature' | 'not-established';

/**
 * An NTLM handshake or a sealed message failed; `code` says which check (see {@link NtlmErrorCode}).
 *
 * @example
 * ```ts
 * const error: unknown = new NtlmError('bad-credentials', "the NTLM logon of 'HOST\\admin' was refused: unknown user or wrong password");
 * if (error instanceof NtlmError && error.code === 'bad-credentials') console.error('401: check RUNBOOK_WINRM_USER and RUNBOOK_WINRM_PASSWORD');
 * ```
 */
export class NtlmError extends Error {
  override readonly name = 'NtlmError';
  readonly code: NtlmErrorCode;
  constructor(code: NtlmErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
