/**
 * Cost of the secret mask on one journal record: a step snapshot of about 1 KB (registry paths, a
 * digest, a GUID, a log line) masked for a run with two secrets, with neither secret in it (the usual
 * record) and with both in it in several forms; and the same record for a run without secrets (the
 * mask must cost nothing then). Prints the microseconds per record, the median of a few rounds; and
 * what a run pays once, to make its masker (the forms of its secrets) and use it a first time.
 *
 *   node --import tsx bench/mask.ts [records per round]
 */
import { createMasker, maskRecord } from '../src/engine/secrets.js';

const n = Number(process.argv[2] ?? 20_000);
const SCH = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';
const secrets = { winrmPassword: 'Winter2024!Orch#01', apiToken: 'tok_8fJ2kLmQ9zXv' };

function record(extra: string[]) {
  return {
    type: 'step.snapshot',
    index: 4,
    stepId: 'schannel',
    state: 'applying',
    snapshot: {
      value: 'applying',
      context: {
        probe: {
          values: ['TLS 1.0', 'TLS 1.1', 'TLS 1.2'].flatMap((v) => ['Server', 'Client'].map((side) => ({ path: `${SCH}\\${v}\\${side}`, name: 'Enabled', type: 'REG_DWORD', data: v === 'TLS 1.2' ? 1 : 0 }))),
          hotfix: { id: 'KB5011258', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', instance: '6f9619ff-8b86-d011-b42d-00c04fc964ff' },
        },
        log: ['connected to orch01.contoso.com:5986 as CONTOSO\\svc-orch', 'read 12 values in 1 round trip', ...extra],
      },
    },
  };
}

const plain = record([]);
const leaked = record([
  `Invoke-Command failed: password ${secrets.winrmPassword} rejected`,
  `GET /api?token=${encodeURIComponent(secrets.apiToken)}`,
  `Authorization: Basic ${Buffer.from(`svc:${secrets.winrmPassword}`).toString('base64')}`,
]);

function perRecord(mask: (r: unknown) => unknown, r: unknown): number {
  const rounds: number[] = [];
  for (let round = 0; round < 7; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) mask(r);
    rounds.push(Number(process.hrtime.bigint() - start) / 1000 / n);
  }
  return rounds.sort((a, b) => a - b)[3];
}

const withSecrets = createMasker(secrets);
const without = createMasker({});
console.log(`record: ${JSON.stringify(plain).length} bytes (${JSON.stringify(leaked).length} with the secrets in it)`);
console.log(`no secrets in the run:     ${perRecord((r) => maskRecord(r, without), plain).toFixed(2)} µs/record`);
console.log(`2 secrets, none in record: ${perRecord((r) => maskRecord(r, withSecrets), plain).toFixed(2)} µs/record`);
console.log(`2 secrets, 3 in record:    ${perRecord((r) => maskRecord(r, withSecrets), leaked).toFixed(2)} µs/record`);

const builds: number[] = [];
for (let round = 0; round < 7; round++) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < 200; i++) createMasker({ winrmPassword: `${secrets.winrmPassword}${round}.${i}`, apiToken: secrets.apiToken }).mask(plain);
  builds.push(Number(process.hrtime.bigint() - start) / 1000 / 200);
}
console.log(`a run's masker, made and used once: ${builds.sort((a, b) => a - b)[3].toFixed(0)} µs`);
