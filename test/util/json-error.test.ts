/** Where a text stops being JSON: told by line and column, or as its end, never quoting the text. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonFaultWhere } from '../../src/util/json-error.js';

test('JSON is no fault; a text cut short stops at its end', () => {
  assert.is(jsonFaultWhere('{"a": [1, 2]}'), null);
  assert.is(jsonFaultWhere('  "text"  '), null);
  assert.is(jsonFaultWhere('{"a": '), 'its end');
  assert.is(jsonFaultWhere(''), 'its end');
});

test('a fault within the text is its line and column, 1-based', () => {
  assert.is(jsonFaultWhere('{"a": 1,\n  x}'), 'line 2, column 3');
  assert.is(jsonFaultWhere('root:x:0:0:root:/root:/bin/bash\n'), 'line 1, column 1');
  assert.is(jsonFaultWhere('{"a": 1} trailing'), 'line 1, column 10');
  assert.is(jsonFaultWhere('[1, 2,]'), 'line 1, column 7');
});

test.run();
