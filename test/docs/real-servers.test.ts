/**
 * docs/real-servers.md is where a newcomer reads before a real server: it must say what a WinRM target
 * needs of the controller, which TLS endpoints prove the change, how to run the other servers as a
 * fleet, and what has been proven only against simulated hosts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const doc = await readFile(join(import.meta.dirname, '..', '..', 'docs', 'real-servers.md'), 'utf8');

test('a WinRM target: each form with its port, what the controller must reach and trust, and no winrm:// on the HTTPS port', () => {
  assert.match(doc, /`winrm:\/\/admin@orch01` \(HTTP, 5985/);
  assert.match(doc, /`winrm\+https:\/\/admin@orch01` \(HTTPS, 5986\)/);
  assert.match(doc, /a WinRM listener the controller can reach/);
  assert.match(doc, /RUNBOOK_WINRM_CA_FILE/);
  assert.not.match(doc, /`winrm:\/\/[^`]*:5986`/, 'winrm:// is HTTP from a Linux controller: port 5986 is the HTTPS listener');
});

test('the TLS endpoints that prove the change: what the transport gives, and tlsEndpoints for the rest', () => {
  assert.match(doc, /--param tlsEndpoints=web=orch01\.contoso\.com:443/);
  assert.match(doc, /inconclusive/);
});

test('the other servers as a fleet, and what is proven only against simulated hosts', () => {
  assert.match(doc, /runbook run {2}orchestrator-tls12 --inventory servers\.yaml/);
  assert.match(doc, /\(fleets\.md\)/);
  assert.match(doc, /## What is proven only against simulated hosts/);
  assert.match(doc, /a real restart \(`shutdown\.exe`\)/);
});

test.run();
