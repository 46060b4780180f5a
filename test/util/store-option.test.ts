/**
 * The store's option of a command a person is told to type: the state directory, or the store's URL
 * without its password, quoted where a shell would read a character of it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { shellWord, storeOption } from '../../src/util/store-option.js';

test('a state directory is --state-dir, quoted only where a shell would read it', () => {
  assert.is(storeOption('/var/lib/runbook'), '--state-dir /var/lib/runbook');
  assert.is(storeOption('/srv/run book'), '--state-dir "/srv/run book"');
  assert.is(storeOption("/srv/it's $HOME"), `--state-dir '/srv/it'\\''s $HOME'`);
});

test('a store URL is --store without its password, masked or not, in the user-info or as a parameter', () => {
  assert.is(storeOption('postgres://rbe:***@db:5432/runs'), '--store postgres://rbe@db:5432/runs');
  assert.is(storeOption('postgres://rbe:pw@db:5432/runs?password=pw&sslmode=require'), '--store "postgres://rbe@db:5432/runs?sslmode=require"');
  assert.is(storeOption('postgresql://rbe@db/runs?password=***'), '--store postgresql://rbe@db/runs');
});

test('a word a shell reads as it is stays as it is', () => {
  for (const w of ['r1', '20260101-000000-x.host-1', '/a/b_c-d.e', 'a=b,c:d@e%f+g~h']) assert.is(shellWord(w), w);
});

test.run();
