/**
 * The dispatcher of `runbook`: finds the command, prints its usage for `--help`, and turns errors into
 * one message on stderr (and, with `--json`, one JSON object on stdout) and an exit code.
 */
import { COMMON_OPTIONS, HelpRequested, closeStores, explain, type Command } from './common.js';
import { ExitCode } from './exit-codes.js';
import { red } from './render.js';
import { TARGET_FORMS } from './targets.js';
/** The commands, each loaded only when it runs: `status` loads no engine, `list` no transport. */
const COMMANDS: readonly { name: string; summary: string; load: () => Promise<Command> }[] = [
  { name: 'run', summary: 'run a runbook (bundled name or .yaml/.json file)', load: async () => (await import('./commands/run.js')).run },
  { name: 'plan', summary: 'check mode: print the exact diff, change nothing', load: async () => (await import('./commands/run.js')).plan },
  { name: 'resume', summary: 'continue interrupted runs', load: async () => (await import('./commands/resume.js')).resume },
  { name: 'status', summary: 'runs in the state directory', load: async () => (await import('./commands/status.js')).status },
  { name: 'rollback', summary: 'undo a succeeded or waiting run, as a failure would', load: async () => (await import('./commands/rollback.js')).rollback },
  { name: 'worker', summary: 'drive the host runs queued in a shared store (PostgreSQL)', load: async () => (await import('./commands/worker.js')).worker },
  { name: 'list', summary: 'bundled runbooks and step kinds', load: async () => (await import('./commands/list.js')).list },
  { name: 'validate', summary: 'check a runbook document', load: async () => (await import('./commands/validate.js')).validate },
  { name: 'inspect', summary: 'read-only self-check: every fact the runbook decides on, judged, nothing changed', load: async () => (await import('./commands/inspect.js')).inspect },
  { name: 'probe', summary: 'TLS handshakes per protocol version against host:port endpoints', load: async () => (await import('./commands/probe.js')).probe },
  { name: 'serve', summary: 'the run console in the browser: runs and fleets, live', load: async () => (await import('./commands/serve.js')).serve },
  { name: 'sim', summary: 'simulated Windows hosts (create, serve, presets)', load: async () => (await import('./commands/sim.js')).sim },
  { name: 'demo', summary: 'the bundled runbook against a fresh simulated host', load: async () => (await import('./commands/demo.js')).demo },
];

const USAGE = `Usage: runbook <command> [options]     (runbook <command> --help for each)

Commands
${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

${COMMON_OPTIONS}
  --version           print the version

Targets
${TARGET_FORMS.map((f) => `  ${f}`).join('\n')}

Exit codes: 0 succeeded · 1 failed and rolled back · 2 usage or input error (nothing changed)
            3 rollback failed (operator needed) · 69 target unreachable (nothing changed)
            75 interrupted or awaiting resume`;

/** Runs one command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`${red('error:')} unknown command "${name}"\n\n${USAGE}\n`);
    return ExitCode.usage;
  }
  const command = await entry.load();
  try {
    return await command.run(args);
  } catch (error) {
    const code = failed(error, command, args);
    // `plan --detailed-exitcode` keeps 2 for "changes pending": every error is 1, as Terraform's.
    return name === 'plan' && args.includes('--detailed-exitcode') ? ExitCode.failed : code;
  } finally {
    await closeStores();
  }
}

/** An error as one message on stderr (and, with `--json`, one object on stdout), and its exit code. */
function failed(error: unknown, command: Command, args: string[]): number {
  if (error instanceof HelpRequested) {
    process.stdout.write(`${command.usage}\n`);
    return ExitCode.ok;
  }
  const { code, message, kind } = explain(error, command.usage);
  process.stderr.write(`${red('error:')} ${message}\n`);
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify({ event: 'error', code: kind, exitCode: code, message: message.split('\n\n')[0] })}\n`);
  return code;
}
