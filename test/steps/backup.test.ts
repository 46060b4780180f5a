/**
 * Step `windows/registry-backup` and secrets: its files' names never carry a secret and stay unique;
 * a backup whose text would hold a secret fails before any change (check mode says so too), and one
 * whose key path or targetDir holds one before anything carrying it is sent to the target; and the
 * run's `saveFile` refuses a file that holds one instead of keeping a masked copy.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Runner, StepKindRegistry, bundledStepKinds, createSimulatedExecutor, defineStepKind, validateRunbook, type Executor, type HostOp, type RunbookDefinition } from '../../src/index.js';
import { MAX_BACKUP_FILE_NAME, backupFileNames } from '../../src/steps/backup.js';
import { hostRunId } from '../../src/fleet/host-lane.js';
import { MAX_HOST_NAME } from '../../src/fleet/inventory.js';
import { createMasker } from '../../src/engine/secrets.js';
import { kinds, makeHost, readRegFile, runToEnd, tempDir } from '../helpers.js';

const SECRET = 'Vault-Passw0rd';
const PROTOCOLS = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';

test('backup file names: readable from the key\'s last part, by its place where that would carry a secret or be empty, unique among keys that read alike', () => {
  const masker = createMasker({ tok: SECRET });
  const holds = (text: string) => masker.text(text) !== text;
  assert.equal(backupFileNames('r1', [PROTOCOLS, 'SOFTWARE\\Microsoft\\.NETFramework'], holds), ['r1-Protocols', 'r1-.NETFramework']);
  // The last part holds it as it is, or becomes it once made a file name (spaces to dashes).
  assert.equal(backupFileNames('r1', [`SOFTWARE\\${SECRET}`, 'SOFTWARE\\Vault Passw0rd', 'SOFTWARE\\***'], holds), ['r1-key1', 'r1-key2', 'r1-key3']);
  // Windows names files without case: two keys that read alike would share one file.
  assert.equal(backupFileNames('r1', ['SOFTWARE\\A\\Foo', 'SOFTWARE\\B\\foo', 'SOFTWARE\\A\\Foo'], holds), ['r1-Foo', 'r1-foo-2', 'r1-Foo']);
});

/** A key's last part as long as Windows allows a key's name (255 characters). */
const LONG_LEAF = `Acme${'x'.repeat(251)}`;

test('backup file names stay within a file name\'s bytes for a key name of 255 characters and a fleet host\'s longest run id: unique, and still reading as the run and the key', () => {
  const holds = () => false;
  const fleetHost = hostRunId('20260101-000000-fleet-a1b2c3', 'h'.repeat(MAX_HOST_NAME));
  for (const runId of ['20261207-101500-orchestrator-tls12-a1b2c3', fleetHost]) {
    const keys = [`SOFTWARE\\A\\${LONG_LEAF}`, `SOFTWARE\\B\\${LONG_LEAF}`, `SOFTWARE\\A\\${LONG_LEAF}y`, 'SOFTWARE\\Short', `SOFTWARE\\A\\${LONG_LEAF.toUpperCase()}`];
    const names = backupFileNames(runId, keys, holds);
    for (const name of names) {
      assert.ok(Buffer.byteLength(`${name}-64bit.reg`) <= MAX_BACKUP_FILE_NAME, `${name.length}: ${name}`);
      assert.ok(name.startsWith(runId.slice(0, 40)), name);
    }
    assert.match(names[0], /-Acmexxxx+-[0-9a-f]{8}$/);
    // Three keys, three files; the same key (Windows reads it without case) one file.
    assert.is(new Set(names.slice(0, 3).map((n) => n.toLowerCase())).size, 3, names.join('\n'));
    assert.is(names[4].toLowerCase(), names[0].toLowerCase());
    assert.is(names[3], runId === fleetHost ? names[3] : `${runId}-Short`);
    // The same run and keys give the same names (a resume names them again).
    assert.equal(backupFileNames(runId, keys, holds), names);
  }
  assert.ok(MAX_BACKUP_FILE_NAME + '.4194304-0123abcd-99999999.tmp'.length <= 255, 'room for the temporary name a write goes to first');
});

test('a key whose name is 255 characters long is backed up: its file kept in the run\'s backups under a shortened name, which the journal pairs with the key', async () => {
  const key = `SOFTWARE\\Acme\\${LONG_LEAF}`;
  const host = await makeHost('server-2016', (h) => {
    h.registry[key] = { Flag: { type: 'REG_DWORD', data: 1 } };
  });
  process.env.RBE_BACKUP_SECRET = SECRET;
  try {
    const { result, runner } = await runToEnd(host, { runbook: validateRunbook(backingUp(key), kinds, 'inline') });
    assert.is(result.status, 'succeeded', JSON.stringify(result.steps[0].error));
    const dir = join(runner.runDir(result.runId), 'backups');
    const files = (await readdir(dir)).sort();
    assert.is(files.length, 2, files.join('\n'));
    for (const file of files) {
      assert.ok(Buffer.byteLength(file) <= MAX_BACKUP_FILE_NAME, file);
      assert.match(file, new RegExp(`^${result.runId}-Acmex+-[0-9a-f]{8}-(32|64)bit\\.reg$`));
    }
    // The export of the key itself (in the 32-bit view, whose path runs through Wow6432Node, it has none).
    assert.match(await readRegFile(join(dir, files.find((f) => f.endsWith('-64bit.reg'))!)), `[HKEY_LOCAL_MACHINE\\${key}]`);
    // The journal says which file is which key's, in which view.
    const journal = await readFile(join(runner.runDir(result.runId), 'journal.jsonl'), 'utf8');
    const output = journal
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.stringify(JSON.parse(line)))
      .find((line) => line.includes('"files":[{'));
    assert.ok(output, 'no record of the backup\'s files');
    for (const view of ['64', '32']) {
      const local = `backups/${files.find((f) => f.endsWith(`-${view}bit.reg`))}`;
      assert.ok(output.includes(JSON.stringify({ target: `C:\\Windows\\Temp\\${local.slice('backups/'.length)}`, local, key, view }).slice(1, -1)), output);
    }
  } finally {
    delete process.env.RBE_BACKUP_SECRET;
  }
});

/** A runbook backing up `key` before SCHANNEL changes, with a secret parameter from RBE_BACKUP_SECRET. */
function backingUp(key: string): RunbookDefinition {
  return {
    name: 'backs-up',
    parameters: { tok: { type: 'string', secret: true, env: 'RBE_BACKUP_SECRET' } },
    steps: [
      { id: 'backup', uses: 'windows/registry-backup', with: { keys: [{ key, views: ['64', '32'] }] } },
      { id: 'schannel', uses: 'windows/schannel', with: { mode: 'tls12-only' } },
    ],
  };
}

for (const checkMode of [false, true]) {
  test(`a key whose values hold a secret: the backup fails before any change${checkMode ? ' (check mode says so)' : ''}, naming the step and the key, never the value; the host file byte-identical`, async () => {
    const host = await makeHost('server-2016', (h) => {
      h.registry['SOFTWARE\\Acme'] = { Conn: { type: 'REG_SZ', data: `Server=db;Password=${SECRET};` } };
    });
    const before = await readFile(host);
    const stateDir = await tempDir();
    process.env.RBE_BACKUP_SECRET = SECRET;
    try {
      const { result, runner } = await runToEnd(host, { runbook: validateRunbook(backingUp('SOFTWARE\\Acme'), kinds, 'inline'), stateDir, checkMode });
      const error = result.steps[0].error;
      assert.is(error?.code, 'SECRET_IN_BACKUP', JSON.stringify(result.steps[0]));
      assert.match(error?.message ?? '', /^step backup: the backup of HKLM\\SOFTWARE\\Acme \(64-bit view\) would hold the value of a secret parameter/);
      assert.match(error?.message ?? '', /the step exported nothing and changed nothing/);
      assert.is(result.steps[1].status, 'pending', 'a later step ran');
      assert.ok((await readFile(host)).equals(before), 'the host file changed');
      const dir = runner.runDir(result.runId);
      assert.not.ok(existsSync(join(dir, 'backups')), 'a backup was kept');
      for (const name of await readdir(dir)) assert.not.ok((await readFile(join(dir, name), 'utf8')).includes(SECRET), `${name} holds the secret`);
    } finally {
      delete process.env.RBE_BACKUP_SECRET;
    }
  });
}

// The refusal finds what the mask finds: a secret of 8 characters or more in another case, and each
// form of secretForms, here XML-escaped as a value of a configuration document holds it.
for (const [form, secret, data] of [
  ['in another case', SECRET, `Server=db;Password=${SECRET.toUpperCase()};`],
  ['XML-escaped', 'Vault&Passw0rd<1>', '<add key="Password" value="Vault&amp;Passw0rd&lt;1&gt;" />'],
] as const) {
  test(`a key whose values hold a secret ${form} is refused as well, before any change`, async () => {
    const host = await makeHost('server-2016', (h) => {
      h.registry['SOFTWARE\\Acme'] = { Conn: { type: 'REG_SZ', data } };
    });
    const before = await readFile(host);
    process.env.RBE_BACKUP_SECRET = secret;
    try {
      const { result, runner } = await runToEnd(host, { runbook: validateRunbook(backingUp('SOFTWARE\\Acme'), kinds, 'inline') });
      assert.is(result.steps[0].error?.code, 'SECRET_IN_BACKUP', JSON.stringify(result.steps[0]));
      assert.match(result.steps[0].error?.message ?? '', /^step backup: the backup of HKLM\\SOFTWARE\\Acme \(64-bit view\) would hold the value of a secret parameter/);
      assert.ok((await readFile(host)).equals(before), 'the host file changed');
      assert.not.ok(existsSync(join(runner.runDir(result.runId), 'backups')), 'a backup was kept');
    } finally {
      delete process.env.RBE_BACKUP_SECRET;
    }
  });
}

// `reg export` writes a REG_EXPAND_SZ, REG_MULTI_SZ or REG_BINARY as comma-separated hex bytes
// (hex(2):56,00,61,00,…), wrapping a long line with `\` and an indented new line: the refusal
// decodes them. A short secret (4 to 7 characters), which no hex form of the mask covers in UTF-8,
// is found in the decoded text as well.
const utf16 = (text: string) => Buffer.from(text, 'utf16le').toString('hex');
for (const [form, secret, value] of [
  ['in a REG_EXPAND_SZ (hex(2))', SECRET, { type: 'REG_EXPAND_SZ', data: `%TEMP%;${SECRET}` }],
  ['in a REG_EXPAND_SZ whose export line is wrapped inside the secret', SECRET, { type: 'REG_EXPAND_SZ', data: `%SystemRoot%\\system32;%TEMP%;%ProgramFiles%;${SECRET}` }],
  ['in a REG_MULTI_SZ (hex(7))', SECRET, { type: 'REG_MULTI_SZ', data: ['a', SECRET] }],
  ['in a REG_BINARY as UTF-16LE text, at an odd byte', SECRET, { type: 'REG_BINARY', data: `01${utf16(SECRET)}00` }],
  ['in a REG_BINARY as UTF-8 text', SECRET, { type: 'REG_BINARY', data: `0102${Buffer.from(SECRET).toString('hex')}` }],
  ['of 5 characters in a REG_EXPAND_SZ', 'Zq9-x', { type: 'REG_EXPAND_SZ', data: '%TEMP%;Zq9-x' }],
  // A PIN as a number: `dword:02710001`, and a REG_QWORD's little-endian `hex(b):` bytes.
  ['of digits as a REG_DWORD', '40960001', { type: 'REG_DWORD', data: 40960001 }],
  ['of digits as a REG_QWORD', '40960001', { type: 'REG_QWORD', data: '40960001' }],
] as const) {
  test(`a key whose values hold a secret ${form} is refused before any change, the host file byte-identical`, async () => {
    const host = await makeHost('server-2016', (h) => {
      h.registry['SOFTWARE\\Acme'] = { Value: structuredClone(value) as never };
    });
    const before = await readFile(host);
    process.env.RBE_BACKUP_SECRET = secret;
    try {
      const { result, runner } = await runToEnd(host, { runbook: validateRunbook(backingUp('SOFTWARE\\Acme'), kinds, 'inline') });
      assert.is(result.steps[0].error?.code, 'SECRET_IN_BACKUP', JSON.stringify(result.steps[0]));
      assert.match(result.steps[0].error?.message ?? '', /^step backup: the backup of HKLM\\SOFTWARE\\Acme \(64-bit view\) would hold the value of a secret parameter/);
      assert.is(result.steps[1].status, 'pending', 'a later step ran');
      assert.ok((await readFile(host)).equals(before), 'the host file changed');
      assert.not.ok(existsSync(join(runner.runDir(result.runId), 'backups')), 'a backup was kept');
    } finally {
      delete process.env.RBE_BACKUP_SECRET;
    }
  });
}

test('a targetDir holding a secret is refused before any export: the paths on the target would carry it', async () => {
  const host = await makeHost('server-2016');
  const before = await readFile(host);
  process.env.RBE_BACKUP_SECRET = SECRET;
  try {
    const runbook = backingUp(PROTOCOLS);
    runbook.steps[0].with = { keys: [{ key: PROTOCOLS }], targetDir: 'C:\\Backups\\${{ params.tok }}' };
    const { result } = await runToEnd(host, { runbook: validateRunbook(runbook, kinds, 'inline') });
    assert.is(result.steps[0].error?.code, 'SECRET_IN_BACKUP');
    assert.match(result.steps[0].error?.message ?? '', /step backup: targetDir holds the value of a secret parameter/);
    assert.ok((await readFile(host)).equals(before));
  } finally {
    delete process.env.RBE_BACKUP_SECRET;
  }
});

/** An executor double: the simulated host, with every batch it is sent recorded as sent. */
function recording(inner: Executor): Executor & { batches: HostOp[][] } {
  const batches: HostOp[][] = [];
  return {
    batches,
    name: inner.name,
    target: inner.target,
    onTarget: inner.onTarget,
    get roundTrips() {
      return inner.roundTrips;
    },
    run(batch, options) {
      batches.push(structuredClone([...batch]));
      return inner.run(batch, options);
    },
    tlsEndpoints: () => inner.tlsEndpoints?.() ?? Promise.resolve([]),
    close: () => inner.close(),
  };
}

/** A read-only first step, so that the run's first batch (with every later step's declared reads) goes out before the backup starts. */
const readsFirst = defineStepKind({
  kind: 'test/reads-first',
  description: 'reads the OS and changes nothing',
  params: z.object({}),
  probe: async ({ rt }) => {
    await rt.read([{ op: 'os.info' }]);
    return null;
  },
  plan: () => ({ changes: [], summary: 'nothing to do' }),
  phases: [],
  verify: async () => ({ ok: true, summary: 'nothing', output: null }),
});

const pathCases: [string, RunbookDefinition['steps'][number]['with']][] = [
  ['a key whose path holds the secret', { keys: [{ key: 'SOFTWARE\\Acme\\${{ params.tok }}', views: ['64', '32'] }] }],
  ['a targetDir holding the secret', { keys: [{ key: PROTOCOLS }], targetDir: 'C:\\Backups\\${{ params.tok }}' }],
];
for (const [label, backupWith] of pathCases) {
  for (const checkMode of [false, true]) {
    test(`${label} is refused from the parameters, before the first batch: no operation the executor gets carries the secret, not even the read-ahead of an earlier step${checkMode ? ' (check mode)' : ''}`, async () => {
      const registry = bundledStepKinds().register(readsFirst);
      const runbook: RunbookDefinition = {
        name: 'reads-then-backs-up',
        parameters: { tok: { type: 'string', secret: true, env: 'RBE_BACKUP_SECRET' } },
        steps: [
          { id: 'first', uses: 'test/reads-first' },
          { id: 'backup', uses: 'windows/registry-backup', with: backupWith },
          { id: 'schannel', uses: 'windows/schannel', with: { mode: 'tls12-only' } },
        ],
      };
      const host = await makeHost('server-2016', (h) => {
        h.registry[`SOFTWARE\\Acme\\${SECRET}`] = { Plain: { type: 'REG_SZ', data: 'x' } };
      });
      const executor = recording(await createSimulatedExecutor(host));
      process.env.RBE_BACKUP_SECRET = SECRET;
      try {
        const runner = new Runner({ stateDir: await tempDir(), kinds: registry });
        const result = await runner.start(validateRunbook(runbook, registry, 'inline'), { executor, checkMode }).result;
        const sent = JSON.stringify(executor.batches);
        assert.not.ok(sent.includes(SECRET), `an operation carried the secret: ${sent}`);
        const error = result.steps[1].error;
        assert.is(error?.code, 'SECRET_IN_BACKUP', JSON.stringify(result.steps));
        assert.match(error?.message ?? '', label.startsWith('a key') ? /^step backup: the backup of HKLM\\SOFTWARE\\Acme\\\*\*\* \(64-bit view\), HKLM\\SOFTWARE\\Acme\\\*\*\* \(32-bit view\) would hold the value of a secret parameter: the key's path holds it/ : /^step backup: targetDir holds the value/);
        // The first step's batch went out, and carried the later steps' declared reads (schannel's).
        assert.is(executor.batches.length, 1, JSON.stringify(executor.batches));
        assert.ok(executor.batches[0].some((op) => op.op === 'registry.get' && op.key.includes('SCHANNEL')), 'the read-ahead was sent with the first batch');
        assert.ok(executor.batches[0].some((op) => op.op === 'registry.exportText') === label.startsWith('a targetDir'), 'only a key without the secret is read ahead');
      } finally {
        delete process.env.RBE_BACKUP_SECRET;
      }
    });
  }
}

test('a key whose backup holds no secret is exported and kept as it is, and a compliant host backs up nothing: the secret elsewhere changes neither', async () => {
  const host = await makeHost('server-2016');
  process.env.RBE_BACKUP_SECRET = SECRET;
  try {
    const { result, runner } = await runToEnd(host, { runbook: validateRunbook(backingUp(PROTOCOLS), kinds, 'inline') });
    assert.is(result.status, 'succeeded', JSON.stringify(result.steps[0].error));
    const dir = join(runner.runDir(result.runId), 'backups');
    assert.equal(await readdir(dir), [`${result.runId}-Protocols-64bit.reg`, `${result.runId}-Protocols-32bit.reg`].sort());
    assert.match(await readRegFile(join(dir, `${result.runId}-Protocols-64bit.reg`)), /^Windows Registry Editor Version 5\.00\r\n\r\n\[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\]/);
    // Compliant now: nothing is exported, so a secret under the key would not stop the run.
    const again = await runToEnd(host, { runbook: validateRunbook(backingUp(PROTOCOLS), kinds, 'inline') });
    assert.is(again.result.steps[0].status, 'skipped');
  } finally {
    delete process.env.RBE_BACKUP_SECRET;
  }
});

test('saveFile refuses a file whose content or name holds a secret, writing nothing, instead of keeping a masked copy', async () => {
  for (const [label, name, content] of [
    ['content', 'copy.reg', `"Conn"="Password=${SECRET}"`],
    ['name', `copy-${SECRET}.reg`, 'plain'],
    // The forms the mask finds count too: here another case.
    ['content', 'copy.reg', `"Conn"="Password=${SECRET.toUpperCase()}"`],
    // And a hex value's text, here split across a wrapped line.
    ['content', 'copy.reg', `"Exp"=hex(2):${[...Buffer.from(`${SECRET}\0`, 'utf16le')].map((b) => b.toString(16).padStart(2, '0')).join(',').replace('56,00,61,00,', '56,00,61,00,\\\r\n  ')}`],
  ] as const) {
    const keeps = defineStepKind({
      kind: 'test/keeps-file',
      description: 'keeps a file in the state directory',
      params: z.object({ token: z.string() }),
      probe: async () => null,
      plan: () => ({ changes: [{ target: 'file', field: 'kept', before: null, after: name, action: 'create' }], summary: 'keep it' }),
      phases: [{ name: 'keep', run: async ({ rt }) => ({ file: await rt.saveFile(name, content) }) }],
      verify: async () => ({ ok: true, summary: 'kept', output: null }),
    });
    const registry = new StepKindRegistry().register(keeps);
    const runbook: RunbookDefinition = {
      name: 'keeps',
      parameters: { token: { type: 'string', secret: true, env: 'RBE_BACKUP_SECRET' } },
      steps: [{ id: 'keep', uses: 'test/keeps-file', with: { token: '${{ params.token }}' } }],
    };
    process.env.RBE_BACKUP_SECRET = SECRET;
    try {
      const runner = new Runner({ stateDir: await tempDir(), kinds: registry });
      const run = runner.start(validateRunbook(runbook, registry, 'inline'), { executor: await createSimulatedExecutor(await makeHost('server-2016')) });
      const result = await run.result;
      assert.is(result.steps[0].error?.code, 'SECRET_IN_FILE', label);
      assert.match(result.steps[0].error?.message ?? '', new RegExp(`holds the value of a secret parameter in its ${label}`));
      assert.not.ok(existsSync(join(runner.runDir(run.id), 'backups')), `${label}: a file was written`);
    } finally {
      delete process.env.RBE_BACKUP_SECRET;
    }
  }
});

test.run();
