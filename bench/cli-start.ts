/**
 * Start-up cost of the built CLI on real commands, against `node -e 0`, interleaved in the same
 * invocation: `runbook --version`, `runbook status` over a state directory with a run in it,
 * `runbook plan` against a simulated host, `runbook status` over 1,000 runs, and an application's
 * `import` of the built library. Prints each median and its ratio to the baseline. Budgets (issue
 * #10): status ≤ 2.0×, plan on a simulated host ≤ 3.0×, status over 1,000 runs ≤ 1 s. Run
 * `npm run build` first.
 *
 *   node --import tsx bench/cli-start.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from '../test/helpers.js';

const cli = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const library = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'index.js')).href;
if (!existsSync(cli)) {
  console.error(`missing ${cli}: run npm run build first`);
  process.exit(2);
}
const runs = Number(process.argv[2] ?? 15);
// Removed when the bench ends (test/helpers.ts's `tempDir`).
const dir = await tempDir('rbe-bench-start-');
const host = join(dir, 'host.json');
const state = join(dir, 'state');

function time(args: string[], okCodes = [0], env: NodeJS.ProcessEnv = process.env): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore', env });
  if (!okCodes.includes(r.status ?? -1)) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

time([cli, 'sim', 'create', '--preset', 'server-2016', '--out', host]);
time([cli, 'plan', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state]);

// A state directory of 1,000 runs: copies of one real run of the bundled runbook (journal and summary).
const many = join(dir, 'many');
time([cli, 'run', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', many, '--param', 'pollIntervalMs=10']);
const [only] = readdirSync(join(many, 'runs'));
for (let i = 1; i < 1000; i++) {
  const copy = join(many, 'runs', `${only}-${String(i).padStart(4, '0')}`);
  mkdirSync(copy);
  copyFileSync(join(many, 'runs', only, 'journal.jsonl'), join(copy, 'journal.jsonl'));
  // The summary holds for the journal it was written beside: stamp it with the copy's time.
  const summary = JSON.parse(readFileSync(join(many, 'runs', only, 'summary.json'), 'utf8'));
  writeFileSync(join(copy, 'summary.json'), JSON.stringify({ ...summary, journalModified: statSync(join(copy, 'journal.jsonl')).mtimeMs }));
}

const planArgs = [cli, 'plan', 'orchestrator-tls12', '--target', `sim:${host}`, '--state-dir', state];
// The third field: a budget as a ratio to `node -e 0`, one in words, or none.
const cases: [string, string[], number | string | null][] = [
  ['node -e 0', ['-e', '0'], null],
  ['runbook --version', [cli, '--version'], 2.5],
  ['runbook status', [cli, 'status', '--state-dir', state], 2.0],
  ['runbook plan (sim)', planArgs, 3.0],
  ['status, 1,000 runs', [cli, 'status', '--state-dir', many], 'budget: ≤ 1000 ms'],
  // What an application pays to import the library (no budget: the issue sets none).
  ['import the library', ['--input-type=module', '-e', `await import(${JSON.stringify(library)})`], null],
];
const samples = cases.map(() => [] as number[]);
// Node parses the bundle NODE_EXTRA_CA_CERTS names when it starts (~80 ms of CPU for the system's
// roots, which this project's machines set): part of every figure above, baseline included. The same
// two commands without it are timed too, interleaved, so that the ratios can be read both ways.
const withoutExtraCas = process.env.NODE_EXTRA_CA_CERTS ? { ...process.env, NODE_EXTRA_CA_CERTS: undefined } : undefined;
const bare: [number[], number[]] = [[], []];
for (let i = 0; i < runs; i++) {
  cases.forEach(([, args], c) => samples[c].push(time(args)));
  if (withoutExtraCas) {
    bare[0].push(time(['-e', '0'], [0], withoutExtraCas));
    bare[1].push(time(planArgs, [0], withoutExtraCas));
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(samples[0]);
for (const [c, [label, , budget]] of cases.entries()) {
  const m = median(samples[c]);
  const ratio = m / base;
  // The same ratio taken in each round (the command against the `node -e 0` just before it), then
  // the median of those: a machine that is busy in bursts skews one case's median more than the other's,
  // and a round's two processes more often share a burst.
  const perRound = median(samples[c].map((ms, i) => ms / samples[0][i]));
  const against = typeof budget === 'number' ? ` (budget ≤ ${budget}×${ratio <= budget ? '' : ', OVER'})` : budget ? ` (${budget})` : '';
  const verdict = c === 0 ? '' : `  ratio ${ratio.toFixed(2)}×, per round ${perRound.toFixed(2)}×${against}`;
  console.log(`${label.padEnd(20)} median ${m.toFixed(1).padStart(6)} ms over ${runs} runs${verdict}`);
}
if (withoutExtraCas) {
  const [b, p] = bare.map(median);
  console.log(`without NODE_EXTRA_CA_CERTS (${process.env.NODE_EXTRA_CA_CERTS}): node -e 0 ${b.toFixed(1)} ms, runbook plan (sim) ${p.toFixed(1)} ms, ratio ${(p / b).toFixed(2)}×`);
}
