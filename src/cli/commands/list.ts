/**
 * `runbook list`: the bundled runbooks with their parameters, and the step kinds.
 */
import { bundledRunbookNames, loadRunbook } from '../../engine/bundled.js';
import { bundledStepKinds } from '../../steps/index.js';
import { ExitCode } from '../exit-codes.js';
import { parse, type Command } from '../common.js';
import { bold, dim } from '../render.js';

export const list: Command = {
  name: 'list',
  usage: 'Usage: runbook list\n\nThe bundled runbooks, each with its parameters and defaults, and the step kinds documents can use.',
  async run(args) {
    const { values } = parse(args, {});
    const kinds = bundledStepKinds();
    if (values.json) {
      const runbooks = [];
      for (const name of await bundledRunbookNames()) {
        const rb = await loadRunbook(name, kinds);
        runbooks.push({ name, description: rb.definition.description ?? '', parameters: rb.definition.parameters ?? {} });
      }
      process.stdout.write(`${JSON.stringify({ runbooks, stepKinds: kinds.list().map((k) => ({ kind: k.kind, description: k.description })) })}\n`);
      return ExitCode.ok;
    }
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
  },
};
