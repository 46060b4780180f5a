/**
 * `runbook validate`: checks a runbook document — its fields, its step kinds and their parameters, and
 * every `${{ steps.X.outputs.Y }}` lookup against the outputs step X's kind declares.
 */
import { loadRunbook } from '../../engine/bundled.js';
import { bundledStepKinds } from '../../steps/index.js';
import { ExitCode } from '../exit-codes.js';
import { act, commandNamed, commonOptions, type CommonOptions, type RunbookCommand } from '../args.js';

/**
 * `runbook validate <file>`: checks a runbook document.
 *
 * @example
 * ```ts
 * validate.declare().helpInformation(); // 'Usage: runbook validate [options] <file>…'
 * ```
 */
export const validate: RunbookCommand = {
  name: 'validate',
  declare: () =>
    act(
      commandNamed('validate')
        .description('Checks a runbook document; errors name the file, the step and the field. Exit 0 when valid, 2 otherwise.')
        .argument('<file>', 'the runbook document (.yaml or .json)')
        .addOption(commonOptions.json('the verdict as one JSON document')),
      async (values: CommonOptions, [file]) => {
        const rb = await loadRunbook(file, bundledStepKinds());
        // An invalid document is reported by the dispatcher, with --json as one error object.
        if (values.json) process.stdout.write(`${JSON.stringify({ source: rb.source, valid: true, name: rb.definition.name, steps: rb.definition.steps.length, fingerprint: rb.fingerprint })}\n`);
        else process.stdout.write(`${rb.source}: valid (${rb.definition.steps.length} steps, ${rb.fingerprint})\n`);
        return ExitCode.ok;
      },
    ),
};
