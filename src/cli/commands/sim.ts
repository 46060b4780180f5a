/**
 * `runbook sim`: simulated Windows hosts for tests, demos and dry runs.
 */
import { dirname, join, resolve } from 'node:path';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { stringify as stringifyYaml } from 'yaml';
import { packageRoot } from '../../util/package-root.js';
import { ValidationError } from '../../errors.js';
import { readHost, writeHost } from '../../simulator/executor.js';
import { serveEndpoints } from '../../simulator/endpoints.js';
import { serveWinrm } from '../../simulator/winrm-listener.js';
import { createPreset, listPresets } from '../../simulator/presets.js';
import type { SimHostState } from '../../simulator/model.js';
import { ExitCode } from '../exit-codes.js';
import { UsageError, parse, type Command } from '../common.js';

const usage = `Usage: runbook sim create --preset <name> --out <file> [--downtime-ms MS] [--on-target]
       runbook sim capture --target <target> --out <file> [--mask]
       runbook sim serve <file>
       runbook sim fleet --preset <name> --count N --out <dir> [--latency-ms MS] [--downtime-ms MS]
       runbook sim presets [--json]
(create, capture and fleet overwrite no file unless --force)

create    writes a simulated Windows host (a JSON file) from a preset
capture   reads a host (read operations only) and writes what it read as a simulated host, to rehearse
          a plan on a faithful copy; --mask replaces the machine's, user's and SQL instances' names
serve     serves the host's TLS endpoints on 127.0.0.1 until SIGTERM or Ctrl-C: first one JSON line
          {"endpoints":[{"name":…,"port":…}]}, then each accepts exactly the server-side protocols in
          effect on the host (read per connection). Then its WinRM listeners, one line each:
            winrm-http http://127.0.0.1:PORT/wsman
            winrm-https https://127.0.0.1:PORT/wsman sha256:<certificate SHA-256>
          (NTLM with encrypted messages, as Windows by default; the account from
          RUNBOOK_SIM_WINRM_USER and RUNBOOK_SIM_WINRM_PASSWORD; the agent runs in RUNBOOK_PWSH or pwsh)
fleet     writes N simulated hosts and <dir>/inventory.yaml: a canary wave (the first host), then the rest
presets   lists the presets`;

/** A preset by name; an unknown name is a usage error that lists the known ones. */
export function presetOrRefuse(name: string): SimHostState {
  try {
    return createPreset(name);
  } catch {
    throw new ValidationError(`unknown preset "${name}"`, listPresets().map((p) => `${p.name}: ${p.description}`), { hint: 'choose one of the presets above' });
  }
}

/** A file that exists is overwritten only with `--force` (as `terraform`/`ansible` keep what is there). */
async function refuseOverwrite(files: string[], force: boolean): Promise<void> {
  if (force) return;
  const there = (await Promise.all(files.map(async (f) => ((await stat(f).then(() => true, () => false)) ? f : null)))).filter((f): f is string => f !== null);
  if (there.length > 0) throw new ValidationError(`${there.length === 1 ? `${there[0]} exists` : `${there.length} files exist`}: nothing was overwritten`, there.slice(0, 5), { hint: 'pass --force to overwrite, or choose another --out' });
}

/** The folder a file is to be written in must exist: say so plainly rather than with ENOENT. */
export async function refuseMissingFolder(file: string): Promise<void> {
  const folder = dirname(resolve(file));
  const ok = await stat(folder).then((s) => s.isDirectory(), () => false);
  if (!ok) throw new ValidationError(`cannot write ${file}: the folder ${folder} does not exist`, [folder], { hint: 'create the folder first, or choose another --out' });
}

export const sim: Command = {
  name: 'sim',
  usage,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === '--help' || sub === '-h') return parse(['--help'], {}) as never;
    if (sub === 'presets') {
      const { values } = parse(rest, {});
      if (values.json) process.stdout.write(`${JSON.stringify(listPresets().map((p) => ({ name: p.name, description: p.description })))}\n`);
      else for (const p of listPresets()) process.stdout.write(`  ${p.name.padEnd(24)} ${p.description}\n`);
      return ExitCode.ok;
    }
    if (sub === 'serve') return serve(rest);
    if (sub === 'fleet') return fleet(rest);
    if (sub === 'capture') return capture(rest);
    if (sub !== 'create') throw new UsageError('sim takes `create`, `capture`, `serve`, `fleet` or `presets`');
    const { values } = parse(rest, {
      preset: { type: 'string' },
      out: { type: 'string' },
      'downtime-ms': { type: 'string' },
      'on-target': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    });
    if (!values.preset || !values.out) throw new UsageError('sim create needs --preset <name> and --out <file>');
    const host = presetOrRefuse(values.preset);
    if (values['downtime-ms'] !== undefined) {
      const ms = Number(values['downtime-ms']);
      if (!Number.isInteger(ms) || ms < 0) throw new UsageError(`--downtime-ms takes a whole number of milliseconds, got "${values['downtime-ms']}"`);
      host.downtimeMs = ms;
    }
    host.onTarget = values['on-target'];
    await refuseMissingFolder(values.out);
    await refuseOverwrite([resolve(values.out)], values.force);
    await writeHost(resolve(values.out), host);
    process.stdout.write(`created ${values.out}: ${host.os.caption} (${values.preset})\n`);
    return ExitCode.ok;
  },
};

async function capture(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    target: { type: 'string', short: 't' },
    out: { type: 'string' },
    mask: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
  });
  if (positionals.length > 0 || !values.target || !values.out) throw new UsageError('sim capture needs --target <target> and --out <file>');
  await refuseMissingFolder(values.out);
  await refuseOverwrite([resolve(values.out)], values.force);
  const [{ connect }, { captureHost }] = await Promise.all([import('../targets.js'), import('../../simulator/capture.js')]);
  const executor = await connect(values.target);
  let host: SimHostState;
  try {
    host = await captureHost(executor, { mask: values.mask });
  } finally {
    await executor.close();
  }
  await writeHost(resolve(values.out), host);
  const masked = values.mask ? ', names masked' : '';
  process.stdout.write(`captured ${values.out}: ${host.os.caption} (${Object.keys(host.registry).length} registry keys, ${executor.roundTrips} round trip(s), read operations only${masked})\n`);
  return ExitCode.ok;
}

async function serve(args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  if (positionals.length !== 1) throw new UsageError('sim serve takes one host file');
  const file = resolve(positionals[0]);
  const host = await readHost(file);
  if (!host.endpoints?.length) throw new ValidationError(`the simulated host ${positionals[0]} has no TLS endpoints`, [], { hint: 'add "endpoints": [{ "name": "winrm-https", "port": 5986 }] to the file' });
  const served = await serveEndpoints(() => readHost(file));
  const winrm = await serveWinrm(() => readHost(file), { hostFile: file, write: (h) => writeHost(file, h) });
  process.stdout.write(`${JSON.stringify({ endpoints: served.endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port })) })}\n`);
  process.stdout.write(`winrm-http ${winrm.http}\nwinrm-https ${winrm.https} sha256:${winrm.certificateSha256}\n`);
  if (!process.env.RUNBOOK_SIM_WINRM_USER || !process.env.RUNBOOK_SIM_WINRM_PASSWORD) {
    process.stderr.write('winrm: no account (set RUNBOOK_SIM_WINRM_USER and RUNBOOK_SIM_WINRM_PASSWORD): every WinRM login is refused\n');
  }
  await new Promise<void>((resolve) => {
    // The servers do not hold the process open by themselves; this does, until a signal.
    const hold = setInterval(() => undefined, 1 << 30);
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        clearInterval(hold);
        resolve();
      });
    }
  });
  await served.close();
  await winrm.close();
  return ExitCode.ok;
}

/** A whole number option, or a usage error naming it. */
function wholeNumber(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} takes a whole number of at least ${min}, got "${text}"`);
  return n;
}

async function fleet(args: string[]): Promise<number> {
  const { values } = parse(args, {
    preset: { type: 'string' },
    count: { type: 'string' },
    out: { type: 'string' },
    'latency-ms': { type: 'string' },
    'downtime-ms': { type: 'string' },
    force: { type: 'boolean', default: false },
  });
  if (!values.preset || !values.count || !values.out) throw new UsageError('sim fleet needs --preset <name>, --count N and --out <dir>');
  const count = wholeNumber('count', values.count, 1)!;
  const latency = wholeNumber('latency-ms', values['latency-ms'], 0);
  const downtime = wholeNumber('downtime-ms', values['downtime-ms'], 0);
  presetOrRefuse(values.preset);
  const dir = resolve(values.out);
  await mkdir(dir, { recursive: true });
  const width = String(count).length;
  const hostFile = (i: number) => join(dir, `host-${String(i).padStart(width, '0')}.json`);
  await refuseOverwrite([join(dir, 'inventory.yaml'), ...Array.from({ length: count }, (_, i) => hostFile(i + 1))], values.force);
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
  await writeFile(
    join(dir, 'inventory.yaml'),
    `# yaml-language-server: $schema=${join(packageRoot(), 'schemas', 'inventory.schema.json')}\n# ${count} simulated ${values.preset} host(s): a canary first, then the rest.\n${stringifyYaml(inventory)}`,
  );
  process.stdout.write(`created ${count} host(s) and ${join(values.out, 'inventory.yaml')}\n`);
  return ExitCode.ok;
}
