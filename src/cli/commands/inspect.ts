/**
 * `runbook inspect --target <t>`: the read-only self-check. Reads every fact the bundled runbook
 * decides on, changing nothing, and prints each with the evidence read, the source it is judged by
 * and the verdict. The library part is `src/steps/inspect.ts`.
 */
import { loadRunbook } from '../../engine/bundled.js';
import { bundledStepKinds } from '../../steps/index.js';
import { inspectHost, type InspectItem, type InspectReport } from '../../steps/inspect.js';
import { ExitCode } from '../exit-codes.js';
import { Option } from 'commander';
import { act, commandNamed, commonOptions, once, paramOption, paramsFrom, wholeNumber, type RunbookCommand } from '../args.js';
import { bold, dim, green, red, yellow } from '../render.js';
import { TARGET_FORMS, connect } from '../targets.js';

interface InspectOptions {
  target: string;
  runbook?: string;
  param?: string[];
  timeoutMs?: number;
  json?: boolean;
}

/**
 * `runbook inspect --target <t>`: the read-only self-check, every fact the runbook decides on judged.
 *
 * @example
 * ```ts
 * inspect.declare().helpInformation(); // 'Usage: runbook inspect [options]…'
 * ```
 */
export const inspect: RunbookCommand = {
  name: 'inspect',
  declare: () =>
    act(
      commandNamed('inspect')
        .description(
          [
            'Reads, changing nothing, every fact the runbook decides on — OS and build, Orchestrator and its',
            'services, .NET Framework 4.x and the .NET 3.5 fix, SQL Server and its client, each registry value a run',
            "would set (what it is now, what a run would write), the engine's restart marker — and makes real TLS",
            "handshakes with the target's endpoints. Each is printed with the evidence read, the source it is judged",
            'by (a fact of docs/windows-facts.md, with its Microsoft document) and the verdict:',
            'ok · refuse (a run would stop at its preflight) · unknown (cannot be decided from what was read) ·',
            'would change (what a run would do). Only read operations are sent; a write is refused before it leaves.',
          ].join(' '),
        )
        .requiredOption('-t, --target <target>', 'the host to inspect (forms below)', once('--target'))
        .option('--runbook <name|file>', 'the runbook whose facts are judged (default orchestrator-tls12)')
        .addOption(paramOption('a runbook parameter, as for `runbook plan` (e.g. procedure=2019, sqlServerVersion=…)'))
        .addOption(new Option('--timeout-ms <MS>', 'how long one handshake may take (default 5000)').argParser(wholeNumber(1)))
        .addOption(commonOptions.json('one JSON document: every item, the counts, round trips and operations sent'))
        .addHelpText(
          'after',
          [
            '',
            'Exit codes: 0 nothing refuses (ok, unknown or would change) · 1 a prerequisite refuses (a run would',
            'stop at its preflight) · 2 usage or input error · 69 the target could not be reached',
            '',
            'Targets',
            ...TARGET_FORMS.map((f) => `  ${f}`),
          ].join('\n'),
        ),
      async (values: InspectOptions) => {
        const kinds = bundledStepKinds();
        const runbook = await loadRunbook(values.runbook ?? 'orchestrator-tls12', kinds);
        const params = paramsFrom(values.param);
        const executor = await connect(values.target);
        let report: InspectReport;
        try {
          report = await inspectHost({ executor, runbook, kinds, params, ...(values.timeoutMs ? { handshakeTimeoutMs: values.timeoutMs } : {}) });
        } finally {
          await executor.close();
        }
        process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : render(report));
        return report.counts.refuse > 0 ? ExitCode.failed : ExitCode.ok;
      },
    ),
};

const TOPICS: Record<InspectItem['topic'], string> = {
  prerequisite: 'Prerequisites (a refusal stops a run before it writes)',
  service: 'Orchestrator services',
  restart: 'Restart',
  registry: 'Registry values a run sets',
  handshake: 'TLS handshakes from this machine',
};

function verdictText(v: InspectItem['verdict']): string {
  const padded = v.padEnd(12);
  return v === 'ok' ? green(padded) : v === 'refuse' ? red(padded) : yellow(padded);
}

function render(r: InspectReport): string {
  const lines = [`${bold('Inspect')} ${r.target} for ${r.runbook}${r.procedure ? ` — judged by "${r.procedure.title}" (${r.procedure.msDate}, ${r.procedure.url})` : ''}`, ''];
  for (const [topic, heading] of Object.entries(TOPICS) as [InspectItem['topic'], string][]) {
    const items = r.items.filter((i) => i.topic === topic);
    if (items.length === 0) continue;
    lines.push(bold(heading));
    for (const i of items) {
      lines.push(`  ${verdictText(i.verdict)} ${i.check}`);
      lines.push(`  ${' '.repeat(12)} read: ${i.evidence}${i.wouldSet !== undefined && i.verdict === 'would change' ? ` → a run sets ${JSON.stringify(i.wouldSet)}` : ''}`);
      for (const s of i.sources) lines.push(dim(`  ${' '.repeat(12)} source: ${s.id}${s.title ? ` — ${s.title} <${s.url}>` : ''}`));
      if (i.fix) lines.push(`  ${' '.repeat(12)} → ${i.fix}`);
    }
    lines.push('');
  }
  const c = r.counts;
  lines.push(`${c.ok} ok, ${c.refuse} refuse, ${c.unknown} unknown, ${c['would change']} would change · ${r.roundTrips} round trip(s), ${r.opsSent} read operation(s), nothing written`);
  return `${lines.join('\n')}\n`;
}
