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

/**
 * A quoted sentence's Markdown links made absolute against the page it is quoted from: Microsoft's
 * pages link site-relative (`/lifecycle/…`) or page-relative (`cumulativeupdate1.md`, the source file
 * of a page whose address has no `.md`), which would point into this repository once copied here; a
 * link whose target the quote elided (`(…)`) is left as its words. The quoted words are unchanged.
 *
 * @example
 * ```ts
 * absoluteLinks('[CU1](cumulativeupdate1.md)', 'https://learn.microsoft.com/troubleshoot/sql/releases/sqlserver-2025/build-versions');
 * // '[CU1](https://learn.microsoft.com/troubleshoot/sql/releases/sqlserver-2025/cumulativeupdate1)'
 * ```
 */
export function absoluteLinks(quote: string, pageUrl: string): string {
  // A link whose target the quote left out (`[2014 SP2](…)`) keeps its words only.
  return quote.replace(/\[([^\]]*)\]\(…\)/g, '$1').replace(/(\]\()([^)\s]+)(\))/g, (whole, open: string, target: string, close: string) => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return whole;
    const url = new URL(target, pageUrl);
    if (url.hostname === 'learn.microsoft.com') url.pathname = url.pathname.replace(/\.md$/, '');
    return `${open}${url.href}${close}`;
  });
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
      const sources = f.sources.map((s) => `[${cell(s.title)}](${s.url}): “${cell(absoluteLinks(s.quote, s.url))}”`).join('<br>');
      const note = f.note ? `${sources ? '<br>' : ''}*${cell(f.note)}*` : '';
      lines.push(`| **${f.id}** — ${cell(f.statement)} | ${cell(shown(f.value))} | ${f.status} | ${PROOF_WORDS[f.proof]} | ${sources}${note} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
