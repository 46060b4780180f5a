/**
 * The shape of the source tree: no import cycles (type imports included); rooms on floors, none of them
 * importing a room above it; the engine imports no transport and no store backend (it sees both through
 * ports: `executors/types.ts`, `engine/run-store.ts`); src/windows and src/util import nothing above them.
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

/**
 * The floors, lowest first: a room may import its own floor's rooms and those below, never one above.
 * The simulated host sits above the transports it reuses (the agent's protocol, NTLM); the console
 * beside the CLI; `index.ts` is the public API, on top.
 */
const FLOORS: readonly (readonly string[])[] = [
  ['util', 'windows', 'errors.ts'],
  ['executors'],
  ['simulator'],
  ['engine'],
  ['steps', 'tls'],
  ['fleet'],
  ['store'],
  ['worker'],
  ['cli', 'console'],
  ['index.ts'],
];
const floorOf = (rel: string) => FLOORS.findIndex((rooms) => rooms.includes(rel.split('/')[0]));

test('every room of src/ has its floor', () => {
  assert.equal(files.map((f) => relative(SRC, f)).filter((rel) => floorOf(rel) < 0), []);
});

test('no room imports a room above its floor', () => {
  const up: string[] = [];
  for (const f of files) {
    const rel = relative(SRC, f);
    for (const g of local(f)) {
      const to = relative(SRC, g);
      if (floorOf(to) > floorOf(rel)) up.push(`${rel} → ${to}`);
    }
  }
  assert.equal(up, []);
});

test('the engine imports no transport and no store backend; windows/ and util/ import nothing above them', () => {
  for (const f of files) {
    const rel = relative(SRC, f);
    const specs = imports.get(f) ?? [];
    if (rel.startsWith('engine/')) {
      for (const s of specs) assert.not.ok(/^(execa|ssh2|pg|pg-boss)$/.test(s) || /executors\/(?!types\.js)/.test(s) || /(^|\/)store\//.test(s), `${rel} imports ${s}`);
    }
    if (rel.startsWith('windows/') || rel.startsWith('util/')) {
      for (const g of local(f)) assert.ok(relative(SRC, g).startsWith(rel.split('/')[0]), `${rel} imports ${relative(SRC, g)}`);
    }
  }
});

test.run();
