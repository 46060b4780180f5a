/**
 * The types of the preflight's judgement: what is read from a host by meaning, and one verdict. Apart
 * from `requirements.ts` so that the judges it calls (`judge-tls13.ts`, …) can name them without an
 * import cycle.
 */
import type { Dotnet35Tls, OsInfo, SqlInstance } from '../executors/types.js';

/**
 * One prerequisite judged: `ok`, `refuse` (positive evidence that it is not met: the run stops before any
 * write), or `unknown` (no document settles it: shown with what was read, decided by `onUnknown`).
 */
export type HostVerdict = {
  check: string;
  verdict: 'ok' | 'refuse' | 'unknown';
  evidence: string;
  factIds: string[];
  fix?: string;
  /** What the preflight's summary says even when the check passes (e.g. another page Microsoft publishes for this host). */
  note?: string;
  /**
   * The runbook parameter and value judged (`tls13=enabled`), when the verdict is on the operator's
   * input rather than on the host: refused, the run ends `PARAMETER_REFUSED` (exit 2, nothing changed).
   */
  param?: string;
};

/** What the preflight reads from a host, by meaning. */
export type PreflightReads = {
  os: OsInfo;
  orchestrator: { installed: boolean; release: string | null; updateRollup: number; version: string | null };
  sqlInstances: SqlInstance[];
  hotfixes: string[];
  bootTime: string;
  /** `NDP\v4\Full` Release, or null when the value is absent. */
  dotnetRelease: number | null;
  /** Whether the `NDP\v4\Full` key exists (its absence means no .NET Framework 4.5 or later). */
  dotnetFullKey: boolean;
  dotnet35: Dotnet35Tls;
  /** The SQL Server client providers found at the keys read (`version` null: nothing there). */
  clients: { product: string; version: string | null }[];
  /** The TLS version of the connection to the target, when the transport has one (set by the caller). */
  transportTls?: string | null;
};

