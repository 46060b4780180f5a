/**
 * The prerequisites of Microsoft's "Set up TLS 1.3 for Orchestrator", judged against the facts table:
 * the Orchestrator release the page is written for, an OS that has TLS 1.3, a SQL Server that speaks it
 * and a driver that can connect with strict encryption (TDS 8.0). `judgeHost` calls it for
 * `tlsProcedure: tls13`; nothing here carries a threshold of its own.
 */
import { TLS13_FIRST_BUILD_FACT } from '../windows/facts/schannel.js';
import { TLS13, protocolSupported } from '../windows/schannel.js';
import { ORCHESTRATOR_ACCEPTED_RELEASES } from '../windows/facts/orchestrator.js';
import { PROCEDURE_PAGES, PROCEDURE_RELEASES, PROCEDURE_REVISIONS } from '../windows/facts/procedure.js';
import { TLS13_DRIVERS, TLS13_ORCHESTRATOR_RELEASES, TLS13_SQL_SERVER } from '../windows/facts/tls13.js';
import { SQL_CLIENT_KEYS } from '../windows/facts/sql.js';
import { canonicalSqlVersion, compareVersions } from './judge-sql.js';
import type { HostVerdict, PreflightReads } from './verdicts.js';

/** The bundled runbook that carries each procedure out. */
export const PROCEDURE_RUNBOOK = { tls12: 'orchestrator-tls12', tls13: 'orchestrator-tls13' } as const;

/** The TLS 1.3 page's Orchestrator releases; any other is refused (the TLS 1.2 procedure covers it). */
export function judgeTls13Orchestrator(reads: PreflightReads): HostVerdict {
  const o = reads.orchestrator;
  const check = 'orchestrator-release';
  const factIds = [TLS13_ORCHESTRATOR_RELEASES.id];
  const releases = TLS13_ORCHESTRATOR_RELEASES.value;
  if (!o.installed || !o.release) {
    return { check, verdict: 'refuse', evidence: 'no Orchestrator management server among the installed programs', factIds, fix: 'run this runbook on an Orchestrator management server' };
  }
  if ((releases as string[]).includes(o.release)) return { check, verdict: 'ok', evidence: `Orchestrator ${o.release}${o.version ? ` (${o.version})` : ''}: the TLS 1.3 procedure is written for ${releases.join(' and ')}`, factIds };
  // The revisions of the TLS 1.2 page that name this release (`2016 UR4` names 2016).
  const names = PROCEDURE_REVISIONS.filter((r) => PROCEDURE_RELEASES.value[r].some((x) => x.split(' ')[0] === o.release));
  const tls12 = names.length > 0 && (ORCHESTRATOR_ACCEPTED_RELEASES.value.releases as string[]).includes(o.release);
  const page = names.map((r) => `"${PROCEDURE_PAGES.value[r].title}" (procedure=${r})`).join(' and ');
  return {
    check,
    verdict: 'refuse',
    evidence: `Orchestrator ${o.release}: "Set up TLS 1.3 for Orchestrator" is for ${releases.join(' and ')} only`,
    factIds: [...factIds, ORCHESTRATOR_ACCEPTED_RELEASES.id, ...(tls12 ? [PROCEDURE_RELEASES.id] : [])],
    fix: tls12 ? `run ${PROCEDURE_RUNBOOK.tls12} (Orchestrator ${o.release} is named by Microsoft's ${page}), or upgrade Orchestrator to ${releases.join(' or ')}` : `upgrade Orchestrator to ${releases.join(' or ')}`,
  };
}

/**
 * TLS 1.3 in SCHANNEL, as the protocols table says it (`protocolSupported`): the row of Windows Server
 * 2022 (build 20348) has it, the rows before it do not, and a later build is in no row — `unknown`.
 */
export function judgeTls13Os(reads: PreflightReads): HostVerdict {
  const { os } = reads;
  const first = TLS13_FIRST_BUILD_FACT.value;
  const factIds = [TLS13_FIRST_BUILD_FACT.id, 'os.server-builds'];
  const read = `${os.caption} (${os.version}, build ${os.build})`;
  const supported = protocolSupported(TLS13, os.build);
  if (supported === true) return { check: 'os-tls13', verdict: 'ok', evidence: `${read} has TLS 1.3 (the protocols table's row for build ${first}, Windows Server 2022)`, factIds };
  if (supported === null) {
    return {
      check: 'os-tls13',
      verdict: 'unknown',
      evidence: `${read}: the protocols table ends with build ${first} (Windows Server 2022); no Microsoft row or sentence found says whether build ${os.build} has TLS 1.3`,
      factIds,
      fix: 'check that this Windows negotiates TLS 1.3 (the handshakes of tls-baseline show it)',
    };
  }
  return { check: 'os-tls13', verdict: 'refuse', evidence: `${read} has no TLS 1.3: SCHANNEL supports it from build ${first} (Windows Server 2022)`, factIds, fix: `move Orchestrator to Windows Server 2022 or later, or run ${PROCEDURE_RUNBOOK.tls12}` };
}

/** One SQL Server build against SQL Server 2022 CU1, the first build that speaks TLS 1.3. */
export function judgeSqlTls13(version: string): Omit<HostVerdict, 'check'> {
  const { major, firstBuild } = TLS13_SQL_SERVER.value;
  const factIds = [TLS13_SQL_SERVER.id, 'sql.major-versions'];
  const canonical = canonicalSqlVersion(version);
  const fix = `install SQL Server 2022 Cumulative Update 1 (${firstBuild}) or later for the Orchestrator database, or run ${PROCEDURE_RUNBOOK.tls12}`;
  const its = Number(canonical.split('.')[0]);
  if (its > major) return { verdict: 'ok', evidence: `SQL Server ${version}: a release after SQL Server 2022 ("SQL Server 2022 or later supports TLS 1.3")`, factIds };
  if (its < major) return { verdict: 'refuse', evidence: `SQL Server ${version}: SQL Server 2019 and earlier do not support TLS 1.3`, factIds, fix };
  return compareVersions(canonical, firstBuild) >= 0
    ? { verdict: 'ok', evidence: `SQL Server 2022 ${version} ≥ ${firstBuild} (CU1)`, factIds }
    : { verdict: 'refuse', evidence: `SQL Server 2022 ${version} is older than ${firstBuild}: TLS 1.3 needs Cumulative Update 1 or later`, factIds, fix };
}

/** Every SQL Server of the Orchestrator database against TLS 1.3; unknown when none is on the target and none is given. */
export function judgeTls13Sql(reads: PreflightReads, sqlServerVersion: string | undefined): HostVerdict[] {
  const versions = sqlServerVersion ? [sqlServerVersion] : reads.sqlInstances.map((i) => i.version).filter(Boolean);
  if (versions.length === 0) {
    return [{ check: 'sql-tls13', verdict: 'unknown', evidence: 'no SQL Server instance on the target', factIds: [TLS13_SQL_SERVER.id], fix: 'pass the version of the Orchestrator database server with --param sqlServerVersion=<version>' }];
  }
  return versions.map((v) => ({ check: 'sql-tls13', ...judgeSqlTls13(v) }));
}

/**
 * The OLE DB Driver 19 against 19.2.0, the first that connects with strict encryption. Its version is
 * read at a key no document names: a version at or above 19.2.0 passes with that evidence shown; below
 * it, or none found, is `unknown` (never a refusal on an undocumented key).
 */
export function judgeTls13Driver(reads: PreflightReads): HostVerdict {
  const check = 'sql-driver-tls13';
  const min = TLS13_DRIVERS.value.oledb;
  const factIds = [TLS13_DRIVERS.id, SQL_CLIENT_KEYS.id];
  const key = SQL_CLIENT_KEYS.value.find((c) => c.key.endsWith('MSOLEDBSQL19'))!;
  const found = reads.clients.find((c) => c.product === key.product && c.version !== null);
  const fix = `make sure the Microsoft OLE DB Driver 19 for SQL Server ${min} or later is installed (strict encryption, TDS 8.0: the only way to TLS 1.3 to SQL Server)`;
  if (found && compareVersions(found.version!, min) >= 0) {
    return { check, verdict: 'ok', evidence: `${found.product} ${found.version} ≥ ${min} (read at HKLM\\${key.key}, a key no Microsoft document names)`, factIds };
  }
  const evidence = found
    ? `${found.product} ${found.version} is older than ${min}, read at HKLM\\${key.key} (a key no Microsoft document names)`
    : `no InstalledVersion at HKLM\\${key.key} (a key no Microsoft document names)`;
  return { check, verdict: 'unknown', evidence, factIds, fix };
}
