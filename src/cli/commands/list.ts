/**
 * `runbook list`: the bundled runbooks with their parameters, and the step kinds. With `--target`, the
 * host is read once (read-only) and each runbook says whether its preflight would accept it, and why not.
 */
import { bundledRunbookNames, loadRunbook } from '../../engine/bundled.js';
import { bundledStepKinds } from '../../steps/index.js';
import type { HostFit } from '../../steps/fits-host.js';
import { ExitCode } from '../exit-codes.js';
import { act, commandNamed, commonOptions, once, type RunbookCommand } from '../args.js';
import { connect } from '../targets.js';
import { bold, dim, green, yellow } from '../render.js';

/** Reads the target and judges every bundled runbook with an Orchestrator preflight. */
async function fitsOf(target: string): Promise<Map<string, HostFit>> {
  const { fitsOfTarget } = await import('../../steps/fits-host.js');
  const executor = await connect(target);
  try {
    return new Map((await fitsOfTarget(executor)).map((f) => [f.runbook, f]));
  } finally {
    await executor.close();
  }
}

/**
 * `runbook list`: the bundled runbooks and step kinds; with `--target`, whether each fits the host.
 *
 * @example
 * ```ts
 * list.declare().helpInformation(); // 'Usage: runbook list [options]…'
 * ```
 */
export const list: RunbookCommand = {
  name: 'list',
  declare: () =>
    act(
      commandNamed('list')
        .description(
          [
            'The bundled runbooks, each with its parameters and defaults, and the step kinds documents can use.',
            'With --target, the target is read once (nothing is changed) and each runbook says whether it fits the',
            "host: its preflight's refusals (the reasons a run would stop before any write) and what no document",
            'settles.',
          ].join(' '),
        )
        .option('-t, --target <target>', 'read this host and judge each runbook against it', once('--target'))
        .addOption(commonOptions.json('one JSON document: the runbooks, their fit, the step kinds')),
      listCommand,
    ),
};

async function listCommand(values: { target?: string; json?: boolean }): Promise<number> {
  const kinds = bundledStepKinds();
  if (values.json) {
    const runbooks = [];
    for (const name of await bundledRunbookNames()) {
      const rb = await loadRunbook(name, kinds);
      runbooks.push({ name, description: rb.definition.description ?? '', parameters: rb.definition.parameters ?? {} });
    }
    const fits = values.target ? await fitsOf(values.target) : undefined;
    process.stdout.write(`${JSON.stringify({ runbooks, ...(fits ? { fits } : {}), stepKinds: kinds.list().map((k) => ({ kind: k.kind, description: k.description })) })}\n`);
    return ExitCode.ok;
  }
  const fits = values.target ? await fitsOf(values.target) : undefined;
  process.stdout.write(`${bold('Bundled runbooks')}\n`);
  for (const name of await bundledRunbookNames()) {
    const rb = await loadRunbook(name, kinds);
    process.stdout.write(`  ${name} — ${rb.definition.description ?? ''}\n`);
    const fit = fits?.get(name);
    if (fit) {
      process.stdout.write(`      ${fit.fits ? green(`fits ${values.target}`) : yellow(`does not fit ${values.target}`)}\n`);
      for (const r of fit.reasons) process.stdout.write(`        refused: ${r}\n`);
      for (const u of fit.unknowns) process.stdout.write(`        ${dim(`not settled: ${u}`)}\n`);
    }
    for (const [p, spec] of Object.entries(rb.definition.parameters ?? {})) {
      process.stdout.write(`      --param ${p}=<${spec.type}>  ${dim(`${spec.description ?? ''} (default ${JSON.stringify(spec.default)})`)}\n`);
    }
  }
  process.stdout.write(`${bold('Step kinds')}\n`);
  for (const k of kinds.list()) process.stdout.write(`  ${k.kind.padEnd(26)} ${k.description}\n`);
  return ExitCode.ok;
}
