/**
 * `runbook sim …` carried out by the CLI's own code (`main`) in the test's process, for a test whose
 * subject is not `sim` — its simulated hosts and inventory are set-up: the same files as the built
 * command writes, without a process of its own (one costs ~0.3 CPU-s; here the first call loads the
 * CLI's modules, ~0.2, and each later one ~0.01). What it prints is returned, not shown. `sim` itself,
 * its exit codes and output, is tested through the built CLI (test/cli/sim.test.ts, the first test of
 * test/cli/fleet.test.ts, test/cli/edges.test.ts).
 */
export async function sim(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = await import('../../src/cli/commands.js');
  const out = { stdout: '', stderr: '' };
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  for (const name of ['stdout', 'stderr'] as const) {
    process[name].write = ((chunk: string | Uint8Array) => {
      out[name] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    }) as typeof process.stdout.write;
  }
  try {
    return { code: await main(['sim', ...args]), ...out };
  } finally {
    process.stdout.write = writes.stdout;
    process.stderr.write = writes.stderr;
  }
}
