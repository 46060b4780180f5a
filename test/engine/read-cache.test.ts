import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReadCache } from '../../src/engine/read-cache.js';
import type { HostOp, HostOpResult } from '../../src/index.js';

const get = (view: '64' | '32', key: string, name = 'Enabled'): HostOp => ({ op: 'registry.get', view, key, name });
const value = (data: number): HostOpResult => ({ op: 'registry.get', keyExists: true, existingAncestor: '', value: { type: 'REG_DWORD', data } });

test('keeps what was read, and never a write', () => {
  const cache = new ReadCache();
  cache.set(get('64', 'SOFTWARE\\A'), value(1));
  assert.equal(cache.get(get('64', 'SOFTWARE\\A')), value(1));
  assert.is(cache.get(get('32', 'SOFTWARE\\A')), undefined, 'another view is another read');
  const set: HostOp = { op: 'registry.set', view: '64', key: 'SOFTWARE\\A', name: 'Enabled', value: { type: 'REG_DWORD', data: 1 } };
  cache.set(set, { op: 'registry.set', changed: true, before: null, after: { type: 'REG_DWORD', data: 1 }, createdKeys: [] });
  assert.is(cache.get(set), undefined);
});

test('a write drops the key, its subkeys and its parents, in both views, whatever the case', () => {
  const cache = new ReadCache();
  for (const key of ['SOFTWARE\\A', 'SOFTWARE\\A\\B', 'SOFTWARE\\Other']) cache.set(get('64', key), value(1));
  cache.set(get('32', 'SOFTWARE\\A'), value(1));
  cache.invalidate([{ op: 'registry.deleteValue', view: '32', key: 'software\\wow6432node\\a', name: 'Enabled' }]);
  assert.is(cache.get(get('64', 'SOFTWARE\\A')), undefined);
  assert.is(cache.get(get('64', 'SOFTWARE\\A\\B')), undefined);
  assert.is(cache.get(get('32', 'SOFTWARE\\A')), undefined);
  assert.ok(cache.get(get('64', 'SOFTWARE\\Other')), 'an unrelated key stays');
});

test('a restart drops everything; an export or a start-up task drops nothing', () => {
  const cache = new ReadCache();
  cache.set(get('64', 'SOFTWARE\\A'), value(1));
  cache.set({ op: 'os.info' }, { op: 'os.info', caption: 'x', version: '10.0.14393', build: 14393, architecture: '64-bit', productType: 'server', servicePack: 0 });
  cache.invalidate([{ op: 'registry.export', view: '64', key: 'SOFTWARE\\A', file: 'C:\\a.reg' }]);
  assert.ok(cache.get(get('64', 'SOFTWARE\\A')));
  cache.invalidate([{ op: 'restart', delaySeconds: 0, reason: 'r', ifBootTime: 'x' }]);
  assert.is(cache.get(get('64', 'SOFTWARE\\A')), undefined);
  assert.is(cache.get({ op: 'os.info' }), undefined);
});

test('an observation is made once until a write or a restart; a failed one is made again', async () => {
  const cache = new ReadCache();
  let made = 0;
  const observe = async () => ++made;
  assert.is(await cache.observed('tls', observe), 1);
  assert.is(await cache.observed('tls', observe), 1, 'the second step reuses it');
  cache.invalidate([{ op: 'registry.export', view: '64', key: 'SOFTWARE\\A', file: 'C:\\a.reg' }]);
  assert.is(await cache.observed('tls', observe), 1, 'an export writes nothing on the target');
  cache.invalidate([{ op: 'registry.set', view: '64', key: 'SOFTWARE\\Unrelated', name: 'X', value: { type: 'REG_DWORD', data: 1 } }]);
  assert.is(await cache.observed('tls', observe), 2, 'any write: what it changes outside the registry is not known');
  cache.invalidate([{ op: 'restart', delaySeconds: 0, reason: 'r', ifBootTime: 'x' }]);
  assert.is(await cache.observed('tls', observe), 3);
  await cache.observed('flaky', async () => Promise.reject(new Error('timeout'))).catch(() => undefined);
  assert.is(await cache.observed('flaky', async () => 'answered'), 'answered');
});

test.run();
