/**
 * SQL Server judged against the facts table: whether a build speaks TLS 1.2 (KB3135244, its GDR and CU
 * lines apart), and which release (year) a build belongs to.
 */
import {
  SQL_MAJOR_VERSIONS,
  SQL_SERVICE_PACKS,
  SQL_TLS12_FIRST_BUILDS,
  SQL_TLS12_IN_THE_BOX,
} from '../windows/facts/sql.js';

/** A verdict with the evidence it rests on and the facts that decided it. */
export type Judgement = { verdict: 'ok' | 'refuse' | 'unknown'; evidence: string; factIds: string[]; fix?: string };

/** Compares dotted versions numerically (`11.0.5644.2` > `11.0.5623.0`). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The product version of a SQL Server build as KB3135244 writes it (`12.0.5000.0`), from any of its
 * forms. The registry (`Setup\PatchLevel`) carries the service-pack level in the minor number (SQL
 * Server 2014 SP2 reports `12.2.5000.0`); the build number (third part) is the same in both forms, so
 * the minor number is set to 0 and the build decides. SQL Server 2008 R2 keeps 50 (`10.5x` → `10.50`).
 *
 * @example
 * ```ts
 * canonicalSqlVersion('12.2.5000.0'); // '12.0.5000.0'
 * ```
 */
export function canonicalSqlVersion(version: string): string {
  const [major, minor = 0, build = 0, revision = 0] = version.split('.').map(Number);
  if (major === 10 && minor >= 50) return [10, 50, build, revision].join('.');
  return [major, 0, build, revision].join('.');
}

/** The SQL Server release (year) of a build, or null when the table has no such major version. */
export function sqlRelease(version: string): string | null {
  const [major, minor] = canonicalSqlVersion(version).split('.').map(Number);
  const row = SQL_MAJOR_VERSIONS.value.find((r) => r.major === major && (r.minor === undefined || r.minor === minor));
  return row ? row.release : null;
}

/** The service pack a build belongs to: the last one of its major version that begins at or below it. */
function servicePackOf(canonical: string): (typeof SQL_SERVICE_PACKS.value)[number] | null {
  const [major, minor] = canonical.split('.').map(Number);
  const same = SQL_SERVICE_PACKS.value.filter((sp) => {
    const [m, n] = sp.first.split('.').map(Number);
    return m === major && n === minor;
  });
  const below = same.filter((sp) => compareVersions(canonical, sp.first) >= 0);
  return below.length ? below[below.length - 1] : null;
}

const FACTS = [SQL_TLS12_FIRST_BUILDS.id, SQL_SERVICE_PACKS.id];

/**
 * Whether a SQL Server build (in any form the registry reports) speaks TLS 1.2. A build is judged in
 * its own servicing line: in the GDR line (below the service pack's first CU) against the GDR fix, in
 * the CU line against the CU fix. A build the KB does not settle is `unknown`.
 *
 * @example
 * ```ts
 * judgeSqlTls12('12.0.4436.0').verdict; // 'refuse' (2014 SP1 CU4: the CU line's fix is 12.0.4439.1)
 * ```
 */
export function judgeSqlTls12(version: string): Judgement {
  const canonical = canonicalSqlVersion(version);
  const shown = canonical === version ? version : `${version} (${canonical})`;
  const major = Number(canonical.split('.')[0]);
  const inBox = SQL_TLS12_IN_THE_BOX.value;
  if (major >= inBox.from && major <= inBox.through) {
    return { verdict: 'ok', evidence: `SQL Server ${shown}: ${sqlRelease(version) ?? `major version ${major}`} supports TLS 1.2 without an update`, factIds: [SQL_TLS12_IN_THE_BOX.id, 'sql.major-versions'] };
  }
  if (major > inBox.through) {
    // Later than every release a sentence names: not passed on the assumption that a newer one keeps TLS 1.2.
    const release = sqlRelease(version);
    return {
      verdict: 'unknown',
      evidence: `SQL Server ${shown}: ${release ? `SQL Server ${release}` : `major version ${major}`} is later than every release a Microsoft sentence says supports TLS 1.2 (SQL Server 2016 to 2022, major versions ${inBox.from} to ${inBox.through})`,
      factIds: [SQL_TLS12_IN_THE_BOX.id, 'sql.major-versions'],
      fix: 'check that this SQL Server accepts TLS 1.2 connections (the handshakes of tls-baseline show it when its endpoint is listed in tlsEndpoints)',
    };
  }
  const sp = servicePackOf(canonical);
  if (!sp) {
    return { verdict: 'unknown', evidence: `SQL Server ${shown} is in no service pack of the version list`, factIds: FACTS, fix: 'check the SQL Server build; KB3135244 lists the builds with TLS 1.2' };
  }
  const rows = SQL_TLS12_FIRST_BUILDS.value.filter((r) => r.release === sp.release);
  const upgrade = 'install a service pack or cumulative update with TLS 1.2 support (KB3135244), or upgrade to SQL Server 2016 or later';
  if (rows.length === 0) {
    return { verdict: 'refuse', evidence: `${sp.release} build ${shown}: KB3135244 has no TLS 1.2 build for ${sp.release}`, factIds: FACTS, fix: upgrade };
  }
  const line: 'GDR' | 'CU' = sp.firstCu && compareVersions(canonical, sp.firstCu) >= 0 ? 'CU' : 'GDR';
  const row = rows.find((r) => r.line === 'all') ?? rows.find((r) => r.line === line);
  const lineName = row?.line === 'all' ? sp.release : `${sp.release} ${line} line`;
  if (!row) {
    return { verdict: 'refuse', evidence: `${lineName} build ${shown}: KB3135244 gives no TLS 1.2 build for this line`, factIds: FACTS, fix: upgrade };
  }
  if (!row.build) return { verdict: 'ok', evidence: `${sp.release} build ${shown}: KB3135244 gives TLS 1.2 for every build of ${sp.release}`, factIds: FACTS };
  if (compareVersions(canonical, row.build) < 0) {
    return { verdict: 'refuse', evidence: `${lineName} build ${shown} is older than ${row.build}, the line's first build with TLS 1.2`, factIds: FACTS, fix: upgrade };
  }
  if (row.platform) {
    return {
      verdict: 'unknown',
      evidence: `${lineName} build ${shown} ≥ ${row.build}, but KB3135244 gives that build for ${row.platform} only (the SQL Server's platform is not read)`,
      factIds: FACTS,
      fix: `on x86/x64 ${sp.release} has no TLS 1.2 update: install the next service pack's TLS 1.2 build or upgrade`,
    };
  }
  return { verdict: 'ok', evidence: `${lineName} build ${shown} ≥ ${row.build}`, factIds: FACTS };
}
