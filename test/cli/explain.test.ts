/**
 * Errors explained to the operator: an executor's own advice kept, the checklist only without it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

test('an executor error keeps its own advice (an untrusted host key: ssh-keyscan); only a cause without advice gets the checklist', async () => {
  const { reachAdvice } = await import('../../src/cli/explain.js');
  const key = reachAdvice('the host key SHA256:abc is not trusted (ssh://admin@web01)\n  → add the host to known_hosts (ssh-keyscan) or pin its fingerprint with RUNBOOK_SSH_FINGERPRINT');
  assert.is(key.cause, 'the host key SHA256:abc is not trusted (ssh://admin@web01)');
  assert.match(key.advice, /^add the host to known_hosts \(ssh-keyscan\)/);
  assert.not.match(key.advice, /firewall/);
  assert.match(reachAdvice('ECONNREFUSED: connect ECONNREFUSED').advice, /firewall/);
});

test.run();
