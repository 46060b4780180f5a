/**
 * The facts table: every fact carries its evidence, and docs/windows-facts.md is generated from it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WINDOWS_FACTS } from '../../src/windows/facts/index.js';
import { absoluteLinks, renderFactsDoc } from '../../src/windows/facts/doc.js';

test('docs/windows-facts.md is the table as it is now (npm run facts:doc writes it)', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'windows-facts.md'), 'utf8');
  assert.ok(doc === renderFactsDoc(WINDOWS_FACTS), 'docs/windows-facts.md is stale: run `npm run facts:doc`');
});

test('a quoted link is made absolute against its page (site- and page-relative), an elided one kept as its words', () => {
  const page = 'https://learn.microsoft.com/troubleshoot/sql/releases/sqlserver-2025/build-versions';
  assert.is(absoluteLinks('[SQL Server 2019](/lifecycle/products/?terms=SQL+Server+2019)', page), '[SQL Server 2019](https://learn.microsoft.com/lifecycle/products/?terms=SQL+Server+2019)');
  assert.is(absoluteLinks('[KB5078298](cumulativeupdate1.md) |', page), '[KB5078298](https://learn.microsoft.com/troubleshoot/sql/releases/sqlserver-2025/cumulativeupdate1) |');
  assert.is(absoluteLinks('[CU 1](/troubleshoot/sql/releases/linux/release-history-2022#16-0-4003)', page), '[CU 1](https://learn.microsoft.com/troubleshoot/sql/releases/linux/release-history-2022#16-0-4003)');
  assert.is(absoluteLinks('in [2014 SP2](…) and [x](https://example.com/a)', page), 'in 2014 SP2 and [x](https://example.com/a)');
});

test('ids are unique and dotted by topic', () => {
  const ids = WINDOWS_FACTS.map((f) => f.id);
  assert.equal(ids.length, new Set(ids).size, `duplicate ids: ${ids.filter((id, i) => ids.indexOf(id) !== i)}`);
  for (const id of ids) assert.match(id, /^[a-z0-9]+(\.[a-z0-9-]+)+$/, id);
});

test('a fact proven by Microsoft quotes a sentence of a Microsoft document; an unknown one proves nothing', () => {
  for (const f of WINDOWS_FACTS) {
    if (f.proof === 'microsoft') {
      assert.ok(f.sources.length > 0, `${f.id}: no source`);
      for (const s of f.sources) {
        assert.match(s.url, /^https:\/\/(learn|support|docs|techcommunity|www)\.microsoft\.com\//, `${f.id}: ${s.url}`);
        assert.ok(s.title.trim().length > 0 && s.quote.trim().length >= 12, `${f.id}: a source without title or quoted sentence`);
      }
    }
    if (f.status === 'unknown') assert.is.not(f.proof, 'microsoft', `${f.id}: unknown but proven`);
    if (f.status !== 'stated') assert.ok(f.note && f.note.length > 0, `${f.id}: ${f.status} without a note saying why`);
    assert.ok(JSON.stringify(f.value) !== undefined, `${f.id}: a value that is not data`);
  }
});

test.run();
