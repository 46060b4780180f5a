/**
 * The `pwsh+ssh` executor hands OpenSSH's `ssh` the path of the private key (`New-PSSession
 * -KeyFilePath`) and cannot give it a passphrase: with `BatchMode=yes` ssh skips a key it cannot use
 * and ends with a connection that PowerShell reports as broken, which looks like an unreachable
 * target. What can be known without connecting is checked here first, so that such a key is refused
 * at once, naming the file: a file that cannot be read, and a key whose armor or header says it is
 * encrypted. Nothing of the file is ever put in a message.
 */
import { readFileSync } from 'node:fs';
import { ExecutorError } from '../errors.js';

/** The magic that opens every OpenSSH-format private key (`PROTOCOL.key` in OpenSSH's sources). */
const OPENSSH_MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

/**
 * Whether a private key file's text says it is encrypted: `true` or `false` when its format tells,
 * `null` when the text is in no format recognised here (ssh decides then).
 *
 * - OpenSSH (`-----BEGIN OPENSSH PRIVATE KEY-----`): the cipher name that follows the magic is `none`
 *   for a key without a passphrase.
 * - PKCS#8 (`-----BEGIN ENCRYPTED PRIVATE KEY-----` vs `-----BEGIN PRIVATE KEY-----`).
 * - Traditional PEM (`-----BEGIN RSA|EC|DSA PRIVATE KEY-----`): a `Proc-Type: 4,ENCRYPTED` header.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * privateKeyEncrypted(readFileSync('/home/ops/.ssh/id_ed25519', 'latin1')); // false: made with ssh-keygen -N ''
 * ```
 */
export function privateKeyEncrypted(text: string): boolean | null {
  const openssh = /-----BEGIN OPENSSH PRIVATE KEY-----([^-]*)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (openssh) {
    const body = Buffer.from(openssh[1].replace(/\s+/g, ''), 'base64');
    const at = OPENSSH_MAGIC.length;
    if (body.length < at + 4 || !body.subarray(0, at).equals(OPENSSH_MAGIC)) return null;
    const length = body.readUInt32BE(at);
    if (length === 0 || length > 64 || body.length < at + 4 + length) return null;
    return body.toString('latin1', at + 4, at + 4 + length) !== 'none';
  }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text)) return true;
  if (/-----BEGIN PRIVATE KEY-----/.test(text)) return false;
  const pem = /-----BEGIN [A-Z0-9]+ PRIVATE KEY-----\r?\n((?:[A-Za-z-]+:[^\n]*\r?\n)*)/.exec(text);
  if (pem) return /^Proc-Type:\s*4\s*,\s*ENCRYPTED/im.test(pem[1]);
  return null;
}

/** What {@link checkKeyFile} found: an error to refuse the key with, or whether it is encrypted. */
export type KeyFileCheck = { error: ExecutorError } | { error: null; encrypted: boolean | null };

/**
 * Checks the private key file `pwsh+ssh` will hand to ssh: it must be a readable file, and not an
 * encrypted key unless an ssh-agent may hold it (`agent`: `SSH_AUTH_SOCK` is set, or the controller
 * is Windows, whose OpenSSH talks to the ssh-agent service without it). An encrypted key that the
 * agent turns out not to hold fails as refused credentials when ssh tries it.
 *
 * @param path the key file's path, as configured
 * @param source what set it, as the operator knows it: `RUNBOOK_SSH_KEY`
 * @param where the target
 * @param agent whether an ssh-agent may be offering the key
 *
 * @example
 * ```ts
 * const check = checkKeyFile(process.env.RUNBOOK_SSH_KEY!, 'RUNBOOK_SSH_KEY', 'pwsh+ssh://admin@orch01:22', Boolean(process.env.SSH_AUTH_SOCK));
 * if (check.error) throw check.error; // "the SSH private key /home/ops/.ssh/id_ed25519 (RUNBOOK_SSH_KEY) does not exist …"
 * ```
 */
export function checkKeyFile(path: string, source: string, where: string, agent: boolean): KeyFileCheck {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'unreadable';
    const what = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory, not a key file' : `cannot be read (${code})`;
    return {
      error: new ExecutorError('permanent', `the SSH private key ${path} (${source}) ${what}`, {
        where,
        hint: `set ${source} to the path of a private key file this user can read, or load the key into ssh-agent (ssh-add) and leave ${source} unset`,
      }),
    };
  }
  const encrypted = privateKeyEncrypted(text);
  if (encrypted && !agent) {
    return {
      error: new ExecutorError('permanent', `the SSH private key ${path} (${source}) is encrypted, and pwsh+ssh cannot give ssh its passphrase (RUNBOOK_SSH_PASSPHRASE is read by ssh:// only)`, {
        where,
        hint: `load the key into ssh-agent (ssh-add ${path}) with SSH_AUTH_SOCK set, or use a key without a passphrase, or use ssh://user@host with RUNBOOK_SSH_PASSPHRASE`,
      }),
    };
  }
  return { error: null, encrypted };
}
