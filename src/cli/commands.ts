/**
 * The commands of `runbook`: each parses its arguments and calls one library function. Only this
 * layer turns errors into messages and exit codes.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadRunbook, bundledRunbookNames } from '../engine/bundled.js';
import { Runner, type Run } from '../engine/runner.js';
import type { RunResult } from '../engine/types.js';
import { ExecutorError, JournalError, StepError, ValidationError } from '../errors.js';
import { writeHost } from '../executors/simulated.js';
import { createPreset, listPresets } from '../executors/simulated-presets.js';
import { bundledStepKinds } from '../steps/index.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { attachRenderer, bold, dim, red, renderSummary, type OutputMode } from './render.js';
import { TARGET_FORMS, connect } from './targets.js';

const USAGE = `Usage: runbook <command> [options]

Commands
  run <runbook> --target <target> [--param key=value …]   run a runbook (bundled name or .yaml/.json file)
  plan <runbook> --target <target> [--param key=value …]  check mode: print the exact diff, change nothing
  resume <run-id> | --all [--allow-restart] [--force]      continue interrupted runs
  status [run-id]                                         runs in the state directory
  rollback <run-id>                                       compensate a succeeded run, as a failure would
  list                                                    bundled runbooks and step kinds
  validate <file>                                         check a runbook document
  sim create --preset <name> --out <file> [--on-target]   create a simulated Windows host
  sim presets                                             list the simulated-host presets
  demo                                                    the bundled runbook against a fresh simulated host

Options
  --state-dir <dir>   where runs are journaled (default $RUNBOOK_STATE_DIR or ./.runbook)
  --json              one JSON event per line, then a summary object
  --version           print the version

Targets
${TARGET_FORMS.map((f) => `  ${f}`).join('\n')}

Exit codes: 0 succeeded · 1 failed and rolled back · 2 usage or input error (nothing changed)
            3 rollback failed (operator needed) · 75 interrupted or awaiting resume`;

class UsageError extends Error {}

const common = {
  'state-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

function parse<O extends ParseArgsConfig['options']>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...common, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function outputMode(json: boolean): OutputMode {
  if (json) return 'json';
  return process.stdout.isTTY ? 'tty' : 'plain';
}

function paramsFrom(list: string[] | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param takes key=value, got "${item}"`);
    params[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return params;
}

function runner(stateDir: string | undefined): Runner {
  return new Runner({
    stateDir,
    kinds: bundledStepKinds(),
    resumeCommand: (id, dir) => ['runbook', 'resume', id, '--state-dir', dir],
  });
}

async function follow(run: Run, mode: OutputMode, stateDir: string): Promise<RunResult> {
  const stop = attachRenderer(run.events, mode);
  try {
    const result = await run.result;
    const report = join(stateDir, 'runs', result.runId, 'report.md');
    if (mode === 'json') process.stdout.write(`${JSON.stringify({ event: 'summary', ...result, report })}\n`);
    else process.stdout.write(renderSummary(result, report));
    return result;
  } finally {
    stop();
  }
}

async function cmdRun(args: string[], checkMode: boolean): Promise<number> {
  const { values, positionals } = parse(args, {
    target: { type: 'string', short: 't' },
    param: { type: 'string', short: 'p', multiple: true },
    'on-target': { type: 'boolean', default: false },
  });
  if (positionals.length !== 1) throw new UsageError(`${checkMode ? 'plan' : 'run'} takes one runbook: a bundled name or a .yaml/.json file`);
  if (!values.target) throw new UsageError(`--target is required; accepted forms:\n${TARGET_FORMS.map((f) => `  ${f}`).join('\n')}`);
  const kinds = bundledStepKinds();
  const runbook = await loadRunbook(positionals[0], kinds);
  const executor = await connect(values.target, { onTarget: values['on-target'] });
  const r = runner(values['state-dir']);
  const run = r.start(runbook, { executor, params: paramsFrom(values.param), checkMode });
  const result = await follow(run, outputMode(values.json), r.stateDir);
  await executor.close();
  return exitCodeFor(result.status);
}

async function cmdResume(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    all: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    'allow-restart': { type: 'boolean', default: false },
    target: { type: 'string', short: 't' },
    'on-target': { type: 'boolean', default: false },
  });
  const r = runner(values['state-dir']);
  let ids = positionals;
  if (values.all) ids = (await r.list()).filter((s) => ['running', 'awaiting-resume'].includes(s.status)).map((s) => s.runId);
  else if (ids.length !== 1) throw new UsageError('resume takes one run id, or --all');
  if (ids.length === 0) {
    process.stdout.write('no interrupted runs\n');
    return ExitCode.ok;
  }
  let worst: number = ExitCode.ok;
  for (const id of ids) {
    const started = await r.startedRecord(id);
    const kinds = bundledStepKinds();
    const current = await loadRunbook(started.source, kinds).catch(() => undefined);
    const executor = await connect(values.target ?? started.target, { onTarget: values['on-target'] });
    const run = await r.resume(id, {
      executor,
      runbook: current,
      force: values.force,
      overrides: values['allow-restart'] ? { allowRestart: true } : {},
    });
    const code = exitCodeFor((await follow(run, outputMode(values.json), r.stateDir)).status);
    await executor.close();
    worst = Math.max(worst, code);
  }
  return worst;
}

async function cmdRollback(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { target: { type: 'string', short: 't' } });
  if (positionals.length !== 1) throw new UsageError('rollback takes one run id');
  const r = runner(values['state-dir']);
  const started = await r.startedRecord(positionals[0]);
  const executor = await connect(values.target ?? started.target);
  const result = await follow(await r.rollback(positionals[0], { executor }), outputMode(values.json), r.stateDir);
  const code = exitCodeFor(result.status);
  // A rollback that completed is this command's success.
  return result.status === 'rolled-back' ? ExitCode.ok : code;
}

async function cmdStatus(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {});
  const r = runner(values['state-dir']);
  if (positionals[0]) {
    const result = await r.status(positionals[0]);
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      process.stdout.write(`${bold(result.runId)}  ${result.status}  ${result.runbook} → ${result.target}\n`);
      for (const s of result.steps) process.stdout.write(`  ${s.id.padEnd(10)} ${s.status.padEnd(20)} ${s.summary}\n`);
    }
    return ExitCode.ok;
  }
  const runs = await r.list();
  if (values.json) process.stdout.write(`${JSON.stringify(runs)}\n`);
  else if (runs.length === 0) process.stdout.write(`no runs in ${r.stateDir}\n`);
  else for (const s of runs) process.stdout.write(`${s.runId}  ${s.status.padEnd(16)} ${(s.currentStep ?? '-').padEnd(10)} ${s.startedAt} → ${s.endedAt}  ${s.target}\n`);
  return ExitCode.ok;
}

async function cmdList(): Promise<number> {
  const kinds = bundledStepKinds();
  process.stdout.write(`${bold('Bundled runbooks')}\n`);
  for (const name of await bundledRunbookNames()) {
    const rb = await loadRunbook(name, kinds);
    process.stdout.write(`  ${name} — ${rb.definition.description ?? ''}\n`);
    for (const [p, spec] of Object.entries(rb.definition.parameters ?? {})) {
      process.stdout.write(`      --param ${p}=<${spec.type}>  ${dim(`${spec.description ?? ''} (default ${JSON.stringify(spec.default)})`)}\n`);
    }
  }
  process.stdout.write(`${bold('Step kinds')}\n`);
  for (const k of kinds.list()) process.stdout.write(`  ${k.kind.padEnd(26)} ${k.description}\n`);
  return ExitCode.ok;
}

async function cmdValidate(args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  if (positionals.length !== 1) throw new UsageError('validate takes one runbook file');
  const rb = await loadRunbook(positionals[0], bundledStepKinds());
  process.stdout.write(`${rb.source}: valid (${rb.definition.steps.length} steps, ${rb.fingerprint})\n`);
  return ExitCode.ok;
}

async function cmdSim(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'presets') {
    for (const p of listPresets()) process.stdout.write(`  ${p.name.padEnd(24)} ${p.description}\n`);
    return ExitCode.ok;
  }
  if (sub !== 'create') throw new UsageError('sim takes `create` or `presets`');
  const { values } = parse(rest, {
    preset: { type: 'string' },
    out: { type: 'string' },
    'downtime-ms': { type: 'string' },
    'on-target': { type: 'boolean', default: false },
  });
  if (!values.preset || !values.out) throw new UsageError('sim create needs --preset <name> and --out <file>');
  let host;
  try {
    host = createPreset(values.preset);
  } catch (error) {
    throw new ValidationError((error as Error).message, ['`runbook sim presets` lists them']);
  }
  if (values['downtime-ms'] !== undefined) host.downtimeMs = Number(values['downtime-ms']);
  host.onTarget = values['on-target'];
  await writeHost(resolve(values.out), host);
  process.stdout.write(`created ${values.out}: ${host.os.caption} (${values.preset})\n`);
  return ExitCode.ok;
}

async function cmdDemo(args: string[]): Promise<number> {
  const { values } = parse(args, { preset: { type: 'string', default: 'server-2016' } });
  const dir = await mkdtemp(join(tmpdir(), 'runbook-demo-'));
  const hostFile = join(dir, 'host.json');
  const host = createPreset(values.preset);
  host.downtimeMs = 3000;
  await writeHost(hostFile, host);
  const stateDir = values['state-dir'] ?? join(dir, 'state');
  process.stdout.write(
    [
      bold('runbook-engine demo'),
      `A simulated ${host.os.caption} (Orchestrator ${host.orchestrator.release}, SQL Server ${host.sqlInstances[0]?.version}) at ${hostFile}.`,
      'The bundled runbook orchestrator-tls12 sets it to TLS 1.2 only, as Microsoft\'s "Set up TLS for Orchestrator" describes:',
      'preflight, registry backup, SCHANNEL, .NET Framework, hotfix check, restart (the simulated host is down for 3 s), Integration Packs.',
      '',
    ].join('\n'),
  );
  return cmdRun(
    ['orchestrator-tls12', '--target', `sim:${hostFile}`, '--state-dir', stateDir, '--param', 'pollIntervalMs=500', ...(values.json ? ['--json'] : [])],
    false,
  );
}

function explain(error: unknown): { code: number; message: string } {
  if (error instanceof UsageError) return { code: ExitCode.usage, message: `${error.message}\n\n${USAGE}` };
  if (error instanceof ValidationError) return { code: ExitCode.usage, message: error.message };
  if (error instanceof JournalError) return { code: ExitCode.usage, message: error.message };
  if (error instanceof ExecutorError) return { code: ExitCode.usage, message: `cannot reach the target: ${error.message}` };
  if (error instanceof StepError) return { code: ExitCode.failed, message: error.message };
  return { code: ExitCode.failed, message: `unexpected error: ${(error as Error)?.stack ?? String(error)}` };
}

/** Runs one command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'run':
        return await cmdRun(args, false);
      case 'plan':
        return await cmdRun(args, true);
      case 'resume':
        return await cmdResume(args);
      case 'rollback':
        return await cmdRollback(args);
      case 'status':
        return await cmdStatus(args);
      case 'list':
        return await cmdList();
      case 'validate':
        return await cmdValidate(args);
      case 'sim':
        return await cmdSim(args);
      case 'demo':
        return await cmdDemo(args);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? ExitCode.usage : ExitCode.ok;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    const { code, message } = explain(error);
    process.stderr.write(`${red('error:')} ${message}\n`);
    return code;
  }
}
