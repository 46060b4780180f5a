import { resultOf, type Dotnet35Tls, type HostOp, type HostOpResult, type OsInfo, type ResultOf, type SqlInstance } from '../executors/types.js';

/**
 * The version tables the preflight and hotfix steps judge by. Sources (Microsoft documents):
 * - SQL Server: KB3135244 "TLS 1.2 support for Microsoft SQL Server", table of the first builds that
 *   support TLS 1.2 per release branch (later builds of a branch also support it). SQL Server 2016 and
 *   later support TLS 1.2 without an update. The reference procedure refuses SQL Server 2008 R2.
 * - Hotfixes: the reference procedure's step 3 table. Microsoft has since superseded those hotfixes by
 *   later .NET Framework updates without listing them; the superseding KBs below are the ones this
 *   project accepts by default, and a runbook parameter can extend the list.
 */

/** First build of each SQL Server branch that supports TLS 1.2 (KB3135244). */
export const SQL_TLS12_FIRST_BUILDS: readonly { release: string; branch: string; firstBuild: string }[] = [
  { release: 'SQL Server 2008 SP3', branch: '10.0.55', firstBuild: '10.0.5544.0' },
  { release: 'SQL Server 2008 SP3 (CU)', branch: '10.0.58', firstBuild: '10.0.5896.0' },
  { release: 'SQL Server 2008 SP4', branch: '10.0.6', firstBuild: '10.0.6547.0' },
  { release: 'SQL Server 2012 SP2', branch: '11.0.5', firstBuild: '11.0.5352.0' },
  { release: 'SQL Server 2012 SP3', branch: '11.0.6', firstBuild: '11.0.6216.27' },
  { release: 'SQL Server 2012 SP4', branch: '11.0.7', firstBuild: '11.0.7001.0' },
  { release: 'SQL Server 2014 RTM', branch: '12.0.2', firstBuild: '12.0.2271.0' },
  { release: 'SQL Server 2014 SP1', branch: '12.0.4', firstBuild: '12.0.4219.0' },
  { release: 'SQL Server 2014 SP2', branch: '12.0.5', firstBuild: '12.0.5000.0' },
  { release: 'SQL Server 2014 SP3', branch: '12.0.6', firstBuild: '12.0.6024.0' },
];

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export { compareVersions };

/**
 * The product version of a SQL Server build as KB3135244 writes it (`12.0.5000.0`), from any of its
 * forms. The registry (`Setup\PatchLevel`, and SERVERPROPERTY('ProductVersion') of SQL Server 2012
 * and 2014 too) carries the service-pack level in the minor number: SQL Server 2014 SP2 reports
 * `12.2.5000.0`, SP3 `12.3.6024.0`, SQL Server 2012 SP4 `11.4.7001.0`. The build number (third part)
 * is the same in both forms, so the minor number is set to 0 and the build decides. SQL Server 2008 R2
 * is told apart by its minor number 50 or more (`10.50.x`; its service packs `10.52.x`, `10.53.x`).
 */
export function canonicalSqlVersion(version: string): string {
  const [major, minor = 0, build = 0, revision = 0] = version.split('.').map(Number);
  if (major === 10 && minor >= 50) return [10, 50, build, revision].join('.');
  return [major, 0, build, revision].join('.');
}

/** Whether a SQL Server build (in any form the registry reports) supports TLS 1.2, and why not. */
export function sqlSupportsTls12(version: string): { ok: boolean; why: string } {
  const canonical = canonicalSqlVersion(version);
  const [major, minor] = canonical.split('.').map(Number);
  const shown = canonical === version ? version : `${version} (${canonical})`;
  if (major >= 13) return { ok: true, why: 'SQL Server 2016 or later supports TLS 1.2' };
  if (major === 10 && minor === 50) return { ok: false, why: `SQL Server 2008 R2 does not support TLS 1.2 per the reference procedure (${shown}); upgrade to SQL Server 2016 or later` };
  const row = [...SQL_TLS12_FIRST_BUILDS].reverse().find((r) => canonical.startsWith(r.branch));
  if (!row) return { ok: false, why: `SQL Server ${shown} is not in the KB3135244 table; install a service pack or cumulative update with TLS 1.2 support, or upgrade` };
  return compareVersions(canonical, row.firstBuild) >= 0
    ? { ok: true, why: `${row.release} build ${shown} ≥ ${row.firstBuild}` }
    : { ok: false, why: `${row.release} build ${shown} is older than ${row.firstBuild}; install the TLS 1.2 update from KB3135244` };
}

/**
 * The client providers the reference asks for as "SQL Server 2012 Native Client 11.0 or later": SQL
 * Server Native Client 11 (`SOFTWARE\Microsoft\SQLNCLI11`, the last SNAC), or its successor the
 * Microsoft OLE DB Driver for SQL Server (`MSOLEDBSQL`, version 18; `MSOLEDBSQL19`, version 19), each
 * with an `InstalledVersion` value. KB3135244 lists both among the client providers with TLS 1.2.
 */
export const NATIVE_CLIENT_KEYS: readonly { key: string; name: string; product: string }[] = [
  { key: 'SOFTWARE\\Microsoft\\SQLNCLI11', name: 'InstalledVersion', product: 'SQL Server Native Client 11.0' },
  { key: 'SOFTWARE\\Microsoft\\MSOLEDBSQL', name: 'InstalledVersion', product: 'Microsoft OLE DB Driver 18 for SQL Server' },
  { key: 'SOFTWARE\\Microsoft\\MSOLEDBSQL19', name: 'InstalledVersion', product: 'Microsoft OLE DB Driver 19 for SQL Server' },
];

/** The OS families of the hotfix table, matched on version and build. */
export interface HotfixRequirement {
  os: string;
  /** `major.minor` of the OS version. */
  version: string;
  minBuild?: number;
  maxBuild?: number;
  /** The updates the reference names; any one satisfies. Empty: the OS has the support in the box. */
  required: string[];
  /** Later updates known to contain the fix (extend with the `supersededBy` parameter). */
  supersededBy: string[];
}

/**
 * The reference procedure's step 3 table, by OS build. Microsoft's KB pages for KB3154518, KB3154519
 * and KB3154520 ("Support for TLS System Default Versions included in the .NET Framework 3.5…") say
 * the hotfixes "have been superseded with the latest updates of .NET Framework", so a patched server
 * lists a later rollup instead; KB3156421 is the May 10, 2016 cumulative update for Windows 10 1511 and
 * Server 2016 Technical Preview 4, which Windows Server 2016 itself (build 14393, October 2016) never
 * lists because it ships the fix. Microsoft's "Transport Layer Security (TLS) best practices with the
 * .NET Framework" lists TLS 1.2 as the highest version for .NET Framework 3.5 on Windows 10 and 11.
 */
export const HOTFIX_TABLE: readonly HotfixRequirement[] = [
  { os: 'Windows 7 SP1 / Windows Server 2008 R2 SP1', version: '6.1', required: ['KB3154518'], supersededBy: [] },
  { os: 'Windows Server 2012', version: '6.2', required: ['KB3154519'], supersededBy: [] },
  { os: 'Windows 8.1 / Windows Server 2012 R2', version: '6.3', required: ['KB3154520'], supersededBy: [] },
  { os: 'Windows 10 1507/1511 / Windows Server 2016 Technical Preview', version: '10.0', maxBuild: 14392, required: ['KB3154521', 'KB3156421'], supersededBy: [] },
  { os: 'Windows Server 2016 (build 14393) and later', version: '10.0', minBuild: 14393, required: [], supersededBy: [] },
];

/** The requirement for an OS, or null when the table does not cover it. */
export function hotfixRequirement(version: string, build: number): HotfixRequirement | null {
  const mm = version.split('.').slice(0, 2).join('.');
  return (
    HOTFIX_TABLE.find((r) => r.version === mm && (r.minBuild === undefined || build >= r.minBuild) && (r.maxBuild === undefined || build <= r.maxBuild)) ??
    null
  );
}

/** The verdict on the TLS System Default Versions fix, with the evidence it rests on. */
export type HotfixVerdict = {
  ok: boolean;
  os: string;
  required: string[];
  /** How it was decided: the runtime itself, an installed update, the OS, or nothing to decide. */
  by: 'runtime' | 'update' | 'in-the-box' | 'not-applicable' | 'missing';
  evidence: string;
};

/**
 * Decides whether the target has the fix. The .NET 2.0/3.5 runtime's own answer comes first: it is
 * true however the fix arrived (the hotfix, a later rollup, the OS). Only when the runtime could not
 * be read do the installed updates decide.
 */
export function hotfixVerdict(
  os: { caption: string; version: string; build: number },
  hotfixes: readonly string[],
  dotnet35: Dotnet35Tls | null,
  extraKbs: readonly string[] = [],
): HotfixVerdict {
  const requirement = hotfixRequirement(os.version, os.build);
  if (!requirement) {
    return { ok: false, os: os.caption, required: [], by: 'missing', evidence: `${os.caption} (${os.version}) is not in the hotfix table` };
  }
  // A copy: the table is shared by every run and must never reach a run's data by reference.
  const base = { os: requirement.os, required: [...requirement.required] };
  if (dotnet35 && !dotnet35.installed) {
    return { ...base, ok: true, by: 'not-applicable', evidence: '.NET Framework 3.5 is not installed: no application uses the 2.0 runtime' };
  }
  if (dotnet35?.systemDefaultTls === true) {
    return { ...base, ok: true, by: 'runtime', evidence: `${dotnet35.file}${dotnet35.version ? ` ${dotnet35.version}` : ''} has the TLS System Default Versions support` };
  }
  const installed = new Set(hotfixes.map((h) => h.toUpperCase()));
  const accepted = [...requirement.required, ...requirement.supersededBy, ...extraKbs.map((k) => k.toUpperCase())];
  const found = accepted.filter((kb) => installed.has(kb));
  if (dotnet35?.systemDefaultTls === false) {
    return {
      ...base,
      ok: false,
      by: 'missing',
      evidence: `${dotnet35.file}${dotnet35.version ? ` ${dotnet35.version}` : ''} lacks the TLS System Default Versions support${found.length ? ` although ${found.join(', ')} is listed` : ''}`,
    };
  }
  if (requirement.required.length === 0) return { ...base, ok: true, by: 'in-the-box', evidence: `${requirement.os} includes the support` };
  if (found.length > 0) return { ...base, ok: true, by: 'update', evidence: `${found.join(', ')} installed` };
  return { ...base, ok: false, by: 'missing', evidence: `none of ${accepted.join(', ')} is installed, and the .NET 3.5 runtime could not be read` };
}

// --- The host's prerequisites as verdicts, for `runbook inspect` -------------------------------------
// A thin adapter over the functions above (replaced by the preflight's own at merge): the reads the
// prerequisites are judged from, and one verdict per prerequisite with the evidence read.

/** Where the .NET Framework 4.x release is read (`Release`, REG_DWORD). */
const NDP_V4_FULL = 'SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full';

/**
 * The read-only operations every prerequisite is judged from, in one batch.
 *
 * @example
 * ```ts
 * const reads = preflightReadsFrom(await executor.run(PREFLIGHT_READS));
 * ```
 */
export const PREFLIGHT_READS: readonly HostOp[] = [
  { op: 'os.info' },
  { op: 'orchestrator.info' },
  { op: 'sql.instances' },
  { op: 'hotfix.list' },
  { op: 'registry.get', view: '64', key: NDP_V4_FULL, name: 'Release' },
  { op: 'dotnet35.tls' },
  ...NATIVE_CLIENT_KEYS.map((c): HostOp => ({ op: 'registry.get', view: '64', key: c.key, name: c.name })),
];

/** What {@link PREFLIGHT_READS} read, by name. */
export type PreflightReads = {
  os: OsInfo;
  orchestrator: ResultOf<'orchestrator.info'>;
  sqlInstances: SqlInstance[];
  hotfixes: string[];
  dotnetRelease: number | null;
  dotnet35: Dotnet35Tls;
  clients: { product: string; version: string | null }[];
};

/** The answers to {@link PREFLIGHT_READS}, by name. */
export function preflightReadsFrom(results: HostOpResult[]): PreflightReads {
  const release = resultOf(results[4], 'registry.get').value;
  return {
    os: resultOf(results[0], 'os.info'),
    orchestrator: resultOf(results[1], 'orchestrator.info'),
    sqlInstances: resultOf(results[2], 'sql.instances').instances,
    hotfixes: resultOf(results[3], 'hotfix.list').hotfixes,
    dotnetRelease: release?.type === 'REG_DWORD' ? release.data : null,
    dotnet35: resultOf(results[5], 'dotnet35.tls'),
    clients: NATIVE_CLIENT_KEYS.map((c, i) => {
      const v = resultOf(results[6 + i], 'registry.get').value;
      return { product: c.product, version: v?.type === 'REG_SZ' ? v.data : null };
    }),
  };
}

/** The preflight's parameters that judging needs (the `orchestrator/preflight` step's, parsed). */
export type PreflightParams = {
  sqlServerVersion?: string;
  orchestratorUpdateRollup?: number;
  hotfixSupersededBy: string[];
  minDotnetRelease: number;
};

/** One prerequisite's verdict, with the evidence read and the facts it is judged by. */
export type HostVerdict = { check: string; verdict: 'ok' | 'refuse' | 'unknown'; evidence: string; factIds: string[]; fix?: string };

/**
 * Judges every prerequisite of the procedure from what was read, changing nothing.
 *
 * @example
 * ```ts
 * const reads = preflightReadsFrom(await executor.run(PREFLIGHT_READS));
 * const verdicts = judgeHost(reads, { hotfixSupersededBy: [], minDotnetRelease: 393295 });
 * const refused = verdicts.filter((v) => v.verdict === 'refuse');
 * ```
 */
export function judgeHost(reads: PreflightReads, params: PreflightParams): HostVerdict[] {
  const out: HostVerdict[] = [];
  const { os, orchestrator } = reads;
  const [major, minor] = os.version.split('.').map(Number);
  const osOk = major * 100 + minor > 601 || (major * 100 + minor === 601 && os.servicePack >= 1);
  out.push({
    check: 'OS',
    verdict: osOk ? 'ok' : 'refuse',
    evidence: `${os.caption} ${os.version} build ${os.build} ${os.architecture}${os.servicePack ? ` SP${os.servicePack}` : ''}`,
    factIds: [],
    ...(osOk ? {} : { fix: 'the procedure needs Windows Server 2008 R2 SP1 / Windows 7 SP1 or later' }),
  });
  const rollup = params.orchestratorUpdateRollup ?? orchestrator.updateRollup;
  const release = orchestrator.release;
  const orchEvidence = orchestrator.installed && release ? `Orchestrator ${release}${release === '2016' ? ` UR${rollup < 0 ? '?' : rollup}` : ''}${orchestrator.version ? ` (${orchestrator.version})` : ''}` : 'Orchestrator not installed';
  const orchVerdict: HostVerdict['verdict'] = !orchestrator.installed || !release
    ? 'refuse'
    : release === '2016'
      ? rollup < 0 ? 'unknown' : rollup >= 4 ? 'ok' : 'refuse'
      : ['1801', '1807'].includes(release) || Number(release) >= 2019 ? 'ok' : 'refuse';
  out.push({
    check: 'Orchestrator release',
    verdict: orchVerdict,
    evidence: orchEvidence,
    factIds: ['procedure.orchestrator-releases'],
    ...(orchVerdict === 'ok' ? {} : { fix: orchVerdict === 'unknown' ? 'state the Update Rollup: --param orchestratorUpdateRollup=<n>' : 'install Orchestrator 2016 with Update Rollup 4 or later, 2019 or 2022' }),
  });
  const dotnetOk = reads.dotnetRelease !== null && reads.dotnetRelease >= params.minDotnetRelease;
  out.push({
    check: '.NET Framework 4.6 or later',
    verdict: dotnetOk ? 'ok' : 'refuse',
    evidence: `NDP\\v4\\Full Release ${reads.dotnetRelease ?? 'absent'} (at least ${params.minDotnetRelease})`,
    factIds: [],
    ...(dotnetOk ? {} : { fix: 'install .NET Framework 4.6 or later' }),
  });
  const clients = reads.clients.filter((c) => c.version !== null && compareVersions(c.version, '11') >= 0);
  out.push({
    check: 'SQL Server Native Client 11.0 or later',
    verdict: clients.length > 0 ? 'ok' : 'refuse',
    evidence: reads.clients.map((c) => `${c.product}: ${c.version ?? 'absent'}`).join('; '),
    factIds: [],
    ...(clients.length > 0 ? {} : { fix: 'install the Microsoft OLE DB Driver for SQL Server or Native Client 11 on the management server' }),
  });
  const hotfix = hotfixVerdict(os, reads.hotfixes, reads.dotnet35, params.hotfixSupersededBy);
  out.push({
    check: '.NET Framework 3.5 TLS System Default Versions fix',
    verdict: hotfix.ok ? 'ok' : 'refuse',
    evidence: `${hotfix.os}: ${hotfix.evidence}`,
    factIds: [],
    ...(hotfix.ok ? {} : { fix: `install the latest .NET Framework updates from Windows Update${hotfix.required.length ? ` (or ${hotfix.required.join(' or ')})` : ''}` }),
  });
  const versions = params.sqlServerVersion ? [{ name: '(given)', version: params.sqlServerVersion }] : reads.sqlInstances;
  if (versions.length === 0) {
    out.push({ check: 'SQL Server supports TLS 1.2', verdict: 'unknown', evidence: 'no SQL Server instance on the target', factIds: [], fix: 'pass the database server\'s version: --param sqlServerVersion=<version>' });
  }
  for (const instance of versions) {
    const v = sqlSupportsTls12(instance.version);
    out.push({ check: `SQL Server supports TLS 1.2 (${instance.name})`, verdict: v.ok ? 'ok' : 'refuse', evidence: `${instance.version}: ${v.why}`, factIds: [], ...(v.ok ? {} : { fix: v.why }) });
  }
  return out;
}
