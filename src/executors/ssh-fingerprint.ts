/**
 * A pinned SSH host key fingerprint (`RUNBOOK_SSH_FINGERPRINT`), read in the forms OpenSSH prints:
 * `ssh-keygen -l -E sha256` prints `SHA256:` and the digest in base64 without its `=` padding;
 * `ssh-keygen -l -E md5` prints `MD5:` and the digest in hex pairs joined by colons (OpenSSH before 6.8
 * printed the hex alone). A pin copied with its padding (`…=`) or the prefix in another case is the same
 * pin. Anything else is refused when the target is read, before any connection, saying which forms are.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';

/** A pin: the digest's algorithm and bytes, and the text as given (for messages). */
export interface HostKeyPin {
  algorithm: 'sha256' | 'md5';
  digest: Buffer;
  text: string;
}

const SHA256 = /^sha256:([A-Za-z0-9+/]{43})=?$/i;
const MD5 = /^(?:md5:)?([0-9a-f]{2}(?::[0-9a-f]{2}){15})$/i;

/**
 * Reads a pinned fingerprint; throws a ValidationError (what, where, what to do) for any other form.
 *
 * @param source what set it, as the operator knows it: `RUNBOOK_SSH_FINGERPRINT`
 * @param where the target it is for
 */
export function parseHostKeyPin(fingerprint: string, source: string, where: string): HostKeyPin {
  const text = fingerprint.trim();
  const sha = SHA256.exec(text);
  if (sha) return { algorithm: 'sha256', digest: Buffer.from(sha[1], 'base64'), text };
  const md5 = MD5.exec(text);
  if (md5) return { algorithm: 'md5', digest: Buffer.from(md5[1].replace(/:/g, ''), 'hex'), text };
  throw new ValidationError(`${source} is not an SSH host key fingerprint in a form ssh-keygen prints (${where})`, [
    'SHA256: and 43 base64 characters, as ssh-keygen -l -E sha256 prints it',
    'MD5: and 16 hex pairs joined by colons, as ssh-keygen -l -E md5 prints it',
  ], {
    hint: `nothing was run. Set ${source} to the fingerprint ssh-keygen -l -E sha256 -f <host key .pub> prints on the server (its value is not shown here)`,
  });
}

/** Whether a host key blob is the one a pin names. */
export function pinMatches(pin: HostKeyPin, key: Buffer): boolean {
  return createHash(pin.algorithm).update(key).digest().equals(pin.digest);
}
