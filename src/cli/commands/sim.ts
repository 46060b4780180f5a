/**
 * `runbook sim`: simulated Windows hosts for tests, demos and dry runs.
 */
import { dirname, join, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { makeFolder } from '../../util/make-folder.js';
import { stringify as stringifyYaml } from 'yaml';
import { packageRoot } from '../../util/package-root.js';
import { writeFileAtomicUnsyncedAsync } from '../../util/write-atomic.js';
import { ValidationError } from '../../errors.js';
import { readHost, writeHost } from '../../simulator/executor.js';
import { serveEndpoints } from '../../simulator/endpoints.js';
import { serveWinrm } from '../../simulator/winrm-listener.js';
import { createPreset, listPresets } from '../../simulator/presets.js';
import { assumptionLines, type SimHostState } from '../../simulator/model.js';
import { ExitCode } from '../exit-codes.js';
import { Option } from 'commander';
import { act, commandNamed, commonOptions, once, refuseEmptyPath, wholeNumber, type RunbookCommand } from '../args.js';

/** A preset by name; an unknown name is a usage error that lists the known ones. */
export function presetOrRefuse(name: string): SimHostState {
  try {
    return createPreset(name);
  } catch {
    throw new ValidationError(`unknown preset "${name}"`, listPresets().map((p) => `${p.name}: ${p.description}`), { hint: 'choose one of the presets above' });
  }
}

/**
 * A file that exists is overwritten only with `--force` (as `terraform`/`ansible` keep what is there);
 * a folder where a file is to be written is never replaced, forced or not (its rename would fail with
 * a bare EISDIR): the operator named the wrong place.
 */
async function refuseOverwrite(files: string[], force: boolean): Promise<void> {
  const kinds = await Promise.all(files.map(async (f) => ({ f, s: await stat(f).catch(() => null) })));
  const folders = kinds.filter(({ s }) => s && !s.isFile()).map(({ f }) => f);
  if (folders.length > 0) {
    throw new ValidationError(`${folders[0]} is a folder, not a file: nothing was written`, folders.slice(0, 5), {
      hint: `give --out a file's path (e.g. ${join(folders[0], 'host.json')}); --force replaces a file, never a folder`,
    });
  }
  if (force) return;
  const there = kinds.filter(({ s }) => s).map(({ f }) => f);
  if (there.length > 0) throw new ValidationError(`${there.length === 1 ? `${there[0]} exists` : `${there.length} files exist`}: nothing was overwritten`, there.slice(0, 5), { hint: 'pass --force to overwrite, or choose another --out' });
}

/** The folder a file is to be written in must exist: say so plainly rather than with ENOENT. */
export async function refuseMissingFolder(file: string): Promise<void> {
  const folder = dirname(resolve(file));
  const there = await stat(folder).catch(() => null);
  if (there && !there.isDirectory()) throw new ValidationError(`cannot write ${file}: ${folder} is a file, not a folder`, [folder], { hint: 'choose another --out, in a folder that exists' });
  if (!there) throw new ValidationError(`cannot write ${file}: the folder ${folder} does not exist`, [folder], { hint: 'create the folder first, or choose another --out' });
}

const SERVE_DESCRIPTION = [
  'Serves the host\'s TLS endpoints on 127.0.0.1 until SIGTERM or Ctrl-C: first one JSON line {"endpoints":[{"name":…,"port":…}]}, then each accepts exactly the server-side protocols in effect on the host (read per connection). Then its WinRM listeners, one line each:',
  '  winrm-http http://127.0.0.1:PORT/wsman',
  '  winrm-https https://127.0.0.1:PORT/wsman sha256:<certificate SHA-256>',
  '(NTLM with encrypted messages, as Windows by default; the account from RUNBOOK_SIM_WINRM_USER and RUNBOOK_SIM_WINRM_PASSWORD; the agent runs in RUNBOOK_PWSH or pwsh)',
].join('\n');

const FORCE = 'overwrite files that exist (none is overwritten without it)';

/**
 * `runbook sim`: simulated Windows hosts — `create`, `capture`, `serve`, `fleet`, `presets`.
 *
 * @example
 * ```ts
 * sim.declare().helpInformation(); // 'Usage: runbook sim [options] [command]…'
 * ```
 */
export const sim: RunbookCommand = {
  name: 'sim',
  declare: () => {
    const command = commandNamed('sim').description('Simulated Windows hosts for tests, demos and dry runs. (create, capture and fleet overwrite no file unless --force)');
    command.addCommand(
      act(
        commandNamed('create')
          .description('writes a simulated Windows host (a JSON file) from a preset')
          .requiredOption('--preset <name>', 'the preset (runbook sim presets lists them)')
          .requiredOption('--out <file>', 'the file to write')
          .addOption(new Option('--downtime-ms <MS>', 'how long the host is down while it restarts').argParser(wholeNumber(0)))
          .option('--on-target', 'the engine runs on the host itself (a restart ends it)')
          .option('--force', FORCE),
        create,
      ),
    );
    command.addCommand(
      act(
        commandNamed('capture')
          .description("reads a host (read operations only) and writes what it read as a simulated host, to rehearse a plan on a faithful copy")
          .requiredOption('-t, --target <target>', 'the host to read', once('--target'))
          .requiredOption('--out <file>', 'the file to write')
          .option('--mask', "replace the machine's, user's and SQL instances' names")
          .option('--force', FORCE),
        capture,
      ),
    );
    command.addCommand(act(commandNamed('serve').summary("serves the host's TLS endpoints and WinRM listeners on 127.0.0.1").description(SERVE_DESCRIPTION).argument('<file>', 'the simulated host'), serve));
    command.addCommand(
      act(
        commandNamed('fleet')
          .description('writes N simulated hosts and <dir>/inventory.yaml: a canary wave (the first host), then the rest')
          .requiredOption('--preset <name>', 'the preset of every host')
          .addOption(new Option('--count <N>', 'how many hosts').makeOptionMandatory().argParser(wholeNumber(1)))
          .requiredOption('--out <dir>', 'the folder to write')
          .addOption(new Option('--latency-ms <MS>', 'added to every round trip').argParser(wholeNumber(0)))
          .addOption(new Option('--downtime-ms <MS>', 'how long each host is down while it restarts').argParser(wholeNumber(0)))
          .option('--force', FORCE),
        fleet,
      ),
    );
    command.addCommand(
      act(commandNamed('presets').description('lists the presets').addOption(commonOptions.json('the presets as one JSON array')), async (values: { json?: boolean }) => {
        if (values.json) process.stdout.write(`${JSON.stringify(listPresets().map((p) => ({ name: p.name, description: p.description })))}\n`);
        else for (const p of listPresets()) process.stdout.write(`  ${p.name.padEnd(24)} ${p.description}\n`);
        return ExitCode.ok;
      }),
    );
    return command;
  },
};

async function create(values: { preset: string; out: string; downtimeMs?: number; onTarget?: boolean; force?: boolean }): Promise<number> {
  const host = presetOrRefuse(values.preset);
  if (values.downtimeMs !== undefined) host.downtimeMs = values.downtimeMs;
  host.onTarget = values.onTarget === true;
  refuseEmptyPath('--out', values.out, "give the host file's path");
  await refuseMissingFolder(values.out);
  await refuseOverwrite([resolve(values.out)], values.force === true);
  await writeHost(resolve(values.out), host);
  process.stdout.write(`created ${values.out}: ${host.os.caption} (${values.preset})\n`);
  for (const line of assumptionLines(host)) process.stdout.write(`  ${line}\n`);
  return ExitCode.ok;
}

async function capture(values: { target: string; out: string; mask?: boolean; force?: boolean }): Promise<number> {
  refuseEmptyPath('--out', values.out, "give the host file's path");
  await refuseMissingFolder(values.out);
  await refuseOverwrite([resolve(values.out)], values.force === true);
  const [{ connect }, { captureHost }] = await Promise.all([import('../targets.js'), import('../../simulator/capture.js')]);
  const executor = await connect(values.target);
  let host: SimHostState;
  try {
    host = await captureHost(executor, { mask: values.mask === true });
  } finally {
    await executor.close();
  }
  await writeHost(resolve(values.out), host);
  const masked = values.mask ? ', names masked' : '';
  process.stdout.write(`captured ${values.out}: ${host.os.caption} (${Object.keys(host.registry).length} registry keys, ${executor.roundTrips} round trip(s), read operations only${masked})\n`);
  // A capture reads values, never Windows' defaults: where the facts leave one open, the user states it.
  for (const line of assumptionLines(host)) process.stdout.write(`  ${line}\n`);
  return ExitCode.ok;
}

async function serve(_values: object, positionals: string[]): Promise<number> {
  const file = resolve(positionals[0]);
  // The host file is input, checked as run and inspect check it (exit 2: missing, unreadable, not a
  // simulated host) — not read raw, which called a bad file a target that cannot be reached (exit 69).
  await (await import('../targets.js')).checkSimulatedHost(`sim:${file}`);
  const host = await readHost(file);
  if (!host.endpoints?.length) throw new ValidationError(`the simulated host ${positionals[0]} has no TLS endpoints`, [], { hint: 'add "endpoints": [{ "name": "winrm-https", "port": 5986 }] to the file' });
  const served = await serveEndpoints(() => readHost(file), { where: positionals[0] });
  const winrm = await serveWinrm(() => readHost(file), { hostFile: file, write: (h) => writeHost(file, h) });
  // Listening for the signals before the ports are printed: a caller that stops the host as soon as it
  // reads them must find the handler there.
  const stopped = new Promise<void>((resolve) => {
    // The servers do not hold the process open by themselves; this does, until a signal.
    const hold = setInterval(() => undefined, 1 << 30);
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        clearInterval(hold);
        resolve();
      });
    }
  });
  process.stdout.write(`${JSON.stringify({ endpoints: served.endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port })) })}\n`);
  process.stdout.write(`winrm-http ${winrm.http}\nwinrm-https ${winrm.https} sha256:${winrm.certificateSha256}\n`);
  if (!process.env.RUNBOOK_SIM_WINRM_USER || !process.env.RUNBOOK_SIM_WINRM_PASSWORD) {
    process.stderr.write('winrm: no account (set RUNBOOK_SIM_WINRM_USER and RUNBOOK_SIM_WINRM_PASSWORD): every WinRM login is refused\n');
  }
  await stopped;
  await served.close();
  await winrm.close();
  return ExitCode.ok;
}

async function fleet(values: { preset: string; count: number; out: string; latencyMs?: number; downtimeMs?: number; force?: boolean }): Promise<number> {
  const { count, latencyMs: latency, downtimeMs: downtime } = values;
  presetOrRefuse(values.preset);
  refuseEmptyPath('--out', values.out, 'give a folder for the hosts and their inventory.yaml (made if missing)');
  const dir = resolve(values.out);
  // Its hosts and inventory go in a folder: a file there is the wrong --out, said plainly (not EEXIST).
  if ((await stat(dir).catch(() => null))?.isDirectory() === false) {
    throw new ValidationError(`${dir} is a file, not a folder: nothing was written`, [dir], { hint: 'give --out a folder (made if missing) for the hosts and their inventory.yaml' });
  }
  // Checked before anything is made, then made level by level (a recursive mkdir never returns on /proc).
  const refuse = (why: string, cause?: unknown) =>
    new ValidationError(`the --out folder cannot be used: ${why}; nothing was written`, [dir], { hint: 'give --out a folder this user can write (made if missing), on a disk (not under /proc or /sys)', cause });
  await makeFolder(dir, refuse);
  const width = String(count).length;
  const hostFile = (i: number) => join(dir, `host-${String(i).padStart(width, '0')}.json`);
  await refuseOverwrite([join(dir, 'inventory.yaml'), ...Array.from({ length: count }, (_, i) => hostFile(i + 1))], values.force === true);
  const names: string[] = [];
  for (let i = 1; i <= count; i++) {
    const host = presetOrRefuse(values.preset);
    if (latency !== undefined) host.latencyMs = latency;
    if (downtime !== undefined) host.downtimeMs = downtime;
    const name = `host-${String(i).padStart(width, '0')}`;
    host.name = name;
    await writeHost(join(dir, `${name}.json`), host);
    names.push(name);
  }
  const inventory = {
    hosts: names.map((name, i) => ({ name, target: `sim:${name}.json`, groups: [i === 0 ? 'canary' : 'servers'] })),
    waves: [{ name: 'canary', groups: ['canary'] }, ...(count > 1 ? [{ name: 'rest', groups: ['servers'] }] : [])],
  };
  // Atomic, and a refused write names its file (a full disk's error names none).
  await writeFileAtomicUnsyncedAsync(
    join(dir, 'inventory.yaml'),
    `# yaml-language-server: $schema=${join(packageRoot(), 'schemas', 'inventory.schema.json')}\n# ${count} simulated ${values.preset} host(s): a canary first, then the rest.\n${stringifyYaml(inventory)}`,
  );
  process.stdout.write(`created ${count} host(s) and ${join(values.out, 'inventory.yaml')}\n`);
  return ExitCode.ok;
}
