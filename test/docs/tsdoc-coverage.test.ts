/**
 * Every export of the package's entry point has TSDoc with an `@example` (a ```ts block, which
 * examples.test.ts compiles): "docs are part of the product".
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exportDocs } from '../../scripts/tsdoc-coverage.js';

test('every export of src/index.ts has TSDoc with a ```ts @example', () => {
  const all = exportDocs();
  assert.ok(all.length >= 150, `found ${all.length} exports`);
  const missing = all.filter((e) => !e.example).map((e) => `${e.name} (${e.where}${e.tsdoc ? '' : ', no TSDoc'})`);
  assert.equal(missing, []);
});

test.run();
