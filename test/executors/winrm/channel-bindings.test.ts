import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tlsServerEndPoint } from '../../../src/executors/winrm/channel-bindings.js';
import { tempDir } from '../../helpers.js';
import { needOpenssl, OPENSSL } from '../../tls/openssl.js';

/** A self-signed certificate in DER made by openssl with the given key and signature digest. */
async function certificate(keyArgs: string[], digest: string): Promise<Buffer> {
  const dir = await tempDir('rbe-cbt-');
  try {
    const out = join(dir, 'cert.der');
    execFileSync(OPENSSL!, ['req', '-x509', ...keyArgs, `-${digest}`, '-nodes', '-keyout', join(dir, 'key.pem'), '-out', out, '-outform', 'DER', '-days', '1', '-subj', '/CN=winrm.test'], { stdio: 'ignore' });
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
const prefix = Buffer.from('tls-server-end-point:');

if (needOpenssl('test/executors/winrm/channel-bindings.test.ts')) {
  test('tls-server-end-point hashes the certificate with its signature\'s hash: SHA-256, SHA-384, SHA-512 (RFC 5929 §4.1)', async () => {
    for (const [keyArgs, digest] of [[['-newkey', 'rsa:2048'], 'sha256'], [EC, 'sha384'], [['-newkey', 'rsa:2048'], 'sha512']] as const) {
      const der = await certificate([...keyArgs], digest);
      assert.equal(tlsServerEndPoint(der), Buffer.concat([prefix, createHash(digest).update(der).digest()]), digest);
    }
  });

  test('a certificate signed with SHA-1 is bound with SHA-256, as RFC 5929 says for MD5 and SHA-1', async () => {
    const der = await certificate(EC, 'sha1');
    assert.equal(tlsServerEndPoint(der), Buffer.concat([prefix, createHash('sha256').update(der).digest()]));
  });
}

test('bytes that are not a DER certificate are refused with a clear error', () => {
  assert.throws(() => tlsServerEndPoint(Buffer.from('-----BEGIN CERTIFICATE-----')), /not/);
});

test.run();
