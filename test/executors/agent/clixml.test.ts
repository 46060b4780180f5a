/** PowerShell's CLIXML error stream read as plain text. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clixmlErrors, plainStderr } from '../../../src/executors/agent/clixml.js';
import { CLM_CLIXML } from './clixml-fixture.js';


test('error records become lines of text; progress records and the header are dropped', () => {
  assert.equal(clixmlErrors(CLM_CLIXML), ['Cannot invoke method. Method invocation is supported only on core types in this language mode.', 'At line:1 char:1', '+ $s = [Console]::In.ReadLine() &']);
  assert.is(plainStderr(CLM_CLIXML).includes('_x000D_'), false);
  assert.is(plainStderr(CLM_CLIXML).includes('<Objs'), false);
  assert.is(plainStderr('#< CLIXML\r\n<Objs Version="1.1.0.1"><Obj S="progress" RefId="0"></Obj></Objs>'), '');
});

test('text that is not CLIXML is kept as it is', () => {
  assert.is(plainStderr('connection closed by peer'), 'connection closed by peer');
  assert.equal(clixmlErrors('connection closed by peer'), []);
});

test.run();
