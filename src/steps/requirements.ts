/**
 * The preflight's judgement of a host, as one pure function: what is read (`PREFLIGHT_READS`), what it
 * means (`preflightReadsFrom`), and the verdict on each prerequisite (`judgeHost`), each resting on the
 * facts table (`src/windows/facts/`). The `orchestrator/preflight` step and `runbook inspect` both call
 * it; neither carries a threshold of its own.
 */
import type { HostOp, HostOpResult } from '../executors/types.js';
import { windowsRelease } from '../windows/os.js';
import { batchAnswers, batchOps, defineBatch, type BatchAnswers } from '../executors/read-batch.js';
import {
  ORCHESTRATOR_ACCEPTED_RELEASES,
  ORCHESTRATOR_ARCHITECTURE,
  ORCHESTRATOR_SQL_CLIENT,
  ORCHESTRATOR_SUPPORTED_OS,
  ORCHESTRATOR_SUPPORTED_SQL,
  type OrchestratorRelease,
} from '../windows/facts/orchestrator.js';
import { SQL_CLIENT_KEYS, SQL_OLEDB_TLS12, SQL_SNAC11_TLS12 } from '../windows/facts/sql.js';
import { DOTNET_MIN_RELEASE_46 } from '../windows/facts/dotnet.js';
import { judgeSqlTls12, sqlRelease } from './judge-sql.js';
import { judgeDotnet35 } from './judge-dotnet35.js';
import { judgeParams } from './judge-params.js';
import { PROCEDURE_RUNBOOK, judgeTls13Driver, judgeTls13Orchestrator, judgeTls13Os, judgeTls13Sql } from './judge-tls13.js';
import { TLS13_KEEP_TLS12, TLS13_ORCHESTRATOR_RELEASES } from '../windows/facts/tls13.js';
import { PROCEDURE_PAGES, PROCEDURE_RELEASES, PROCEDURE_REVISIONS, PROCEDURE_SCHANNEL, type ProcedureRevision } from '../windows/facts/procedure.js';
import { DOTNET35_READ, DOTNET_RELEASE_READ, registryRead } from './host-reads.js';
import type { PreflightParams } from './preflight-params.js';
import type { HostVerdict, PreflightReads } from './verdicts.js';

export type { PreflightParams } from './preflight-params.js';
export { canonicalSqlVersion, compareVersions, judgeSqlTls12, sqlRelease } from './judge-sql.js';
export { judgeDotnet35, type Dotnet35Judgement } from './judge-dotnet35.js';
export { PROCEDURE_RUNBOOK, judgeSqlTls13 } from './judge-tls13.js';

export type { HostVerdict, PreflightReads } from './verdicts.js';
export { DOTNET35_READ } from './host-reads.js';
export { windowsRelease } from '../windows/os.js';

/**
 * The preflight's read batch, one round trip, by name: what {@link judgeHost} judges, nothing more. What
 * later steps read they declare themselves (their kinds' `reads`); the engine sends those along with
 * the drive's first read batch.
 */
export const PREFLIGHT_BATCH = defineBatch({
  os: { op: 'os.info' },
  orchestrator: { op: 'orchestrator.info' },
  sqlInstances: { op: 'sql.instances' },
  hotfixes: { op: 'hotfix.list' },
  bootTime: { op: 'boot.time' },
  dotnetRelease: DOTNET_RELEASE_READ,
  dotnet35: DOTNET35_READ,
  clients: SQL_CLIENT_KEYS.value.map((c) => registryRead({ view: '64', key: c.key, name: c.name })),
});

/** {@link PREFLIGHT_BATCH}'s operations, flat, in its order (what an executor is sent). */
export const PREFLIGHT_READS: readonly HostOp[] = batchOps(PREFLIGHT_BATCH);

/**
 * The answers to {@link PREFLIGHT_BATCH}, by meaning.
 *
 * @example
 * ```ts
 * const reads = preflightReadsOf(await readBatch((ops) => executor.run(ops), PREFLIGHT_BATCH));
 * ```
 */
export function preflightReadsOf(read: BatchAnswers<typeof PREFLIGHT_BATCH>): PreflightReads {
  const clients = SQL_CLIENT_KEYS.value.map((c, i) => {
    const v = read.clients[i].value;
    return { product: c.product, version: v?.type === 'REG_SZ' ? v.data : null };
  });
  const { op: _os, ...os } = read.os;
  const { op: _o, ...orchestrator } = read.orchestrator;
  const { op: _d, ...dotnet35 } = read.dotnet35;
  const release = read.dotnetRelease;
  return {
    os,
    orchestrator,
    sqlInstances: read.sqlInstances.instances,
    hotfixes: read.hotfixes.hotfixes,
    bootTime: read.bootTime.bootTime,
    dotnetRelease: release.value?.type === 'REG_DWORD' ? release.value.data : null,
    dotnetFullKey: release.keyExists,
    dotnet35,
    clients,
  };
}

/**
 * The answers to {@link PREFLIGHT_READS} (a flat list, in its order), by meaning.
 *
 * @example
 * ```ts
 * const executor = await createSimulatedExecutor('host.json');
 * const reads = preflightReadsFrom(await executor.run(PREFLIGHT_READS));
 * ```
 */
export function preflightReadsFrom(results: readonly HostOpResult[]): PreflightReads {
  return preflightReadsOf(batchAnswers(PREFLIGHT_BATCH, results));
}

const isRelease = (r: string | null): r is OrchestratorRelease => r !== null && (ORCHESTRATOR_ACCEPTED_RELEASES.value.releases as string[]).includes(r);

/** The Orchestrator releases a revision of the TLS 1.2 page names (`2016 UR4` names 2016). */
function releasesNamedBy(revision: ProcedureRevision): string[] {
  return PROCEDURE_RELEASES.value[revision].map((r) => r.split(' ')[0]!);
}

function judgeOrchestrator(reads: PreflightReads, params: PreflightParams): HostVerdict {
  const o = reads.orchestrator;
  const check = 'orchestrator-release';
  const revision = params.procedure;
  const page = PROCEDURE_PAGES.value[revision];
  const listed = PROCEDURE_RELEASES.value[revision].join(', ');
  const factIds = [ORCHESTRATOR_ACCEPTED_RELEASES.id, PROCEDURE_RELEASES.id];
  if (!o.installed || !o.release) {
    return { check, verdict: 'refuse', evidence: 'no Orchestrator management server among the installed programs', factIds, fix: 'run this runbook on an Orchestrator management server' };
  }
  if (!isRelease(o.release)) {
    return { check, verdict: 'refuse', evidence: `Orchestrator ${o.release}: a release no Microsoft page of the procedure names`, factIds, fix: `upgrade to one of the releases "${page.title}" lists: ${listed}` };
  }
  const evidence = `Orchestrator ${o.release}${o.version ? ` (${o.version})` : ''}`;
  // What Microsoft says of the newer releases: a TLS 1.3 page of their own, beside the TLS 1.2 one.
  const tls13 = (TLS13_ORCHESTRATOR_RELEASES.value as string[]).includes(o.release);
  const note = tls13 ? `Microsoft also publishes "Set up TLS 1.3 for Orchestrator" for Orchestrator ${TLS13_ORCHESTRATOR_RELEASES.value.join(' and ')} (bundled runbook ${PROCEDURE_RUNBOOK.tls13})` : undefined;
  const withNote = (v: HostVerdict): HostVerdict => (note ? { ...v, evidence: `${v.evidence}; ${note}`, factIds: [...v.factIds, TLS13_ORCHESTRATOR_RELEASES.id], note } : v);
  if (!releasesNamedBy(revision).includes(o.release)) {
    // Known (its systems can be judged), but the page this run follows does not name it: no sentence
    // says the TLS 1.2 procedure is written for it. Shown, never passed, never refused on its own.
    const other = PROCEDURE_REVISIONS.filter((r) => r !== revision && releasesNamedBy(r).includes(o.release!));
    const otherPage = other.length ? `; the ${other.join(', ')} revision names it (--param procedure=${other[0]})` : '';
    return {
      ...(note ? { note, factIds: [...factIds, TLS13_ORCHESTRATOR_RELEASES.id] } : { factIds }),
      check,
      verdict: 'unknown',
      evidence: `${evidence}: "${page.title}" (procedure=${revision}) lists ${listed}, not ${o.release}${otherPage}`,
      fix: tls13 ? `run ${PROCEDURE_RUNBOOK.tls13}, written for Orchestrator ${o.release}, or check that the TLS 1.2 procedure fits it` : 'check that the TLS 1.2 procedure fits this release',
    };
  }
  if (o.release !== '2016') return withNote({ check, verdict: 'ok', evidence: `${evidence}: "${page.title}" (procedure=${revision}) lists ${listed}`, factIds });
  const ur = params.orchestratorUpdateRollup ?? o.updateRollup;
  const min = ORCHESTRATOR_ACCEPTED_RELEASES.value.minUpdateRollup2016;
  if (ur < 0) {
    return { check, verdict: 'unknown', evidence: `Orchestrator 2016${o.version ? ` (${o.version})` : ''}: its uninstall entry does not tell the Update Rollup`, factIds, fix: `check it (UR${min} or later is needed) and pass --param orchestratorUpdateRollup=<n>` };
  }
  return ur >= min
    ? { check, verdict: 'ok', evidence: `Orchestrator 2016 UR${ur}`, factIds }
    : { check, verdict: 'refuse', evidence: `Orchestrator 2016 UR${ur}`, factIds, fix: `install Update Rollup ${min} or later` };
}

function judgeOrchestratorOs(reads: PreflightReads): HostVerdict[] {
  const { os, orchestrator } = reads;
  const verdicts: HostVerdict[] = [];
  if (os.architecture !== ORCHESTRATOR_ARCHITECTURE.value) {
    verdicts.push({ check: 'os-architecture', verdict: 'refuse', evidence: `${os.caption} is ${os.architecture}`, factIds: [ORCHESTRATOR_ARCHITECTURE.id], fix: 'Orchestrator\'s server roles need 64-bit Windows Server' });
  } else {
    verdicts.push({ check: 'os-architecture', verdict: 'ok', evidence: `${os.caption} is ${os.architecture}`, factIds: [ORCHESTRATOR_ARCHITECTURE.id] });
  }
  if (!isRelease(orchestrator.release)) return verdicts;
  const supported = ORCHESTRATOR_SUPPORTED_OS.value[orchestrator.release];
  const name = windowsRelease(os);
  const factIds = [ORCHESTRATOR_SUPPORTED_OS.id, 'os.server-builds', 'os.version-names'];
  const read = `${os.caption} (${os.version}, build ${os.build}, ${os.productType})`;
  if (name === null) {
    verdicts.push({ check: 'orchestrator-os', verdict: 'unknown', evidence: `${read}: not a Windows release the table names`, factIds, fix: `Orchestrator ${orchestrator.release} supports ${supported.join(' and ')}` });
  } else if (supported.includes(name)) {
    verdicts.push({ check: 'orchestrator-os', verdict: 'ok', evidence: `${name} supports Orchestrator ${orchestrator.release}`, factIds });
  } else {
    verdicts.push({ check: 'orchestrator-os', verdict: 'refuse', evidence: `Orchestrator ${orchestrator.release} on ${name} (${read})`, factIds, fix: `Orchestrator ${orchestrator.release} supports ${supported.join(' and ')} only: move it to a supported server, or upgrade Orchestrator` });
  }
  return verdicts;
}

function judgeDotnet4(reads: PreflightReads, params: PreflightParams): HostVerdict {
  const check = 'dotnet4';
  const factIds = [DOTNET_MIN_RELEASE_46.id];
  const fix = 'install .NET Framework 4.6 or later';
  if (reads.dotnetRelease !== null) {
    return reads.dotnetRelease >= params.minDotnetRelease
      ? { check, verdict: 'ok', evidence: `NDP\\v4\\Full Release ${reads.dotnetRelease} ≥ ${params.minDotnetRelease}`, factIds }
      : { check, verdict: 'refuse', evidence: `NDP\\v4\\Full Release ${reads.dotnetRelease} < ${params.minDotnetRelease}`, factIds, fix };
  }
  return reads.dotnetFullKey
    ? { check, verdict: 'unknown', evidence: 'NDP\\v4\\Full exists but has no DWORD Release', factIds, fix }
    : { check, verdict: 'refuse', evidence: 'no NDP\\v4\\Full key: no .NET Framework 4.5 or later', factIds, fix };
}

function judgeSql(reads: PreflightReads, params: PreflightParams): HostVerdict[] {
  const versions = params.sqlServerVersion ? [params.sqlServerVersion] : reads.sqlInstances.map((i) => i.version).filter(Boolean);
  if (versions.length === 0) {
    return [{ check: 'sql-tls12', verdict: 'unknown', evidence: 'no SQL Server instance on the target', factIds: [], fix: 'pass the version of the Orchestrator database server with --param sqlServerVersion=<version>' }];
  }
  const verdicts: HostVerdict[] = [];
  const release = reads.orchestrator.release;
  for (const v of versions) {
    verdicts.push({ check: 'sql-tls12', ...judgeSqlTls12(v) });
    if (!isRelease(release)) continue;
    const supported = ORCHESTRATOR_SUPPORTED_SQL.value[release];
    const year = sqlRelease(v);
    const factIds = [ORCHESTRATOR_SUPPORTED_SQL.id, 'sql.major-versions'];
    if (year === null) verdicts.push({ check: 'orchestrator-sql', verdict: 'unknown', evidence: `SQL Server ${v}: a major version the table does not name`, factIds });
    else if (supported.includes(year)) verdicts.push({ check: 'orchestrator-sql', verdict: 'ok', evidence: `SQL Server ${year} (${v}) supports Orchestrator ${release}`, factIds });
    else {
      verdicts.push({
        check: 'orchestrator-sql',
        verdict: 'refuse',
        evidence: `Orchestrator ${release} on SQL Server ${year} (${v})`,
        factIds,
        fix: `Orchestrator ${release} supports SQL Server ${supported.join(', ')}: move its database to a supported SQL Server`,
      });
    }
  }
  return verdicts;
}

function judgeClient(reads: PreflightReads): HostVerdict {
  const check = 'sql-client';
  const found = reads.clients.filter((c) => c.version !== null);
  const release = reads.orchestrator.release;
  const wanted = isRelease(release) ? ORCHESTRATOR_SQL_CLIENT.value[release] : 'SQL Server 2012 Native Client 11.0 or later';
  const factIds = [SQL_SNAC11_TLS12.id, SQL_OLEDB_TLS12.id, SQL_CLIENT_KEYS.id, ORCHESTRATOR_SQL_CLIENT.id];
  const evidence = found.length
    ? `${found.map((c) => `${c.product} ${c.version}`).join(', ')} found; no Microsoft document gives the build from which these speak TLS 1.2`
    : `none of ${SQL_CLIENT_KEYS.value.map((c) => c.key).join(', ')} has an InstalledVersion (keys no Microsoft document names)`;
  return { check, verdict: 'unknown', evidence, factIds, fix: `make sure ${wanted} is installed (KB3135244 names the "Microsoft SQL Server 2012 Native Client - QFE" download for Native Client 11)` };
}

/**
 * The engine's own connection to the target, as the transport observed it (the TLS version its socket
 * negotiated): not a Windows fact — no document could state it, the run sees it. What a Windows fact
 * adds is what the run is about to do: the procedure's SCHANNEL values turn the server side of TLS 1.0
 * and 1.1 off (`procedure.schannel-values`: the NOTE's tls12-incoming-only keeps only outgoing ones), and
 * tls12Server=disabled turns TLS 1.2 off on it (`tls13.keep-tls12`); a connection on a protocol the run
 * turns off would not come back after the restart. So the refusal cites those facts, the evidence says
 * the version is this run's observation, and an accepted connection cites none.
 */
function judgeTransport(tls: string | null | undefined, tls12Server: 'enabled' | 'disabled' = 'enabled'): HostVerdict[] {
  if (tls === undefined || tls === null) return [];
  const seen = `this run's own connection to the target negotiated ${tls} (observed by the transport, not a Windows fact)`;
  if (tls12Server === 'disabled' && tls !== 'TLSv1.3') {
    return [{ check: 'transport-tls', verdict: 'refuse', evidence: `${seen}: the TLS 1.3-only server side (tls12Server=disabled) refuses it after the restart`, factIds: [TLS13_KEEP_TLS12.id], fix: 'connect to the target over TLS 1.3 first, or keep tls12Server=enabled' }];
  }
  return /^TLSv1\.[23]$/.test(tls)
    ? [{ check: 'transport-tls', verdict: 'ok', evidence: `${seen}: a protocol the run keeps on`, factIds: [] }]
    : [{ check: 'transport-tls', verdict: 'refuse', evidence: `${seen}: the procedure turns the server side of ${tls} off`, factIds: [PROCEDURE_SCHANNEL.id], fix: 'make the connection work over TLS 1.2 before older protocols are disabled' }];
}

/**
 * Judges every prerequisite of the procedure (`params.tlsProcedure`: Microsoft's TLS 1.2 page, or its TLS
 * 1.3 page, which adds an OS with TLS 1.3, Orchestrator 2022/2025, SQL Server 2022 CU1 and the OLE DB
 * Driver 19.2) on what was read, then each parameter the host's facts decide (`judgeParams`: a refusal
 * there carries `param`). Pure: the same reads and parameters give the same verdicts.
 *
 * @example
 * ```ts
 * declare const params: PreflightParams; // the preflight's parameters, parsed
 * const executor = await createSimulatedExecutor('host.json');
 * const verdicts = judgeHost(preflightReadsFrom(await executor.run(PREFLIGHT_READS)), params);
 * const refused = verdicts.filter((v) => v.verdict === 'refuse');
 * ```
 */
export function judgeHost(reads: PreflightReads, params: PreflightParams): HostVerdict[] {
  const dotnet35 = judgeDotnet35(reads.os, reads.hotfixes, reads.dotnet35, params.hotfixSupersededBy);
  const tls13 = params.tlsProcedure === 'tls13';
  return [
    tls13 ? judgeTls13Orchestrator(reads) : judgeOrchestrator(reads, params),
    ...judgeOrchestratorOs(reads),
    ...(tls13 ? [judgeTls13Os(reads), ...judgeTls13Sql(reads, params.sqlServerVersion)] : []),
    judgeDotnet4(reads, params),
    { check: 'dotnet35-tls', verdict: dotnet35.verdict, evidence: dotnet35.evidence, factIds: dotnet35.factIds, ...(dotnet35.fix ? { fix: dotnet35.fix } : {}) },
    ...judgeSql(reads, params),
    // TLS 1.3 asks of the client what the TLS 1.2 question cannot settle: a driver for strict encryption.
    tls13 ? judgeTls13Driver(reads) : judgeClient(reads),
    ...judgeTransport(reads.transportTls, params.tls12Server),
    // The operator's parameters the host's facts make impossible (refused as input: exit 2).
    ...judgeParams(reads, params),
  ];
}
