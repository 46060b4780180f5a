/**
 * The key file check of the pwsh+ssh executor: what a private key's header says of its encryption,
 * in every format ssh-keygen writes, and what is refused before ssh is started.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkKeyFile, privateKeyEncrypted } from '../../src/executors/ssh-key-file.js';
import { tempDir } from '../helpers.js';

const KEYGEN = !spawnSync('ssh-keygen', ['-?']).error;
if (!KEYGEN && process.env.CI) throw new Error('ssh-keygen is required in CI: .ci/run installs openssh-server');
const WHERE = 'pwsh+ssh://admin@orch01:22';

/** A key made by ssh-keygen: `format` its -m (none: OpenSSH's own), `passphrase` '' for none. */
async function keyText(type: string, format: string | null, passphrase: string): Promise<string> {
  const file = join(await tempDir(), 'key');
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(format ? ['-m', format] : []), '-N', passphrase, '-f', file]);
  return readFile(file, 'latin1');
}

if (KEYGEN) {
  test('the encryption of a key is read from its header, in each format ssh-keygen writes', async () => {
    const cases: [string, string | null, string, string][] = [
      ['ed25519', null, 'OPENSSH', 'cipher name after the magic'],
      ['ecdsa', 'PEM', 'EC', 'Proc-Type header'],
      ['ecdsa', 'PKCS8', '', 'ENCRYPTED PRIVATE KEY armor'],
    ];
    for (const [type, format, armor, how] of cases) {
      const plain = await keyText(type, format, '');
      const encrypted = await keyText(type, format, 'right-horse-battery');
      assert.ok(plain.includes(`-----BEGIN ${armor ? `${armor} ` : ''}PRIVATE KEY-----`), plain.split('\n')[0]);
      assert.is(privateKeyEncrypted(plain), false, `${type} ${format ?? 'OpenSSH'} without a passphrase`);
      assert.is(privateKeyEncrypted(encrypted), true, `${type} ${format ?? 'OpenSSH'} with one (${how})`);
    }
  });
}

test('a text in no private key format is left to ssh', () => {
  assert.is(privateKeyEncrypted(''), null);
  assert.is(privateKeyEncrypted('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO7b admin@orch01\n'), null);
  assert.is(privateKeyEncrypted('-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n'), null);
});

test('a key file that is not there, or is a directory, is refused naming the file and the variable; a readable one is not', async () => {
  const dir = await tempDir();
  const absent = checkKeyFile(join(dir, 'id_absent'), 'RUNBOOK_SSH_KEY', WHERE, false);
  assert.is(absent.error?.kind, 'permanent');
  assert.is(absent.error?.message, `the SSH private key ${join(dir, 'id_absent')} (RUNBOOK_SSH_KEY) does not exist (${WHERE})\n  → set RUNBOOK_SSH_KEY to the path of a private key file this user can read, or load the key into ssh-agent (ssh-add) and leave RUNBOOK_SSH_KEY unset`);
  await mkdir(join(dir, 'keys'));
  assert.match(checkKeyFile(join(dir, 'keys'), 'RUNBOOK_SSH_KEY', WHERE, false).error?.message ?? '', /keys \(RUNBOOK_SSH_KEY\) is a directory, not a key file/);
  await writeFile(join(dir, 'id_other'), 'not a key format this check reads');
  assert.equal(checkKeyFile(join(dir, 'id_other'), 'RUNBOOK_SSH_KEY', WHERE, false), { error: null, encrypted: null });
});

if (KEYGEN) {
  test('an encrypted key is refused without an ssh-agent, never showing the key; with one it is left to ssh, marked encrypted', async () => {
    const file = join(await tempDir(), 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'right-horse-battery', '-f', file]);
    const text = await readFile(file, 'latin1');
    const refused = checkKeyFile(file, 'RUNBOOK_SSH_KEY', WHERE, false);
    assert.is(refused.error?.kind, 'permanent');
    assert.match(refused.error?.message ?? '', /^the SSH private key \S+id_ed25519 \(RUNBOOK_SSH_KEY\) is encrypted, and pwsh\+ssh cannot give ssh its passphrase/);
    for (const line of text.split('\n').filter((l) => l.length > 20)) assert.not.ok(refused.error?.message.includes(line), 'no line of the key');
    assert.equal(checkKeyFile(file, 'RUNBOOK_SSH_KEY', WHERE, true), { error: null, encrypted: true });
  });
}

test.run();
