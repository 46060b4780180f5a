/** The WinRM transport's pieces that need no server (the rest runs in test/executors/winrm.test.ts). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { normaliseFingerprint } from '../../../src/executors/winrm/transport.js';

test('fingerprints normalise to the form Node prints', () => {
  assert.is(normaliseFingerprint('sha256:' + 'ab'.repeat(32)), Array(32).fill('AB').join(':'));
  assert.is(normaliseFingerprint('ab'.repeat(32)), Array(32).fill('AB').join(':'));
  assert.throws(() => normaliseFingerprint('abc'), /64 hex digits/);
});

test.run();
