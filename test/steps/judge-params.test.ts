/**
 * The parameters a host's facts make impossible (`judgeParams`, called by `judgeHost`): refused as the
 * operator's input before any write, each with the fact and its Microsoft source.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPreset } from '../../src/simulator/presets.js';
import { judgeHost } from '../../src/steps/requirements.js';
import { judgeParams } from '../../src/steps/judge-params.js';
import { NOW, params, readsOf, verdict } from './preflight-helpers.js';

test('tls13=enabled on a Windows without TLS 1.3 (2012 R2, 2016, 2019) is refused as a parameter, naming the fact and its source; on 2022 it is ok; on 2025, which no row names, unknown', () => {
  for (const name of ['server-2012r2', 'server-2016', 'server-2019']) {
    const v = verdict(judgeHost(readsOf(createPreset(name, new Date(NOW))), params({ tls13: 'enabled' })), 'param-tls13');
    assert.is(v.verdict, 'refuse', name);
    assert.is(v.param, 'tls13=enabled');
    assert.match(v.evidence, /parameter tls13=enabled is impossible here: .* has no TLS 1\.3, which SCHANNEL supports from build 20348/);
    assert.match(v.evidence, /fact schannel\.tls13-first-build \("Protocols in TLS\/SSL \(Schannel SSP\)", https:\/\/learn\.microsoft\.com\//);
    assert.equal(v.factIds, ['schannel.tls13-first-build']);
  }
  assert.is(verdict(judgeHost(readsOf(createPreset('server-2022', new Date(NOW))), params({ tls13: 'enabled' })), 'param-tls13').verdict, 'ok', 'server-2022');
  const later = verdict(judgeHost(readsOf(createPreset('server-2025', new Date(NOW))), params({ tls13: 'enabled' })), 'param-tls13');
  assert.is(later.verdict, 'unknown', 'server-2025');
  assert.is(later.param, 'tls13=enabled');
});

test('past the protocols table (build 30000) tls13=enabled and tls12Server=disabled are unknown, as the preflight\'s os-tls13; tls13=disabled is carried out either way: ok', () => {
  const host = createPreset('server-2025', new Date(NOW));
  host.os = { ...host.os, version: '10.0.30000', build: 30000 };
  const reads = readsOf(host);
  const enabled = verdict(judgeHost(reads, params({ tls13: 'enabled' })), 'param-tls13');
  assert.is(enabled.verdict, 'unknown');
  assert.match(enabled.evidence, /no Microsoft row or sentence found says whether .*build 30000\) has TLS 1\.3 \(the protocols table ends with build 20348/);
  assert.is(verdict(judgeHost(reads, params({ tls13: 'disabled' })), 'param-tls13').verdict, 'ok');
  const server = verdict(judgeHost(reads, params({ tlsProcedure: 'tls13', tls12Server: 'disabled' })), 'param-tls12Server');
  assert.is(server.verdict, 'unknown');
  assert.is(verdict(judgeHost(reads, params({ tlsProcedure: 'tls13' })), 'os-tls13').verdict, 'unknown');
});

test('tls13=disabled or default on a Windows without TLS 1.3 asks for what it already is: ok; tls13=leave judges nothing', () => {
  const reads = readsOf(createPreset('server-2016', new Date(NOW)));
  for (const setting of ['disabled', 'default']) {
    const v = verdict(judgeHost(reads, params({ tls13: setting })), 'param-tls13');
    assert.is(v.verdict, 'ok', setting);
    assert.match(v.evidence, /has no TLS 1\.3 .*asks for what it already is/);
  }
  assert.not.ok(judgeHost(reads, params()).some((v) => v.check === 'param-tls13'));
});

test('judgeParams is pure and survives JSON: the verdict judgeHost lists is its own', () => {
  const reads = readsOf(createPreset('server-2019', new Date(NOW)));
  const own = judgeParams(reads, params({ tls13: 'enabled' }));
  assert.equal(JSON.parse(JSON.stringify(own)), own);
  assert.equal(judgeHost(reads, params({ tls13: 'enabled' })).filter((v) => v.param !== undefined), own);
});

test('tls12Server=disabled (a TLS 1.3-only server side) on a Windows without TLS 1.3 is refused as a parameter; on 2022 it is ok; enabled judges nothing', () => {
  const v = verdict(judgeParams(readsOf(createPreset('server-2019', new Date(NOW))), params({ tlsProcedure: 'tls13', tls12Server: 'disabled' })), 'param-tls12Server');
  assert.is(v.verdict, 'refuse');
  assert.is(v.param, 'tls12Server=disabled');
  assert.match(v.evidence, /would accept no TLS version at all, per fact schannel\.tls13-first-build/);
  assert.is(verdict(judgeParams(readsOf(createPreset('server-2022', new Date(NOW))), params({ tls12Server: 'disabled' })), 'param-tls12Server').verdict, 'ok');
  assert.equal(judgeParams(readsOf(createPreset('server-2019', new Date(NOW))), params({ tls12Server: 'enabled' })), []);
});

test.run();
