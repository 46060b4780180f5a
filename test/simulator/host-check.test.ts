/**
 * A simulated host file is checked where it is read: every preset passes, and a malformed file is
 * refused with its fields named before any operation runs (nothing changed on it).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { createPreset, createSimulatedExecutor, listPresets } from '../../src/index.js';
import { simHostIssues } from '../../src/simulator/host-check.js';
import { makeHost } from '../helpers.js';

test('every preset is a well-formed simulated host', () => {
  for (const { name } of listPresets()) assert.equal(simHostIssues(JSON.parse(JSON.stringify(createPreset(name)))), [], name);
});

test('an Update Rollup of -1 (what the agent answers when the server cannot tell) is a well-formed host; -2 or 1.5 is not', () => {
  const doc = JSON.parse(JSON.stringify(createPreset('server-2016')));
  doc.orchestrator.updateRollup = -1;
  assert.equal(simHostIssues(doc), []);
  for (const bad of [-2, 1.5]) {
    doc.orchestrator.updateRollup = bad;
    assert.ok(simHostIssues(doc).some((i) => i.startsWith('orchestrator.updateRollup')), String(bad));
  }
});

test('a malformed host file is refused with every bad field named, and nothing is changed on it', async () => {
  const file = await makeHost('server-2016');
  const doc = JSON.parse(await readFile(file, 'utf8'));
  doc.services = 'x';
  doc.bootTime = 'yesterday';
  doc.faults = [{ op: 'restart', kind: 'sometimes', times: 1 }];
  const text = JSON.stringify(doc);
  await writeFile(file, text);
  const error = await createSimulatedExecutor(file).then(
    () => null,
    (e: Error) => e,
  );
  assert.ok(error, 'refused');
  assert.match(error!.message, /the simulated host file is not valid/);
  assert.match(error!.message, /services: Invalid input: expected record, received string/);
  assert.match(error!.message, /bootTime: expected a date and time/);
  assert.match(error!.message, /faults\.0\.kind: Invalid option/);
  assert.ok(error!.message.includes(file), 'names the file');
  assert.is(await readFile(file, 'utf8'), text);
});

test('a registry value whose data its type could not hold, a type no registry has, or a wait no timer takes, is refused naming the field', () => {
  const doc = JSON.parse(JSON.stringify(createPreset('server-2016')));
  const key = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Server';
  doc.registry[key] = {
    Enabled: { type: 'REG_DWORD', data: 'one' },
    Negative: { type: 'REG_DWORD', data: -1 },
    Big: { type: 'REG_QWORD', data: '18446744073709551616' },
    Hex: { type: 'REG_BINARY', data: 'ABCD' },
    Multi: { type: 'REG_MULTI_SZ', data: ['a', 1] },
    Bogus: { type: 'REG_BOGUS', data: 1 },
    Fine: { type: 'REG_QWORD', data: '18446744073709551615' },
  };
  doc.latencyMs = 1e12;
  const issues = simHostIssues(doc);
  for (const name of ['Enabled', 'Negative', 'Big', 'Hex', 'Multi']) assert.ok(issues.some((i) => i.startsWith(`registry.${key}.${name}.data: data does not fit its type`)), `${name}: ${issues.join('\n')}`);
  assert.ok(issues.some((i) => i.startsWith(`registry.${key}.Bogus.type: Invalid option`)), issues.join('\n'));
  assert.not.ok(issues.some((i) => i.includes('.Fine.')), 'the largest QWORD fits');
  assert.ok(issues.includes('latencyMs: Too big: expected number to be <=2147483647'), issues.join('\n'));
  assert.is(issues.length, 7);
});

test('fields the simulator computes with are refused naming the field when they do not hold what it reads: SQL instances, .NET 3.5, protocols in effect, waits too long for a date, times that are no date', () => {
  const doc = JSON.parse(JSON.stringify(createPreset('server-2016')));
  doc.sqlInstances = [{ name: null, version: '13.2.5026.0' }, 5, { name: 'A', version: 7 }];
  doc.dotnet35 = { installed: 'yes', file: null, version: null };
  doc.inEffect = { 'TLS 1.2': { Server: 'on' }, 'TLS 9': {} };
  doc.downtimeMs = 1e308;
  doc.down = { since: 'x', until: 'y' };
  doc.pendingShutdown = { by: 'someone', at: 'soon' };
  doc.keyTimes = { SOFTWARE: 'yesterday' };
  doc.services.orunbook.startDelayMs = 1e308;
  doc.sqlReadyAt = 'later';
  const issues = simHostIssues(doc);
  for (const wanted of [
    'sqlInstances.0.name: Invalid input: expected string, received null',
    'sqlInstances.1: Invalid input: expected object, received number',
    'sqlInstances.2.version: Invalid input: expected string, received number',
    'dotnet35.installed: Invalid input: expected boolean, received string',
    'inEffect.TLS 1.2.Server: Invalid input: expected boolean, received string',
    'inEffect: Unrecognized key: "TLS 9"',
    'downtimeMs: Too big: expected number to be <=100000000000000',
    'down.since: expected a date and time (ISO 8601)',
    'down.until: expected a date and time (ISO 8601)',
    'pendingShutdown.at: expected a date and time (ISO 8601)',
    'keyTimes.SOFTWARE: expected a date and time (ISO 8601)',
    'services.orunbook.startDelayMs: Too big: expected number to be <=100000000000000',
    'sqlReadyAt: expected a date and time (ISO 8601)',
  ]) {
    assert.ok(issues.includes(wanted), `${wanted}\n— got:\n${issues.join('\n')}`);
  }
  assert.is(issues.length, 13, issues.join('\n'));
  // What the agent reports stays valid: no .NET 3.5, a SQL Server whose setup wrote no version.
  const plain = JSON.parse(JSON.stringify(createPreset('server-2016')));
  plain.dotnet35 = { installed: false, file: null, version: null };
  plain.sqlInstances = [{ name: 'MSSQLSERVER', version: '', edition: 'Standard Edition' }];
  assert.equal(simHostIssues(plain), []);
});

test('a host file that is not JSON is refused saying where the JSON breaks and how to fix it, not how to reach a network host', async () => {
  const file = await makeHost('server-2016');
  const text = (await readFile(file, 'utf8')).slice(0, 40);
  await writeFile(file, text);
  const error = await createSimulatedExecutor(file).then(
    () => null,
    (e: Error) => e,
  );
  assert.ok(error, 'refused');
  assert.match(error!.message, /the simulated host file is not valid JSON: it breaks at its end \(/);
  assert.ok(error!.message.includes(file), 'names the file');
  assert.match(error!.message, /→ .*runbook sim create --preset/, 'says what to do');
  assert.is(await readFile(file, 'utf8'), text);
});

test('a host file that is not JSON at all is refused naming the file and where the JSON breaks, quoting none of it', async () => {
  const file = await makeHost('server-2016');
  await writeFile(file, 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n');
  const error = await createSimulatedExecutor(file).then(
    () => null,
    (e: Error) => e,
  );
  assert.match(error!.message, /^the simulated host file is not valid JSON: it breaks at line 1, column 1 \(/);
  assert.ok(error!.message.includes(file), 'names the file');
  assert.not.ok(/root|daemon|bash/.test(error!.message.replace(file, '')), error!.message);
  assert.is(error!.cause, undefined, 'a cause quoting the text');
  // Further in: where it breaks, still without the text.
  await writeFile(file, '{\n  "format": "x",\n  "registry": nope\n}');
  const later = await createSimulatedExecutor(file).then(
    () => null,
    (e: Error) => e,
  );
  assert.match(later!.message, /not valid JSON: it breaks at line 3, column 16 \(/);
  assert.not.ok(later!.message.includes('nope'));
});

test('a host file that starts with a byte order mark (Windows PowerShell 5.1 writes one) is read as without it', async () => {
  const file = await makeHost('server-2016');
  await writeFile(file, `\uFEFF${await readFile(file, 'utf8')}`);
  const ex = await createSimulatedExecutor(file);
  const [os] = await ex.run([{ op: 'os.info' }]);
  assert.is((os as { build: number }).build, 14393);
  await ex.close();
});

test('a host file someone else rewrote between two round trips is checked again before it is used', async () => {
  const file = await makeHost('server-2016');
  const ex = await createSimulatedExecutor(file);
  const key = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server';
  await ex.run([{ op: 'registry.set', view: '64', key, name: 'Enabled', value: { type: 'REG_DWORD', data: 1 } }]);
  const good = await readFile(file, 'utf8');
  const doc = JSON.parse(good);
  doc.bootTime = 'yesterday';
  await writeFile(file, `${JSON.stringify(doc, null, 2)}\n`);
  const error = await ex.run([{ op: 'boot.time' }]).then(
    () => null,
    (e: Error) => e,
  );
  assert.match(error?.message ?? 'accepted', /bootTime: expected a date and time/);
  // The document this executor wrote itself, put back by someone else, is a valid one again.
  await writeFile(file, good);
  const [boot] = await ex.run([{ op: 'boot.time' }]);
  assert.is((boot as { bootTime: string }).bootTime, JSON.parse(good).bootTime);
  await ex.close();
});

test('schannelDefaults may state only what the facts leave open, with protocols and sides spelt as Windows spells them', () => {
  const doc = JSON.parse(JSON.stringify(createPreset('server-2016')));
  // Build 14393: the protocols table settles TLS 1.0 (enabled); a document cannot make it otherwise.
  doc.schannelDefaults = { 'TLS 1.0': { Server: false } };
  assert.equal(simHostIssues(doc), [
    'schannelDefaults.TLS 1.0.Server: the facts settle this default on build 14393 (enabled, schannel.protocol-defaults); a host document states only what they leave open — remove it',
  ]);
  doc.schannelDefaults = { 'TLS1.0': { Server: false }, 'TLS 1.1': { server: true }, note: 3 };
  const issues = simHostIssues(doc).join('\n');
  assert.match(issues, /schannelDefaults: Unrecognized key: "TLS1\.0"/);
  assert.match(issues, /schannelDefaults\.TLS 1\.1: Unrecognized key: "server"/);
  assert.match(issues, /schannelDefaults\.note: Invalid input: expected string/);
  const open = JSON.parse(JSON.stringify(createPreset('server-2025')));
  assert.equal(simHostIssues(open), [], 'the open defaults of build 26100 may be stated');
});

test.run();
