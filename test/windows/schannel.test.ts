/**
 * SCHANNEL semantics asked of the facts table: Windows' defaults by build (SSL 3.0 on through Windows
 * Server 2012 R2; TLS 1.0/1.1 from Server 2022 disputed, never assumed), and what a side negotiates
 * from `Enabled` and `DisabledByDefault`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { negotiatesByDefault, onByDefault, protocolDefault, protocolSupported, isNonCanonicalEnabled, SCHANNEL_PROTOCOLS_KEY } from '../../src/windows/schannel.js';
import { SCHANNEL_PROTOCOLS_KEY_FACT } from '../../src/windows/facts/schannel.js';

const dword = (data: number) => ({ type: 'REG_DWORD' as const, data });

test('SSL 3.0 is on by default on Windows Server 2012 and 2012 R2, both sides, and off from 2016', () => {
  for (const build of [9200, 9600]) {
    for (const side of ['Client', 'Server'] as const) assert.equal(protocolDefault('SSL 3.0', side, build), { state: 'enabled', status: 'stated', fact: 'schannel.protocol-defaults' }, `${build} ${side}`);
  }
  assert.is(onByDefault('SSL 3.0', 'Server', 14393), false);
  assert.is(onByDefault('SSL 3.0', 'Server', 17763), false);
});

test('SSL 2.0: server on and client off by default on Windows Server 2008 R2, off on 2012, gone from 2016', () => {
  assert.is(onByDefault('SSL 2.0', 'Server', 7601), true);
  assert.is(onByDefault('SSL 2.0', 'Client', 7601), false);
  assert.is(onByDefault('SSL 2.0', 'Server', 9600), false);
  assert.is(protocolDefault('SSL 2.0', 'Server', 14393).state, 'not-supported');
});

test('TLS 1.1 and 1.2 are off by default on 2008 R2 and on from 2012; TLS 1.3 exists from 2022', () => {
  assert.is(onByDefault('TLS 1.2', 'Client', 7601), false);
  assert.is(onByDefault('TLS 1.2', 'Client', 9200), true);
  assert.is(protocolSupported('TLS 1.3', 17763), false);
  assert.is(onByDefault('TLS 1.3', 'Server', 20348), true);
});

test('TLS 1.0 and 1.1 from Windows Server 2022 on (2025 included) are disputed: no default is assumed, and the note names the documents', () => {
  for (const build of [20348, 26100]) {
    for (const protocol of ['TLS 1.0', 'TLS 1.1'] as const) {
      const d = protocolDefault(protocol, 'Server', build);
      assert.is(d.state, null, `${protocol} on ${build}`);
      assert.is(d.status, 'disputed');
      assert.is(d.fact, 'schannel.tls10-tls11-default-from-2022');
      assert.match(d.note!, /protocols table/);
      assert.match(d.note!, /SQL Server 10054 article/);
      assert.match(d.note!, /deprecation announcement/);
    }
  }
  assert.is(onByDefault('TLS 1.0', 'Server', 17763), true, 'stated through Server 2019');
});

test('after the protocols table (Windows Server 2025): TLS 1.2 is stated on, SSL 3.0 and TLS 1.3 are unknown', () => {
  assert.equal(protocolDefault('TLS 1.2', 'Server', 26100), { state: 'enabled', status: 'stated', fact: 'schannel.tls12-default-after-table' });
  assert.is(protocolDefault('SSL 3.0', 'Server', 26100).status, 'unknown');
  assert.is(protocolDefault('TLS 1.3', 'Server', 26100).state, null);
});

test('DisabledByDefault=1 keeps a side out of what SCHANNEL negotiates by default, whatever Enabled says', () => {
  assert.is(negotiatesByDefault(dword(1), dword(1)), false);
  assert.is(negotiatesByDefault(null, dword(1)), false);
  assert.is(negotiatesByDefault(dword(1), dword(0)), true);
  assert.is(negotiatesByDefault(dword(0xffffffff), null), true, 'any non-zero Enabled enables');
  assert.is(negotiatesByDefault(dword(0), dword(0)), false);
  assert.is(negotiatesByDefault(null, null), null, "Windows' default");
  assert.is(negotiatesByDefault({ type: 'REG_SZ', data: '1' }, null), null, 'a value of another type is no DWORD');
});

test('0xFFFFFFFF enables but is not the documented 1', () => {
  assert.ok(isNonCanonicalEnabled(dword(0xffffffff)));
  assert.not.ok(isNonCanonicalEnabled(dword(1)));
  assert.not.ok(isNonCanonicalEnabled(dword(0)));
  assert.not.ok(isNonCanonicalEnabled(null));
});

test('the key location is the fact, not a copy', () => {
  assert.is(SCHANNEL_PROTOCOLS_KEY, SCHANNEL_PROTOCOLS_KEY_FACT.value);
});

test.run();
