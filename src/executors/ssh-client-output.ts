/**
 * What OpenSSH's `ssh` said when a `pwsh+ssh` session could not be made. PowerShell reports every
 * such failure alike ("The SSH transport process has abruptly terminated"), which alone reads as an
 * unreachable target and is retried; ssh's own lines, which the remoting host collects, tell refused
 * credentials and an untrusted host key apart. Those are not retried: the next attempt would be
 * refused the same way.
 */
import { ExecutorError } from '../errors.js';

/** What is known of the credentials and the host key trust, for the hint. */
export interface SshClientContext {
  /** The key file given to ssh (`RUNBOOK_SSH_KEY`), if any. */
  keyPath?: string;
  /** The key file's header says it is encrypted (ssh could use it only through ssh-agent). */
  keyEncrypted?: boolean;
  /** The host key was pinned by `RUNBOOK_SSH_FINGERPRINT`. */
  pinned?: boolean;
}

/** ssh's last words for refused credentials (sshconnect2.c's and the server's). */
const AUTH_FAILED = /Permission denied \(|Too many authentication failures|No more authentication methods to try/i;
/** ssh's last words for a host key it does not trust (sshconnect.c). */
const HOST_KEY = /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed|No \S+ host key is known for/i;

/** One of ssh's lines as it goes into a message: trimmed, at most 200 characters. */
function quoted(line: string): string {
  const text = line.trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * The error for ssh's output when it names refused credentials or an untrusted host key (permanent),
 * or null: the failure is another (a connection refused or timed out), classified as before.
 *
 * @example
 * ```ts
 * sshClientFailure(['admin@orch01: Permission denied (publickey).'], 'pwsh+ssh://admin@orch01:22', { keyPath: '/home/ops/.ssh/id_ed25519' });
 * // ExecutorError permanent: "SSH authentication failed: admin@orch01: Permission denied (publickey). (pwsh+ssh://…)"
 * ```
 */
export function sshClientFailure(lines: readonly string[], where: string, context: SshClientContext = {}): ExecutorError | null {
  const auth = lines.find((line) => AUTH_FAILED.test(line));
  if (auth) {
    const { keyPath, keyEncrypted } = context;
    const hint = !keyPath
      ? 'set RUNBOOK_SSH_KEY to the path of a private key the target authorizes, or load it into ssh-agent (pwsh+ssh cannot use a password or a passphrase)'
      : keyEncrypted
        ? `${keyPath} is encrypted: pwsh+ssh can use it only through ssh-agent (ssh-add ${keyPath}); check that the agent holds it and that the target authorizes it`
        : `check that the target authorizes the key ${keyPath} (RUNBOOK_SSH_KEY): its public key in the account's authorized_keys (administrators_authorized_keys for an administrator on Windows)`;
    return new ExecutorError('permanent', `SSH authentication failed: ${quoted(auth)}`, { where, hint });
  }
  // ssh's closing line rather than the banner of its warning about a changed key.
  const hostKey = lines.find((line) => /Host key verification failed/i.test(line)) ?? lines.find((line) => HOST_KEY.test(line));
  if (hostKey) {
    return context.pinned
      ? new ExecutorError('permanent', `ssh refused the host key: it is not the one RUNBOOK_SSH_FINGERPRINT pins (${quoted(hostKey)})`, {
          where,
          hint: "check the server's host key on its console (ssh-keygen -l -E sha256 -f the host key's .pub) and RUNBOOK_SSH_FINGERPRINT",
        })
      : new ExecutorError('permanent', `the host key is not trusted: ${quoted(hostKey)}`, {
          where,
          hint: 'add the host to known_hosts (ssh-keyscan, after checking the key) or RUNBOOK_SSH_KNOWN_HOSTS, or pin its fingerprint with RUNBOOK_SSH_FINGERPRINT',
        });
  }
  return null;
}
