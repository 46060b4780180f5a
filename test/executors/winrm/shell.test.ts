/** What each WS-Management fault means to the executor (the shell's operations run in test/executors/winrm.test.ts). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShellGone, faultError } from '../../../src/executors/winrm/shell.js';
import { FaultCode } from '../../../src/executors/winrm/wsman.js';

test('a shell the server does not have is ShellGone, a transient reset', () => {
  const error = faultError({ code: FaultCode.shellNotFound, subcode: 'InvalidSelectors', message: 'the shell was not found on the server' }, 'winrm://h:5985', 'command');
  assert.instance(error, ShellGone);
  assert.is(error.kind, 'reset');
  assert.ok(error.transient);
});

test('an envelope over the limit is permanent and names the setting to change', () => {
  const error = faultError({ code: 2150858817, subcode: 'EncodingLimit', message: 'too large' }, 'winrm://h:5985', 'input');
  assert.is(error.kind, 'permanent');
  assert.match(error.message, /refused the input envelope as too large/);
  assert.match(error.message, /RUNBOOK_WINRM_MAX_ENVELOPE_KB/);
});

test('access denied is permanent and says what the account needs; any other fault is a protocol error', () => {
  const denied = faultError({ code: 5, subcode: 'AccessDenied', message: 'Access is denied.' }, 'winrm://h:5985', 'shell creation');
  assert.is(denied.kind, 'permanent');
  assert.match(denied.message, /Administrators/);
  assert.match(denied.message, /LocalAccountTokenFilterPolicy/, 'the same advice as a 401 from the transport');
  const other = faultError({ code: 42, subcode: 'Other', message: 'odd' }, 'winrm://h:5985', 'receive');
  assert.is(other.kind, 'protocol');
  assert.match(other.message, /fault 42 \(0x0000002A\): odd/);
  const quota = faultError({ code: 2150859174, subcode: 'QuotaLimit', message: 'This user is allowed a maximum number of 30 concurrent shells, which has been exceeded.' }, 'winrm://h:5985', 'shell creation');
  assert.match(quota.message, /fault 2150859174 \(0x803381A6\): This user is allowed/, 'the code in hex as Windows writes it, and in decimal');
});

test('a shell quota reached (w:QuotaLimit) is transient and says which quota, what holds the shells and what to do on the host', () => {
  const error = faultError({ code: 2150859174, subcode: 'QuotaLimit', message: 'The Windows Remote Shell cannot process the request. The server is already executing the maximum number of concurrent shells a user can remotely open on the same system. Retry later.' }, 'winrm://h:5985', 'shell creation');
  assert.ok(error.transient);
  assert.match(error.message, /^the WinRM server answered the shell creation with a fault 2150859174 \(0x803381A6\): The Windows Remote Shell cannot process the request/);
  assert.match(error.message, /MaxShellsPerUser, 30 unless configured/);
  assert.match(error.message, /Get-WSManInstance -ResourceURI shell -Enumerate/);
  assert.match(error.message, /winrm set winrm\/config\/winrs @\{MaxShellsPerUser=/);
});

test.run();
