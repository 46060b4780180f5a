/**
 * The version tables the preflight and hotfix steps judge by. Sources:
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

/** Whether a SQL Server build supports TLS 1.2, and why not. */
export function sqlSupportsTls12(version: string): { ok: boolean; why: string } {
  const major = Number(version.split('.')[0]);
  const minor = Number(version.split('.')[1]);
  if (major >= 13) return { ok: true, why: 'SQL Server 2016 or later supports TLS 1.2' };
  if (major === 10 && minor === 50) return { ok: false, why: 'SQL Server 2008 R2 does not support TLS 1.2 (per the reference procedure); upgrade to SQL Server 2016 or later' };
  const row = [...SQL_TLS12_FIRST_BUILDS].reverse().find((r) => version.startsWith(r.branch));
  if (!row) return { ok: false, why: `SQL Server ${version} is not in the KB3135244 table; install a service pack or cumulative update with TLS 1.2 support, or upgrade` };
  return compareVersions(version, row.firstBuild) >= 0
    ? { ok: true, why: `${row.release} build ${version} ≥ ${row.firstBuild}` }
    : { ok: false, why: `${row.release} build ${version} is older than ${row.firstBuild}; install the TLS 1.2 update from KB3135244` };
}

/** The OS families of the hotfix table, matched on version and build. */
export interface HotfixRequirement {
  os: string;
  /** `major.minor` of the OS version. */
  version: string;
  minBuild?: number;
  maxBuild?: number;
  /** Any one of these satisfies. Empty: no update needed. */
  required: string[];
  /** Later updates that contain the required fix. */
  supersededBy: string[];
}

export const HOTFIX_TABLE: readonly HotfixRequirement[] = [
  { os: 'Windows 7 SP1 / Windows Server 2008 R2 SP1', version: '6.1', required: ['KB3154518'], supersededBy: [] },
  { os: 'Windows Server 2012', version: '6.2', required: ['KB3154519'], supersededBy: [] },
  { os: 'Windows 8.1 / Windows Server 2012 R2', version: '6.3', required: ['KB3154520'], supersededBy: [] },
  { os: 'Windows 10 / Windows Server 2016', version: '10.0', maxBuild: 14393, required: ['KB3154521', 'KB3156421'], supersededBy: [] },
  { os: 'Windows 10 1703 / Windows Server 2019 and later', version: '10.0', minBuild: 14394, required: [], supersededBy: [] },
];

/** The requirement for an OS, or null when the table does not cover it. */
export function hotfixRequirement(version: string, build: number): HotfixRequirement | null {
  const mm = version.split('.').slice(0, 2).join('.');
  return (
    HOTFIX_TABLE.find((r) => r.version === mm && (r.minBuild === undefined || build >= r.minBuild) && (r.maxBuild === undefined || build <= r.maxBuild)) ??
    null
  );
}
