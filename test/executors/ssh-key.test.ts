/**
 * A private key given where its path belongs (RUNBOOK_SSH_KEY="$(cat id_ed25519)"), as it is, flattened
 * onto one line, or encoded, is recognised and refused with an error that never shows it; paths are not.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ExecutorError } from '../../src/errors.js';
import { MAX_KEY_PATH_LENGTH, isKeyMaterial, keyMaterialError } from '../../src/executors/ssh-key.js';

/** An OpenSSH private key file as ssh-keygen writes it: armor, then 70-character lines of base64. */
function openSshKeyFile(): { text: string; body: string } {
  const blob = Buffer.concat([Buffer.from('openssh-key-v1\0'), randomBytes(200)]).toString('base64');
  return { text: `-----BEGIN OPENSSH PRIVATE KEY-----\n${blob.match(/.{1,70}/g)!.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`, body: blob };
}

const ed25519Pkcs8 = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const ecSec1 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string;
const rsaPkcs1 = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
const bodyOf = (armored: string) => armored.split('\n').filter((l) => l && !l.startsWith('-----')).join('');

test('paths are paths: POSIX, Windows, relative, with dashes, long but within reason', () => {
  for (const path of [
    '/home/ops/.ssh/id_ed25519',
    '~/.ssh/id_rsa',
    'C:\\Users\\ops\\.ssh\\id_ed25519',
    'keys/deploy',
    'MyKeys/deploy',
    'MAA=',
    '/srv/secrets/ssh/production/webservers/deploykey/privatekeyfile',
    '/run/secrets/ssh-key--BEGIN-here',
    '/var/lib/keys/PuTTY-User-Key-File-3.ppk',
    `/mnt/${'deep/'.repeat(150)}id_ed25519`,
  ]) {
    assert.not.ok(isKeyMaterial(path), path);
    assert.is(keyMaterialError(path, 'RUNBOOK_SSH_KEY', 'ssh://admin@web01'), null, path);
  }
  assert.is(keyMaterialError(undefined, 'RUNBOOK_SSH_KEY', 'ssh://admin@web01'), null);
  assert.is(keyMaterialError('', 'RUNBOOK_SSH_KEY', 'ssh://admin@web01'), null);
});

test('a key is key material: as a file holds it, on one line, without its armor, in base64 at any offset, or too long for a path', () => {
  const openssh = openSshKeyFile();
  const forms: Record<string, string> = {
    'an OpenSSH key file': openssh.text,
    'a key file with CRLF line ends': openssh.text.replace(/\n/g, '\r\n'),
    'its line breaks turned into spaces': openssh.text.replace(/\n/g, ' ').trim(),
    'its armor after a path': `/home/ops/.ssh/id_ed25519 ${openssh.text.replace(/\n/g, ' ')}`,
    'an OpenSSH body without its armor, on one line': openssh.body,
    'an RSA PEM key': rsaPkcs1(),
    'a PKCS#8 Ed25519 body on one line (64 characters)': bodyOf(ed25519Pkcs8()),
    'a SEC1 EC body on one line': bodyOf(ecSec1()),
    'a PuTTY key with spaces for line breaks': 'PuTTY-User-Key-File-3: ssh-ed25519 Encryption: none Comment: x Public-Lines: 2 AAAAC3NzaC1lZDI1NTE5',
    'longer than any path': `/home/ops/${'x'.repeat(MAX_KEY_PATH_LENGTH)}`,
  };
  for (const prefix of ['', 'x', 'xy']) {
    forms[`the key file through base64 after ${prefix.length} bytes`] = Buffer.from(prefix + openssh.text).toString('base64');
    forms[`the key file through URL-safe base64 after ${prefix.length} bytes`] = Buffer.from(prefix + openssh.text).toString('base64url');
  }
  for (const [what, value] of Object.entries(forms)) assert.ok(isKeyMaterial(value), what);
});

test('the refusal names where the value came from and what to do, and never contains it', () => {
  const { text, body } = openSshKeyFile();
  for (const value of [text, Buffer.from(text).toString('base64'), body]) {
    const error = keyMaterialError(value, 'RUNBOOK_SSH_KEY', 'ssh://admin@web01:2222');
    assert.instance(error, ExecutorError);
    assert.is(error!.kind, 'permanent', 'not retried');
    assert.is(
      error!.message,
      'RUNBOOK_SSH_KEY holds a private key, not the path of a key file; its value is not shown (ssh://admin@web01:2222)\n' +
        "  → save the key to a file only you can read (chmod 600) and set RUNBOOK_SSH_KEY to that file's path, or load the key into ssh-agent (ssh-add) and leave RUNBOOK_SSH_KEY unset",
    );
    assert.is(error!.cause, undefined, 'no cause that could carry it');
  }
  assert.match(keyMaterialError(text, 'the privateKeyPath option', 'ssh://admin@web01')!.message, /^the privateKeyPath option holds a private key/);
});

test.run();
