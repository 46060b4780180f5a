/**
 * What the simulated host's Remote Shell runs: the agent's bootstrap command line, and nothing else.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bootstrapArgs } from '../../src/executors/agent/protocol.js';
import { isAgentCommandLine } from '../../src/simulator/winrs-agent.js';

test('the shell accepts the agent bootstrap (as the executor and pywinrm run_ps send it) and nothing else', () => {
  const args = bootstrapArgs();
  assert.ok(isAgentCommandLine(['powershell.exe', ...args].join(' ')));
  assert.ok(isAgentCommandLine(`powershell -encodedcommand ${args[args.length - 1]}`));
  assert.ok(isAgentCommandLine(`POWERSHELL.EXE -ExecutionPolicy Bypass ${args.join(' ')}`));
  assert.not.ok(isAgentCommandLine('cmd.exe /c whoami'));
  assert.not.ok(isAgentCommandLine(`powershell -encodedcommand ${Buffer.from('Remove-Item C:\\ -Recurse', 'utf16le').toString('base64')}`));
  assert.not.ok(isAgentCommandLine(`powershell -Command Get-Date ${args.join(' ')}`));
});

test.run();
