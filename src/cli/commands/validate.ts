/**
 * `runbook validate`: checks a runbook document — its fields, its step kinds and their parameters, and
 * every `${{ steps.X.outputs.Y }}` lookup against the outputs step X's kind declares.
 */
import { loadRunbook } from '../../engine/bundled.js';
import { bundledStepKinds } from '../../steps/index.js';
import { ExitCode } from '../exit-codes.js';
import { UsageError, parse, type Command } from '../common.js';

export const validate: Command = {
  name: 'validate',
  usage: 'Usage: runbook validate <file>\n\nChecks a runbook document; errors name the file, the step and the field. Exit 0 when valid, 2 otherwise.',
  async run(args) {
    const { values, positionals } = parse(args, {});
    if (positionals.length !== 1) throw new UsageError('validate takes one runbook file');
    const rb = await loadRunbook(positionals[0], bundledStepKinds());
    // An invalid document is reported by the dispatcher, with --json as one error object.
    if (values.json) process.stdout.write(`${JSON.stringify({ source: rb.source, valid: true, name: rb.definition.name, steps: rb.definition.steps.length, fingerprint: rb.fingerprint })}\n`);
    else process.stdout.write(`${rb.source}: valid (${rb.definition.steps.length} steps, ${rb.fingerprint})\n`);
    return ExitCode.ok;
  },
};
