import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inspect } from 'node:util';
import { rc4Once } from '../../../src/executors/winrm/crypto.js';
import { channelBindingsHash, clientBlob, lmv2Response, ntlmv2Proof, ntowfv2 } from '../../../src/executors/winrm/ntlm-keys.js';
import { EstablishedSession } from '../../../src/executors/winrm/ntlm-session.js';
import { decodeAuthenticate, decodeChallenge, NtlmFlag } from '../../../src/executors/winrm/ntlm-wire.js';
import { NtlmAcceptor, NtlmError, NtlmInitiator, type NtlmCredentials } from '../../../src/executors/winrm/ntlm.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// MS-NLMP §4.2.4.3: the CHALLENGE_MESSAGE of the NTLMv2 example (server challenge 0123456789abcdef,
// NetBIOS names "Domain" and "Server"); §4.2.1: user "User", domain "Domain", password "Password",
// client challenge aa×8, random session key 55×16, time 0.
const SPEC_CHALLENGE = hex(`
  4e544c4d53535000 02000000 0c000c0038000000 33828ae2 0123456789abcdef 0000000000000000
  2400240044000000 0600701700000000f 53006500720076006500720002000c0044006f006d00610069006e00
  01000c0053006500720076006500720000000000`.replace('0600701700000000f', '060070170000000f'));

test('the NTLMv2 key schedule gives the values of the MS-NLMP §4.2.4 worked example', () => {
  const c = decodeChallenge(SPEC_CHALLENGE);
  assert.is(c.flags >>> 0, 0xe28a8233);
  assert.is(c.serverChallenge.toString('hex'), '0123456789abcdef');
  const responseKey = ntowfv2('Password', 'User', 'Domain');
  assert.is(responseKey.toString('hex'), '0c868a403bfd7a93a3001ef22ef02e3f'); // §4.2.4.1.1
  const clientChallenge = Buffer.alloc(8, 0xaa);
  const { ntProof, sessionBaseKey } = ntlmv2Proof(responseKey, c.serverChallenge, clientBlob(Buffer.alloc(8), clientChallenge, c.targetInfo));
  assert.is(sessionBaseKey.toString('hex'), '8de40ccadbc14a82f15cb0ad0de95ca3'); // §4.2.4.1.2
  assert.is(lmv2Response(responseKey, c.serverChallenge, clientChallenge).toString('hex'), '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa'); // §4.2.4.2.1
  assert.is(ntProof.toString('hex'), '68cd0ab851e51c96aabc927bebef6a1c'); // §4.2.4.2.2
  assert.is(rc4Once(sessionBaseKey, Buffer.alloc(16, 0x55)).toString('hex'), 'c5dad2544fc9799094ce1ce90bc9d03e'); // §4.2.4.2.3
});

test('sealing "Plaintext" gives the data and signature of MS-NLMP §4.2.4.4 (GSS_WrapEx)', () => {
  const session = new EstablishedSession(Buffer.alloc(16, 0x55), decodeChallenge(SPEC_CHALLENGE).flags, 'client');
  const { sealed, signature } = session.seal(Buffer.from('Plaintext', 'utf16le'));
  assert.is(sealed.toString('hex'), '54e50165bf1936dc996020c1811b0f06fb5f');
  assert.is(signature.toString('hex'), '010000007fb38ec5c55d497600000000');
  // The server side of the same session opens it.
  const server = new EstablishedSession(Buffer.alloc(16, 0x55), decodeChallenge(SPEC_CHALLENGE).flags, 'server');
  assert.is(server.unseal(sealed, signature).toString('utf16le'), 'Plaintext');
});

test('the channel bindings hash is the one of Microsoft\'s Extended Protection example (tls-server-end-point)', () => {
  // "NTLM and Channel Binding Hash (aka Extended Protection for Authentication)", Microsoft Open
  // Specifications blog, 2013-03-26: application data "tls-server-end-point:" + the certificate's hash.
  const data = Buffer.concat([Buffer.from('tls-server-end-point:'), hex('ea05fefecc6b0bd571dbbc5baa3ed45386d0446835f7b74c85621b9983475f95')]);
  assert.is(channelBindingsHash(data).toString('hex'), '6586e99d81c2fc984e47172fd4dd0310');
});

const CREDS: NtlmCredentials = { user: 'Administrator', password: 'S3cret-Pass!', domain: 'SIMHOST' };
const lookup = (user: string, domain: string) => (user.toLowerCase() === 'administrator' && domain.toUpperCase() === 'SIMHOST' ? CREDS.password : null);

function handshake(creds: NtlmCredentials, init: { channelBindings?: Buffer } = {}, acc: { channelBindings?: Buffer } = {}) {
  const initiator = new NtlmInitiator(creds, init);
  const acceptor = new NtlmAcceptor({ lookup, targetName: 'SIMHOST', ...acc });
  const challenge = acceptor.challenge(initiator.negotiate());
  const authenticate = initiator.authenticate(challenge);
  return { initiator, acceptor, challenge, authenticate };
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

test('our initiator and acceptor agree on the account and seal messages both ways, in sequence', () => {
  const { initiator, acceptor, authenticate } = handshake(CREDS);
  assert.equal(acceptor.accept(authenticate), { user: 'Administrator', domain: 'SIMHOST' });
  const a = decodeAuthenticate(authenticate);
  assert.ok(a.flags & NtlmFlag.KEY_EXCH && a.flags & NtlmFlag.SEAL && a.flags & NtlmFlag.NEGOTIATE_128, 'sealing with a 128-bit exchanged key');
  assert.is(a.lmResponse.toString('hex'), '00'.repeat(24), 'with a server timestamp the LM response is Z(24)');
  for (let i = 0; i < 3; i += 1) {
    const up = initiator.session.seal(Buffer.from(`request ${i}`));
    assert.is(acceptor.session.unseal(up.sealed, up.signature).toString(), `request ${i}`);
    assert.is(up.signature.readUInt32LE(12), i, 'the sequence number counts each message');
    const down = acceptor.session.seal(Buffer.from(`response ${i}`));
    assert.is(initiator.session.unseal(down.sealed, down.signature).toString(), `response ${i}`);
  }
});

test('a user given as DOMAIN\\user logs on in that domain', () => {
  const { acceptor, authenticate } = handshake({ user: 'SIMHOST\\Administrator', password: CREDS.password });
  assert.equal(acceptor.accept(authenticate), { user: 'Administrator', domain: 'SIMHOST' });
});

test('a wrong password or an unknown user is refused as bad-credentials, and the message names no secret', () => {
  const wrong = handshake({ ...CREDS, password: 'not-the-password' });
  let error: NtlmError | undefined;
  try {
    wrong.acceptor.accept(wrong.authenticate);
  } catch (e) {
    error = e as NtlmError;
  }
  assert.is(error?.code, 'bad-credentials');
  assert.match(error!.message, /SIMHOST\\Administrator.*refused/);
  assert.not.match(error!.message, /not-the-password|S3cret/);
  const unknown = handshake({ ...CREDS, user: 'nobody' });
  assert.is(codeOf(() => unknown.acceptor.accept(unknown.authenticate)), 'bad-credentials');
  assert.is(codeOf(() => wrong.acceptor.session), 'not-established');
});

test('a sealed message altered, replayed or with a bad signature is refused as bad-signature', () => {
  const { initiator, acceptor, authenticate } = handshake(CREDS);
  acceptor.accept(authenticate);
  const first = initiator.session.seal(Buffer.from('first'));
  const altered = Buffer.from(first.sealed);
  altered[0]! ^= 1;
  assert.is(codeOf(() => acceptor.session.unseal(altered, first.signature)), 'bad-signature');

  const again = handshake(CREDS);
  again.acceptor.accept(again.authenticate);
  const one = again.initiator.session.seal(Buffer.from('once'));
  assert.is(again.acceptor.session.unseal(one.sealed, one.signature).toString(), 'once');
  assert.is(codeOf(() => again.acceptor.session.unseal(one.sealed, one.signature)), 'bad-signature', 'a replay is out of sequence');
  assert.is(codeOf(() => again.acceptor.session.unseal(one.sealed, Buffer.alloc(15))), 'bad-signature');
});

test('channel bindings: the same TLS channel passes; another certificate or none is refused as channel-binding', () => {
  const seen = Buffer.concat([Buffer.from('tls-server-end-point:'), Buffer.alloc(32, 1)]);
  const other = Buffer.concat([Buffer.from('tls-server-end-point:'), Buffer.alloc(32, 2)]);
  const same = handshake(CREDS, { channelBindings: seen }, { channelBindings: seen });
  assert.equal(same.acceptor.accept(same.authenticate).user, 'Administrator');
  const mismatch = handshake(CREDS, { channelBindings: other }, { channelBindings: seen });
  assert.is(codeOf(() => mismatch.acceptor.accept(mismatch.authenticate)), 'channel-binding');
  const none = handshake(CREDS, {}, { channelBindings: seen });
  assert.is(codeOf(() => none.acceptor.accept(none.authenticate)), 'channel-binding');
  // An acceptor without bindings (plain HTTP) takes a client that sends them.
  const plain = handshake(CREDS, { channelBindings: seen }, {});
  assert.equal(plain.acceptor.accept(plain.authenticate).user, 'Administrator');
});

test('an AUTHENTICATE_MESSAGE altered in transit fails its MIC; garbage is a bad-message', () => {
  const { acceptor, authenticate } = handshake(CREDS);
  const altered = Buffer.from(authenticate);
  altered.writeUInt32LE(altered.readUInt32LE(60) & ~NtlmFlag.NEGOTIATE_56, 60); // the flags are covered by the MIC only
  assert.is(codeOf(() => acceptor.accept(altered)), 'bad-message');
  assert.is(codeOf(() => new NtlmAcceptor({ lookup }).challenge(Buffer.from('not ntlm'))), 'bad-message');
  assert.is(codeOf(() => new NtlmInitiator(CREDS).authenticate(Buffer.from('NTLMSSP\0\x02\0\0\0', 'latin1'))), 'bad-message');
  assert.is(codeOf(() => new NtlmAcceptor({ lookup }).accept(authenticate)), 'bad-message', 'no challenge was sent');
});

test('a NEGOTIATE_MESSAGE altered in transit (key exchange stripped) is caught by the MIC', () => {
  const initiator = new NtlmInitiator(CREDS);
  const acceptor = new NtlmAcceptor({ lookup, targetName: 'SIMHOST' });
  const negotiate = initiator.negotiate();
  negotiate.writeUInt32LE((negotiate.readUInt32LE(12) & ~NtlmFlag.KEY_EXCH) >>> 0, 12);
  const authenticate = initiator.authenticate(acceptor.challenge(negotiate));
  assert.not.ok(decodeAuthenticate(authenticate).flags & NtlmFlag.KEY_EXCH, 'the downgrade reached the initiator');
  assert.is(codeOf(() => acceptor.accept(authenticate)), 'bad-message');
});

test('any single byte changed in a CHALLENGE or AUTHENTICATE message ends in an NtlmError, never another exception', () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let round = 0; round < 300; round += 1) {
    const { acceptor, challenge, authenticate } = handshake(CREDS);
    const auth = Buffer.from(authenticate);
    auth[next() % auth.length]! ^= 1 + (next() % 255);
    assert.ok(['bad-message', 'bad-credentials'].includes(codeOf(() => acceptor.accept(auth))), 'a changed AUTHENTICATE is refused');
    const chal = Buffer.from(challenge);
    chal[next() % chal.length]! ^= 1 + (next() % 255);
    try {
      new NtlmInitiator(CREDS).authenticate(chal);
    } catch (e) {
      assert.instance(e, NtlmError, String(e));
    }
  }
});

test('no password, hash or key shows when the objects are inspected or serialised', () => {
  const { initiator, acceptor, authenticate } = handshake(CREDS);
  acceptor.accept(authenticate);
  const shown = [inspect(initiator, { showHidden: true, depth: 9 }), inspect(acceptor, { showHidden: true, depth: 9 }), inspect(initiator.session, { showHidden: true, depth: 9 }), JSON.stringify(initiator), JSON.stringify(acceptor.session)].join('\n');
  assert.not.match(shown, /S3cret/);
  assert.not.match(shown, new RegExp(ntowfv2(CREDS.password, 'Administrator', 'SIMHOST').toString('hex').slice(0, 8)));
  assert.not.match(shown, /<Buffer|Uint8Array/, 'no key bytes at all');
});

test.run();
