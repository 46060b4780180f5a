/**
 * The inventory of a fleet: hosts (a name, a target, groups, parameters of their own), defaults, and
 * waves — ordered lists of groups, e.g. a canary first, then the clients and SQL Servers, then the
 * Orchestrator servers. Validated when it loads; every error names the file, the host and the field.
 * Credentials never appear in it: targets reach their credentials through the environment, as on the
 * command line (RUNBOOK_SSH_KEY, RUNBOOK_WINRM_USER, …).
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import * as z from '../util/zod.js';
import { ValidationError } from '../errors.js';
import { machineKeyOf } from '../engine/target-machine.js';
import { targetPasswordProblem } from '../util/target-password.js';
import { withoutPassword } from '../util/without-password.js';
import { readInputFile } from '../util/read-input-file.js';

const name = z.matching(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dots, dashes and underscores');
const paramValue = z.union([z.string(), z.number(), z.boolean()]);
const params = (description: string) => z._default(z.record(z.string(), paramValue), {}).check(z.describe(description));

export const inventorySchema = z.strictObject({
  defaults: z._default(z.strictObject({ params: params("every host's runbook parameters, unless its own say otherwise") }), { params: {} }),
  hosts: z
    .array(
      z.strictObject({
        name: name.with(z.describe('the host, as reports name it')),
        target: z.string().check(z.minLength(1), z.describe('sim:<file> (relative to the inventory), ssh://user@host[:port], winrm://host[:port], pwsh+ssh://user@host[:port] or local; credentials come from the environment')),
        groups: z._default(z.array(name), []).check(z.describe('the groups the host is in; waves name groups')),
        params: params("this host's runbook parameters"),
      }),
    )
    .check(z.minLength(1)),
  /** Waves in order; each names groups (or `all`). @default one wave of every host */
  waves: z
    .optional(z.array(z.strictObject({ name, groups: z.array(name).check(z.minLength(1), z.describe('groups whose hosts this wave runs (or all)')) })))
    .check(z.describe('in order; a host goes in the first wave naming one of its groups; none: one wave of every host')),
});

/** The inventory's JSON Schema, for editors (`schemas/inventory.schema.json` is this, written out). */
export function inventoryJsonSchema(): object {
  return { ...z.toJSONSchema(inventorySchema, { io: 'input' }), title: 'runbook-engine inventory' };
}

/**
 * A host of an inventory: its name, its target (`sim:`, `ssh://`, `winrm://`, …), its groups and its
 * own runbook parameters.
 *
 * @example
 * ```ts
 * const host: InventoryHost = { name: 'orch01', target: 'winrm+https://orch01.contoso.com', groups: ['orchestrator'], params: { allowRestart: true } };
 * ```
 */
export type InventoryHost = { name: string; target: string; groups: string[]; params: Record<string, string | number | boolean> };
/**
 * A wave of a fleet: its name and the hosts it runs, in order; a wave starts once the one before it
 * has ended.
 *
 * @example
 * ```ts
 * const inventory = await loadInventory('inventory.yaml');
 * const first: Wave = inventory.waves[0];
 * console.log(`${first.name}: ${first.hosts.map((h) => h.name).join(', ')}`);
 * ```
 */
export type Wave = { name: string; hosts: InventoryHost[] };
/**
 * A fleet's inventory as it loads: its file, the parameters every host gets, the hosts and the waves
 * that run them.
 *
 * @example
 * ```ts
 * const inventory: Inventory = await loadInventory('inventory.yaml');
 * const sqlHosts = inventory.hosts.filter((h) => h.groups.includes('sql'));
 * ```
 */
export type Inventory = { file: string; defaults: { params: Record<string, string | number | boolean> }; hosts: InventoryHost[]; waves: Wave[] };

/**
 * Reads and checks an inventory; `sim:` targets are made absolute against the inventory's folder.
 *
 * @example
 * ```ts
 * const inventory = await loadInventory('fleet/inventory.yaml');
 * console.log(inventory.waves.map((w) => `${w.name}: ${w.hosts.length} host(s)`));
 * ```
 */
export async function loadInventory(file: string): Promise<Inventory> {
  const read = await readInputFile(file, { maxBytes: MAX_INVENTORY_BYTES, what: 'inventory' });
  if ('problem' in read) {
    throw new ValidationError(`cannot read the inventory: ${read.problem}`, [], { where: file, hint: `${read.hint}; \`runbook sim fleet\` writes an inventory to start from`, cause: read.cause });
  }
  const { text } = read;
  const { parseDocument, LineCounter, yamlErrorText } = await import('../engine/yaml.js');
  let doc: unknown;
  const lineCounter = new LineCounter();
  let parsed;
  try {
    // As `parse` does: the first error refuses the document, and its value is read from the document.
    parsed = parseDocument(text, { lineCounter });
    if (parsed.errors.length > 0) throw parsed.errors[0];
    doc = parsed.toJS();
  } catch (cause) {
    throw new ValidationError('the inventory is not valid YAML', [yamlErrorText(cause as Error, 'an inventory')], { where: file, cause });
  }
  // Where each host starts, for errors that name two hosts far apart (one machine listed twice).
  const hostNodes = parsed.get('hosts');
  const items = hostNodes && typeof hostNodes === 'object' && 'items' in hostNodes && Array.isArray(hostNodes.items) ? (hostNodes.items as { range?: [number, number, number] }[]) : [];
  const hosts = items.map((item) => (item?.range ? lineCounter.linePos(item.range[0]).line : undefined));
  return checkInventory(doc, file, { hosts });
}

/** The most an inventory file may hold: some 16 MiB is a fleet of a hundred thousand hosts. */
export const MAX_INVENTORY_BYTES = 16 * 1024 * 1024;

/**
 * Where an inventory's entries are in its file (1-based lines), when it was read from one: errors name them.
 *
 * @example
 * ```ts
 * const lines: InventoryLines = { hosts: [3, 6] }; // hosts[0] starts on line 3, hosts[1] on line 6
 * ```
 */
export type InventoryLines = { hosts?: readonly (number | undefined)[] };

/**
 * The longest host name: a host's run is the folder `<fleet-id>.<host>` (a fleet id is about 30
 * characters), and a file name holds at most 255 bytes on the file systems a state directory lives on.
 */
export const MAX_HOST_NAME = 200;

/**
 * The target forms a host may have (the CLI's `connect` understands these; what follows the scheme is
 * checked there, before any host is contacted): a target of another form is named with the
 * inventory's other errors.
 */
const TARGET_FORM = /^(sim:.|local$|ssh:\/\/|pwsh\+ssh:\/\/|winrm:\/\/|winrm\+https:\/\/)/;
const TARGET_FORMS_TEXT = 'sim:<file>, local, ssh://user@host[:port], pwsh+ssh://user@host[:port], winrm://[user@]host[:port], winrm+https://[user@]host[:port]';

/** The keys each level of an inventory takes, named when an unknown one is found. */
const KEYS: Record<string, string> = {
  document: 'defaults, hosts, waves',
  defaults: 'params',
  host: 'name, target, groups, params',
  wave: 'name, groups',
};

/** What a field holds, said after a schema error of that field: what to write instead. */
const FIELD_HINTS: Record<string, string> = {
  hosts: 'a list of hosts, each { name, target, groups, params }',
  waves: 'a list of waves in order, each { name, groups: [group, …] }; leave it out for one wave of every host',
  defaults: '{ params: { name: value, … } }',
  name: 'letters, digits, dots, dashes and underscores, e.g. orch01',
  target: TARGET_FORMS_TEXT,
  groups: 'a list of group names, e.g. [canary, web]',
  params: 'a mapping of runbook parameters, e.g. { mode: tls12-only }',
};

/** The name `--limit` and waves give every host: no host or group may have it. */
export const ALL = 'all';

type Raw = Record<string, unknown>;
const objectsOf = (value: unknown): Raw[] => (Array.isArray(value) ? value.map((x) => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Raw) : {})) : []);
const stringsOf = (value: unknown): string[] => (Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string') : []);

/**
 * Checks an inventory document; errors name the file, the host or wave (by name where it has one) and
 * the field — `hosts[1] (web02).target`, `waves[0] (canary).groups` — say what to write instead where
 * it helps, and every error of the document is reported at once: the names, targets and waves are
 * checked on the document as written, whatever its schema errors.
 *
 * @example
 * ```ts
 * const inventory = checkInventory(
 *   { hosts: [{ name: 'orch01', target: 'sim:orch01.json', groups: ['canary'] }, { name: 'orch02', target: 'sim:orch02.json' }], waves: [{ name: 'canary', groups: ['canary'] }, { name: 'rest', groups: ['all'] }] },
 *   'fleet/inventory.yaml',
 * );
 * console.log(inventory.waves.map((w) => w.hosts.length)); // [1, 1]
 * ```
 */
export function checkInventory(doc: unknown, file: string, lines: InventoryLines = {}): Inventory {
  const parsed = inventorySchema.safeParse(doc);
  const top: Raw = doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Raw) : {};
  const hostsRaw = objectsOf(top.hosts);
  const wavesRaw = objectsOf(top.waves);
  const named = (list: Raw[], what: string) => (i: number) => `${what}[${i}]${typeof list[i]?.name === 'string' ? ` (${list[i].name as string})` : ''}`;
  const label = named(hostsRaw, 'hosts');
  const waveLabel = named(wavesRaw, 'waves');
  /** A schema issue's path as the other errors write it: `hosts[0] (a).groups[1]`, `defaults.params.x`. */
  const pathText = (path: readonly PropertyKey[]): string => {
    let text = '';
    path.forEach((key, i) => {
      if (typeof key === 'number') text += i === 1 && path[0] === 'hosts' ? label(key).slice('hosts'.length) : i === 1 && path[0] === 'waves' ? waveLabel(key).slice('waves'.length) : `[${key}]`;
      else text += `${text ? '.' : ''}${String(key)}`;
    });
    return text || '(document)';
  };
  const levelOf = (path: readonly PropertyKey[]): string => (path.length === 0 ? 'document' : path[0] === 'defaults' && path.length === 1 ? 'defaults' : path.length === 2 && path[0] === 'hosts' ? 'host' : path.length === 2 && path[0] === 'waves' ? 'wave' : '');
  const issues: string[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const where = pathText(issue.path);
        const value = issue.path.reduce<unknown>((at, key) => (at && typeof at === 'object' ? (at as Raw)[key as string] : undefined), doc);
        const field = [...issue.path].reverse().find((k): k is string => typeof k === 'string' && k in FIELD_HINTS);
        if (issue.code === 'unrecognized_keys') return `${where}: ${issue.message}${KEYS[levelOf(issue.path)] ? `; known here: ${KEYS[levelOf(issue.path)]}` : ''}`;
        if (issue.code === 'invalid_format') return `${where}: "${String(value)}" is not a name: use ${issue.message}`;
        if (field === 'params' && issue.path.at(-1) !== 'params') return `${where}: ${issue.message}; a parameter's value is a string, a number or true/false`;
        const message = issue.code === 'invalid_type' && value === undefined ? 'missing' : issue.message;
        return `${where}: ${message}${field && ['invalid_type', 'too_small'].includes(issue.code) ? `; ${field}: ${FIELD_HINTS[field]}` : ''}`;
      });
  const folder = dirname(resolve(file));
  // Names and targets, checked whatever else is wrong, so that one reading shows every error.
  const names = new Map<string, number>();
  const machines = new Map<string, number>();
  hostsRaw.forEach((h, i) => {
    if (typeof h.name === 'string') {
      if (h.name.length > MAX_HOST_NAME) issues.push(`hosts[${i}].name: ${h.name.length} characters; a host name has at most ${MAX_HOST_NAME} (its run's folder is named after it)`);
      if (h.name === ALL) issues.push(`${label(i)}.name: "${ALL}" is reserved (it means every host, in --limit and in waves); rename the host`);
      if (names.has(h.name)) issues.push(`${label(i)}.name: another host has this name`);
      else names.set(h.name, i);
    }
    const problem = typeof h.target === 'string' ? targetPasswordProblem(h.target) : null;
    if (problem) {
      issues.push(`${label(i)}.target: "${withoutPassword(h.target as string)}" carries a password, which an inventory must not hold (it is written to every host's journal and reports): ${problem.hint}`);
    } else if (typeof h.target === 'string' && h.target !== '' && !TARGET_FORM.test(h.target)) {
      issues.push(`${label(i)}.target: "${withoutPassword(h.target)}" is not a target form this engine knows; accepted: ${TARGET_FORMS_TEXT}`);
    } else if (typeof h.target === 'string' && h.target !== '') {
      // The machine lease's own key (`machineKeyOf`): what is one machine here is one for the lease, so
      // an inventory that passes is never refused mid-fleet for listing one machine twice.
      const machine = machineKeyOf(h.target, folder);
      const first = machines.get(machine);
      if (first !== undefined) {
        const at = (k: number) => (lines.hosts?.[k] === undefined ? '' : ` (line ${lines.hosts[k]})`);
        const other = hostsRaw[first].target as string;
        issues.push(
          `${label(i)}.target: one machine listed twice: "${withoutPassword(h.target)}"${at(i)} and ${label(first)}'s "${withoutPassword(other)}"${at(first)} are both ${machine} (in any case, whatever the transport, user and port); two runs would drive it at once, and its machine's lease would refuse one of them mid-fleet — list each machine once`,
        );
      } else machines.set(machine, i);
    }
  });
  // `__proto__` is in no runbook's parameters (its schema drops the name), and the schema here drops it
  // silently too: named, or a host's parameter would vanish without a word.
  const paramsRaw: [string, unknown][] = [['defaults.params', (top.defaults as Raw | undefined)?.params], ...hostsRaw.map((h, i): [string, unknown] => [`${label(i)}.params`, h.params])];
  for (const [where, raw] of paramsRaw) {
    if (raw && typeof raw === 'object' && Object.hasOwn(raw, '__proto__')) issues.push(`${where}.__proto__: not a parameter of any runbook (a runbook cannot declare that name); remove it`);
  }
  // Groups: none named `all` or like a host (`--limit web02` would pick the group, not the host).
  hostsRaw.forEach((h, i) => {
    for (const g of new Set(stringsOf(h.groups))) {
      if (g === ALL) issues.push(`${label(i)}.groups: "${ALL}" is reserved (every host is in it already); remove it`);
      else if (names.has(g)) issues.push(`${label(i)}.groups: group "${g}" has the name of host ${label(names.get(g)!)}, which --limit ${g} could not tell apart; rename the group`);
    }
  });
  // Waves, as written: each has a name of its own, names groups that hosts are in, and gets a host.
  const groups = new Set(hostsRaw.flatMap((h) => stringsOf(h.groups)));
  const waveNames = new Map<string, number>();
  const unknownGroup = new Set<number>();
  wavesRaw.forEach((w, i) => {
    if (typeof w.name === 'string') {
      if (waveNames.has(w.name)) issues.push(`${waveLabel(i)}.name: another wave has this name (${waveLabel(waveNames.get(w.name)!)}); give each wave its own`);
      else waveNames.set(w.name, i);
    }
    for (const g of stringsOf(w.groups)) {
      if (g !== ALL && !groups.has(g)) {
        issues.push(`${waveLabel(i)}.groups: no host is in group "${g}"${groups.size ? ` (groups: ${[...groups].join(', ')})` : ''}`);
        unknownGroup.add(i);
      }
    }
  });
  // Each host goes in the first wave that names one of its groups (or `all`).
  const plan = top.waves === undefined ? [{ groups: [ALL] }] : wavesRaw.map((w) => ({ groups: stringsOf(w.groups) }));
  const waveOf = (h: Raw) => plan.findIndex((w) => w.groups.some((g) => g === ALL || stringsOf(h.groups).includes(g)));
  const filled = new Set<number>();
  hostsRaw.forEach((h, i) => {
    const w = waveOf(h);
    if (w >= 0) filled.add(w);
    else if (Array.isArray(top.waves)) issues.push(`${label(i)}.groups: in no wave (its groups: ${stringsOf(h.groups).join(', ') || 'none'}); add a group to a wave, or a wave of group "${ALL}"`);
  });
  if (hostsRaw.length > 0) {
    wavesRaw.forEach((w, i) => {
      if (filled.has(i) || unknownGroup.has(i) || stringsOf(w.groups).length === 0) return;
      issues.push(`${waveLabel(i)}: no host left for it — each host of its groups (${stringsOf(w.groups).join(', ')}) goes in an earlier wave (a host goes in the first wave naming one of its groups); remove the wave or move it up`);
    });
  }
  if (!parsed.success || issues.length > 0) {
    throw new ValidationError('the inventory is not valid', issues, { where: file, hint: 'the format is in docs/fleets.md, "The inventory" (`runbook sim fleet` writes an example)' });
  }
  const inv = parsed.data;
  const hosts: InventoryHost[] = inv.hosts.map((h) => ({
    ...h,
    target: h.target.startsWith('sim:') && !isAbsolute(h.target.slice(4)) ? `sim:${resolve(folder, h.target.slice(4))}` : h.target,
  }));
  const waveList = inv.waves ?? [{ name: ALL, groups: [ALL] }];
  const waves: Wave[] = waveList.map((w) => ({ name: w.name, hosts: [] }));
  for (const host of hosts) waves[waveList.findIndex((w) => w.groups.some((g) => g === ALL || host.groups.includes(g)))].hosts.push(host);
  return { file: resolve(file), defaults: inv.defaults, hosts, waves };
}

/**
 * Keeps the hosts a pattern selects, as Ansible's `--limit`: patterns separated by `,` or `:`, each a
 * host name (`*` and `?` as wildcards), a group name (or `all`), or `@<ref>` (the host names `refs`
 * gives for it: the CLI gives a fleet id's failed hosts); `!pattern` excludes, `&pattern` intersects.
 * The hosts keep their waves and their order.
 *
 * @example
 * ```ts
 * declare const inv: Inventory;
 * limitInventory(inv, 'web*,db01');            // two patterns
 * limitInventory(inv, 'servers:!web03');        // a group but one host
 * limitInventory(inv, '@f1', { '@f1': ['web02'] }); // the failed hosts of fleet f1
 * ```
 */
export function limitInventory(inventory: Inventory, pattern: string, refs: Record<string, string[]> = {}): Inventory {
  const tokens = limitTokens(pattern);
  const groups = new Set(inventory.hosts.flatMap((h) => h.groups));
  const select = selector(inventory, refs);
  const plus = tokens.filter((t) => !t.startsWith('!') && !t.startsWith('&'));
  let chosen = plus.length > 0 ? new Set(plus.flatMap((t) => [...select(t)])) : new Set(inventory.hosts.map((h) => h.name));
  for (const t of tokens.filter((x) => x.startsWith('&'))) {
    const keep = select(t.slice(1));
    chosen = new Set([...chosen].filter((n) => keep.has(n)));
  }
  for (const t of tokens.filter((x) => x.startsWith('!'))) for (const n of select(t.slice(1))) chosen.delete(n);
  const waves = inventory.waves.map((w) => ({ ...w, hosts: w.hosts.filter((h) => chosen.has(h.name)) }));
  const hosts = inventory.hosts.filter((h) => chosen.has(h.name));
  if (hosts.length === 0) throw new ValidationError(`--limit ${pattern} selects no host of the inventory`, [`hosts: ${inventory.hosts.map((h) => h.name).join(', ')}`, `groups: ${[...groups].join(', ')}`], { where: inventory.file });
  return { ...inventory, hosts, waves };
}

/**
 * The patterns of a `--limit` that match no host of the inventory (`!web03x`, `sql99`), as written:
 * Ansible warns "Could not match supplied host pattern, ignoring" — a typing error in an exclusion
 * would otherwise drive the very host it meant to leave out, without a word.
 *
 * @example
 * ```ts
 * declare const inv: Inventory; // hosts web01, web02
 * unmatchedLimitPatterns(inv, 'web*,!web03'); // ['!web03']
 * ```
 */
export function unmatchedLimitPatterns(inventory: Inventory, pattern: string, refs: Record<string, string[]> = {}): string[] {
  const select = selector(inventory, refs);
  const known = new Set(inventory.hosts.map((h) => h.name));
  return limitTokens(pattern).filter((t) => ![...select(t.replace(/^[!&]/, ''))].some((n) => known.has(n)));
}

function limitTokens(pattern: string): string[] {
  return pattern.split(/[,:]/).map((t) => t.trim()).filter(Boolean);
}

/** The host names one `--limit` pattern (without its `!` or `&`) selects. */
function selector(inventory: Inventory, refs: Record<string, string[]>): (token: string) => Set<string> {
  const groups = new Set(inventory.hosts.flatMap((h) => h.groups));
  return (token: string): Set<string> => {
    if (token.startsWith('@')) {
      const names = refs[token];
      if (!names) throw new ValidationError(`--limit ${token}: nothing is known of it`, ['@<fleet-id> selects the hosts that failed (or were unreachable) in that fleet'], { where: inventory.file });
      return new Set(names);
    }
    if (token === 'all') return new Set(inventory.hosts.map((h) => h.name));
    if (groups.has(token)) return new Set(inventory.hosts.filter((h) => h.groups.includes(token)).map((h) => h.name));
    const re = new RegExp(`^${token.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    return new Set(inventory.hosts.filter((h) => re.test(h.name)).map((h) => h.name));
  };
}
