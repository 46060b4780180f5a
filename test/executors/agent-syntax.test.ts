/**
 * The agent's shape: the production program carries no test branch, and the tests' backend joins it
 * only on request, into a program that still parses with nothing Windows PowerShell 5.1 lacks. (The
 * 5.1 check itself, its rules and its proof that each rule fires, is agent-ps51.test.ts.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { needPwsh } from '../pwsh.js';
import { check51 } from './ps51-check.js';

const run = needPwsh('test/executors/agent-syntax.test.ts');
const AGENT = join(import.meta.dirname, '..', '..', 'src', 'executors', 'agent', 'agent.ps1');

if (run) {
  test('the production agent has no test branch; the tests\' backend is its own file, joined only on request', async () => {
    const { agentProgram, agentScriptFile } = await import('../../src/executors/agent/protocol.js');
    const production = readFileSync(AGENT, 'utf8');
    assert.not.match(production, /RUNBOOK_AGENT_HOST_FILE|HostFile|Load-Doc/);
    assert.is(agentProgram('windows'), production);
    assert.match(agentProgram('file'), /function Load-Doc/);
    // The joined program parses as one, with nothing 5.1 lacks.
    assert.equal(check51([{ path: agentScriptFile('file') }]), [[]]);
  });
}

test.run();
