/**
 * A host's Windows as the facts table names it, and the registry views it has.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registryViews, windowsRelease } from '../../src/windows/os.js';

test('a release is named by its version before Windows 10, by its build after, and only for servers from 10.0 on', () => {
  assert.is(windowsRelease({ version: '6.3.9600', build: 9600, productType: 'server' }), 'Windows Server 2012 R2');
  assert.is(windowsRelease({ version: '10.0.14393', build: 14393, productType: 'server' }), 'Windows Server 2016');
  assert.is(windowsRelease({ version: '10.0.19045', build: 19045, productType: 'workstation' }), null);
});

test('64-bit Windows has the native and the 32-bit view, 32-bit Windows its one native view', () => {
  assert.equal(registryViews('64-bit'), ['64', '32']);
  assert.equal(registryViews('32-bit'), ['32']);
});

test.run();
