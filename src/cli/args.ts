/**
 * The command line's arguments, through commander: each command of `runbook` declares its options and
 * operands once (src/cli/commands/<name>.ts), and its help, its checks (choices, conflicts, numbers,
 * `key=value`) and its "did you mean" come from that declaration. The options several commands share
 * are declared here, once. A usage error is short: the error, a suggestion when the word is close to
 * one it knows, and where the usage is (`see \`runbook run --help\``), exit 2.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { red } from './render.js';

/**
 * The command line is wrong (exit 2): said in one message, followed by where the command's usage is.
 *
 * @example
 * ```ts
 * throw new UsageError('give --target (one host) or --inventory (a fleet)');
 * ```
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command whose usage applies (`runbook run`), set when it is known. */
  command?: string;
  /** Commander printed the message already (with its suggestion): only where the usage is remains to be said. */
  printed = false;
}

/**
 * Errors a command said already, in full, in its own output (a worker's log line): the command line's
 * error handling keeps their exit code and `--json` error event but does not print them again on stderr.
 */
export const saidAlready = new WeakSet<object>();

/**
 * A path option given empty (or blank) is an unset shell variable (`--state-dir "$DIR"`): refused as
 * `--limit ""` is, never taken as the current folder. `instead` says what to do.
 *
 * @example
 * ```ts
 * refuseEmptyPath('--reports', process.env.REPORTS, 'give the folder to write the files into, or leave --reports out');
 * ```
 */
export function refuseEmptyPath(option: string, value: string | undefined, instead: string): void {
  if (value !== undefined && value.trim() === '') throw new UsageError(`${option} "${value}" names no file or folder (an unset shell variable?): ${instead}`);
}

/**
 * One command of `runbook`: its name, and its declaration — a new commander `Command` each time, with
 * its options, operands, help text and action (declared with {@link act}).
 *
 * @example
 * ```ts
 * const hello: RunbookCommand = {
 *   name: 'hello',
 *   declare: () => act(commandNamed('hello').description('says hello').option('--json', 'as JSON'), async () => 0),
 * };
 * ```
 */
export interface RunbookCommand {
  name: string;
  declare(): Command;
}

/** The options every command that reads or drives runs takes (`--state-dir`, `--store`, `--json`). */
export interface CommonOptions {
  json?: boolean;
  stateDir?: string;
  store?: string;
}

/** The heading under which the shared options are listed in each command's help. */
const COMMON = 'Common options:';

/**
 * The shared options, each declared once: `stateDir()`, `store()` and `json(description?)` give a new
 * `Option` for a command's declaration.
 *
 * @example
 * ```ts
 * commandNamed('status').addOption(commonOptions.stateDir()).addOption(commonOptions.json('the runs as one JSON array'));
 * ```
 */
export const commonOptions = {
  stateDir: () => new Option('--state-dir <dir>', 'where runs are journaled (default $RUNBOOK_STATE_DIR or ./.runbook)').helpGroup(COMMON),
  store: () =>
    new Option('--store <url>', 'runs in PostgreSQL instead, shared by workers: postgres://user@host:port/db (default $RUNBOOK_STORE; the password from $PGPASSWORD or $RUNBOOK_STORE, never argv)').helpGroup(
      COMMON,
    ),
  json: (description = 'one JSON event per line, then a summary object (errors too, as one object)') => new Option('--json', description).helpGroup(COMMON),
};

/**
 * Adds the shared options a command takes: `--state-dir`, `--store` (unless `store: false`) and `--json`.
 *
 * @example
 * ```ts
 * const resume = withCommonOptions(commandNamed('resume'));
 * ```
 */
export function withCommonOptions(command: Command, o: { store?: boolean; json?: string } = {}): Command {
  command.addOption(commonOptions.stateDir());
  if (o.store !== false) command.addOption(commonOptions.store());
  return command.addOption(commonOptions.json(o.json));
}

/**
 * A parser of a whole number from `min` to `max` for an option's value; anything else is refused
 * with the option named (`option '--retries <N>' argument 'many' is invalid. Expected …`).
 *
 * @example
 * ```ts
 * wholeNumber(0, 20)('3'); // 3
 * commandNamed('run').option('--retries <N>', 'retries', wholeNumber(0, 20));
 * ```
 */
export function wholeNumber(min: number, max?: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || (max !== undefined && n > max)) {
      throw new InvalidArgumentError(max === undefined ? `Expected a whole number of at least ${min}.` : `Expected a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

/**
 * A repeatable option's parser: each use adds its value to the list (`--param a=1 --param b=2`).
 * With `choices`, a value not among them is refused, as commander's `.choices()` refuses one.
 *
 * @example
 * ```ts
 * const protocols = repeated(['TLS 1.2', 'TLS 1.3']);
 * protocols('TLS 1.3', protocols('TLS 1.2', undefined)); // ['TLS 1.2', 'TLS 1.3']
 * ```
 */
export function repeated(choices?: readonly string[]): (value: string, previous: string[] | undefined) => string[] {
  return (value, previous) => {
    if (choices && !choices.includes(value)) throw new InvalidArgumentError(`Allowed choices are ${choices.join(', ')}.`);
    return [...(previous ?? []), value];
  };
}

/**
 * The parser of an option taken once: a second use is refused rather than silently winning
 * (`-t sim:a.json -t sim:b.json` would drive b.json alone).
 *
 * @example
 * ```ts
 * commandNamed('run').option('-t, --target <target>', 'where to run', once('--target', 'use --inventory for several hosts'));
 * ```
 */
export function once(flag: string, instead?: string): (value: string, previous: string | undefined) => string {
  return (value, previous) => {
    if (previous !== undefined) throw new InvalidArgumentError(`${flag} given twice (${previous}, then ${value}); give it once${instead ? `, or ${instead}` : ''}.`);
    return value;
  };
}

/**
 * A `--param` item that is not `key=value`, named by its place among the `--param`s: its text is not
 * shown, as it may be a secret given by mistake (commander's own message quotes the argument).
 */
function notKeyValue(position: number): UsageError {
  return new UsageError(`--param #${position} is not key=value (its text is not shown: it may hold a secret); give it as name=value — a secret parameter is read from its environment variable, never from --param`);
}

/**
 * `--param key=value`, repeatable: a value without `key=` is refused when it is parsed.
 *
 * @example
 * ```ts
 * commandNamed('run').addOption(paramOption());
 * ```
 */
export function paramOption(description = 'a runbook parameter; repeat for more'): Option {
  return new Option('-p, --param <key=value>', description).argParser((value: string, previous: string[] | undefined) => {
    if (value.indexOf('=') <= 0) throw notKeyValue((previous?.length ?? 0) + 1);
    return [...(previous ?? []), value];
  });
}

/**
 * The parameters of `--param key=value …`, as a record (a later key wins).
 *
 * @example
 * ```ts
 * paramsFrom(['mode=tls12-only', 'allowRestart=false']); // { mode: 'tls12-only', allowRestart: 'false' }
 * ```
 */
export function paramsFrom(list: string[] | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [i, item] of (list ?? []).entries()) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw notKeyValue(i + 1);
    // Defined, not assigned: `__proto__=1` assigned would set the record's prototype and vanish, not be refused as an unknown parameter.
    Object.defineProperty(params, item.slice(0, eq), { value: item.slice(eq + 1), enumerable: true, writable: true, configurable: true });
  }
  return params;
}

/**
 * `--retries N` of the commands that drive runs: 0 to 20.
 *
 * @example
 * ```ts
 * commandNamed('resume').addOption(retriesOption());
 * ```
 */
export function retriesOption(): Option {
  return new Option('--retries <N>', "retries of a failure that may pass (unreachable, timeout, reset), for every step (default: the runbook's, else 3)").argParser(wholeNumber(0, 20));
}

/** The exit code each command line's action returned, by the root command parsed. */
const exitCodes = new WeakMap<Command, number>();

function rootOf(command: Command): Command {
  let c = command;
  while (c.parent) c = c.parent;
  return c;
}

/** `runbook sim create`: the command as typed, from the root. */
export function pathOf(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * A new command of `runbook`, named: declare its options on it, then its action with {@link act}.
 *
 * @example
 * ```ts
 * const list = commandNamed('list').description('bundled runbooks and step kinds');
 * ```
 */
export function commandNamed(name: string): Command {
  return new Command(name);
}

/**
 * A command's action: `fn` receives the parsed options, the operands and the command, and returns the
 * exit code. A {@link UsageError} it throws is marked with the command, for the pointer to its help.
 *
 * @example
 * ```ts
 * act(commandNamed('hello').option('--json', 'as JSON'), async (options: { json?: boolean }) => (options.json ? 0 : 1));
 * ```
 */
export function act<O>(command: Command, fn: (options: O, operands: string[], command: Command) => Promise<number>): Command {
  return command.action(async function (this: Command) {
    try {
      exitCodes.set(rootOf(this), await fn(this.opts<O & Record<string, unknown>>(), this.args, this));
    } catch (error) {
      if (error instanceof UsageError && error.command === undefined) error.command = pathOf(this);
      throw error;
    }
  });
}

/** Commander's word that help or the version was printed: exit 0. */
const PRINTED = new Set(['commander.helpDisplayed', 'commander.version']);

/**
 * Makes a declared command (and its subcommands) behave as `runbook`'s: errors thrown, not exited; the
 * message on stderr after a red `error:`; a suggestion for a near miss. A usage error becomes a
 * {@link UsageError} whose message was already printed (`printed`); help or the version printed,
 * {@link HelpPrinted}.
 *
 * @example
 * ```ts
 * const command = configure(commandNamed('hello'));
 * ```
 */
export function configure(command: Command): Command {
  command
    .showSuggestionAfterError(true)
    .configureOutput({
      outputError: (text) => process.stderr.write(text.replace(/^error:/, red('error:'))),
      // Only the help commander prints for a command that needs a subcommand goes here: a usage error
      // is short, so it is left out (the error below says what is missing, and where the help is).
      writeErr: () => undefined,
    })
    .exitOverride((error: CommanderError) => {
      // `runbook help [command]` ends as `commander.help` too, exit code 0: the help was printed.
      if (PRINTED.has(error.code) || (error.code === 'commander.help' && error.exitCode === 0)) throw new HelpPrinted();
      if (error.code === 'commander.help') {
        const missing = new UsageError(`${pathOf(command)} takes a command: ${command.commands.map((c) => c.name()).join(', ')}`);
        missing.command = pathOf(command);
        throw missing;
      }
      const usage = new UsageError(error.message.replace(/^error: /, ''));
      usage.command = pathOf(command);
      usage.printed = true;
      throw usage;
    });
  for (const sub of command.commands) configure(sub);
  return command;
}

/** Help or the version was printed: the command line is over, exit 0. */
export class HelpPrinted extends Error {
  override readonly name = 'HelpPrinted';
}

/**
 * Runs one command line through a command's declaration; returns the action's exit code. Errors are
 * thrown (a usage error as {@link UsageError}), for the dispatcher to explain.
 *
 * @example
 * ```ts
 * declare const plan: RunbookCommand;
 * const code = await invoke(plan, ['orchestrator-tls12', '--target', 'sim:host.json']);
 * ```
 */
export async function invoke(spec: RunbookCommand, argv: string[]): Promise<number> {
  // Under a `runbook` of its own, so that its errors point to `runbook <name> --help`.
  return parseWith(configure(new Command('runbook').addCommand(spec.declare())), [spec.name, ...argv]);
}

/**
 * Parses one command line with a whole program (its subcommands added), returns the action's code.
 *
 * @example
 * ```ts
 * const program = commandNamed('runbook');
 * const code = await parseWith(program, ['status', '--json']);
 * ```
 */
export async function parseWith(program: Command, argv: string[]): Promise<number> {
  await program.parseAsync(argv, { from: 'user' });
  return exitCodes.get(program) ?? 0;
}
