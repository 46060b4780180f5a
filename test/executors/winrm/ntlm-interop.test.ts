/**
 * Our NTLM against an independent implementation: gss-ntlmssp (Debian's `gss-ntlmssp`, the GSSAPI
 * NTLMSSP mechanism of MIT Kerberos) driven through python3-gssapi by gss-peer.py. Both directions:
 * ours initiates and gss-ntlmssp accepts, gss-ntlmssp initiates and ours accepts; after each
 * handshake each side seals a message the other unseals (gss_wrap with confidentiality is NTLM's
 * SEAL, its token the 16-byte signature followed by the sealed bytes).
 *
 * The peer is required: without gss-ntlmssp and python3-gssapi these tests fail (.ci/run installs them).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { NtlmAcceptor, NtlmError, NtlmInitiator, type NtlmSession } from '../../../src/executors/winrm/ntlm.js';

const PYTHON = '/usr/bin/python3';
const PEER = join(import.meta.dirname, 'gss-peer.py');
const ACCOUNT = { user: 'Administrator', domain: 'SIMHOST', password: 'S3cret-Pass!' };
const dir = mkdtempSync(join(tmpdir(), 'ntlm-interop-'));
const userFile = join(dir, 'ntlm-users');
// NTLM_USER_FILE: one "DOMAIN:USER:PASSWORD" line per account (gss-ntlmssp's README).
const ACCENTED = { user: 'Jörg', domain: 'SIMHOST', password: 'Pässwörd-ß' };
writeFileSync(userFile, [ACCOUNT, ACCENTED].map((a) => `${a.domain}:${a.user}:${a.password}\n`).join(''), { mode: 0o600 });
const started: ChildProcess[] = [];

const b64 = (b: Buffer) => b.toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64');
const bindingsOf = (n: number) => Buffer.concat([Buffer.from('tls-server-end-point:'), Buffer.alloc(32, n)]);

/** gss-peer.py in one role, spoken to one JSON line at a time. */
class GssPeer {
  readonly #process: ChildProcess;
  readonly #lines: Interface;
  readonly #pending: string[] = [];
  readonly #waiting: ((line: string | null) => void)[] = [];
  constructor(args: string[], password = '') {
    const env = { ...process.env, NTLM_USER_FILE: userFile, PEER_PASSWORD: password };
    this.#process = spawn(PYTHON, [PEER, ...args], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    started.push(this.#process);
    this.#lines = createInterface({ input: this.#process.stdout! });
    this.#lines.on('line', (line) => (this.#waiting.length ? this.#waiting.shift()!(line) : this.#pending.push(line)));
    this.#lines.on('close', () => this.#waiting.splice(0).forEach((w) => w(null)));
  }
  async next(): Promise<Record<string, unknown>> {
    const line = this.#pending.shift() ?? (await new Promise<string | null>((resolve) => this.#waiting.push(resolve)));
    if (line === null) throw new Error('gss-peer.py ended early (see its stderr above)');
    return JSON.parse(line) as Record<string, unknown>;
  }
  send(message: Record<string, unknown>): void {
    this.#process.stdin!.write(`${JSON.stringify(message)}\n`);
  }
  async token(): Promise<Buffer> {
    const answer = await this.next();
    if (typeof answer.token !== 'string') throw new Error(`gss-ntlmssp answered ${JSON.stringify(answer)}`);
    return unb64(answer.token);
  }
  async wrap(data: Buffer): Promise<Buffer> {
    this.send({ op: 'wrap', data: b64(data) });
    return this.token();
  }
  async unwrap(token: Buffer): Promise<Record<string, unknown>> {
    this.send({ op: 'unwrap', token: b64(token) });
    return this.next();
  }
  end(): void {
    this.#process.stdin!.end();
  }
}

/** Each side seals two messages for the other; the other opens them (sequence numbers 0 and 1). */
async function exchange(ours: NtlmSession, theirs: GssPeer): Promise<void> {
  for (const n of [0, 1]) {
    const text = `<s:Envelope>from ours #${n} — ünïcode</s:Envelope>`;
    const { signature, sealed } = ours.seal(Buffer.from(text));
    const opened = await theirs.unwrap(Buffer.concat([signature, sealed]));
    assert.equal(opened.encrypted, true);
    assert.is(unb64(opened.data as string).toString(), text, 'gss-ntlmssp unseals what we sealed');
    const token = await theirs.wrap(Buffer.from(`from gss-ntlmssp #${n}`));
    assert.is(token.readUInt32LE(0), 1, 'a gss_wrap token starts with the NTLM signature (version 1)');
    assert.is(token.readUInt32LE(12), n, "its signature carries gss-ntlmssp's sequence number");
    assert.is(ours.unseal(token.subarray(16), token.subarray(0, 16)).toString(), `from gss-ntlmssp #${n}`, 'we unseal what gss-ntlmssp sealed');
  }
  // A message altered on the way fails the other side's signature check.
  const { signature, sealed } = ours.seal(Buffer.from('altered'));
  sealed[0]! ^= 1;
  assert.type((await theirs.unwrap(Buffer.concat([signature, sealed]))).error, 'string');
}

/** Ours initiates, gss-ntlmssp accepts. */
async function oursInitiates(password: string, ourBindings?: Buffer, theirBindings?: Buffer, account = ACCOUNT) {
  const peer = new GssPeer(['accept', ...(theirBindings ? [b64(theirBindings)] : [])]);
  const initiator = new NtlmInitiator({ user: account.user, domain: account.domain, password }, { channelBindings: ourBindings });
  peer.send({ token: b64(initiator.negotiate()) });
  peer.send({ token: b64(initiator.authenticate(await peer.token())) });
  return { peer, initiator, outcome: await peer.next() };
}

/** gss-ntlmssp initiates, ours accepts. */
async function theirsInitiates(password: string, ourBindings?: Buffer, theirBindings?: Buffer, account = ACCOUNT) {
  const peer = new GssPeer(['initiate', account.user, account.domain, ...(theirBindings ? [b64(theirBindings)] : [])], password);
  const acceptor = new NtlmAcceptor({ lookup: (u, d) => (u === account.user && d === account.domain ? account.password : null), targetName: 'SIMHOST', channelBindings: ourBindings });
  peer.send({ token: b64(acceptor.challenge(await peer.token())) });
  const authenticate = await peer.token();
  let error: unknown;
  let who: { user: string; domain: string } | undefined;
  try {
    who = acceptor.accept(authenticate);
  } catch (e) {
    error = e;
  }
  return { peer, acceptor, who, error };
}

test('the independent peer is installed: gss-ntlmssp and python3-gssapi (Debian packages; .ci/run installs them)', () => {
  const mech = ['/usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so', '/usr/lib/aarch64-linux-gnu/gssntlmssp/gssntlmssp.so'].some(existsSync);
  const gssapi = spawnSync(PYTHON, ['-c', 'import gssapi'], { stdio: 'ignore' }).status === 0;
  assert.ok(mech && gssapi, 'install them: apt-get install gss-ntlmssp python3-gssapi');
});

test('ours initiates, gss-ntlmssp accepts the account, and sealed messages cross both ways', async () => {
  const { peer, initiator, outcome } = await oursInitiates(ACCOUNT.password);
  assert.equal(outcome.established, true, JSON.stringify(outcome));
  assert.match(String(outcome.peer), /^SIMHOST\\Administrator/);
  await exchange(initiator.session, peer);
  peer.end();
});

test('gss-ntlmssp initiates, ours accepts the account, and sealed messages cross both ways', async () => {
  const { peer, acceptor, who, error } = await theirsInitiates(ACCOUNT.password);
  assert.is(error, undefined);
  assert.equal(who, { user: 'Administrator', domain: 'SIMHOST' });
  assert.equal((await peer.next()).established, true);
  await exchange(acceptor.session, peer);
  peer.end();
});

test('a wrong password is refused both ways: by gss-ntlmssp, and by ours as bad-credentials', async () => {
  const ours = await oursInitiates('wrong password');
  assert.type(ours.outcome.error, 'string', 'gss-ntlmssp refuses our response for a wrong password');
  ours.peer.end();
  const theirs = await theirsInitiates('wrong password');
  assert.instance(theirs.error, NtlmError);
  assert.is((theirs.error as NtlmError).code, 'bad-credentials');
  theirs.peer.end();
});

test('channel bindings agree with gss-ntlmssp both ways, and a mismatch is refused both ways', async () => {
  const same = await oursInitiates(ACCOUNT.password, bindingsOf(1), bindingsOf(1));
  assert.equal(same.outcome.established, true, 'gss-ntlmssp accepts our MsvAvChannelBindings');
  same.peer.end();
  const differ = await oursInitiates(ACCOUNT.password, bindingsOf(2), bindingsOf(1));
  assert.type(differ.outcome.error, 'string', 'gss-ntlmssp refuses bindings of another channel');
  differ.peer.end();
  const theirs = await theirsInitiates(ACCOUNT.password, bindingsOf(1), bindingsOf(1));
  assert.is(theirs.error, undefined, 'ours accepts the MsvAvChannelBindings gss-ntlmssp computes');
  theirs.peer.end();
  const theirsDiffer = await theirsInitiates(ACCOUNT.password, bindingsOf(1), bindingsOf(2));
  assert.is((theirsDiffer.error as NtlmError).code, 'channel-binding');
  theirsDiffer.peer.end();
});

test('an account name and password outside ASCII (Jörg, Pässwörd-ß) log on both ways', async () => {
  const ours = await oursInitiates(ACCENTED.password, undefined, undefined, ACCENTED);
  assert.equal(ours.outcome.established, true, JSON.stringify(ours.outcome));
  assert.match(String(ours.outcome.peer), /^SIMHOST\\Jörg/);
  ours.peer.end();
  const theirs = await theirsInitiates(ACCENTED.password, undefined, undefined, ACCENTED);
  assert.is(theirs.error, undefined);
  assert.equal(theirs.who, { user: 'Jörg', domain: 'SIMHOST' });
  theirs.peer.end();
});

test.after(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill();
  rmSync(dir, { recursive: true, force: true });
});

test.run();
