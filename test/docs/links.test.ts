/**
 * Every relative link of the README and docs/ leads somewhere: the file exists, and an anchor
 * (`fleets.md#scale`, `#help-and-usage-errors`) is a heading of that file, by GitHub's rule for a
 * heading's id. Links to a site (`https://…`) are not followed; code (fenced or inline) is not read.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'), { recursive: true }) as string[];
  return [join(ROOT, 'README.md'), ...docs.filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f))];
}

/** The text outside code: fenced blocks and inline code blanked (line numbers kept). */
function prose(text: string): string[] {
  let fenced = false;
  return text.split('\n').map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line.replace(/`[^`]*`/g, '');
  });
}

/** A heading's id as GitHub makes it: lower case, punctuation dropped, spaces as `-`, repeats numbered. */
export function headingIds(text: string): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]
      .replace(/<[^>]+>/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    ids.add(n === 0 ? base : `${base}-${n}`);
  }
  return ids;
}

/** Each relative link of a file: its target and the line it is on. */
function links(file: string): { target: string; line: number }[] {
  const out: { target: string; line: number }[] = [];
  prose(readFileSync(file, 'utf8')).forEach((line, i) => {
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      out.push({ target, line: i + 1 });
    }
  });
  return out;
}

test('the heading ids follow GitHub', () => {
  assert.equal([...headingIds('# The `runbook` command\n## Help and usage errors\n## 2. schannel\n## Scale\n## Scale\n## TLS 1.3: the facts (and why)')], ['the-runbook-command', 'help-and-usage-errors', '2-schannel', 'scale', 'scale-1', 'tls-13-the-facts-and-why']);
});

test('every relative link of the README and docs/ leads to a file, and its anchor to a heading of it', () => {
  const broken: string[] = [];
  const ids = new Map<string, Set<string>>();
  const idsOf = (file: string) => ids.get(file) ?? ids.set(file, headingIds(readFileSync(file, 'utf8'))).get(file)!;
  for (const file of markdownFiles()) {
    for (const { target, line } of links(file)) {
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const to = path === '' ? file : resolve(dirname(file), decodeURI(path));
      const where = `${relative(ROOT, file)}:${line} → ${target}`;
      if (!existsSync(to)) {
        broken.push(`${where}: no such file`);
        continue;
      }
      if (anchor !== undefined && to.endsWith('.md') && statSync(to).isFile() && !idsOf(to).has(decodeURIComponent(anchor).toLowerCase())) broken.push(`${where}: no such heading`);
    }
  }
  assert.equal(broken, [], `broken links:\n${broken.join('\n')}`);
});

test.run();
