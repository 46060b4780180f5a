/**
 * A pinned host key (`RUNBOOK_SSH_FINGERPRINT`) for the `pwsh+ssh` executor, whose connection is
 * OpenSSH's `ssh`, started by PowerShell: ssh knows no fingerprints, only known_hosts files. So the
 * controller fetches the host's key first (an SSH handshake with the ssh2 library that stops at the
 * host key, before any authentication), refuses it unless its SHA256 fingerprint is the pinned one,
 * and writes exactly that key to a known_hosts file of its own, under an alias; PowerShell then starts
 * ssh with that file as its only host key database and `StrictHostKeyChecking=yes`, so that ssh itself
 * accepts that key and no other, at every connection (a session made again after a restart too).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutorError } from '../errors.js';
import { cancelledError } from './common.js';
import { classifySshError, fingerprintOf } from './ssh.js';
import { parseHostKeyPin, pinMatches } from './ssh-fingerprint.js';

/**
 * The name the pinned key is filed under, given to ssh as `HostKeyAlias`: ssh then looks the key up by
 * this name alone, whatever the host name's case or port.
 */
export const PINNED_HOST_ALIAS = 'runbook-pinned-host';

/** A host key verified against its pin, in a known_hosts file of its own. */
export interface PinnedHostKey {
  /** The known_hosts file: one line, {@link PINNED_HOST_ALIAS} and the key. */
  knownHosts: string;
  alias: string;
  /** Removes the file. */
  remove(): Promise<void>;
}

/**
 * The host's key, from an SSH handshake that goes no further: the verifier keeps the key and turns it
 * down, so no credential is ever sent. A host that cannot be reached fails as ssh's connections do
 * (refused, unreachable, timeout: transient).
 */
export async function fetchHostKey(host: string, port: number, where: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
  options.signal?.throwIfAborted();
  const { Client } = await import('ssh2');
  return new Promise<Buffer>((resolve, reject) => {
    const client = new Client();
    let key: Buffer | null = null;
    const onAbort = () => {
      client.end();
      reject(cancelledError(where));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (fn: () => void) => {
      options.signal?.removeEventListener('abort', onAbort);
      client.end();
      fn();
    };
    client.on('error', (error) => settle(() => (key ? resolve(key) : reject(classifySshError(error, where)))));
    client.on('close', () => settle(() => (key ? resolve(key) : reject(new ExecutorError('reset', 'the connection closed before the host sent its key', { where })))));
    client.connect({
      host,
      port,
      username: 'runbook-host-key',
      readyTimeout: options.timeoutMs ?? 15_000,
      hostVerifier: (offered: Buffer) => {
        key = Buffer.from(offered);
        return false;
      },
    });
  });
}

/** The key type a host key blob names first (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256` …). */
function keyType(key: Buffer): string {
  const length = key.readUInt32BE(0);
  return key.toString('latin1', 4, 4 + length);
}

/**
 * Checks the host's key against a pinned fingerprint and files it for ssh (see the module's comment).
 * A fingerprint not written as ssh-keygen writes one, and a host key that is not the pinned one, are
 * refused (permanent: nothing is run on that host); a host that cannot be reached is transient.
 *
 * @param fingerprint the pin as ssh-keygen -l prints it: `SHA256:…` or `MD5:aa:bb:…` (another form: ValidationError)
 * @param source what set it, as the operator knows it: `RUNBOOK_SSH_FINGERPRINT`
 *
 * @example
 * ```ts
 * const pinned = await pinHostKey('orch01', 22, process.env.RUNBOOK_SSH_FINGERPRINT!, 'RUNBOOK_SSH_FINGERPRINT', 'pwsh+ssh://admin@orch01:22');
 * // ssh -o UserKnownHostsFile=<pinned.knownHosts> -o HostKeyAlias=<pinned.alias> -o StrictHostKeyChecking=yes …
 * await pinned.remove();
 * ```
 */
export async function pinHostKey(
  host: string,
  port: number,
  fingerprint: string,
  source: string,
  where: string,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<PinnedHostKey> {
  const pin = parseHostKeyPin(fingerprint, source, where);
  const key = await fetchHostKey(host, port, where, options);
  const offered = fingerprintOf(key);
  if (!pinMatches(pin, key)) {
    throw new ExecutorError('permanent', `the host key ${offered} is not the one ${source} pins (${pin.text}); nothing was run there`, {
      where,
      hint: `check the server's host key on its console (ssh-keygen -l -E sha256 -f the host key's .pub): if it changed on purpose, set ${source} to its fingerprint; if not, another machine answers at this address`,
    });
  }
  const dir = await mkdtemp(join(tmpdir(), 'rbe-pinned-'));
  const knownHosts = join(dir, 'known_hosts');
  await writeFile(knownHosts, `${PINNED_HOST_ALIAS} ${keyType(key)} ${key.toString('base64')}\n`, { mode: 0o600 });
  return { knownHosts, alias: PINNED_HOST_ALIAS, remove: () => rm(dir, { recursive: true, force: true }) };
}
