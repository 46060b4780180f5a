/**
 * The command line's arguments, declared once per command (commander): help generated from the
 * declaration, choices and conflicts checked, "did you mean" on a typo, and a usage error that stays
 * short — the error, a suggestion, where the help is — with exit 2.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command } from 'commander';
import { UsageError, act, invoke, once, paramOption, paramsFrom, repeated, wholeNumber } from '../../src/cli/args.js';
import { run } from '../../src/cli/commands/run.js';
import { cli } from './run-cli.js';

const lines = (text: string) => text.trimEnd().split('\n').length;

test('runbook run --help lists every option of its declaration, the shared ones under their own heading', async () => {
  const r = await cli(['run', '--help']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: runbook run <runbook> --target <target> \[options\]/);
  const declared = run.declare().options.map((o) => o.flags);
  assert.ok(declared.length >= 13, declared.join(', '));
  for (const flags of declared) assert.ok(r.stdout.includes(flags), `${flags} is missing from the help`);
  assert.match(r.stdout, /\nCommon options:\n {2}--state-dir <dir>/);
  assert.not.match(r.stdout, /--detailed-exitcode/, 'plan only');
  assert.match((await cli(['plan', '--help'])).stdout, /--detailed-exitcode/);
});

test('runbook --help lists the commands; runbook help <command> is that command\'s help', async () => {
  const top = await cli(['--help']);
  assert.is(top.code, 0);
  for (const name of ['run', 'plan', 'resume', 'status', 'rollback', 'worker', 'list', 'validate', 'inspect', 'probe', 'serve', 'sim', 'demo']) assert.match(top.stdout, new RegExp(`\\n {2}${name} +\\S`));
  const help = await cli(['help', 'status']);
  assert.is(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: runbook status/);
  assert.match(help.stdout, /--status <outcome>/);
});

test('a typo of a command or of an option gets "did you mean", exit 2, in three lines', async () => {
  const command = await cli(['rnu', 'orchestrator-tls12']);
  assert.is(command.code, 2);
  assert.is(command.stderr, "error: unknown command 'rnu'\n(Did you mean run?)\nsee `runbook --help`\n");
  const option = await cli(['run', 'orchestrator-tls12', '--targt', 'sim:host.json']);
  assert.is(option.code, 2);
  assert.is(option.stderr, "error: unknown option '--targt'\n(Did you mean --target?)\nsee `runbook run --help`\n");
  const sub = await cli(['sim', 'craete', '--preset', 'server-2016']);
  assert.is(sub.code, 2);
  assert.match(sub.stderr, /unknown command 'craete'\n\(Did you mean create\?\)\nsee `runbook sim --help`/);
});

test('a value outside an option\'s choices is refused with the choices, exit 2, no more than 5 lines', async () => {
  const protocol = await cli(['probe', '127.0.0.1:1', '--protocol', 'SSL 3.0']);
  assert.is(protocol.code, 2);
  assert.match(protocol.stderr, /option '--protocol <version>' argument 'SSL 3\.0' is invalid\. Allowed choices are TLS 1\.0, TLS 1\.1, TLS 1\.2, TLS 1\.3\./);
  assert.ok(lines(protocol.stderr) <= 5, protocol.stderr);
  const status = await cli(['status', '--status', 'chaned']);
  assert.is(status.code, 2);
  assert.match(status.stderr, /argument 'chaned' is invalid\. Allowed choices are changed, compliant/);
  assert.ok(lines(status.stderr) <= 5, status.stderr);
  assert.is(status.stdout, '', 'no run was listed');
});

test('conflicting options are refused before anything runs: --target with --inventory, --retries with --no-wait', async () => {
  const both = await cli(['run', 'orchestrator-tls12', '--target', 'local', '--inventory', 'inventory.yaml']);
  assert.is(both.code, 2);
  assert.is(both.stderr, "error: option '-t, --target <target>' cannot be used with option '-i, --inventory <file>'\nsee `runbook run --help`\n");
  const queued = await cli(['run', 'orchestrator-tls12', '--inventory', 'inventory.yaml', '--no-wait', '--retries', '2']);
  assert.is(queued.code, 2);
  assert.match(queued.stderr, /option '--retries <N>' cannot be used with option '--no-wait'/);
});

test('a usage error found by a command is as short: the message and where its help is, and with --json one error object', async () => {
  const r = await cli(['run', 'orchestrator-tls12', '--target', 'local', '--limit', 'web*', '--json']);
  assert.is(r.code, 2);
  assert.is(r.stderr, 'error: --concurrency, --max-failures and --limit go with --inventory\nsee `runbook run --help`\n');
  assert.equal(JSON.parse(r.stdout), { event: 'error', code: 'usage', exitCode: 2, message: '--concurrency, --max-failures and --limit go with --inventory' });
  const target = await cli(['plan', 'orchestrator-tls12']);
  assert.is(target.code, 2);
  assert.is(target.stderr, 'error: give --target <target> (one host; its forms are listed by --help) or --inventory <file> (a fleet)\nsee `runbook plan --help`\n');
  const missing = await cli(['sim']);
  assert.is(missing.code, 2);
  assert.is(missing.stderr, 'error: runbook sim takes a command: create, capture, serve, fleet, presets\nsee `runbook sim --help`\n');
});

test('--param repeats (long, short and --param=k=v forms); a value without key= is refused when parsed', async () => {
  const command = act(new Command('x').addOption(paramOption()), async (o: { param?: string[] }) => Object.keys(paramsFrom(o.param)).length);
  assert.is(await invoke({ name: 'x', declare: () => command }, ['--param', 'a=1', '-p', 'b=2', '--param=c=x=y']), 3);
  assert.equal(paramsFrom(['a=1', 'c=x=y']), { a: '1', c: 'x=y' });
  // A name every object has is kept as a key of its own (the runbook refuses it as unknown), not set as the prototype.
  const inherited = paramsFrom(['__proto__=1', 'constructor=2']);
  assert.equal(Object.keys(inherited), ['__proto__', 'constructor']);
  assert.is(Object.getPrototypeOf(inherited), Object.prototype);
  const bad = await cli(['plan', 'orchestrator-tls12', '--target', 'local', '--param', 'allowRestart']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--param #1 is not key=value \(its text is not shown: it may hold a secret\); give it as name=value/);
  // Not echoed, whether commander parses it or paramsFrom is given it: it may be a secret given by mistake.
  const secret = await cli(['plan', 'orchestrator-tls12', '--target', 'local', '-p', 'mode=tls12-only', '--param', 'hunter2-Secr3t']);
  assert.is(secret.code, 2);
  assert.match(secret.stderr, /--param #2 is not key=value/);
  assert.not.ok(secret.stderr.includes('hunter2-Secr3t') || secret.stdout.includes('hunter2-Secr3t'), 'the item was echoed');
  assert.throws(() => paramsFrom(['a=1', '=hunter2-Secr3t']), (e: Error) => /--param #2 is not key=value/.test(e.message) && !e.message.includes('hunter2'));
});

test('an option taken once refuses a second use naming both values, instead of the last winning', () => {
  const command = new Command('x').exitOverride().configureOutput({ writeErr: () => undefined }).option('-t, --target <target>', 'where', once('--target', 'use --inventory for several hosts'));
  assert.throws(() => command.parse(['-t', 'sim:a.json', '-t', 'sim:b.json'], { from: 'user' }), /--target given twice \(sim:a\.json, then sim:b\.json\); give it once, or use --inventory for several hosts\./);
  assert.is(new Command('y').option('-t, --target <target>', 'where', once('--target')).parse(['-t', 'sim:a.json'], { from: 'user' }).opts().target, 'sim:a.json');
});

test('the shared parsers: whole numbers within bounds, repeated choices', () => {
  assert.is(wholeNumber(0, 20)('20'), 20);
  for (const bad of ['21', '-1', '1.5', 'many', '', '1e1']) assert.throws(() => wholeNumber(0, 20)(bad), /Expected a whole number from 0 to 20/);
  assert.throws(() => wholeNumber(1)('0'), /Expected a whole number of at least 1/);
  assert.equal(repeated(['a', 'b'])('b', repeated(['a', 'b'])('a', undefined)), ['a', 'b']);
  assert.throws(() => repeated(['a', 'b'])('c', undefined), /Allowed choices are a, b\./);
});

test('an action\'s usage error names its command, for the pointer to its help', async () => {
  const command = new Command('outer');
  command.addCommand(act(new Command('inner'), async () => {
    throw new UsageError('no');
  }));
  const error = await invoke({ name: 'outer', declare: () => command }, ['inner']).catch((e: unknown) => e);
  assert.instance(error, UsageError);
  assert.is((error as UsageError).command, 'runbook outer inner');
});

test.run();
