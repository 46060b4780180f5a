/**
 * A confirmation before a command restarts servers, as `terraform apply` asks: only on a terminal
 * (a script's stdin is not one, and it passes `--yes` to say so plainly); anything but "y" or "yes"
 * declines.
 */
import { createInterface } from 'node:readline/promises';

export interface ConfirmOptions {
  /** `--yes`: no question. */
  yes: boolean;
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  output?: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * True when the command may go on: `--yes`, no terminal to ask on, or the operator answered yes.
 *
 * @example
 * ```ts
 * declare const values: { yes: boolean }; // the command's parsed options
 * const go = await confirm('Restart 12 servers?', { yes: values.yes });
 * ```
 */
export async function confirm(question: string, o: ConfirmOptions): Promise<boolean> {
  const input = o.input ?? process.stdin;
  const output = o.output ?? process.stderr;
  if (o.yes || !input.isTTY || !output.isTTY) return true;
  const rl = createInterface({ input, output });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
