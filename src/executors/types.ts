/**
 * The one contract between the engine and a target. Steps speak in typed host operations and send a
 * whole phase as one batch: one call of {@link Executor.run} is one round trip.
 */

import type { ProtocolMap, RegistryValue, RegistryView } from '../windows/registry.js';

export { RegistryType } from '../windows/registry.js';
export type { ProtocolMap, ProtocolName, ProtocolSide, RegistryLocation, RegistryValue, RegistryView } from '../windows/registry.js';

/**
 * The typed operations every executor understands.
 *
 * @example
 * ```ts
 * const batch: HostOp[] = [{ op: 'os.info' }, { op: 'hotfix.list' }, { op: 'service.status', name: 'WinRM' }];
 * const answers = await executor.run(batch);
 * ```
 */
export type HostOp =
  | { op: 'registry.get'; view: RegistryView; key: string; name: string }
  | { op: 'registry.set'; view: RegistryView; key: string; name: string; value: RegistryValue }
  | { op: 'registry.deleteValue'; view: RegistryView; key: string; name: string }
  | { op: 'registry.deleteKey'; view: RegistryView; key: string; onlyIfEmpty: boolean }
  | { op: 'registry.keyInfo'; view: RegistryView; key: string }
  | { op: 'registry.export'; view: RegistryView; key: string; file: string }
  /**
   * The text `registry.export` would write for the key and its subkeys, read without leaving a file
   * (the agent exports to a temporary file it deletes): what the backup checks before it exports.
   * `exists: false` and no text when the key is not there.
   */
  | { op: 'registry.exportText'; view: RegistryView; key: string }
  | { op: 'os.info' }
  | { op: 'hotfix.list' }
  /**
   * .NET Framework 3.5 installed and its System.dll version. `key`, `name`, `data` (the preflight always
   * sends them, from the fact `dotnet.v35-install-key`): installed when that DWORD holds `data`; the
   * agent refuses the op without them.
   */
  | { op: 'dotnet35.tls'; key?: string; name?: string; data?: number }
  | { op: 'sql.instances' }
  | { op: 'orchestrator.info' }
  | { op: 'service.status'; name: string }
  | { op: 'boot.time' }
  /**
   * What SCHANNEL negotiates by default per side, from the `Enabled` and `DisabledByDefault` values set
   * now. They apply to credential handles acquired from now on; whether a running service uses them is
   * for a handshake to show (step `tls/handshakes`), never key write times.
   */
  | { op: 'tls.inEffect' }
  /**
   * `shutdown /r /f /t <delaySeconds> /d p:<major>:<minor> /c <reason>`, unless the target is proven to
   * have booted since `ifBootTime` (an unreadable reading proves nothing: the restart is sent). A
   * shutdown someone else scheduled is never cancelled: the answer says it is pending; one already in
   * progress is the restart. `plannedReason` (the restart step always sends it) makes Windows log it as planned.
   * `pendingCodes` (the restart step always sends it, from the facts `restart.shutdown-is-scheduled` and
   * `restart.shutdown-in-progress`): the shutdown.exe exit codes the agent reads as a shutdown already
   * scheduled (1190) or in progress (1115); without it, any non-zero exit code fails.
   */
  | {
      op: 'restart';
      delaySeconds: number;
      reason: string;
      ifBootTime: string;
      plannedReason?: { major: number; minor: number };
      pendingCodes?: { scheduled: number; inProgress: number };
      /** Boot times at least this far apart (ms, BOOT_TIME_TOLERANCE_MS; the restart step always sends it) prove a restart; without it the agent proves none. */
      toleranceMs?: number;
    }
  /**
   * The restarts initiated since `since` (an ISO time) whose shutdown comment is `comment`, from the
   * System log's shutdown events (`event`: log, id and source, from the fact `restart.shutdown-event`;
   * the restart step always sends it). `readable: false` when the log could not be read: that proves nothing.
   */
  | { op: 'restart.history'; since: string; comment: string; event: { log: string; id: number; provider: string } }
  | { op: 'startupTask.register'; name: string; command: string[] }
  | { op: 'startupTask.remove'; name: string }
  /**
   * Whether a SQL Server answers, from the target: a connection is opened to `server` (`host`,
   * `host\\instance`, `.` for the local default instance) with Windows authentication. A server that
   * refuses this account's login answered too: it is up. `answeredErrors` (the restart step always
   * sends them, from the fact `sql.login-refused-errors`): the SQL error numbers read as such a refusal;
   * without them only an open connection is an answer.
   */
  | { op: 'sql.ping'; server: string; timeoutSeconds: number; answeredErrors?: number[] };

export type HostOpName = HostOp['op'];

/**
 * The operation of one op name, e.g. `OpOf<'registry.get'>`.
 *
 * @example
 * ```ts
 * const read: OpOf<'registry.get'> = { op: 'registry.get', view: '64', key: 'SOFTWARE\\Example', name: 'Flag' };
 * ```
 */
export type OpOf<N extends HostOpName> = Extract<HostOp, { op: N }>;

/** Operations that change the target. Everything else only reads. */
export const WRITE_OPS: ReadonlySet<HostOpName> = new Set<HostOpName>([
  'registry.set',
  'registry.deleteValue',
  'registry.deleteKey',
  'registry.export',
  'restart',
  'startupTask.register',
  'startupTask.remove',
]);

/**
 * What the target's Windows is, as `os.info` answers: its caption and version, build, architecture,
 * product type and service pack.
 *
 * @example
 * ```ts
 * const [answer] = await executor.run([{ op: 'os.info' }]);
 * if (answer.op === 'os.info') {
 *   const os: OsInfo = answer;
 *   console.log(`${os.caption} build ${os.build}${os.productType === 'server' ? '' : ' (not a server)'}`);
 * }
 * ```
 */
export type OsInfo = {
  caption: string;
  version: string;
  build: number;
  architecture: '64-bit' | '32-bit';
  productType: 'workstation' | 'server';
  servicePack: number;
};

/**
 * What the target tells of its .NET Framework 3.5 (the 2.0 runtime), for the TLS System Default Versions
 * fix: whether it is installed (`NDP\v3.5` Install = 1, fact `dotnet.v35-install-key`) and the version
 * of the runtime's System.dll. Nothing in the file is searched for: `SslProtocolsExtensions` is a type
 * applications add to their own code (fact `dotnet.sslprotocolsextensions-app-code`), and Microsoft
 * publishes no file version of the fix, so the version is shown as evidence, never judged.
 */
export type Dotnet35Tls = {
  /** False when .NET Framework 3.5 is not installed: nothing uses the 2.0 runtime. */
  installed: boolean;
  /** The runtime file read, e.g. `C:\Windows\Microsoft.NET\Framework64\v2.0.50727\System.dll`, or null. */
  file: string | null;
  /** Its file version as Windows reports it, or null when it was not read. */
  version: string | null;
};

export type SqlInstance = {
  name: string;
  version: string;
  edition?: string;
};


/**
 * The answer to each operation, in the order of the batch.
 *
 * @example
 * ```ts
 * const [answer]: HostOpResult[] = await executor.run([{ op: 'hotfix.list' }]);
 * if (answer.op === 'hotfix.list') console.log(answer.hotfixes.includes('KB3140245'));
 * ```
 */
export type HostOpResult =
  | { op: 'registry.get'; keyExists: boolean; existingAncestor: string; value: RegistryValue | null }
  | { op: 'registry.set'; changed: boolean; before: RegistryValue | null; after: RegistryValue; createdKeys: string[] }
  | { op: 'registry.deleteValue'; changed: boolean; before: RegistryValue | null }
  | { op: 'registry.deleteKey'; changed: boolean; reason?: 'absent' | 'not-empty' }
  | { op: 'registry.keyInfo'; exists: boolean; lastWriteTime: string | null; subkeys: string[]; values: string[] }
  | { op: 'registry.export'; file: string; content: string }
  | { op: 'registry.exportText'; exists: boolean; content: string }
  | ({ op: 'os.info' } & OsInfo)
  | { op: 'hotfix.list'; hotfixes: string[] }
  | ({ op: 'dotnet35.tls' } & Dotnet35Tls)
  | { op: 'sql.instances'; instances: SqlInstance[] }
  | { op: 'orchestrator.info'; installed: boolean; release: string | null; updateRollup: number; version: string | null }
  | {
      op: 'service.status';
      name: string;
      exists: boolean;
      state: 'running' | 'stopped' | 'starting' | 'absent';
      /** How the service starts: an `auto` service that is not running yet is still coming. */
      startType: 'auto' | 'manual' | 'disabled' | null;
    }
  | { op: 'boot.time'; bootTime: string }
  | { op: 'tls.inEffect'; bootTime: string; protocols: ProtocolMap }
  | {
      op: 'restart';
      requested: boolean;
      alreadyRestarted: boolean;
      /** shutdown.exe answered 1190: someone else's shutdown is scheduled (left alone). */
      pendingShutdown?: boolean;
      /** shutdown.exe answered 1115: a shutdown is already in progress; it is the restart. */
      shutdownInProgress?: boolean;
    }
  /** Each restart found: when it was initiated (ISO time, UTC) and its comment. */
  | { op: 'restart.history'; readable: boolean; restarts: { time: string; comment: string }[] }
  | { op: 'startupTask.register'; changed: boolean }
  | { op: 'startupTask.remove'; changed: boolean }
  /** `answered`: the server took the connection (or refused the login: it is up); `detail` says what happened. */
  | { op: 'sql.ping'; server: string; answered: boolean; detail: string };

/** The result type for one op name. */
export type ResultOf<N extends HostOpName> = Extract<HostOpResult, { op: N }>;

/**
 * Options of one call.
 *
 * @example
 * ```ts
 * const options: RunOptions = { timeoutMs: 10_000, signal: AbortSignal.timeout(15_000) };
 * await executor.run([{ op: 'os.info' }], options);
 * ```
 */
export interface RunOptions {
  /** Cancels the call; the remote command is stopped where the transport allows it. */
  signal?: AbortSignal;
  /** Per-call timeout in milliseconds. @default the executor's, else 120000 (`DEFAULT_CALL_TIMEOUT_MS`) */
  timeoutMs?: number;
}

/**
 * A transport to one target. Implementations live one per file in `src/executors/`.
 *
 * @example
 * ```ts
 * const [os] = await executor.run([{ op: 'os.info' }]);
 * console.log(executor.roundTrips); // 1
 * ```
 */
export interface Executor {
  /** The transport's name: `simulated`, `local`, `ssh`, `powershell-remoting`, `winrm`. */
  readonly name: 'simulated' | 'local' | 'ssh' | 'powershell-remoting' | 'winrm';
  /** A description of the target without secrets, e.g. `sim:/tmp/host.json`. */
  readonly target: string;
  /** True when the engine runs on the target itself (a restart ends this process). */
  readonly onTarget: boolean;
  /** Calls made so far; every call of {@link Executor.run} counts one. */
  readonly roundTrips: number;
  /** Runs a batch of operations in one round trip; results come back in order. */
  run(batch: readonly HostOp[], options?: RunOptions): Promise<HostOpResult[]>;
  /** The TLS protocol this transport negotiates with the target (e.g. `TLSv1.2`), or null when it uses none. */
  transportTls?(): Promise<string | null>;
  /**
   * The target's TLS endpoints this executor knows of, for handshakes from the controller (the
   * simulated host serves its own; WinRM over HTTPS is one). @default none
   */
  tlsEndpoints?(): Promise<TlsEndpoint[]>;
  /** Releases connections and processes. */
  close(): Promise<void>;
}

/**
 * A TLS endpoint of a target, for handshakes from the controller.
 *
 * @example
 * ```ts
 * const endpoint: TlsEndpoint = { name: 'orchestrator-web-service', host: '10.0.0.12', port: 443, servername: 'orch01.contoso.com' };
 * const verdicts = await probeEndpoint(endpoint, ['TLS 1.0', 'TLS 1.2']);
 * ```
 */
export type TlsEndpoint = {
  /** What it is, e.g. `winrm-https`, `orchestrator-web-service`. */
  name: string;
  host: string;
  port: number;
  /** The name to send as SNI (a DNS name; never an IP address). */
  servername?: string;
};

/** Type guard that narrows one result to the op it answers. */
export function resultOf<N extends HostOpName>(result: HostOpResult | undefined, op: N): ResultOf<N> {
  if (!result || result.op !== op) {
    throw new TypeError(`expected a result for ${op}, got ${result ? result.op : 'nothing'}`);
  }
  return result as ResultOf<N>;
}
