/**
 * The model behind the simulated Windows host: a plain JSON document and the pure functions that carry
 * out host operations on it. The executor in `simulated.ts` adds the file, faults, latency and downtime.
 */
import type { Dotnet35Tls, HostOp, HostOpName, HostOpResult, OsInfo, ProtocolMap, ProtocolName, ProtocolSide, RegistryValue, RegistryView, SqlInstance } from '../executors/types.js';
import { TLS13, negotiatesByDefault, protocolDefault, protocolKey, protocolMap, protocolSupported } from '../windows/schannel.js';
import { REG_HEADER, regLine, wrapRegLine } from '../windows/reg-file.js';
import { BOOT_TIME_TOLERANCE_MS, restartedSince } from '../windows/boot-time.js';
import { LOGON_UI_READY_KEY } from '../windows/facts/restart.js';

/**
 * A fault to inject: the next `times` calls whose batch holds a matching op fail.
 *
 * @example
 * ```ts
 * const flaky: SimFault = { op: 'registry.set', keyContains: 'SCHANNEL', kind: 'transient', times: 1 };
 * ```
 */
export interface SimFault {
  op: HostOpName;
  /** Only ops whose registry key contains this text (case-insensitive). */
  keyContains?: string;
  kind: 'transient' | 'permanent';
  times: number;
}

export interface SimService {
  state: 'running' | 'stopped' | 'starting';
  startType: 'auto' | 'manual' | 'disabled';
  /** A slow start: after a boot the service is `starting` this long before it runs. */
  startDelayMs?: number;
  /** While starting: when it will run. */
  readyAt?: string;
}

/** A simulated host's own defaults where the facts leave them open, and why it assumes them. */
export type SchannelDefaults = Partial<Record<ProtocolName | typeof TLS13, Partial<Record<ProtocolSide, boolean>>>> & {
  /** What the values assume and why: a rehearsal assumption, the facts it stands in for. */
  note?: string;
};

/**
 * The simulated host document, stored as JSON. `registry` and `bootTime` are the fields to compare.
 *
 * @example
 * ```ts
 * const host: SimHostState = createPreset('server-2016');
 * host.faults.push({ op: 'registry.set', kind: 'transient', times: 2 });
 * await writeHost('host.json', host);
 * ```
 */
export interface SimHostState {
  format: 'runbook-engine/simulated-host@1';
  name: string;
  os: OsInfo;
  /** Every key of HKLM by its physical path (Wow6432Node spelled out), with its values. */
  registry: Record<string, Record<string, RegistryValue>>;
  /** Last write time per key, kept apart so that `registry` compares byte for byte after a rollback. */
  keyTimes: Record<string, string>;
  hotfixes: string[];
  /** The .NET Framework 3.5 as the target reports it: installed, and its System.dll's path and version. */
  dotnet35: Dotnet35Tls;
  sqlInstances: SqlInstance[];
  orchestrator: { installed: boolean; release: string | null; updateRollup: number; version: string | null };
  services: Record<string, SimService>;
  bootTime: string;
  /**
   * The protocols the host's services negotiate: what SCHANNEL gave the credential handles they
   * acquired when they started, at the last boot (null: Windows' default). Microsoft says a change
   * applies to handles acquired after it, "an application or service restart may be required"; the
   * simulated services keep theirs until the next boot. Only the endpoints use this: no host operation
   * reports it, and no engine decision rests on it or on key write times.
   */
  inEffect: ProtocolMap;
  /** TLS 1.3's server side as its services acquired it at the last boot (null: Windows' default). */
  tls13InEffect?: boolean | null;
  /**
   * What this host's Windows does by default where Microsoft's documents disagree or are silent
   * (`protocolDefault` answers null: TLS 1.0/1.1 from Windows Server 2022, anything after the protocols
   * table's last row): an assumption of whoever wrote the document, which `note` names as one. Only
   * the served sides are read (the `Server` side of TLS 1.0 to 1.3). Where the facts leave a served
   * default open and this says nothing, the host cannot serve its TLS endpoints
   * ({@link unmodelledDefaults}): the simulator does not pick a default of its own. The engine never
   * reads it: it is the simulated Windows, not a fact.
   */
  schannelDefaults?: SchannelDefaults;
  /**
   * The TLS endpoints the host serves, with their nominal ports. The simulated executor (and
   * `runbook sim serve`) serves each on a free loopback port, accepting exactly the server-side
   * protocols in effect.
   */
  endpoints?: { name: string; port: number }[];
  /** How long a restart keeps the host unreachable. */
  downtimeMs: number;
  /**
   * Set while the host is down, until it boots at `until`: `restart` when a restart took it down;
   * without it, down for another reason (switched off, cut off from the network: a document edited so).
   */
  down: { since: string; until: string; restart?: boolean } | null;
  /**
   * A shutdown someone else scheduled (shutdown.exe answers 1190 to another request meanwhile); it
   * restarts the host at `at`. `inProgress`: it is already under way (shutdown.exe answers 1115).
   */
  pendingShutdown?: { by: string; at: string; inProgress?: boolean } | null;
  /**
   * LogonUI's volatile key (`restart.logon-ui-ready-key`): a restart removes it (`restart.volatile-keys`);
   * when it was there before, the new boot creates it `afterMs` after it starts (null: never). Absent:
   * as `{ afterMs: 0 }`. `at` is when this boot creates it, while it has not yet.
   */
  logonUi?: { afterMs: number | null; at?: string | null };
  /**
   * The SQL Server instances of `sqlInstances` answer `sqlStartDelayMs` after a boot (while `sqlReadyAt`
   * is in the future they do not). @default 0
   */
  sqlStartDelayMs?: number;
  sqlReadyAt?: string | null;
  /** Other SQL Servers, by name as a step names them (lower case): whether they answer. Absent: they do. */
  sqlServers?: Record<string, boolean>;
  restarts: number;
  /**
   * The System log's shutdown events (fact `restart.shutdown-event`: event 1074, with the comment given
   * to shutdown.exe): one for each restart requested with the restart op, when it was requested. Absent:
   * none yet. `null`: the log cannot be read (the `restart.history` op answers unreadable).
   */
  shutdownEvents?: { time: string; comment: string }[] | null;
  /** Operations run once at the next boot (e.g. something deleting a value during the reboot). */
  bootActions: HostOp[];
  faults: SimFault[];
  latencyMs: number;
  /** Files on the target (backups written by `registry.export`). */
  files: Record<string, string>;
  startupTasks: Record<string, string[]>;
  /** When true the controller runs on this host: a restart ends the controller process. */
  onTarget: boolean;
}

/**
 * The simulator's own state of a host that has just been made (from a preset or a capture): up, never
 * restarted, no fault, no latency, no file, no start-up task, the controller elsewhere.
 */
export function freshRuntime(): Pick<SimHostState, 'downtimeMs' | 'down' | 'restarts' | 'bootActions' | 'faults' | 'latencyMs' | 'files' | 'startupTasks' | 'onTarget'> {
  return { downtimeMs: 1500, down: null, restarts: 0, bootActions: [], faults: [], latencyMs: 0, files: {}, startupTasks: {}, onTarget: false };
}

const WOW = 'Wow6432Node';

/** Physical path of a key in a view: the 32-bit view of `SOFTWARE\X` is `SOFTWARE\Wow6432Node\X`. */
export function physicalPath(host: Pick<SimHostState, 'os'>, view: RegistryView, key: string): string {
  const clean = key.replace(/^\\+|\\+$/g, '');
  if (view === '64' || host.os.architecture === '32-bit') return clean;
  const parts = clean.split('\\');
  if (parts[0].toLowerCase() !== 'software') return clean;
  if (parts[1] && parts[1].toLowerCase() === WOW.toLowerCase()) return clean;
  return [parts[0], WOW, ...parts.slice(1)].join('\\');
}

/**
 * The stored name equal to `name` without regard to case. Windows compares registry names by upcasing
 * them one character at a time, so names of different lengths never match: only names as long as
 * this one are lowered and compared (most lookups of an absent key lower nothing).
 */
function sameNameIn(names: Iterable<string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const n of names) if (n.length === name.length && n.toLowerCase() === lower) return n;
  return undefined;
}

function findKey(host: SimHostState, path: string): string | undefined {
  return path in host.registry ? path : sameNameIn(Object.keys(host.registry), path);
}

function findValueName(values: Record<string, RegistryValue>, name: string): string | undefined {
  return name in values ? name : sameNameIn(Object.keys(values), name);
}

/** The path and every key above it, shortest first ('A\\B' → 'A', 'A\\B'): slices of the path, not new strings. */
function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let at = path.indexOf('\\'); at >= 0; at = path.indexOf('\\', at + 1)) out.push(path.slice(0, at));
  out.push(path);
  return out;
}

function children(host: SimHostState, path: string): string[] {
  const prefix = `${path.toLowerCase()}\\`;
  return Object.keys(host.registry)
    .filter((k) => k.toLowerCase().startsWith(prefix) && !k.slice(prefix.length).includes('\\'))
    .map((k) => k.slice(prefix.length));
}

function getValue(host: SimHostState, path: string, name: string): RegistryValue | null {
  const key = findKey(host, path);
  if (!key) return null;
  const values = host.registry[key];
  const found = findValueName(values, name);
  return found === undefined ? null : structuredClone(values[found]);
}

function sameValue(a: RegistryValue | null, b: RegistryValue | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The registry with keys and value names in order, so that equal registries serialise identically. */
export function sortedRegistry(registry: SimHostState['registry']): SimHostState['registry'] {
  // Most writes change values a key already has: the registry is then in order already, and kept as it is.
  if (inOrder(Object.keys(registry)) && Object.values(registry).every((values) => inOrder(Object.keys(values)))) return registry;
  const out: SimHostState['registry'] = {};
  for (const key of Object.keys(registry).sort()) {
    const values: Record<string, RegistryValue> = {};
    for (const name of Object.keys(registry[key]).sort()) values[name] = registry[key][name];
    out[key] = values;
  }
  return out;
}

/** Whether the names are in `sort()`'s order (by UTF-16 code units). */
function inOrder(names: readonly string[]): boolean {
  for (let i = 1; i < names.length; i++) if (names[i - 1] > names[i]) return false;
  return true;
}

function touch(host: SimHostState, key: string, now: string): void {
  host.keyTimes[key] = now;
}

/** Renders a key and its subkeys the way `reg export` does. */
export function exportKey(host: SimHostState, path: string): string {
  const lines = [REG_HEADER, ''];
  const lower = path.toLowerCase();
  const keys = Object.keys(host.registry)
    .filter((k) => k.toLowerCase() === lower || k.toLowerCase().startsWith(`${lower}\\`))
    .sort();
  for (const key of keys) {
    lines.push(`[HKEY_LOCAL_MACHINE\\${key}]`);
    for (const name of Object.keys(host.registry[key]).sort()) lines.push(wrapRegLine(regLine(name, host.registry[key][name])));
    lines.push('');
  }
  return lines.join('\r\n');
}

/** What SCHANNEL negotiates by default per the values set now (what services acquire from now on; the simulated ones at the next boot). */
export function configuredProtocols(host: SimHostState): ProtocolMap {
  return protocolMap((key, name) => getValue(host, key, name));
}

/** TLS 1.3's server side as configured now (what the services acquire at the next boot). */
export function configuredTls13(host: SimHostState): boolean | null {
  const key = protocolKey(TLS13, 'Server');
  return negotiatesByDefault(getValue(host, key, 'Enabled'), getValue(host, key, 'DisabledByDefault'));
}

/** The protocol sides the simulated host serves: the server side of each TLS version an endpoint may offer. */
export const SERVED_PROTOCOLS = ['TLS 1.0', 'TLS 1.1', 'TLS 1.2', 'TLS 1.3'] as const;
export type ServedProtocol = (typeof SERVED_PROTOCOLS)[number];

/**
 * Whether the simulated Windows turns a protocol side on when the registry says nothing: the facts
 * table where it settles the default, else the host document's `schannelDefaults` (its stated
 * assumption). null when neither says: the simulator makes up no default of its own.
 */
export function simulatedDefault(host: Pick<SimHostState, 'os' | 'schannelDefaults'>, protocol: ProtocolName | typeof TLS13, side: ProtocolSide): boolean | null {
  const stated = protocolDefault(protocol, side, host.os.build);
  if (stated.state !== null) return stated.state === 'enabled';
  const own = host.schannelDefaults?.[protocol]?.[side];
  return typeof own === 'boolean' ? own : null;
}

/** A served default that neither the facts nor the host document settle. */
export interface UnmodelledDefault {
  protocol: ServedProtocol;
  side: 'Server';
  build: number;
  /** The fact that leaves it open, and how (`disputed` or `unknown`). */
  fact: string;
  status: 'disputed' | 'unknown';
}

/**
 * The served protocol sides whose default on this host's build the facts leave open (disputed or
 * unknown) and its `schannelDefaults` do not state: with any of them, the host's endpoints cannot be
 * served faithfully. Whether the registry sets the side now does not matter — a rollback or a boot may
 * bring the default back.
 *
 * @example
 * ```ts
 * const os = { caption: 'Microsoft Windows Server 2025 Standard', version: '10.0.26100', build: 26100, architecture: '64-bit', productType: 'server', servicePack: 0 } as const;
 * unmodelledDefaults({ os }); // TLS 1.0, TLS 1.1 (disputed), TLS 1.3 (unknown)
 * ```
 */
export function unmodelledDefaults(host: Pick<SimHostState, 'os' | 'schannelDefaults'>): UnmodelledDefault[] {
  const open: UnmodelledDefault[] = [];
  for (const protocol of SERVED_PROTOCOLS) {
    if (protocolSupported(protocol, host.os.build) === false) continue;
    if (simulatedDefault(host, protocol, 'Server') !== null) continue;
    const d = protocolDefault(protocol, 'Server', host.os.build);
    open.push({ protocol, side: 'Server', build: host.os.build, fact: d.fact, status: d.status === 'disputed' ? 'disputed' : 'unknown' });
  }
  return open;
}

/** One line per open default: `TLS 1.0 Server on build 26100 (schannel.tls10-tls11-default-from-2022, disputed)`. */
export function describeUnmodelled(open: readonly UnmodelledDefault[]): string[] {
  return open.map((o) => `${o.protocol} ${o.side} on build ${o.build} (${o.fact}, ${o.status})`);
}

/**
 * What a host document assumes rather than takes from the facts, one line each, for `sim create`, `sim
 * capture` and a plan or run on a simulated host: the defaults its `schannelDefaults` states (with its
 * note), and the served defaults nothing settles (its endpoints are then not served).
 *
 * @example
 * ```ts
 * assumptionLines(createPreset('server-2025'));
 * // ['rehearsal assumption (schannelDefaults): TLS 1.0 Server refused, TLS 1.1 Server refused, TLS 1.3 Server accepted — Rehearsal assumption, not a fact: …']
 * ```
 */
export function assumptionLines(host: Pick<SimHostState, 'os' | 'schannelDefaults' | 'endpoints'>): string[] {
  const lines: string[] = [];
  const { note, ...stated } = host.schannelDefaults ?? {};
  const values = Object.entries(stated).flatMap(([protocol, sides]) => Object.entries(sides ?? {}).map(([side, on]) => `${protocol} ${side} ${on ? 'accepted' : 'refused'}`));
  if (values.length > 0) lines.push(`rehearsal assumption (schannelDefaults): ${values.join(', ')}${note ? ` — ${note}` : ' (no note says why)'}`);
  const open = unmodelledDefaults(host);
  if (open.length > 0 && host.endpoints?.length) {
    lines.push(`not modelled: Windows' default for ${describeUnmodelled(open).join('; ')} — the TLS endpoints are not served until schannelDefaults states it`);
  }
  return lines;
}

/**
 * The TLS versions the host's servers accept right now: what their services acquired at the last
 * boot, else Windows' default (facts, then the document's `schannelDefaults`). null: a version whose
 * default nothing settles — no handshake with it can be answered as Windows would.
 */
export function serverProtocolsInEffect(host: SimHostState): Record<ServedProtocol, boolean | null> {
  const side = (p: 'TLS 1.0' | 'TLS 1.1' | 'TLS 1.2') => host.inEffect[p]?.Server ?? simulatedDefault(host, p, 'Server');
  // Values under TLS 1.3 do not make a Windows that lacks it (before build 20348) speak it.
  const tls13 = protocolSupported(TLS13, host.os.build) === false ? false : (host.tls13InEffect ?? simulatedDefault(host, TLS13, 'Server'));
  return { 'TLS 1.0': side('TLS 1.0'), 'TLS 1.1': side('TLS 1.1'), 'TLS 1.2': side('TLS 1.2'), 'TLS 1.3': tls13 };
}

/** Starts a restart at `start` (epoch ms): services stop, the host is unreachable for `downtimeMs`. */
export function goDown(host: SimHostState, start: number): void {
  host.down = { since: new Date(start).toISOString(), until: new Date(start + host.downtimeMs).toISOString(), restart: true };
  for (const service of Object.values(host.services)) service.state = 'stopped';
  // A volatile key does not survive the restart; LogonUI creates its key again in the new boot.
  const logonKey = findKey(host, LOGON_UI_READY_KEY.value.key);
  if (logonKey !== undefined) {
    delete host.registry[logonKey];
    delete host.keyTimes[logonKey];
    host.logonUi = { afterMs: host.logonUi ? host.logonUi.afterMs : 0, at: null };
  }
}

/**
 * What happens on its own while the host runs, up to `now`: LogonUI creates its key when the boot
 * reaches the logon prompt. Returns true when the document changed.
 */
export function settle(host: SimHostState, now: string): boolean {
  const at = host.logonUi?.at;
  if (!at || Date.parse(now) < Date.parse(at)) return false;
  host.registry[LOGON_UI_READY_KEY.value.key] = {};
  touch(host, LOGON_UI_READY_KEY.value.key, at);
  host.logonUi!.at = null;
  return true;
}

/** Completes a restart: new boot time, protocols re-read, services started, boot actions run. */
export function boot(host: SimHostState, at: string): void {
  host.down = null;
  // A real restart takes far longer than the boot-time tolerance; a simulated one may take 40 ms. The
  // new boot time is therefore never within the tolerance of the last one, as on a real host.
  host.bootTime = new Date(Math.max(Date.parse(at), Date.parse(host.bootTime) + 2 * BOOT_TIME_TOLERANCE_MS)).toISOString();
  host.restarts += 1;
  for (const action of host.bootActions.splice(0)) applyOp(host, action, at);
  host.inEffect = configuredProtocols(host);
  host.tls13InEffect = configuredTls13(host);
  if (host.logonUi && host.logonUi.at === null && host.logonUi.afterMs !== null) {
    host.logonUi.at = new Date(Date.parse(at) + host.logonUi.afterMs).toISOString();
    settle(host, at);
  }
  host.sqlReadyAt = host.sqlStartDelayMs ? new Date(Date.parse(at) + host.sqlStartDelayMs).toISOString() : null;
  for (const service of Object.values(host.services)) {
    const slow = service.startType === 'auto' && (service.startDelayMs ?? 0) > 0;
    service.state = service.startType !== 'auto' ? 'stopped' : slow ? 'starting' : 'running';
    if (slow) service.readyAt = new Date(Date.parse(at) + service.startDelayMs!).toISOString();
    else delete service.readyAt;
  }
}

/** Carries out one operation on the model (the host is up). */
export function applyOp(host: SimHostState, op: HostOp, now: string): HostOpResult {
  switch (op.op) {
    case 'registry.get': {
      const path = physicalPath(host, op.view, op.key);
      // The deepest existing key on the path, spelled as the caller spelled it (in its view).
      const logical = ancestors(op.key.replace(/^\\+|\\+$/g, '')).filter((p) => findKey(host, physicalPath(host, op.view, p)));
      const deepest = logical.length ? logical[logical.length - 1] : '';
      return { op: op.op, keyExists: Boolean(findKey(host, path)), existingAncestor: deepest, value: getValue(host, path, op.name) };
    }
    case 'registry.set': {
      const path = physicalPath(host, op.view, op.key);
      const before = getValue(host, path, op.name);
      const createdKeys: string[] = [];
      if (sameValue(before, op.value)) return { op: op.op, changed: false, before, after: before!, createdKeys };
      for (const p of ancestors(path)) {
        if (!findKey(host, p)) {
          host.registry[p] = {};
          touch(host, p, now);
          createdKeys.push(p);
        }
      }
      const key = findKey(host, path)!;
      const name = findValueName(host.registry[key], op.name) ?? op.name;
      host.registry[key][name] = structuredClone(op.value);
      touch(host, key, now);
      return { op: op.op, changed: true, before, after: getValue(host, path, op.name)!, createdKeys };
    }
    case 'registry.deleteValue': {
      const key = findKey(host, physicalPath(host, op.view, op.key));
      const name = key === undefined ? undefined : findValueName(host.registry[key], op.name);
      if (key === undefined || name === undefined) return { op: op.op, changed: false, before: null };
      const before = host.registry[key][name];
      delete host.registry[key][name];
      touch(host, key, now);
      return { op: op.op, changed: true, before };
    }
    case 'registry.deleteKey': {
      const key = findKey(host, physicalPath(host, op.view, op.key));
      if (key === undefined) return { op: op.op, changed: false, reason: 'absent' };
      const empty = Object.keys(host.registry[key]).length === 0 && children(host, key).length === 0;
      if (!empty && op.onlyIfEmpty) return { op: op.op, changed: false, reason: 'not-empty' };
      const lower = key.toLowerCase();
      for (const k of Object.keys(host.registry)) {
        if (k.toLowerCase() === lower || k.toLowerCase().startsWith(`${lower}\\`)) {
          delete host.registry[k];
          delete host.keyTimes[k];
        }
      }
      const parent = key.split('\\').slice(0, -1).join('\\');
      if (parent) touch(host, parent, now);
      return { op: op.op, changed: true };
    }
    case 'registry.keyInfo': {
      const key = findKey(host, physicalPath(host, op.view, op.key));
      if (key === undefined) return { op: op.op, exists: false, lastWriteTime: null, subkeys: [], values: [] };
      return {
        op: op.op,
        exists: true,
        lastWriteTime: host.keyTimes[key] ?? host.bootTime,
        subkeys: children(host, key),
        values: Object.keys(host.registry[key]),
      };
    }
    case 'registry.exportText': {
      const path = physicalPath(host, op.view, op.key);
      return findKey(host, path) === undefined ? { op: op.op, exists: false, content: '' } : { op: op.op, exists: true, content: exportKey(host, path) };
    }
    case 'registry.export': {
      const content = exportKey(host, physicalPath(host, op.view, op.key));
      host.files[op.file] = content;
      return { op: op.op, file: op.file, content };
    }
    case 'os.info':
      return { op: op.op, ...structuredClone(host.os) };
    case 'hotfix.list':
      return { op: op.op, hotfixes: [...host.hotfixes] };
    case 'dotnet35.tls': {
      // Only what a real server reports: a host document of an older format may carry more.
      const d = host.dotnet35 ?? { installed: false, file: null, version: null };
      return { op: op.op, installed: d.installed, file: d.file, version: d.version };
    }
    case 'sql.instances':
      return { op: op.op, instances: structuredClone(host.sqlInstances) };
    case 'orchestrator.info':
      return { op: op.op, ...structuredClone(host.orchestrator) };
    case 'service.status': {
      const service = host.services[op.name];
      if (service?.state === 'starting' && service.readyAt && Date.parse(now) >= Date.parse(service.readyAt)) {
        service.state = 'running';
        delete service.readyAt;
      }
      return { op: op.op, name: op.name, exists: Boolean(service), state: service ? service.state : 'absent', startType: service ? service.startType : null };
    }
    case 'boot.time':
      return { op: op.op, bootTime: host.bootTime };
    case 'tls.inEffect':
      // What the values set now make SCHANNEL negotiate: never when keys were written.
      return { op: op.op, bootTime: host.bootTime, protocols: configuredProtocols(host) };
    case 'restart': {
      // A pending shutdown answers as the agent does for shutdown.exe's op.pendingCodes (no process runs here).
      if (restartedSince(host.bootTime, op.ifBootTime)) return { op: op.op, requested: false, alreadyRestarted: true };
      if (host.pendingShutdown?.inProgress) return { op: op.op, requested: false, alreadyRestarted: false, shutdownInProgress: true };
      if (host.pendingShutdown) return { op: op.op, requested: false, alreadyRestarted: false, pendingShutdown: true };
      const start = Date.parse(now) + op.delaySeconds * 1000;
      goDown(host, start);
      // Windows logs the restart it was asked for, with the comment, when it is initiated (restart.shutdown-event).
      if (host.shutdownEvents !== null) (host.shutdownEvents ??= []).push({ time: now, comment: op.reason });
      return { op: op.op, requested: true, alreadyRestarted: false };
    }
    case 'restart.history': {
      if (host.shutdownEvents === null) return { op: op.op, readable: false, restarts: [] };
      const since = Date.parse(op.since);
      const restarts = (host.shutdownEvents ?? []).filter((e) => e.comment === op.comment && Date.parse(e.time) > since);
      return { op: op.op, readable: true, restarts: structuredClone(restarts) };
    }
    case 'startupTask.register': {
      const changed = JSON.stringify(host.startupTasks[op.name]) !== JSON.stringify(op.command);
      host.startupTasks[op.name] = [...op.command];
      return { op: op.op, changed };
    }
    case 'startupTask.remove': {
      const changed = op.name in host.startupTasks;
      delete host.startupTasks[op.name];
      return { op: op.op, changed };
    }
    case 'sql.ping':
      return { op: op.op, server: op.server, ...sqlAnswer(host, op.server, now) };
  }
}

/** Whether a SQL Server answers the host: its own instances once started, others as `sqlServers` says. */
function sqlAnswer(host: SimHostState, server: string, now: string): { answered: boolean; detail: string } {
  const [machine, instance = 'mssqlserver'] = server.toLowerCase().split('\\');
  const local = ['.', 'localhost', '(local)', host.name.toLowerCase()].includes(machine);
  if (!local) {
    const answered = host.sqlServers?.[server.toLowerCase()] ?? true;
    return { answered, detail: answered ? 'connected' : 'no answer (simulated)' };
  }
  if (!host.sqlInstances.some((i) => i.name.toLowerCase() === instance)) return { answered: false, detail: `no instance ${instance} on this host` };
  if (host.sqlReadyAt && Date.parse(now) < Date.parse(host.sqlReadyAt)) return { answered: false, detail: 'SQL Server is starting' };
  return { answered: true, detail: 'connected' };
}

/** The registry key an op touches, for fault matching. */
export function opKey(op: HostOp): string {
  return 'key' in op ? (op.key ?? '') : '';
}

