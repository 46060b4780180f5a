/**
 * The agent against the real Windows registry, under a throw-away key. Runs on Windows only (the
 * workflow .github/workflows/windows.yml); elsewhere it says it was skipped.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLocalExecutor } from '../../src/executors/local.js';
import type { HostOp } from '../../src/index.js';

const onWindows = process.platform === 'win32';
if (!onWindows) {
  if (process.env.RUNBOOK_WINDOWS_TESTS) throw new Error('RUNBOOK_WINDOWS_TESTS is set but this is not Windows');
  console.log('  (skipped test/executors/windows-registry.test.ts: not on Windows; .github/workflows/windows.yml runs it)');
}

const KEY = `SOFTWARE\\RunbookEngineTest\\${process.pid}`;
const dword = (data: number) => ({ type: 'REG_DWORD' as const, data });

if (onWindows) {
  const ex = createLocalExecutor();

  test.after(async () => {
    await ex.run([
      { op: 'registry.deleteKey', view: '64', key: 'SOFTWARE\\RunbookEngineTest', onlyIfEmpty: false },
      { op: 'registry.deleteKey', view: '32', key: 'SOFTWARE\\RunbookEngineTest', onlyIfEmpty: false },
    ]);
  });

  test('DWORD 0xFFFFFFFF round-trips unsigned; set is idempotent', async () => {
    const set: HostOp = { op: 'registry.set', view: '64', key: KEY, name: 'D', value: dword(0xffffffff) };
    const [first, second, got] = await ex.run([set, set, { op: 'registry.get', view: '64', key: KEY, name: 'D' }]);
    assert.is((first as { changed: boolean }).changed, true);
    assert.is((second as { changed: boolean }).changed, false);
    assert.equal((got as { value: unknown }).value, dword(4294967295));
  });

  test('the 32-bit view is the Wow6432Node key', async () => {
    await ex.run([{ op: 'registry.set', view: '32', key: KEY, name: 'W', value: dword(1) }]);
    const [native, wow] = await ex.run([
      { op: 'registry.get', view: '64', key: KEY, name: 'W' },
      { op: 'registry.get', view: '64', key: KEY.replace('SOFTWARE\\', 'SOFTWARE\\Wow6432Node\\'), name: 'W' },
    ]);
    assert.is((native as { value: unknown }).value, null);
    assert.equal((wow as { value: unknown }).value, dword(1));
  });

  test('every value type round-trips; export writes a .reg file', async () => {
    const values = [
      { name: 'S', value: { type: 'REG_SZ' as const, data: `it's "q" $(x) 中文` } },
      { name: 'E', value: { type: 'REG_EXPAND_SZ' as const, data: '%SystemRoot%\\x' } },
      { name: 'M', value: { type: 'REG_MULTI_SZ' as const, data: ['a', 'b'] } },
      { name: 'B', value: { type: 'REG_BINARY' as const, data: '00ff10' } },
      { name: 'Q', value: { type: 'REG_QWORD' as const, data: '18446744073709551615' } },
    ];
    const results = await ex.run(values.flatMap((v): HostOp[] => [
      { op: 'registry.set', view: '64', key: KEY, name: v.name, value: v.value },
      { op: 'registry.get', view: '64', key: KEY, name: v.name },
    ]));
    values.forEach((v, i) => assert.equal((results[i * 2 + 1] as { value: unknown }).value, v.value));
    const [exported] = await ex.run([{ op: 'registry.export', view: '64', key: KEY, file: `${process.env.TEMP}\\rbe-${process.pid}.reg` }]);
    assert.match((exported as { content: string }).content, /Windows Registry Editor Version 5\.00/);
  });

  test('registry.exportText answers the text reg export writes for the key, leaving no file in the temporary folder; a missing key answers exists: false', async () => {
    const { readdir } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const left = async () => (await readdir(tmpdir())).filter((f) => /^runbook-[0-9a-f]{32}\.reg$/.test(f));
    const before = await left();
    await ex.run([{ op: 'registry.set', view: '64', key: `${KEY}\\Sub`, name: 'Café', value: { type: 'REG_SZ', data: 'Grüße 中文' } }]);
    const [text, missing, exported] = (await ex.run([
      { op: 'registry.exportText', view: '64', key: KEY },
      { op: 'registry.exportText', view: '64', key: `${KEY}\\NoSuchKey` },
      { op: 'registry.export', view: '64', key: KEY, file: `${process.env.TEMP}\\rbe-text-${process.pid}.reg` },
    ])) as { exists?: boolean; content: string }[];
    assert.is(text.exists, true);
    assert.is(text.content, exported.content);
    assert.ok(text.content.includes('"Café"="Grüße 中文"'));
    assert.equal(missing, { op: 'registry.exportText', exists: false, content: '' });
    assert.equal(await left(), before, 'a temporary file was left behind');
  });
}

test.run();
