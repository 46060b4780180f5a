/**
 * The dispatcher of `runbook`: finds the command, prints its usage for `--help`, and turns errors into
 * one message on stderr (and, with `--json`, one JSON object on stdout) and an exit code.
 */
import { COMMON_OPTIONS, HelpRequested, explain, type Command } from './common.js';
import { ExitCode } from './exit-codes.js';
import { red } from './render.js';
import { TARGET_FORMS } from './targets.js';
import { demo } from './commands/demo.js';
import { list } from './commands/list.js';
import { resume } from './commands/resume.js';
import { rollback } from './commands/rollback.js';
import { plan, run } from './commands/run.js';
import { sim } from './commands/sim.js';
import { status } from './commands/status.js';
import { validate } from './commands/validate.js';

const COMMANDS: readonly Command[] = [run, plan, resume, status, rollback, list, validate, sim, demo];

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
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`${red('error:')} unknown command "${name}"\n\n${USAGE}\n`);
    return ExitCode.usage;
  }
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(`${command.usage}\n`);
      return ExitCode.ok;
    }
    const { code, message, kind } = explain(error, command.usage);
    process.stderr.write(`${red('error:')} ${message}\n`);
    if (args.includes('--json')) process.stdout.write(`${JSON.stringify({ event: 'error', code: kind, exitCode: code, message: message.split('\n\n')[0] })}\n`);
    return code;
  }
}
