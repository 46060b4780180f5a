/**
 * The shape of the source tree: no import cycles (type imports included), the engine imports no
 * transport, and src/windows and src/util import nothing above them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const files = sources(SRC);
const imports = new Map(
  files.map((f) => {
    const text = readFileSync(f, 'utf8');
    const specs = [...text.matchAll(/(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]);
    return [f, specs];
  }),
);
const local = (f: string) => (imports.get(f) ?? []).filter((s) => s.startsWith('.')).map((s) => resolve(dirname(f), s.replace(/\.js$/, '.ts')));

test('no module imports itself through others', () => {
  const state = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (f: string) => {
    state.set(f, 1);
    stack.push(f);
    for (const g of local(f)) {
      if (state.get(g) === 1) cycles.push(stack.slice(stack.indexOf(g)).map((x) => relative(SRC, x)).join(' → '));
      else if (!state.get(g)) visit(g);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of files) if (!state.get(f)) visit(f);
  assert.equal(cycles, []);
});

test('the engine imports no transport; windows/ and util/ import nothing above them', () => {
  for (const f of files) {
    const rel = relative(SRC, f);
    const specs = imports.get(f) ?? [];
    if (rel.startsWith('engine/')) {
      for (const s of specs) assert.not.ok(/^(execa|ssh2|pg)$/.test(s) || /executors\/(?!types\.js)/.test(s), `${rel} imports ${s}`);
    }
    if (rel.startsWith('windows/') || rel.startsWith('util/')) {
      for (const g of local(f)) assert.ok(relative(SRC, g).startsWith(rel.split('/')[0]), `${rel} imports ${relative(SRC, g)}`);
    }
  }
});

test.run();
