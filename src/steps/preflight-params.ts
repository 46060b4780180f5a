/**
 * The parameters of `orchestrator/preflight` (and of `judgeHost`), apart from the step so that the
 * judgement and the step can both use them.
 */
import * as z from '../util/zod.js';
import { DOTNET_MIN_RELEASE_46 } from '../windows/facts/dotnet.js';

/** A list of KB numbers, from an array or a comma-separated string. */
export const kbList = z._default(
  z.pipe(
    z.transform((v: unknown) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v)),
    z.array(z.matching(/^KB\d+$/i, 'a KB number such as KB4041085')),
  ),
  [],
);

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
  /** KBs that carry the .NET 3.5 TLS fix (later rollups the KB pages do not name). @default [] */
  hotfixSupersededBy: kbList,
  /** Lowest `NDP\v4\Full` Release accepted. @default 393295 (.NET Framework 4.6, fact `dotnet.min-release-4-6`) */
  minDotnetRelease: z._default(z.number().check(z.int(), z.positive()), DOTNET_MIN_RELEASE_46.value.min),
  /**
   * What a prerequisite no document settles does: `warn` lists it in the plan, the step output and the
   * report and goes on; `refuse` stops the run before any write, as a refused one does. @default 'warn'
   */
  onUnknown: z._default(z.enum(['warn', 'refuse']), 'warn'),
  /**
   * Whose prerequisites: Microsoft's "Set up TLS for Orchestrator" (`tls12`) or "Set up TLS 1.3 for
   * Orchestrator" (`tls13`: Orchestrator 2022/2025, an OS with TLS 1.3, SQL Server 2022 CU1 or later,
   * the OLE DB Driver 19.2 or later — facts `tls13.*`). @default 'tls12'
   */
  tlsProcedure: z._default(z.enum(['tls12', 'tls13']), 'tls12'),
  /**
   * Which revision of Microsoft's TLS 1.2 page the run follows (the runbook's `procedure`): it decides
   * which Orchestrator releases the TLS 1.2 procedure covers (fact `procedure.orchestrator-releases`).
   * @default 'current'
   */
  procedure: z._default(z.enum(['current', '2019']), 'current'),
  /**
   * What the run will do to the server side of TLS 1.2: `disabled` (orchestrator-tls13's TLS 1.3-only
   * server side) needs the engine's own connection to the target to use TLS 1.3 already, or the target
   * could not be reached after the restart. @default 'enabled'
   */
  tls12Server: z._default(z.enum(['enabled', 'disabled']), 'enabled'),
  /**
   * What the run's `windows/schannel` step will do to TLS 1.3 (the runbook's `tls13` parameter): `enabled`
   * on a Windows without TLS 1.3 (before build 20348, fact `schannel.tls13-first-build`) is refused before
   * any write. @default 'leave'
   */
  tls13: z._default(z.enum(['leave', 'enabled', 'disabled', 'default']), 'leave'),
});
export type PreflightParams = z.infer<typeof preflightParams>;

