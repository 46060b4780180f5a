/**
 * WinRM's encrypted bodies against pywinrm (Debian's python3-winrm) over an independent NTLM
 * (python3-ntlm-auth, which pywinrm uses through requests_ntlm): pywinrm's encrypted requests are
 * read by our acceptor's session and decryptBody, our encryptBody's responses by pywinrm — the two
 * halves of what a WinRM listener does, without HTTP (the simulated host's listener is tested with
 * pywinrm end to end elsewhere). The peer is required: without it these tests fail (.ci/run installs it).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { decryptBody, encryptBody } from '../../../src/executors/winrm/http-encryption.js';
import { NtlmAcceptor, NtlmError } from '../../../src/executors/winrm/ntlm.js';

const PYTHON = '/usr/bin/python3';
const PEER = join(import.meta.dirname, 'pywinrm-peer.py');
const SOAP = 'application/soap+xml;charset=UTF-8';
// ntlm_auth hashes with hashlib's MD4, which OpenSSL 3 has only in its legacy provider: enabled for the peer alone.
const PEER_ENV = { ...process.env, OPENSSL_CONF: join(import.meta.dirname, 'openssl-legacy.cnf') };
const started: ChildProcess[] = [];

/** pywinrm-peer.py, spoken to one JSON line at a time. */
function pywinrm(password: string) {
  const child = spawn(PYTHON, [PEER, 'Administrator', 'SIMHOST'], { env: { ...PEER_ENV, PEER_PASSWORD: password }, stdio: ['pipe', 'pipe', 'inherit'] });
  started.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    async next(): Promise<Record<string, string>> {
      const { value, done } = await lines.next();
      if (done) throw new Error('pywinrm-peer.py ended early (see its stderr above)');
      return JSON.parse(value as string) as Record<string, string>;
    },
    send(message: Record<string, string>): void {
      child.stdin!.write(`${JSON.stringify(message)}\n`);
    },
    end(): void {
      child.stdin!.end();
    },
  };
}

async function connected() {
  const peer = pywinrm('S3cret-Pass!');
  const acceptor = new NtlmAcceptor({ lookup: (u, d) => (u === 'Administrator' && d === 'SIMHOST' ? 'S3cret-Pass!' : null), targetName: 'SIMHOST' });
  peer.send({ token: acceptor.challenge(Buffer.from((await peer.next()).token!, 'base64')).toString('base64') });
  const who = acceptor.accept(Buffer.from((await peer.next()).token!, 'base64'));
  return { peer, acceptor, who };
}

test('the independent client is installed: python3-winrm and python3-ntlm-auth (Debian packages; .ci/run installs them)', () => {
  const ok = spawnSync(PYTHON, ['-c', 'import winrm.encryption, ntlm_auth.ntlm, hashlib; hashlib.new("md4")'], { env: PEER_ENV, stdio: 'ignore' }).status === 0;
  assert.ok(ok, 'install them: apt-get install python3-winrm python3-ntlm-auth (MD4 comes from OpenSSL\'s legacy provider, enabled for the peer alone)');
});

test('pywinrm\'s encrypted requests are read by decryptBody, and pywinrm reads encryptBody\'s responses, in sequence', async () => {
  const { peer, acceptor, who } = await connected();
  assert.equal(who, { user: 'Administrator', domain: 'SIMHOST' });
  for (const n of [1, 2]) {
    const envelope = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">request ${n} — ünïcode</s:Envelope>`;
    peer.send({ op: 'encrypt', data: Buffer.from(envelope).toString('base64') });
    const request = await peer.next();
    assert.match(request.contentType!, /^multipart\/encrypted;protocol="application\/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"$/);
    assert.is(decryptBody(acceptor.session, Buffer.from(request.body!, 'base64'), request.contentType!).toString(), envelope);

    const reply = encryptBody(acceptor.session, Buffer.from(`<s:Envelope>response ${n}</s:Envelope>`), SOAP);
    peer.send({ op: 'decrypt', body: reply.body.toString('base64'), contentType: reply.contentType });
    const answer = await peer.next();
    assert.is(answer.error, undefined);
    assert.is(Buffer.from(answer.data!, 'base64').toString(), `<s:Envelope>response ${n}</s:Envelope>`);
  }
  peer.end();
});

test('a body altered on the way is refused by both: pywinrm\'s signature check and ours', async () => {
  const { peer, acceptor } = await connected();
  const reply = encryptBody(acceptor.session, Buffer.from('<s:Envelope>response</s:Envelope>'), SOAP);
  reply.body[reply.body.length - 30]! ^= 1;
  peer.send({ op: 'decrypt', body: reply.body.toString('base64'), contentType: reply.contentType });
  assert.type((await peer.next()).error, 'string');

  peer.send({ op: 'encrypt', data: Buffer.from('<s:Envelope>request</s:Envelope>').toString('base64') });
  const request = await peer.next();
  const altered = Buffer.from(request.body!, 'base64');
  altered[altered.length - 30]! ^= 1;
  assert.throws(() => decryptBody(acceptor.session, altered, request.contentType!), (e: unknown) => e instanceof NtlmError && e.code === 'bad-signature');
  peer.end();
});

test('ntlm_auth with a wrong password is refused as bad-credentials', async () => {
  const peer = pywinrm('wrong password');
  const acceptor = new NtlmAcceptor({ lookup: () => 'S3cret-Pass!' });
  peer.send({ token: acceptor.challenge(Buffer.from((await peer.next()).token!, 'base64')).toString('base64') });
  const authenticate = Buffer.from((await peer.next()).token!, 'base64');
  assert.throws(() => acceptor.accept(authenticate), (e: unknown) => e instanceof NtlmError && e.code === 'bad-credentials');
  peer.end();
});

test.after(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill();
});

test.run();
