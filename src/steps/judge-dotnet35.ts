/**
 * The reference procedure's step 3 — the TLS System Default Versions support of the .NET Framework 3.5
 * — judged from documented evidence only: the OS build where it ships in the box, the update (or a
 * superseding update the administrator names) among the installed ones. Nothing documents a file
 * version of the fix, and `SslProtocolsExtensions` is application code, so neither is searched for: a
 * server whose evidence is silent is `unknown`, never refused.
 */
import type { Dotnet35Tls, OsInfo } from '../executors/types.js';
import {
  DOTNET35_EXTENSIONS_ARE_APP_CODE,
  DOTNET35_INSTALLED,
  DOTNET35_TLS_FIX_FILE_VERSION,
  DOTNET35_TLS_FIX_KBS,
  DOTNET35_TLS_FIX_SUPERSEDED,
  DOTNET35_TLS_IN_THE_BOX,
} from '../windows/facts/dotnet.js';
import type { Judgement } from './judge-sql.js';

/** The verdict on the fix, with what decided it. */
export type Dotnet35Judgement = Judgement & {
  /** How it was decided: not installed, in the box, an installed update, or no evidence either way. */
  by: 'not-applicable' | 'in-the-box' | 'update' | 'no-evidence';
  /** The updates the procedure names for this OS (empty: in the box). */
  required: string[];
};

function mm(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

/**
 * Judges the .NET 3.5 fix.
 *
 * @example
 * ```ts
 * const os = { version: '6.3.9600', build: 9600 };
 * judgeDotnet35(os, ['KB3154520'], { installed: true, file: null, version: null }).verdict; // 'ok'
 * ```
 */
export function judgeDotnet35(os: Pick<OsInfo, 'version' | 'build'>, hotfixes: readonly string[], dotnet35: Dotnet35Tls | null, extraKbs: readonly string[] = []): Dotnet35Judgement {
  const file = dotnet35?.file ? `${dotnet35.file}${dotnet35.version ? ` ${dotnet35.version}` : ''}` : null;
  if (dotnet35 && !dotnet35.installed) {
    return { verdict: 'ok', by: 'not-applicable', required: [], evidence: '.NET Framework 3.5 is not installed (NDP\\v3.5 Install is not 1): nothing uses the 2.0 runtime', factIds: [DOTNET35_INSTALLED.id] };
  }
  const inBox = DOTNET35_TLS_IN_THE_BOX.value;
  if (mm(os.version) === '10.0' && inBox.includes(os.build)) {
    return { verdict: 'ok', by: 'in-the-box', required: [], evidence: `build ${os.build}: the OS ships the support (builds ${inBox.join(', ')}: Windows Server 2016 and 2019)`, factIds: [DOTNET35_TLS_IN_THE_BOX.id] };
  }
  const row = DOTNET35_TLS_FIX_KBS.value.find((r) => r.version === mm(os.version));
  const factIds = [DOTNET35_TLS_FIX_KBS.id, DOTNET35_TLS_FIX_SUPERSEDED.id, DOTNET35_TLS_FIX_FILE_VERSION.id, DOTNET35_EXTENSIONS_ARE_APP_CODE.id];
  const fileNote = file ? `${file} was read, but Microsoft publishes no file version for the fix` : 'the runtime file was not read';
  const installed = new Set(hotfixes.map((h) => h.toUpperCase()));
  if (mm(os.version) === '10.0' && os.build > Math.min(...inBox)) {
    // Past Windows Server 2016 but not a build a sentence names (Server 2022, 2025, …): the KBs of the
    // table are for Windows 10 1511 and cannot be installed here, and nothing says the OS ships the fix.
    const named = extraKbs.map((k) => k.toUpperCase()).filter((k) => installed.has(k));
    if (named.length > 0) return { verdict: 'ok', by: 'update', required: [], evidence: `${named.join(', ')} installed (named with hotfixSupersededBy)`, factIds: [DOTNET35_TLS_IN_THE_BOX.id, ...factIds] };
    return {
      verdict: 'unknown',
      by: 'no-evidence',
      required: [],
      evidence: `Windows ${os.version} (build ${os.build}): no Microsoft sentence says whether its .NET Framework 3.5 negotiates TLS 1.2 (the .NET table names Windows 10 and 11, whose Windows 10 releases cover Server 2016 and 2019, builds ${inBox.join(' and ')}); the reference's KB3154521/KB3156421 are for Windows 10 1511 and Server 2016 Technical Preview 4; ${fileNote}`,
      factIds: [DOTNET35_TLS_IN_THE_BOX.id, ...factIds],
      fix: 'check that applications on the .NET Framework 3.5 negotiate TLS 1.2 here; if an installed update carries the support, name it with hotfixSupersededBy',
    };
  }
  if (!row) {
    return { verdict: 'unknown', by: 'no-evidence', required: [], evidence: `Windows ${os.version} (build ${os.build}) is not in the table of .NET 3.5 TLS updates; ${fileNote}`, factIds };
  }
  const accepted = [...row.kbs, ...DOTNET35_TLS_FIX_SUPERSEDED.value, ...extraKbs.map((k) => k.toUpperCase())];
  const found = accepted.filter((k) => installed.has(k));
  if (found.length > 0) {
    return { verdict: 'ok', by: 'update', required: [...row.kbs], evidence: `${found.join(', ')} installed`, factIds };
  }
  return {
    verdict: 'unknown',
    by: 'no-evidence',
    required: [...row.kbs],
    evidence: `none of ${accepted.join(', ')} is listed among the installed updates — later .NET Framework updates supersede ${row.kbs.join('/')} without being named; ${fileNote}`,
    factIds,
    fix: `install the latest .NET Framework updates from Windows Update; if one of them carries the fix, name it with hotfixSupersededBy (or install ${row.kbs.join(' or ')})`,
  };
}
