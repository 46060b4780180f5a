/**
 * The dispatcher of `runbook`: the program and its commands (commander), each command's declaration
 * loaded only when it is the one typed; errors turned into one message on stderr (and, with `--json`,
 * one JSON object on stdout) and an exit code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { HelpPrinted, UsageError, configure, saidAlready, parseWith, type RunbookCommand } from './args.js';
import { explain } from './explain.js';
import { ExitCode } from './exit-codes.js';
import { red } from './render.js';
import { closeStores } from './state.js';
import { TARGET_FORMS } from './targets.js';
import { packageRoot } from '../util/package-root.js';

/** The commands, each loaded only when it runs: `status` loads no engine, `list` no transport. */
const COMMANDS: readonly { name: string; summary: string; load: () => Promise<RunbookCommand> }[] = [
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
  { name: 'sim', summary: 'simulated Windows hosts (create, capture, serve, fleet, presets)', load: async () => (await import('./commands/sim.js')).sim },
  { name: 'demo', summary: 'the bundled runbook against a fresh simulated host', load: async () => (await import('./commands/demo.js')).demo },
];

const AFTER = `
Targets
${TARGET_FORMS.map((f) => `  ${f}`).join('\n')}

Exit codes: 0 succeeded · 1 failed and rolled back · 2 usage or input error (nothing changed)
            3 rollback failed (operator needed) · 69 target unreachable (nothing changed)
            75 interrupted or awaiting resume`;

/**
 * The program: every command listed by its summary; the one typed (`wanted`) declared in full from its
 * own file, the others left as names (for the list and for "did you mean").
 */
async function programFor(wanted: string | undefined): Promise<Command> {
  const { version } = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  const program = new Command('runbook')
    .usage('<command> [options]')
    .description('Runbooks for Windows servers: plan, run, resume and roll back, one host or a fleet.')
    .version(version, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'this text (runbook <command> --help for each command)')
    .helpCommand('help [command]', "a command's usage")
    .addHelpText('after', AFTER);
  configure(program);
  for (const entry of COMMANDS) {
    if (entry.name === wanted) program.addCommand(configure((await entry.load()).declare()).summary(entry.summary));
    else program.command(entry.name).summary(entry.summary);
  }
  return program;
}

/**
 * Runs one command line; returns the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await main(['status', '--json']);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  // `runbook help rnu`: as `runbook rnu`, an unknown command with its "did you mean".
  if (argv[0] === 'help' && argv[1] !== undefined && !COMMANDS.some((c) => c.name === argv[1])) argv = argv.slice(1);
  const program = await programFor(argv[0] === 'help' ? argv[1] : argv[0]);
  if (argv.length === 0) {
    process.stdout.write(program.helpInformation());
    return ExitCode.usage;
  }
  try {
    return await parseWith(program, argv);
  } catch (error) {
    if (error instanceof HelpPrinted) return ExitCode.ok;
    const code = failed(error, argv);
    // `plan --detailed-exitcode` keeps 2 for "changes pending": every error is 1, as Terraform's.
    return argv[0] === 'plan' && argv.includes('--detailed-exitcode') ? ExitCode.failed : code;
  } finally {
    await closeStores();
  }
}

/**
 * An error as one message on stderr (and, with `--json`, one object on stdout), and its exit code. A
 * usage error is short: the message (commander's, with its suggestion, is printed already) and where
 * the command's usage is.
 */
function failed(error: unknown, argv: string[]): number {
  const { code, message, kind } = explain(error);
  if (!(error instanceof UsageError && error.printed) && !(error instanceof Object && saidAlready.has(error))) process.stderr.write(`${red('error:')} ${message}\n`);
  if (error instanceof UsageError) process.stderr.write(`see \`${error.command ?? 'runbook'} --help\`\n`);
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({ event: 'error', code: kind, exitCode: code, message: message.split('\n\n')[0] })}\n`);
  return code;
}
