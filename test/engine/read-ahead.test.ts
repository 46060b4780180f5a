/**
 * The declared reads of a run's steps, gathered for the drive's first read batch: from the first step
 * the drive has still to run, each read once, in step order.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import { StepKindRegistry, bundledStepKinds, defineStepKind, type HostOp } from '../../src/index.js';
import { ReadAhead, carriesSecret, declaredReads } from '../../src/engine/read-ahead.js';
import { createMasker } from '../../src/engine/secrets.js';
import type { StepDefinition } from '../../src/engine/runbook.js';
import { RESTART_MARKER_READ, TLS13_READS } from '../../src/steps/host-reads.js';
import { kinds as bundled } from '../helpers.js';

const flag = (name: string): HostOp => ({ op: 'registry.get', view: '64', key: 'SOFTWARE\\ReadAhead', name });

const reader = defineStepKind({
  kind: 'test/reader',
  description: 'reads one registry value, declared',
  params: z.object({ name: z.string() }),
  reads: ({ params }) => [flag(params.name)],
  probe: async () => null,
  plan: () => ({ changes: [], summary: 'nothing' }),
  phases: [],
  verify: async () => ({ ok: true, summary: 'ok', output: null }),
});
const kinds = new StepKindRegistry().register(...bundledStepKinds().list(), reader);
const runOf = (steps: StepDefinition[], started: (Record<string, string> | undefined)[] = []) => ({
  steps,
  kinds,
  params: {},
  outputs: {},
  started,
});

test('declared reads are gathered from the first step on, each once, in step order', () => {
  const steps: StepDefinition[] = [
    { id: 'a', uses: 'test/reader', with: { name: 'A' } },
    { id: 'b', uses: 'windows/dotnet-tls' },
    { id: 'c', uses: 'test/reader', with: { name: 'A' } },
    { id: 'd', uses: 'test/reader', with: { name: 'D' } },
  ];
  const run = runOf(steps);
  assert.equal(declaredReads(run, 0), [flag('A'), { op: 'os.info' }, flag('D')]);
  assert.equal(declaredReads(run, 3), [flag('D')], 'a drive that starts further on reads ahead from there');
});

test('a step that started is read ahead with the parameters it started with', () => {
  const steps: StepDefinition[] = [{ id: 'a', uses: 'test/reader', with: { name: '${{ steps.none.outputs.x }}' } }];
  assert.equal(declaredReads(runOf(steps), 0), [], 'parameters not known yet: the step reads for itself');
  assert.equal(declaredReads(runOf(steps, [{ name: 'Started' }]), 0), [flag('Started')]);
});

test('the read-ahead is handed out once per drive', () => {
  const run = runOf([{ id: 'a', uses: 'test/reader', with: { name: 'A' } }]);
  const ahead = new ReadAhead(0);
  assert.equal(ahead.take(run), [flag('A')]);
  assert.equal(ahead.take(run), []);
});

test('a read that carries a secret\'s value anywhere (a key\'s path, a name, a list\'s item, in another form) is told apart, so that it is not read ahead', () => {
  const masker = createMasker({ tok: 'Vault-Passw0rd' });
  const holds = (text: string) => masker.text(text) !== text;
  assert.ok(carriesSecret({ op: 'registry.exportText', view: '64', key: 'SOFTWARE\\Vault-Passw0rd' }, holds));
  assert.ok(carriesSecret({ op: 'registry.get', view: '64', key: 'SOFTWARE\\X', name: 'VAULT-PASSW0RD' }, holds), 'in another case');
  assert.ok(carriesSecret({ op: 'registry.set', view: '64', key: 'SOFTWARE\\X', name: 'M', value: { type: 'REG_MULTI_SZ', data: ['a', 'pre Vault-Passw0rd'] } }, holds));
  assert.not.ok(carriesSecret({ op: 'registry.exportText', view: '64', key: 'SOFTWARE\\Vault' }, holds));
  assert.not.ok(carriesSecret({ op: 'os.info' }, holds));
});

test('a short secret of a run started before the four-character rule does not match the view or the operation: its reads still go ahead', () => {
  const masker = createMasker({ pin: '64' });
  const holds = (text: string) => masker.text(text) !== text;
  assert.not.ok(carriesSecret({ op: 'registry.get', view: '64', key: 'SOFTWARE\\X', name: 'Y' }, holds));
  assert.ok(carriesSecret({ op: 'registry.get', view: '64', key: 'SOFTWARE\\X', name: '64' }, holds), 'a name that is the secret still counts');
});

test('the restart kind declares its marker, the schannel kind TLS 1.3\'s values', () => {
  const named = (ops: readonly HostOp[], read: HostOp) => ops.some((op) => JSON.stringify(op) === JSON.stringify(read));
  assert.ok(named(bundled.get('windows/restart').reads!({ params: { databaseServer: '' } }), RESTART_MARKER_READ));
  for (const read of TLS13_READS) assert.ok(named(bundled.get('windows/schannel').reads!({ params: {} }), read), `schannel declares ${read.key} ${read.name}`);
});

test('the bundled restart and schannel kinds declare what they read: the first batch still carries it', () => {
  const steps: StepDefinition[] = [
    { id: 'preflight', uses: 'orchestrator/preflight' },
    { id: 'schannel', uses: 'windows/schannel' },
    { id: 'restart', uses: 'windows/restart' },
  ];
  const ops = declaredReads({ ...runOf(steps), kinds: bundled }, 0);
  const keys = ops.map((op) => JSON.stringify(op));
  for (const read of [RESTART_MARKER_READ, ...TLS13_READS, { op: 'boot.time' }]) assert.ok(keys.includes(JSON.stringify(read)), JSON.stringify(read));
  assert.is(new Set(keys).size, keys.length, 'each read once');
});

test.run();
