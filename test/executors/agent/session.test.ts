/**
 * The agent session: a target without the PowerShell that starts the agent is a permanent error that
 * says to set RUNBOOK_SSH_SHELL, not a transient reset retried three times.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentSession, noShell } from '../../../src/executors/agent/session.js';
import { ExecutorError, isTransient } from '../../../src/errors.js';

/** A process that prints `stderr` and ends at once, as a shell does for a command it cannot find. */
function gone(stderr: string) {
  return async (output: { stderr(t: string): void; closed(e?: unknown): void }) => {
    setImmediate(() => {
      output.stderr(stderr);
      output.closed();
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

test.run();
