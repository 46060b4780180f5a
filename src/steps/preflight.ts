/**
 * Step `orchestrator/preflight`: the reference procedure's "Before you start", read-only, in one round
 * trip. Any unmet prerequisite ends the run before the first write, each named with how to fix it.
 */
import * as z from '../util/zod.js';
import { StepError } from '../errors.js';
import { defineStepKind } from '../engine/step-kind.js';
import type { Json } from '../engine/types.js';
import { resultOf, type HostOp } from '../executors/types.js';
import { NATIVE_CLIENT_KEYS, compareVersions, hotfixVerdict, sqlSupportsTls12 } from './requirements.js';
import { kbList } from './hotfix.js';
import { RESTART_MARKER } from './restart.js';
import { tls13Reads } from './schannel.js';

/** Reads `''` (and the values listed) as not given. */
const blankAs = (...blank: unknown[]) => z.transform((v: unknown) => (v === '' || blank.includes(v) ? undefined : v));

export const preflightParams = z.strictObject({
  /** Version of the SQL Server holding the Orchestrator database, when it is not on the target. */
  sqlServerVersion: z.pipe(blankAs(), z.optional(z.matching(/^\d+\.\d+\.\d+(\.\d+)?$/, 'a SQL Server version such as 13.0.5026.0'))),
  /**
   * The Update Rollup of Orchestrator 2016 when the target cannot tell it (a real server's uninstall
   * entry does not name it). Empty or -1: as the target reports it.
   */
  orchestratorUpdateRollup: z.pipe(blankAs(-1), z.optional(z.number().check(z.int(), z.minimum(0)))),
  /** More KBs that carry the .NET 3.5 TLS fix, for servers whose runtime cannot be read. @default [] */
  hotfixSupersededBy: kbList,
  /** Lowest `NDP\v4\Full` Release accepted (393295 = .NET Framework 4.6). @default 393295 */
  minDotnetRelease: z._default(z.number().check(z.int(), z.positive()), 393295),
});
export type PreflightParams = z.infer<typeof preflightParams>;

export const NDP_KEY = 'SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full';
const PROBE: HostOp[] = [
  { op: 'os.info' },
  { op: 'orchestrator.info' },
  { op: 'sql.instances' },
  { op: 'hotfix.list' },
  { op: 'boot.time' },
  { op: 'registry.get', view: '64', key: NDP_KEY, name: 'Release' },
  { op: 'dotnet35.tls' },
  ...NATIVE_CLIENT_KEYS.map((c): HostOp => ({ op: 'registry.get', view: '64', key: c.key, name: c.name })),
  // Read with the rest, so that later steps find them in this drive's read cache: the restart marker,
  // and TLS 1.3's values (reported by the schannel step).
  { op: 'registry.get', ...RESTART_MARKER },
  ...tls13Reads,
];

function osProblem(version: string, build: number, servicePack: number, caption: string): string | null {
  const [major, minor] = version.split('.').map(Number);
  const n = major * 100 + minor;
  if (n > 601 || (n === 601 && servicePack >= 1)) return null;
  return `${caption} (${version}) is not covered by the procedure: it needs Windows Server 2008 R2 SP1 / Windows 7 SP1 or later (build ${build})`;
}

/**
 * Orchestrator releases against the OS they run on: the releases the procedure accepts (2016 UR4 and
 * later) are not supported on Windows Server 2008 R2 / Windows 7 (6.1). Only that is checked here; the
 * exact OS list of each release is in Microsoft's "System requirements" page of that release.
 */
function orchestratorOsProblem(release: string | null, os: { version: string; caption: string }): string | null {
  if (!release) return null;
  const [major, minor] = os.version.split('.').map(Number);
  if (major === 6 && minor <= 1) return `Orchestrator ${release} is not supported on ${os.caption} (${os.version}): move it to a supported Windows Server`;
  return null;
}

function orchestratorProblem(o: { installed: boolean; release: string | null; updateRollup: number }): string | null {
  if (!o.installed || !o.release) return 'System Center Orchestrator is not installed on the target; run this runbook on an Orchestrator server';
  if (o.release === '2016' && o.updateRollup < 0) {
    return 'the target does not tell which Update Rollup of Orchestrator 2016 is installed: check it (UR4 or later is needed) and pass --param orchestratorUpdateRollup=<n>';
  }
  if (o.release === '2016') {
    return o.updateRollup >= 4 ? null : `Orchestrator 2016 UR${o.updateRollup} is too old: install Update Rollup 4 or later`;
  }
  if (['1801', '1807'].includes(o.release) || Number(o.release) >= 2019) return null;
  return `Orchestrator ${o.release} is too old: upgrade to 2016 with Update Rollup 4 or later, 1801, 1807 or 2019`;
}

export const preflightStep = defineStepKind({
  kind: 'orchestrator/preflight',
  description: 'Checks the prerequisites of the TLS 1.2 procedure: OS, Orchestrator, .NET 4.6, SQL Native Client 11, SQL Server TLS 1.2 support, transport TLS',
  params: preflightParams,
  outputs: z.object({ os: z.unknown(), orchestrator: z.unknown(), dotnetRelease: z.nullable(z.number()), nativeClient: z.array(z.string()), hotfix: z.unknown(), sqlServer: z.array(z.string()), transportTls: z.nullable(z.string()), bootTime: z.string() }),
  verifyWhenUnchanged: true,
  probe: async ({ rt }) => (await rt.read(PROBE)) as unknown as Json,
  async plan({ params, rt, observed }) {
    const r = observed as unknown as Parameters<typeof resultOf>[0][];
    const os = resultOf(r[0], 'os.info');
    const orchestrator = resultOf(r[1], 'orchestrator.info');
    const sql = resultOf(r[2], 'sql.instances');
    const release = resultOf(r[5], 'registry.get').value;
    const dotnet35 = resultOf(r[6], 'dotnet35.tls');
    const clients = NATIVE_CLIENT_KEYS.map((c, i) => ({ ...c, value: resultOf(r[7 + i], 'registry.get').value })).filter(
      (c): c is typeof c & { value: { type: 'REG_SZ'; data: string } } => c.value?.type === 'REG_SZ' && compareVersions(c.value.data, '11') >= 0,
    );
    const problems: string[] = [];
    const osIssue = osProblem(os.version, os.build, os.servicePack, os.caption);
    if (osIssue) problems.push(osIssue);
    const orchIssue = orchestratorProblem(
      params.orchestratorUpdateRollup === undefined ? orchestrator : { ...orchestrator, updateRollup: params.orchestratorUpdateRollup },
    );
    if (orchIssue) problems.push(orchIssue);
    const orchOs = orchestratorOsProblem(orchestrator.release, os);
    if (orchOs) problems.push(orchOs);
    const dotnetRelease = release?.type === 'REG_DWORD' ? release.data : null;
    if (dotnetRelease === null || dotnetRelease < params.minDotnetRelease) {
      problems.push(`.NET Framework 4.6 or later is required (NDP\\v4\\Full Release ${dotnetRelease ?? 'absent'} < ${params.minDotnetRelease}): install .NET Framework 4.6 or later`);
    }
    if (clients.length === 0) {
      problems.push(
        'SQL Server 2012 Native Client 11.0 or later is not installed: install the Microsoft OLE DB Driver for SQL Server (msoledbsql.msi, its successor) or Native Client 11 (sqlncli.msi) on the management server',
      );
    }
    // Step 3's verdict, read-only, before anything is written: a server without the fix is refused here.
    const hotfix = hotfixVerdict(os, resultOf(r[3], 'hotfix.list').hotfixes, dotnet35, params.hotfixSupersededBy);
    if (!hotfix.ok) {
      problems.push(
        `the TLS System Default Versions fix for the .NET Framework 3.5 is missing on ${hotfix.os} (${hotfix.evidence}): install the latest .NET Framework updates from Windows Update${hotfix.required.length ? ` (or ${hotfix.required.join(' or ')})` : ''}`,
      );
    }
    const sqlVersions = params.sqlServerVersion ? [params.sqlServerVersion] : sql.instances.map((i) => i.version);
    if (sqlVersions.length === 0) {
      problems.push('no SQL Server instance on the target: pass the version of the Orchestrator database server with --param sqlServerVersion=<version>');
    }
    for (const v of sqlVersions) {
      const verdict = sqlSupportsTls12(v);
      if (!verdict.ok) problems.push(verdict.why);
    }
    const tls = await rt.transportTls();
    if (tls !== null && !/^TLSv1\.[23]$/.test(tls)) {
      problems.push(`the connection to the target uses ${tls}; it must work over TLS 1.2 before older protocols are disabled`);
    }
    if (problems.length > 0) {
      throw new StepError('PREFLIGHT_FAILED', `${problems.length} prerequisite(s) not met:\n${problems.map((p) => `    - ${p}`).join('\n')}`, {
        where: rt.stepId,
        hint: 'nothing was changed on the target; fix the prerequisites and run again',
      });
    }
    const facts = {
      os,
      orchestrator,
      dotnetRelease,
      nativeClient: clients.map((c) => `${c.product} ${c.value.data}`),
      hotfix: hotfix as unknown as Json,
      sqlServer: sqlVersions,
      transportTls: tls,
      bootTime: resultOf(r[4], 'boot.time').bootTime,
    };
    return { changes: [], summary: `prerequisites met: ${os.caption} (${os.architecture}), Orchestrator ${orchestrator.release}, .NET release ${dotnetRelease}, SQL ${sqlVersions.join(', ')}`, data: facts as unknown as Json };
  },
  phases: [],
  verify: async ({ plan }) => ({ ok: true, summary: plan.summary, output: plan.data ?? null }),
});
