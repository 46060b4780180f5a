#!/usr/bin/env node
/**
 * The `runbook` command. `--version` answers before anything heavy is loaded, so that scheduled
 * tasks and CI probes stay fast; every other command is loaded on demand.
 */
import { readFileSync } from 'node:fs';
import { closeOutput } from './output-closed.js';

const argv = process.argv.slice(2);

/**
 * The commands that drive runs (and hold targets' leases). Their reader going away must not end them
 * between a change and its record: its output is discarded and the run stops at its next safe point as
 * one SIGINT does (signals.ts, the worker's own stop). The other commands only read: they end at once.
 */
const DRIVES = new Set(['run', 'plan', 'resume', 'rollback', 'demo', 'worker']);

// A reader that stops early (`runbook list | head -1`) is not an error.
for (const [name, stream] of [['stdout', process.stdout], ['stderr', process.stderr]] as const) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    if (!DRIVES.has(argv[0] ?? '')) process.exit(process.exitCode ?? 0);
    closeOutput(stream, name);
  });
}

if (argv[0] === '--version' || argv[0] === '-v') {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`${pkg.version}\n`);
} else {
  const { main } = await import('./commands.js');
  process.exitCode = await main(argv);
  // The command is over and has said how it ended: a signal now (Ctrl-C while the output drains) ends
  // this process with that exit code, not the signal's.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit());
  // The command is over: a library that left a timer or a socket behind must not keep this process
  // alive (output still has a moment to drain).
  setTimeout(() => process.exit(), 1000).unref();
  // A command a signal stopped ends now that its output is out: the operator is pressing Ctrl-C, and
  // one more while Node tears itself down (its signal handlers gone) would end the process by the
  // signal (130) — not with the exit code its summary and reports gave.
  if ((await import('./signals.js')).signalled()) {
    await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((written) => stream.write('', written))));
    process.exit();
  }
}
