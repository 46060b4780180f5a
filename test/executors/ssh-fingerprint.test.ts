import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { ValidationError } from '../../src/index.js';
import { parseHostKeyPin, pinMatches } from '../../src/executors/ssh-fingerprint.js';
import { fingerprintOf } from '../../src/executors/ssh.js';

const key = Buffer.from('\0\0\0\x0bssh-ed25519 a host key');
const sha = fingerprintOf(key);
const md5 = createHash('md5').update(key).digest('hex').match(/../g)!.join(':');

test('a pin matches in every form OpenSSH prints or that copies it: SHA256 with or without padding, any prefix case, MD5 hex with colons', () => {
  const padded = `${sha}=`;
  for (const text of [sha, padded, `sha256:${sha.slice(7)}`, ` ${sha}\n`, `MD5:${md5}`, `md5:${md5.toUpperCase()}`, md5]) {
    assert.ok(pinMatches(parseHostKeyPin(text, 'RUNBOOK_SSH_FINGERPRINT', 'ssh://admin@orch01'), key), text);
  }
  const other = Buffer.from('\0\0\0\x0bssh-ed25519 another key');
  for (const text of [sha, `MD5:${md5}`]) assert.not.ok(pinMatches(parseHostKeyPin(text, 'RUNBOOK_SSH_FINGERPRINT', 'ssh://admin@orch01'), other), text);
  // The base64 digest itself is case-sensitive: only the prefix is not.
  const swapped = sha.slice(7).replace(/[a-z]/gi, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()));
  assert.not.ok(pinMatches(parseHostKeyPin(`SHA256:${swapped}`, 'RUNBOOK_SSH_FINGERPRINT', 'ssh://admin@orch01'), key));
});

test('a pin in no form ssh-keygen prints is refused when read: what, where, the accepted forms, what to do, no trace', () => {
  for (const text of ['AA:BB:CC', 'SHA256:short', 'SHA1:abcdef', `SHA512:${'A'.repeat(86)}`, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5']) {
    let error: unknown;
    try {
      parseHostKeyPin(text, 'RUNBOOK_SSH_FINGERPRINT', 'ssh://admin@orch01');
    } catch (e) {
      error = e;
    }
    assert.instance(error, ValidationError, text);
    const message = (error as Error).message;
    assert.ok(message.startsWith('RUNBOOK_SSH_FINGERPRINT is not an SSH host key fingerprint in a form ssh-keygen prints (ssh://admin@orch01)'), message);
    assert.match(message, /SHA256: and 43 base64 characters, as ssh-keygen -l -E sha256 prints it/);
    assert.match(message, /MD5: and 16 hex pairs joined by colons/);
    assert.match(message, /→ nothing was run\. Set RUNBOOK_SSH_FINGERPRINT to the fingerprint ssh-keygen -l -E sha256 -f <host key \.pub> prints on the server/);
    assert.not.match(message, /\n\s+at .+:\d+:\d+/);
  }
});

test.run();
