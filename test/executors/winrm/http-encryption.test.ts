import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decryptBody, encryptBody, isEncryptedContentType, SPNEGO_ENCRYPTED } from '../../../src/executors/winrm/http-encryption.js';
import { NtlmAcceptor, NtlmError, NtlmInitiator } from '../../../src/executors/winrm/ntlm.js';

const SOAP = 'application/soap+xml;charset=UTF-8';

function sessions() {
  const initiator = new NtlmInitiator({ user: 'admin', password: 'pw' });
  const acceptor = new NtlmAcceptor({ lookup: (u) => (u === 'admin' ? 'pw' : null) });
  acceptor.accept(initiator.authenticate(acceptor.challenge(initiator.negotiate())));
  return { client: initiator.session, server: acceptor.session };
}

const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    assert.instance(e, NtlmError);
    return (e as NtlmError).code;
  }
  throw new Error('expected an NtlmError');
};

test('an encrypted body is laid out as MS-WSMV and pywinrm write it, and the other side reads it back', () => {
  const { client, server } = sessions();
  const envelope = Buffer.from('<s:Envelope>ünïcode body</s:Envelope>');
  const { body, contentType } = encryptBody(client, envelope, SOAP);
  assert.is(contentType, `multipart/encrypted;protocol="${SPNEGO_ENCRYPTED}";boundary="Encrypted Boundary"`);
  const head = `--Encrypted Boundary\r\n\tContent-Type: ${SPNEGO_ENCRYPTED}\r\n\tOriginalContent: type=${SOAP};Length=${envelope.length}\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n`;
  assert.is(body.subarray(0, head.length).toString('latin1'), head);
  assert.is(body.readUInt32LE(head.length), 16, 'the NTLM signature is 16 bytes');
  assert.is(body.length, head.length + 4 + 16 + envelope.length + '--Encrypted Boundary--\r\n'.length);
  assert.not.ok(body.includes('ünïcode'), 'the body is not in clear');
  assert.is(decryptBody(server, body, contentType).toString(), envelope.toString());
  // And the other way round, twice (the sequence numbers move on).
  for (const text of ['<r1/>', '<r2/>']) {
    const reply = encryptBody(server, Buffer.from(text), SOAP);
    assert.is(decryptBody(client, reply.body, reply.contentType).toString(), text);
  }
});

test('a multipart/x-multi-encrypted body (several parts) is read whole, in order', () => {
  const { client, server } = sessions();
  const parts = ['<part one/>', '<part two/>', '<three/>'].map((t) => encryptBody(client, Buffer.from(t), SOAP).body);
  const closing = Buffer.from('--Encrypted Boundary--\r\n');
  const joined = Buffer.concat([...parts.map((p) => p.subarray(0, p.length - closing.length)), closing]);
  const type = `multipart/x-multi-encrypted;protocol="${SPNEGO_ENCRYPTED}";boundary="Encrypted Boundary"`;
  assert.is(decryptBody(server, joined, type).toString(), '<part one/><part two/><three/>');
});

test('a tampered body fails its signature; a malformed or unencrypted one is a bad-message', () => {
  const { client, server } = sessions();
  const { body, contentType } = encryptBody(client, Buffer.from('<s:Envelope/>'), SOAP);
  const tampered = Buffer.from(body);
  tampered[tampered.length - 30]! ^= 0xff;
  assert.is(codeOf(() => decryptBody(server, tampered, contentType)), 'bad-signature');
  assert.is(codeOf(() => decryptBody(sessions().server, body.subarray(0, body.length - 40), contentType)), 'bad-message');
  assert.is(codeOf(() => decryptBody(server, Buffer.from('<s:Envelope/>'), SOAP)), 'bad-message');
  assert.ok(isEncryptedContentType(contentType));
  assert.not.ok(isEncryptedContentType(SOAP));
  assert.not.ok(isEncryptedContentType('multipart/encrypted;protocol="application/HTTP-CredSSP-session-encrypted"'));
});

test('a body with any single byte changed gives the original text back or an NtlmError: never other text, never another exception', () => {
  let seed = 11;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let round = 0; round < 300; round += 1) {
    const { client, server } = sessions();
    const text = '<s:Envelope>some body</s:Envelope>';
    const { body, contentType } = encryptBody(client, Buffer.from(text), SOAP);
    body[next() % body.length]! ^= 1 + (next() % 255);
    try {
      // Only the header part's unsigned text (the original content type, tabs) can change harmlessly.
      assert.is(decryptBody(server, body, contentType).toString(), text);
    } catch (e) {
      assert.instance(e, NtlmError, String(e));
    }
  }
});

test.run();
