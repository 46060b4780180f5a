/**
 * A network target's port and host are checked where each parser reads them (ssh://, pwsh+ssh://,
 * winrm://, winrm+https://): a port outside 1–65535, or a host a client could take for an option, is
 * refused naming it, before anything is made or contacted.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSshTarget } from '../../src/executors/ssh.js';
import { parseRemotingTarget } from '../../src/executors/powershell-remoting.js';
import { parseWinrmTarget } from '../../src/executors/winrm.js';

const parsers: [string, (target: string) => unknown][] = [
  ['ssh://u@', parseSshTarget],
  ['pwsh+ssh://u@', parseRemotingTarget],
  ['winrm://', parseRemotingTarget],
  ['winrm://', parseWinrmTarget],
  ['winrm+https://', parseWinrmTarget],
];

test('a port outside 1–65535 is refused by every parser, naming it (port 0 reached port 22; 65536 failed inside Node)', () => {
  for (const [prefix, parse] of parsers) {
    for (const port of ['0', '65536', '99999999999999999999', '00']) {
      const target = `${prefix}127.0.0.1:${port}`;
      assert.throws(() => parse(target), (e: Error) => e.message === `"${target}": the port ${port.replace(/^0+(?=\d)/, '')} is not between 1 and 65535`, target);
    }
    assert.ok(JSON.stringify(parse(`${prefix}127.0.0.1:65535`)).includes('"port":65535'), prefix);
    assert.ok(JSON.stringify(parse(`${prefix}127.0.0.1:1`)).includes('"port":1'), prefix);
  }
});

test('a host that starts with "-" is refused by every parser: an ssh client would read -oProxyCommand=… as an option', () => {
  for (const [prefix, parse] of parsers) {
    const target = `${prefix}-oProxyCommand=touch`;
    assert.throws(() => parse(target), (e: Error) => e.message.startsWith(`"${target}": the host "-oProxyCommand=touch" starts with "-"`), target);
  }
  assert.equal(parseSshTarget('ssh://admin@web-01'), { username: 'admin', host: 'web-01', port: 22 }, 'a dash inside a name is fine');
});

test.run();
