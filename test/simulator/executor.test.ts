import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { createSimulatedExecutor, ExecutorError, VirtualClock, type HostOp } from '../../src/index.js';
import { hostOf, makeHost, thirtyTwoBit } from '../helpers.js';

const NET4 = 'SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319';

test('the 32-bit view of SOFTWARE is the Wow6432Node key on a 64-bit host', async () => {
  const file = await makeHost('server-2016');
  const ex = await createSimulatedExecutor(file);
  await ex.run([{ op: 'registry.set', view: '32', key: NET4, name: 'SystemDefaultTlsVersions', value: { type: 'REG_DWORD', data: 1 } }]);
  const host = await hostOf(file);
  assert.equal(host.registry[`SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v4.0.30319`].SystemDefaultTlsVersions, { type: 'REG_DWORD', data: 1 });
  assert.is(host.registry[NET4].SystemDefaultTlsVersions, undefined);
  const [native, wow] = await ex.run([
    { op: 'registry.get', view: '64', key: NET4, name: 'SystemDefaultTlsVersions' },
    { op: 'registry.get', view: '64', key: 'SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v4.0.30319', name: 'SystemDefaultTlsVersions' },
  ]);
  assert.equal(native, { op: 'registry.get', keyExists: true, existingAncestor: NET4, value: null });
  assert.equal((wow as { value: unknown }).value, { type: 'REG_DWORD', data: 1 });
});

test('a 32-bit host has one view', async () => {
  const file = await makeHost('server-2019', thirtyTwoBit);
  const ex = await createSimulatedExecutor(file);
  await ex.run([{ op: 'registry.set', view: '32', key: NET4, name: 'X', value: { type: 'REG_DWORD', data: 7 } }]);
  const [r] = await ex.run([{ op: 'registry.get', view: '64', key: NET4, name: 'X' }]);
  assert.equal((r as { value: unknown }).value, { type: 'REG_DWORD', data: 7 });
  assert.not.ok(Object.keys((await hostOf(file)).registry).some((k) => k.includes('Wow6432Node')));
});

test('set reports before and after, creates missing keys, and changes nothing when equal', async () => {
  const file = await makeHost('server-2016');
  const ex = await createSimulatedExecutor(file);
  const key = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server';
  const op: HostOp = { op: 'registry.set', view: '64', key, name: 'Enabled', value: { type: 'REG_DWORD', data: 1 } };
  const [first] = await ex.run([op]);
  assert.equal(first, {
    op: 'registry.set',
    changed: true,
    before: null,
    after: { type: 'REG_DWORD', data: 1 },
    createdKeys: ['SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2', key],
  });
  const [second] = await ex.run([op]);
  assert.is((second as { changed: boolean }).changed, false);
  const [get] = await ex.run([{ op: 'registry.get', view: '64', key: `${key}\\Deeper`, name: 'Enabled' }]);
  assert.is((get as { existingAncestor: string }).existingAncestor, key);
});

test('export renders regedit text, DWORDs as hex, and keeps the file on the host', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.registry['SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0'] = {};
    h.registry['SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Server'] = {
      Enabled: { type: 'REG_DWORD', data: 0xffffffff },
      Note: { type: 'REG_SZ', data: 'say "hi"' },
    };
  });
  const ex = await createSimulatedExecutor(file);
  const [r] = await ex.run([{ op: 'registry.export', view: '64', key: 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols', file: 'C:\\Temp\\p.reg' }]);
  const content = (r as { content: string }).content;
  assert.ok(content.startsWith('Windows Registry Editor Version 5.00\r\n'));
  assert.match(content, /\[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1\.0\\Server\]\r\n"Enabled"=dword:ffffffff\r\n"Note"="say \\"hi\\""/);
  assert.is((await hostOf(file)).files['C:\\Temp\\p.reg'], content);
});

test('injected faults fail the call the given number of times, then pass', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.faults = [{ op: 'registry.set', keyContains: 'tls 1.2', kind: 'transient', times: 2 }];
  });
  const ex = await createSimulatedExecutor(file);
  const op: HostOp = { op: 'registry.set', view: '64', key: 'SOFTWARE\\TLS 1.2', name: 'A', value: { type: 'REG_DWORD', data: 1 } };
  for (let i = 0; i < 2; i++) {
    try {
      await ex.run([op]);
      assert.unreachable();
    } catch (error) {
      assert.instance(error, ExecutorError);
      assert.ok((error as ExecutorError).transient);
    }
  }
  await ex.run([op]);
  assert.is(ex.roundTrips, 3);
});

test('a restart makes the host unreachable for its downtime, then the boot time changes; tls.inEffect reports the values set, before and after', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.downtimeMs = 150;
  });
  const clock = new VirtualClock();
  const ex = await createSimulatedExecutor(file, { clock });
  const [boot] = await ex.run([{ op: 'boot.time' }]);
  const before = (boot as { bootTime: string }).bootTime;
  const key = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Server';
  await ex.run([{ op: 'registry.set', view: '64', key, name: 'Enabled', value: { type: 'REG_DWORD', data: 0 } }]);
  const [effect] = await ex.run([{ op: 'tls.inEffect' }]);
  // What the values make SCHANNEL negotiate, for handles acquired from now: never a write-time guess.
  assert.is((effect as { protocols: Record<string, Record<string, unknown>> }).protocols['TLS 1.0'].Server, false, 'the value set, at once');
  await ex.run([{ op: 'restart', delaySeconds: 0, reason: 't', ifBootTime: before }]);
  try {
    await ex.run([{ op: 'boot.time' }]);
    assert.unreachable();
  } catch (error) {
    assert.is((error as ExecutorError).kind, 'unreachable');
  }
  clock.advance(200);
  const [after, eff] = await ex.run([{ op: 'boot.time' }, { op: 'tls.inEffect' }]);
  assert.is.not((after as { bootTime: string }).bootTime, before);
  assert.is((eff as { protocols: Record<string, Record<string, unknown>> }).protocols['TLS 1.0'].Server, false);
  const [again] = await ex.run([{ op: 'restart', delaySeconds: 0, reason: 't', ifBootTime: before }]);
  assert.equal(again, { op: 'restart', requested: false, alreadyRestarted: true });
});

test('a restarting host answers again as soon as someone else changes its file (its downtime cut short), and not before its time otherwise', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.downtimeMs = 60_000;
  });
  const clock = new VirtualClock();
  const ex = await createSimulatedExecutor(file, { clock });
  const [boot] = await ex.run([{ op: 'boot.time' }]);
  await ex.run([{ op: 'restart', delaySeconds: 0, reason: 't', ifBootTime: (boot as { bootTime: string }).bootTime }]);
  const unreachable = async () => {
    const error = await ex.run([{ op: 'boot.time' }]).then(
      () => null,
      (e: ExecutorError) => e,
    );
    assert.is(error?.kind, 'unreachable');
  };
  await unreachable();
  clock.advance(30_000);
  await unreachable();
  // Someone else (another process, an operator) brings the host back early: the next call sees it.
  const doc = JSON.parse(await readFile(file, 'utf8'));
  doc.down.until = new Date(clock.now() - 1).toISOString();
  await writeFile(file, `${JSON.stringify(doc, null, 2)}\n`);
  const [after] = await ex.run([{ op: 'boot.time' }]);
  assert.is.not((after as { bootTime: string }).bootTime, (boot as { bootTime: string }).bootTime);
  await ex.close();
});

test('a host down without a restart (switched off, cut off) is not said to be restarting; a restarting one is, polled from memory or read', async () => {
  const clock = new VirtualClock();
  const off = await makeHost('server-2016', (h) => {
    h.down = { since: new Date(clock.now()).toISOString(), until: new Date(clock.now() + 3600_000).toISOString() };
  });
  const dead = await createSimulatedExecutor(off, { clock });
  for (let i = 0; i < 2; i++) {
    // The first call reads the document; the second answers from memory (the file unchanged).
    const error = await dead.run([{ op: 'boot.time' }]).then(
      () => null,
      (e: ExecutorError) => e,
    );
    assert.is(error?.kind, 'unreachable');
    assert.not.match(error!.message, /it is restarting/);
    assert.match(error!.message, /the host does not answer \(it is down, not restarting: switched off or cut off, since \S+\)/);
  }
  const file = await makeHost('server-2016', (h) => {
    h.downtimeMs = 60_000;
  });
  const ex = await createSimulatedExecutor(file, { clock });
  const [boot] = await ex.run([{ op: 'boot.time' }]);
  await ex.run([{ op: 'restart', delaySeconds: 0, reason: 't', ifBootTime: (boot as { bootTime: string }).bootTime }]);
  for (let i = 0; i < 2; i++) {
    const error = await ex.run([{ op: 'boot.time' }]).then(
      () => null,
      (e: ExecutorError) => e,
    );
    assert.match(error!.message, /the host does not answer \(it is restarting\)/);
  }
  await dead.close();
  await ex.close();
});

test('a missing or foreign host file is a clear error', async () => {
  try {
    await createSimulatedExecutor('/nonexistent/host.json');
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, /cannot read the simulated host file.*\/nonexistent\/host\.json/s);
    assert.match((error as Error).message, /runbook sim create/);
  }
});

test('a controller on the host goes down with it: after the restart it asked for, it reaches the host no more, however soon the host is back; a new one does', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.onTarget = true;
  });
  const clock = new VirtualClock();
  const ex = await createSimulatedExecutor(file, { clock });
  assert.is(ex.onTarget, true);
  const [boot] = await ex.run([{ op: 'boot.time' }]);
  await ex.run([{ op: 'restart', delaySeconds: 0, reason: 't', ifBootTime: (boot as { bootTime: string }).bootTime }]);
  clock.advance(60_000);
  const error = await ex.run([{ op: 'boot.time' }]).then(
    () => null,
    (e: ExecutorError) => e,
  );
  assert.is(error?.kind, 'unreachable');
  assert.match(error!.message, /this controller runs on the host, which is restarting/);
  const after = await createSimulatedExecutor(file, { clock });
  const [back] = await after.run([{ op: 'boot.time' }]);
  assert.is.not((back as { bootTime: string }).bootTime, (boot as { bootTime: string }).bootTime);
});

test.run();
