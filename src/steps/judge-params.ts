/**
 * The runbook parameters a host's facts can make impossible, judged before any write: a value this
 * Windows cannot carry out is refused as the operator's input (`param` set on the verdict: the run
 * ends with `PARAMETER_REFUSED`, exit 2, nothing changed). `judgeHost` calls it; nothing here carries a
 * threshold of its own.
 *
 * Impossible where the runbooks run: `tls13=enabled` (orchestrator-tls12) and `tls12Server=disabled`
 * (orchestrator-tls13) on a Windows whose SCHANNEL has no TLS 1.3, before build 20348 (fact
 * `schannel.tls13-first-build`); after it, where the protocols table has no row, they are `unknown`.
 * `tls13=disabled` and `tls13=default` on such a host ask for what the host already is (no TLS 1.3 is
 * negotiated): harmless, `ok`. Every other parameter of the
 * bundled runbooks (mode, procedure, strongCrypto, normaliseEnabled, …) names values every Windows that
 * runs Orchestrator has (TLS 1.2 from Windows Server 2008 R2 on, the `schannel.protocol-defaults` table).
 */
import { TLS13_FIRST_BUILD_FACT } from '../windows/facts/schannel.js';
import { TLS13, protocolSupported } from '../windows/schannel.js';
import type { PreflightParams } from './preflight-params.js';
import type { HostVerdict, PreflightReads } from './verdicts.js';

/** Where a fact is stated, for a message: `fact <id> ("<title>", <url>)`. */
function factCited(fact: { id: string; sources: readonly { title: string; url: string }[] }): string {
  const s = fact.sources[0];
  return s ? `fact ${fact.id} ("${s.title}", ${s.url})` : `fact ${fact.id}`;
}

/**
 * The verdict on each parameter the host's facts decide (none when the parameter leaves things as
 * they are). A verdict carries `param`: the parameter and value it judges.
 *
 * @example
 * ```ts
 * declare const reads: Parameters<typeof judgeParams>[0]; // what the preflight read
 * declare const params: Parameters<typeof judgeParams>[1];
 * const verdicts = judgeParams(reads, { ...params, tls13: 'enabled' });
 * // on Server 2016: [{ check: 'param-tls13', verdict: 'refuse', param: 'tls13=enabled', … }]
 * ```
 */
export function judgeParams(reads: PreflightReads, params: PreflightParams): HostVerdict[] {
  return [...judgeTls13Param(reads, params.tls13), ...judgeTls12ServerParam(reads, params.tls12Server)];
}

/**
 * `tls13`: `enabled` needs TLS 1.3 in SCHANNEL (`protocolSupported`, as the preflight's os-tls13 judges
 * it): refused before build 20348, `unknown` after it (no row of the protocols table). `disabled` and
 * `default` are harmless where it is absent and carried out where it exists, so they are `ok` whatever
 * the table says of the build.
 */
function judgeTls13Param(reads: PreflightReads, setting: PreflightParams['tls13']): HostVerdict[] {
  if (setting === 'leave') return [];
  const { os } = reads;
  const first = TLS13_FIRST_BUILD_FACT.value;
  const param = `tls13=${setting}`;
  const base = { check: 'param-tls13', param, factIds: [TLS13_FIRST_BUILD_FACT.id] };
  const read = `${os.caption} (${os.version}, build ${os.build})`;
  const supported = protocolSupported(TLS13, os.build);
  if (supported === true) return [{ ...base, verdict: 'ok', evidence: `${param}: ${read} has TLS 1.3 (the protocols table's row for build ${first}, Windows Server 2022)` }];
  if (supported === null) {
    if (setting !== 'enabled') {
      return [{ ...base, verdict: 'ok', evidence: `${param}: no Microsoft row says whether ${read} has TLS 1.3 (the protocols table ends with build ${first}); ${setting} is carried out if it has and asks for what it already is if not` }];
    }
    return [{
      ...base,
      verdict: 'unknown',
      evidence: `${param}: no Microsoft row or sentence found says whether ${read} has TLS 1.3 (the protocols table ends with build ${first}, Windows Server 2022), per ${factCited(TLS13_FIRST_BUILD_FACT)}`,
      fix: 'check that this Windows negotiates TLS 1.3 (the handshakes of tls-baseline show it), or leave tls13 out',
    }];
  }
  if (setting !== 'enabled') {
    return [{ ...base, verdict: 'ok', evidence: `${param}: ${read} has no TLS 1.3 (from build ${first}); ${setting} asks for what it already is` }];
  }
  return [{
    ...base,
    verdict: 'refuse',
    evidence: `parameter ${param} is impossible here: ${read} has no TLS 1.3, which SCHANNEL supports from build ${first} (Windows Server 2022), per ${factCited(TLS13_FIRST_BUILD_FACT)}`,
    fix: 'leave tls13 out (or tls13=leave) on this host; TLS 1.3 needs Windows Server 2022 or later',
  }];
}

/**
 * `tls12Server=disabled` (orchestrator-tls13's TLS 1.3-only server side) on a Windows without TLS 1.3
 * would leave the server side no TLS version at all: refused; on a build the protocols table has no row
 * for, `unknown` (as the preflight's os-tls13). `enabled` (the default) changes nothing here.
 */
function judgeTls12ServerParam(reads: PreflightReads, setting: PreflightParams['tls12Server']): HostVerdict[] {
  if (setting !== 'disabled') return [];
  const { os } = reads;
  const first = TLS13_FIRST_BUILD_FACT.value;
  const param = 'tls12Server=disabled';
  const base = { check: 'param-tls12Server', param, factIds: [TLS13_FIRST_BUILD_FACT.id] };
  const read = `${os.caption} (${os.version}, build ${os.build})`;
  const supported = protocolSupported(TLS13, os.build);
  if (supported === true) return [{ ...base, verdict: 'ok', evidence: `${param}: ${read} has TLS 1.3 (the protocols table's row for build ${first}) for the server side` }];
  if (supported === null) {
    return [{
      ...base,
      verdict: 'unknown',
      evidence: `${param}: no Microsoft row or sentence found says whether ${read} has TLS 1.3 (the protocols table ends with build ${first}); without it the server side would accept no TLS version at all, per ${factCited(TLS13_FIRST_BUILD_FACT)}`,
      fix: 'check that this Windows negotiates TLS 1.3 (the handshakes of tls-baseline show it), or keep tls12Server=enabled',
    }];
  }
  return [{
    ...base,
    verdict: 'refuse',
    evidence: `parameter ${param} is impossible here: ${read} has no TLS 1.3 (SCHANNEL supports it from build ${first}), so the server side would accept no TLS version at all, per ${factCited(TLS13_FIRST_BUILD_FACT)}`,
    fix: 'keep tls12Server=enabled; a TLS 1.3-only server side needs Windows Server 2022 or later',
  }];
}
