/**
 * `docs/windows-facts.md`, rendered from the table: one section per topic, one row per fact with its
 * value, how it is proven, and its sources with the quoted sentence.
 */
import type { WindowsFact } from './types.js';

const PROOF_WORDS = { microsoft: 'a Microsoft document', 'real-server': 'a real server', none: 'not proven' } as const;

/** A table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

/** A value as it reads in the doc: short JSON, arrays of rows as a count and their first items. */
function shown(value: unknown): string {
  const json = JSON.stringify(value);
  return json.length <= 160 ? `\`${json}\`` : `\`${json.slice(0, 150)}…\` (${json.length} characters; see the source file)`;
}

/**
 * Renders the facts document.
 *
 * @example
 * ```ts
 * const markdown = renderFactsDoc(WINDOWS_FACTS);
 * ```
 */
export function renderFactsDoc(facts: readonly WindowsFact[]): string {
  const lines = [
    '# Windows facts',
    '',
    '<!-- Generated from src/windows/facts/ by `npm run facts:doc`; a test fails when this file is stale. Do not edit by hand. -->',
    '',
    'Every Windows fact that decides anything in the engine — a default, a version threshold, a KB, a build,',
    'a registry location, an exit code — with the Microsoft document that states it and the sentence quoted.',
    'A fact no document states is `unknown`: it never refuses a host on its own nor passes it silently. A fact',
    "Microsoft's documents disagree on is `disputed`: the engine reads the host instead of assuming.",
    '',
    `${facts.length} facts: ${facts.filter((f) => f.proof === 'microsoft').length} proven by a Microsoft sentence, ${facts.filter((f) => f.proof === 'real-server').length} by a real server, ${facts.filter((f) => f.proof === 'none').length} not proven; ${facts.filter((f) => f.status === 'disputed').length} disputed, ${facts.filter((f) => f.status === 'unknown').length} unknown.`,
    '',
  ];
  const topics = [...new Set(facts.map((f) => f.topic))];
  for (const topic of topics) {
    lines.push(`## ${topic}`, '', '| fact | value | status | proven by | source |', '| --- | --- | --- | --- | --- |');
    for (const f of facts.filter((x) => x.topic === topic)) {
      const sources = f.sources.map((s) => `[${cell(s.title)}](${s.url}): “${cell(s.quote)}”`).join('<br>');
      const note = f.note ? `${sources ? '<br>' : ''}*${cell(f.note)}*` : '';
      lines.push(`| **${f.id}** — ${cell(f.statement)} | ${cell(shown(f.value))} | ${f.status} | ${PROOF_WORDS[f.proof]} | ${sources}${note} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
