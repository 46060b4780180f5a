/**
 * `runbook sim capture`'s library part: reads a host through the executor contract — read operations
 * only — and writes what it read as a simulated host document, so that a plan can be rehearsed
 * against a faithful copy of a real server. Each field of the document comes from one operation
 * (see {@link CAPTURE_SOURCES}); what no operation reads keeps the simulator's neutral value.
 */
import { configuredTls13, freshRuntime, physicalPath, type SimHostState, type SimService } from './model.js';
import { ORCHESTRATOR_SERVICES } from '../windows/facts/orchestrator.js';
import { DOTNET35_INSTALLED } from '../windows/facts/dotnet.js';
import { escapeRegExp } from '../util/escape-regexp.js';
import { WRITE_OPS, resultOf, type Executor, type HostOp, type HostOpResult, type RegistryView } from '../executors/types.js';

/** A registry key to capture: its values, and with `depth` its subkeys that many levels down. */
export type CaptureKey = { view: RegistryView; key: string; depth?: number };

/**
 * The keys the bundled runbook reads or writes: SCHANNEL (its protocols, every level), the .NET
 * Framework keys it sets in both views, the .NET 4.x release, the SQL Server client drivers, WinHTTP's
 * default protocols, and the engine's own restart marker (`steps/restart.ts` RESTART_MARKER).
 */
export const CAPTURE_KEYS: readonly CaptureKey[] = [
  { view: '64', key: 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL', depth: 3 },
  ...(['64', '32'] as const).flatMap((view): CaptureKey[] => [
    { view, key: 'SOFTWARE\\Microsoft\\.NETFramework' },
    { view, key: 'SOFTWARE\\Microsoft\\.NETFramework\\v2.0.50727' },
    { view, key: 'SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319' },
    { view, key: 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp' },
  ]),
  { view: '64', key: 'SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full' },
  { view: '64', key: 'SOFTWARE\\Microsoft\\SQLNCLI11' },
  { view: '64', key: 'SOFTWARE\\Microsoft\\MSOLEDBSQL' },
  { view: '64', key: 'SOFTWARE\\Microsoft\\MSOLEDBSQL19' },
  { view: '64', key: 'SOFTWARE\\runbook-engine' },
];

/** The Orchestrator services the bundled runbook waits for and checks (fact `orchestrator.services`). */
export const CAPTURE_SERVICES: readonly string[] = ORCHESTRATOR_SERVICES.value;

/** Which field of the host document each operation fills. */
export const CAPTURE_SOURCES: Readonly<Record<string, string>> = {
  os: 'os.info',
  registry: 'registry.keyInfo (keys, value names, subkeys) and registry.get (each value), for CAPTURE_KEYS; ancestors of a captured key as empty keys',
  keyTimes: 'registry.keyInfo lastWriteTime',
  hotfixes: 'hotfix.list',
  dotnet35: 'dotnet35.tls',
  sqlInstances: 'sql.instances',
  orchestrator: 'orchestrator.info',
  services: 'service.status, for CAPTURE_SERVICES (absent ones left out)',
  bootTime: 'boot.time',
  inEffect: 'tls.inEffect',
  tls13InEffect: 'the captured TLS 1.3 Server Enabled value (what the last boot read, if nothing changed since)',
  endpoints: "the transport's TLS endpoints (executor.tlsEndpoints): name and port",
};

/** Options of {@link captureHost}. */
export interface CaptureOptions {
  /** The document's `name`. @default the target's host name */
  name?: string;
  /** Replace machine, host, user and SQL instance names (see {@link maskHost}). @default false */
  mask?: boolean;
  /** @default CAPTURE_KEYS */
  keys?: readonly CaptureKey[];
  /** @default CAPTURE_SERVICES */
  services?: readonly string[];
}

/** Sends a batch of reads; a write can never be part of a capture. */
async function read(executor: Executor, batch: HostOp[]): Promise<HostOpResult[]> {
  const write = batch.find((op) => WRITE_OPS.has(op.op));
  if (write) throw new Error(`capture sends read operations only, not ${write.op}`);
  return batch.length === 0 ? [] : executor.run(batch);
}

/** The names a target spec carries: `ssh://admin@orch01.contoso.com:22` → host, its first label, user. */
export function namesInTarget(target: string): string[] {
  const m = /^[a-z+]+:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)/i.exec(target);
  if (!m) return [];
  const host = m[2].replace(/^\[|\]$/g, '');
  const names = [host, host.split('.')[0], m[1] ?? ''].filter((n) => n && !/^(localhost|127\.0\.0\.1|::1)$/i.test(n));
  return [...new Set(names)].sort((a, b) => b.length - a.length);
}

/**
 * Reads a host and returns it as a simulated host document. Read operations only: every batch is
 * checked before it is sent.
 *
 * @example
 * ```ts
 * const host = await captureHost(executor, { mask: true });
 * await writeHost('copy.json', host);
 * ```
 */
export async function captureHost(executor: Executor, options: CaptureOptions = {}): Promise<SimHostState> {
  const services = options.services ?? CAPTURE_SERVICES;
  const keys = options.keys ?? CAPTURE_KEYS;
  const scalar: HostOp[] = [
    { op: 'os.info' },
    { op: 'hotfix.list' },
    { op: 'dotnet35.tls', ...DOTNET35_INSTALLED.value },
    { op: 'sql.instances' },
    { op: 'orchestrator.info' },
    { op: 'boot.time' },
    { op: 'tls.inEffect' },
    ...services.map((name): HostOp => ({ op: 'service.status', name })),
  ];
  // First batch: everything that is not the registry, and the keys to capture.
  let pending: { view: RegistryView; key: string; depth: number }[] = keys.map((k) => ({ view: k.view, key: k.key, depth: k.depth ?? 0 }));
  const first = await read(executor, [...scalar, ...pending.map((k): HostOp => ({ op: 'registry.keyInfo', view: k.view, key: k.key }))]);
  const at = (op: string) => first[scalar.findIndex((s) => s.op === op)];
  const os = resultOf(at('os.info'), 'os.info');
  const { op: _o, ...osInfo } = os;
  const { op: _d, ...dotnet35 } = resultOf(at('dotnet35.tls'), 'dotnet35.tls');
  const { op: _r, ...orchestrator } = resultOf(at('orchestrator.info'), 'orchestrator.info');
  const bootTime = resultOf(at('boot.time'), 'boot.time').bootTime;
  const host: SimHostState = {
    format: 'runbook-engine/simulated-host@1',
    name: options.name ?? (namesInTarget(executor.target)[0] || 'captured'),
    os: osInfo,
    registry: {},
    keyTimes: {},
    hotfixes: resultOf(at('hotfix.list'), 'hotfix.list').hotfixes,
    dotnet35,
    sqlInstances: resultOf(at('sql.instances'), 'sql.instances').instances,
    orchestrator,
    services: {},
    bootTime,
    inEffect: resultOf(at('tls.inEffect'), 'tls.inEffect').protocols,
    ...freshRuntime(),
  };
  services.forEach((name, i) => {
    const s = resultOf(first[scalar.length - services.length + i], 'service.status');
    if (!s.exists || s.state === 'absent') return;
    host.services[name] = { state: s.state, startType: s.startType ?? 'manual' } satisfies SimService;
  });

  // The registry, a level at a time: the values of each key found, and its subkeys while depth lasts.
  let infos = first.slice(scalar.length);
  const values: { view: RegistryView; key: string; name: string }[] = [];
  while (pending.length > 0) {
    const next: typeof pending = [];
    pending.forEach((k, i) => {
      const info = resultOf(infos[i], 'registry.keyInfo');
      if (!info.exists) return;
      const path = physicalPath(host, k.view, k.key);
      host.registry[path] ??= {};
      if (info.lastWriteTime) host.keyTimes[path] = info.lastWriteTime;
      for (const name of info.values) values.push({ view: k.view, key: k.key, name });
      if (k.depth > 0) for (const sub of info.subkeys) next.push({ view: k.view, key: `${k.key}\\${sub}`, depth: k.depth - 1 });
    });
    pending = next;
    infos = await read(executor, next.map((k): HostOp => ({ op: 'registry.keyInfo', view: k.view, key: k.key })));
  }
  const got = await read(executor, values.map((v): HostOp => ({ op: 'registry.get', ...v })));
  values.forEach((v, i) => {
    const value = resultOf(got[i], 'registry.get').value;
    if (value) host.registry[physicalPath(host, v.view, v.key)][v.name] = value;
  });
  // Windows has every ancestor of a key that exists.
  for (const path of Object.keys(host.registry)) {
    const parts = path.split('\\');
    for (let n = 1; n < parts.length; n++) host.registry[parts.slice(0, n).join('\\')] ??= {};
  }
  host.tls13InEffect = configuredTls13(host);
  const endpoints = (await executor.tlsEndpoints?.()) ?? [];
  if (endpoints.length > 0) host.endpoints = endpoints.map((e) => ({ name: e.name, port: e.port }));
  return options.mask ? maskHost(host, namesInTarget(executor.target)) : host;
}

/** SQL Server's own names for an instance (the default instance, Express's default): they name no machine. */
const DEFAULT_INSTANCE_NAMES = new Set(['MSSQLSERVER', 'SQLEXPRESS']);

/**
 * The document with the machine's names replaced: the document's name becomes `host`, every named SQL
 * Server instance `INSTANCE<n>` (the default instance names stay: Windows gives them to every server),
 * and each of `names` (the target's host name, its first label, the user) wherever it appears in a
 * text, case-insensitively, `host`. Nothing else is read that could carry a secret.
 *
 * @example
 * ```ts
 * const masked = maskHost(await captureHost(executor), ['orch01.contoso.com', 'orch01', 'admin']);
 * ```
 */
export function maskHost(host: SimHostState, names: readonly string[]): SimHostState {
  const renames = new Map<string, string>();
  let n = 0;
  for (const i of host.sqlInstances) {
    const plain = i.name.split('\\').pop()!;
    if (!DEFAULT_INSTANCE_NAMES.has(plain.toUpperCase()) && !renames.has(i.name)) renames.set(i.name, `INSTANCE${++n}`);
  }
  const masked: SimHostState = { ...structuredClone(host), name: 'host', sqlInstances: host.sqlInstances.map((i) => ({ ...i, name: renames.get(i.name) ?? i.name })) };
  // Longest first, so that a name is not cut short by another it begins with (ORCH01 before ORCH);
  // matched in any case, and an instance's new name found whatever case the text writes it in.
  const texts = [...names, ...renames.keys()].filter(Boolean).sort((a, b) => b.length - a.length);
  if (texts.length === 0) return masked;
  const renamed = new Map([...renames].map(([from, to]) => [from.toLowerCase(), to]));
  const pattern = new RegExp(texts.map(escapeRegExp).join('|'), 'gi');
  const replaced = JSON.stringify(masked, (_key, value: unknown) => (typeof value === 'string' ? value.replace(pattern, (m) => renamed.get(m.toLowerCase()) ?? 'host') : value));
  return JSON.parse(replaced) as SimHostState;
}
