/**
 * The SSH private key is named by a path (`RUNBOOK_SSH_KEY`, or the ssh executor's `privateKeyPath`).
 * A common mistake puts the key itself there (`RUNBOOK_SSH_KEY="$(cat id_ed25519)"`): every message
 * that names the path would then carry the key into the journal, the reports and the terminal. Such a
 * value is recognised here and refused with an error that never shows it, before any file is read or
 * any connection made. Shared by the `ssh` and `pwsh+ssh` executors.
 */
import { ExecutorError } from '../errors.js';
import { base64Cores } from '../util/base64-cores.js';

/**
 * Longer than this, a value is not taken for a path. macOS refuses paths over 1024 bytes (PATH_MAX)
 * and Windows over 260 characters unless long paths are turned on; no one keeps a key file at such a
 * path. Every RSA key (1.6-3.3 KB armored), and every encoding of one, is longer.
 */
export const MAX_KEY_PATH_LENGTH = 1024;

/**
 * Encoded forms of a key: `-----BEGIN` (a whole key file through `base64`) and `openssh-key-v1` (the
 * first bytes of every OpenSSH private key, i.e. a key's body with its armor lines taken off).
 */
const ENCODED_MARKS = [...base64Cores(Buffer.from('-----BEGIN', 'latin1')), ...base64Cores(Buffer.from('openssh-key-v1', 'latin1'))];

/**
 * True when `base64` decodes to one DER structure (a SEQUENCE) exactly as long as itself: a PEM key's
 * body (PKCS#1, SEC1, PKCS#8) on one line without its armor. A path that happens to be valid base64
 * does not decode to a length-prefixed structure that ends exactly where it does.
 */
function isDerSequence(base64: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) return false;
  const der = Buffer.from(base64, 'base64');
  // No private key's DER is shorter (an Ed25519 key in PKCS#8 is 48 bytes).
  if (der.length < 32 || der[0] !== 0x30) return false;
  const first = der[1];
  if (first < 0x80) return der.length === 2 + first;
  const size = first & 0x7f;
  if (size < 1 || size > 3 || der.length < 2 + size) return false;
  let length = 0;
  for (let i = 0; i < size; i++) length = length * 256 + der[2 + i];
  return der.length === 2 + size + length;
}

/**
 * Whether a value given as the path of an SSH private key is key material instead: it has a line
 * break (every key file format is several lines; a file name with one is unheard of, and Windows
 * refuses it), a key's armor (`-----BEGIN …`, `PuTTY-User-Key-File-N:`, also when its line breaks were
 * turned into spaces), a base64 encoding of a key (see {@link ENCODED_MARKS} and {@link isDerSequence}),
 * or is longer than {@link MAX_KEY_PATH_LENGTH}.
 *
 * @example
 * ```ts
 * isKeyMaterial('/home/ops/.ssh/id_ed25519'); // false
 * isKeyMaterial('-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA…'); // true
 * isKeyMaterial('LS0tLS1CRUdJTiBPUEVOU1NIIFBSSVZBVEUgS0VZLS0tLS0K…'); // true: the key file through base64
 * ```
 */
export function isKeyMaterial(value: string): boolean {
  if (value.length > MAX_KEY_PATH_LENGTH) return true;
  if (/[\r\n]/.test(value)) return true;
  if (/-{4,} ?BEGIN|PuTTY-User-Key-File-\d+:/.test(value)) return true;
  // URL-safe base64 (- and _) read as the standard alphabet.
  const standard = value.replace(/-/g, '+').replace(/_/g, '/');
  if (ENCODED_MARKS.some((mark) => standard.includes(mark))) return true;
  return isDerSequence(value.trim());
}

/**
 * The error for a key path that is key material ({@link isKeyMaterial}), or null for a path. The
 * error says where the value came from (`source`) and what to do; it never contains the value.
 *
 * @param value the configured path
 * @param source what set it, as the operator knows it: `RUNBOOK_SSH_KEY`, or an option's name
 * @param where the target
 *
 * @example
 * ```ts
 * const refused = keyMaterialError(process.env.RUNBOOK_SSH_KEY, 'RUNBOOK_SSH_KEY', 'ssh://admin@web01');
 * if (refused) throw refused; // "RUNBOOK_SSH_KEY holds a private key, not the path of a key file …"
 * ```
 */
export function keyMaterialError(value: string | undefined, source: string, where: string): ExecutorError | null {
  if (!value || !isKeyMaterial(value)) return null;
  return new ExecutorError('permanent', `${source} holds a private key, not the path of a key file; its value is not shown`, {
    where,
    hint: `save the key to a file only you can read (chmod 600) and set ${source} to that file's path, or load the key into ssh-agent (ssh-add) and leave ${source} unset`,
  });
}
