/**
 * Start-up cost of the built CLI: `runbook --version` against `node -e 0`, interleaved in the same
 * invocation; prints the medians and their ratio (budget ≤ 2.5×). Run `npm run build` first.
 *
 *   node --import tsx bench/cli-start.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const cli = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
if (!existsSync(cli)) {
  console.error(`missing ${cli}: run npm run build first`);
  process.exit(2);
}
const runs = Number(process.argv[2] ?? 21);

function time(args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base: number[] = [];
const ours: number[] = [];
time(['-e', '0']);
time([cli, '--version']);
for (let i = 0; i < runs; i++) {
  base.push(time(['-e', '0']));
  ours.push(time([cli, '--version']));
}
const b = median(base);
const o = median(ours);
console.log(`node -e 0           median ${b.toFixed(1)} ms over ${runs} runs`);
console.log(`runbook --version   median ${o.toFixed(1)} ms over ${runs} runs`);
console.log(`ratio ${(o / b).toFixed(2)}× (budget ≤ 2.5×)`);
