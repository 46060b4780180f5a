/**
 * A store URL's password masked for people and left out of a command line, wherever it stands: the
 * user-info, a `password` query parameter (as node-postgres reads it: its own parser is asked which
 * password it would use), a libpq keyword/value string.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { hasPassword, maskPasswordParameters, urlWithoutPassword, withoutPassword } from '../../src/util/without-password.js';
import { maskedUrl } from '../../src/store/postgres.js';

/** node-postgres's own parser of a connection string: the password it would log in with. */
const parse = createRequire(import.meta.url)('pg-connection-string') as (url: string) => { password?: string; host?: string };

/** URLs with a password in the query, the password node-postgres reads from each, and how it is shown. */
const QUERY: [url: string, password: string, shown: string][] = [
  ['postgres://runbook@127.0.0.1:5432/postgres?password=PgS3cr3t-x', 'PgS3cr3t-x', 'postgres://runbook@127.0.0.1:5432/postgres?password=***'],
  ['postgres://127.0.0.1:5432/postgres?user=rbe&password=PgS3cr3t-x', 'PgS3cr3t-x', 'postgres://127.0.0.1:5432/postgres?user=rbe&password=***'],
  ['postgres://rbe@db/runs?sslmode=disable&password=Pc%40t%26ch%2B1&application_name=x', 'Pc@t&ch+1', 'postgres://rbe@db/runs?sslmode=disable&password=***&application_name=x'],
  ['postgres://rbe@db/runs?pass%77ord=Enc0dedName', 'Enc0dedName', 'postgres://rbe@db/runs?pass%77ord=***'],
  ['postgres://rbe@db/runs?password=Plus+S3cret', 'Plus S3cret', 'postgres://rbe@db/runs?password=***'],
  ['postgres://rbe@db/runs?password=First1&password=Last2', 'Last2', 'postgres://rbe@db/runs?password=***&password=***'],
  ['postgres://rbe:Inf0Pw@db/runs?password=QueryPw', 'QueryPw', 'postgres://rbe:***@db/runs?password=***'],
  ['postgres://rbe@db:5432/runs?password=At@Sign', 'At@Sign', 'postgres://rbe@db:5432/runs?password=***'],
  // An unencoded & or # in the password: node-postgres reads only its start; none of it is shown.
  ['postgres://rbe@db/runs?password=Amp&Tail9&sslmode=disable', 'Amp', 'postgres://rbe@db/runs?password=***&sslmode=disable'],
  ['postgres://rbe@db/runs?password=Hash#Tail9', 'Hash', 'postgres://rbe@db/runs?password=***'],
];

test('a password given as a query parameter is masked, in every encoding node-postgres reads', () => {
  for (const [url, password, shown] of QUERY) {
    assert.is(parse(url).password, password, `node-postgres reads ${password} from ${url}`);
    assert.is(maskedUrl(url), shown, url);
    assert.is(maskPasswordParameters(url.replace(/rbe:[^@]*@/, 'rbe@')), shown.replace(/rbe:\*\*\*@/, 'rbe@'), url);
    for (const masked of [maskedUrl(url), withoutPassword(url)]) {
      for (const piece of [password, ...password.split(/[@&+ ]/), 'Tail9', 'Inf0Pw', 'First1', 'Pc%40t']) {
        if (piece.length > 2) assert.not.ok(masked.includes(piece), `${url} shown as ${masked}`);
      }
    }
    assert.ok(hasPassword(new URL(url)), url);
  }
});

test('a query parameter node-postgres does not read as the password is shown as written', () => {
  for (const url of ['postgres://rbe@db/runs?Password=x1&PASSWORD=x2', 'postgres://rbe@db/runs?passwords=x3', 'postgres://rbe@db/runs?password=', 'postgres://rbe@db/runs?sslmode=disable']) {
    assert.not.ok(parse(url).password, url);
    assert.is(maskedUrl(url), url);
    assert.is(withoutPassword(url), url);
    assert.is(urlWithoutPassword(url), url);
    assert.not.ok(hasPassword(new URL(url)), url);
  }
});

test('a command line gets the URL without any password: the user-info\'s and the query\'s left out, the rest as written', () => {
  assert.is(urlWithoutPassword('postgres://runbook@127.0.0.1:5432/postgres?password=PgS3cr3t-x'), 'postgres://runbook@127.0.0.1:5432/postgres');
  assert.is(urlWithoutPassword('postgres://127.0.0.1:5432/postgres?user=rbe&password=PgS3cr3t-x'), 'postgres://127.0.0.1:5432/postgres?user=rbe');
  assert.is(urlWithoutPassword('postgres://rbe:Inf0Pw@db/runs?password=QueryPw&sslmode=disable'), 'postgres://rbe@db/runs?sslmode=disable');
  assert.is(urlWithoutPassword('postgres://rbe@db/runs?sslmode=disable&pass%77ord=x%20y&application_name=a%20b'), 'postgres://rbe@db/runs?sslmode=disable&application_name=a%20b');
  for (const [url, password] of QUERY) {
    const command = urlWithoutPassword(url);
    assert.not.ok(parse(command).password, `${url} → ${command}`);
    for (const piece of [password, 'Tail9', 'Inf0Pw', 'First1']) assert.not.ok(command.includes(piece), `${url} → ${command}`);
    assert.is(parse(command).host, parse(url).host);
  }
  // A URL that does not parse could not have opened a store; it is given masked, never as it is.
  assert.is(urlWithoutPassword('postgres://rbe:pa/ss:w@rd@db:5432/runs'), 'postgres://rbe:***@db:5432/runs');
});

test('the user-info password is masked whatever it holds, whether or not the URL parses', () => {
  assert.is(withoutPassword('postgre://rbe:pa/ss:w@rd@db:5432/runs'), 'postgre://rbe:***@db:5432/runs');
  assert.is(withoutPassword('postgres//rbe:s3cr:et/x@db/runs'), 'postgres//rbe:***@db/runs');
  assert.is(maskedUrl('postgres://rbe:pw@db/runs'), 'postgres://rbe:***@db/runs');
  assert.is(withoutPassword('postgres://rbe@db/runs'), 'postgres://rbe@db/runs');
  // A URL that does not parse, with a password in its query: neither part shown.
  const both = withoutPassword('postgres://rbe:Inf0/Pw@db:x/runs?sslmode=disable&password=Qu3ryPw');
  assert.is(both, 'postgres://rbe:***@db:x/runs?sslmode=disable&password=***');
});

test('a libpq keyword/value string is shown with its password masked, quoted or not', () => {
  assert.is(withoutPassword('host=127.0.0.1 user=rbe password=S3cr3t-Store dbname=runs'), 'host=127.0.0.1 user=rbe password=*** dbname=runs');
  assert.is(withoutPassword("host=db password='a b' dbname=runs"), 'host=db password=*** dbname=runs');
  assert.is(withoutPassword("host=db password = 'it\\'s s3cret' dbname=runs"), 'host=db password = *** dbname=runs');
  assert.is(withoutPassword('password=Esc\\ aped\tdbname=runs'), 'password=***\tdbname=runs');
  assert.is(withoutPassword("host=db PASSWORD='unterminated s3cret"), 'host=db PASSWORD=***');
  assert.is(withoutPassword('host=db user=rbe'), 'host=db user=rbe');
});

test.run();
