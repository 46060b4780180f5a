/**
 * The agent session: a target without the PowerShell that starts the agent is a permanent error that
 * says to set RUNBOOK_SSH_SHELL, not a transient reset retried three times.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentSession, noShell } from '../../../src/executors/agent/session.js';
import { ExecutorError, isTransient } from '../../../src/errors.js';
import { CLM_CLIXML } from './clixml-fixture.js';

/** A process that prints `stderr` and ends at once (with `exitCode`, when the transport knows it), as a shell does for a command it cannot find. */
function gone(stderr: string, exitCode?: number) {
  return async (output: { stderr(t: string): void; closed(e?: unknown, exitCode?: number | null): void }) => {
    setImmediate(() => {
      output.stderr(stderr);
      output.closed(undefined, exitCode);
    });
    return { write: () => undefined, end: () => undefined, kill: () => undefined };
  };
}

test('no PowerShell on the target: a permanent error naming RUNBOOK_SSH_SHELL', async () => {
  for (const said of ["bash: line 1: powershell: command not found", "'powershell' is not recognized as an internal or external command,\r\noperable program or batch file."]) {
    const session = new AgentSession('ssh://admin@web01', gone(said));
    const error = await session.call([{ op: 'os.info' }]).then(() => undefined, (e: unknown) => e);
    assert.instance(error, ExecutorError);
    assert.is(isTransient(error), false, 'not retried');
    assert.match((error as Error).message, /no PowerShell on the target/);
    assert.match((error as Error).message, /→ name the PowerShell the target has with RUNBOOK_SSH_SHELL/);
  }
});

test('an agent that ended for another reason stays a reset (transient)', async () => {
  const session = new AgentSession('ssh://admin@web01', gone('connection closed by peer'));
  const error = await session.call([{ op: 'os.info' }]).then(() => undefined, (e: unknown) => e);
  assert.is(isTransient(error), true);
  assert.is(noShell('RBE-READY', 'command not found'), false, 'an agent that spoke had its shell');
});

test('PowerShell refusing the agent before it answered (a non-zero exit code, CLIXML error records) is permanent, its error in plain text', async () => {
  const session = new AgentSession('winrm://admin@web01:5985', gone(CLM_CLIXML, 1));
  const error = await session.call([{ op: 'os.info' }]).then(() => undefined, (e: unknown) => e);
  assert.instance(error, ExecutorError);
  assert.is(isTransient(error), false, 'not retried');
  const message = (error as Error).message;
  assert.match(message, /the agent could not start on the target: PowerShell ended with exit code 1: Cannot invoke method\. Method invocation is supported only on core types in this language mode\./);
  assert.match(message, /Constrained Language Mode/);
  assert.not.match(message, /_x000D_|<Objs|CLIXML/);
});

test('an agent that ended with CLIXML but no exit code stays a reset, its words in plain text', async () => {
  const session = new AgentSession('ssh://admin@web01', gone(CLM_CLIXML));
  const error = await session.call([{ op: 'os.info' }]).then(() => undefined, (e: unknown) => e);
  assert.is(isTransient(error), true);
  assert.match((error as Error).message, /before it answered: Cannot invoke method/);
  assert.not.match((error as Error).message, /_x000D_|<Objs/);
});

test.run();
