/**
 * Windows facts: the procedure. Microsoft's Orchestrator page on TLS 1.2, in the two revisions the
 * runbook can follow: `current` ("Set up TLS 1.2 for Orchestrator", ms.date 11/01/2024) and `2019`
 * ("Set up TLS for Orchestrator", ms.date 07/05/2019, the text in /work/shared/reference). Each fact's
 * value is keyed by revision; see `types.ts` for the shape. The quotes are the pages' sentences as
 * they render (without the Markdown emphasis of their sources).
 */
import { defineFact, type FactSource, type WindowsFact } from './types.js';

/** The revisions of the page a run can follow (`procedure` parameter of the runbook). */
export const PROCEDURE_REVISIONS = ['current', '2019'] as const;
export type ProcedureRevision = (typeof PROCEDURE_REVISIONS)[number];

const CURRENT = {
  title: 'Set up TLS 1.2 for Orchestrator',
  url: 'https://learn.microsoft.com/system-center/orchestrator/install-enable-tls-1-2',
} as const;
const OLD = {
  title: 'Set up TLS for Orchestrator',
  url: 'https://learn.microsoft.com/system-center/orchestrator/install-enable-tls',
} as const;
const current = (quote: string): FactSource => ({ ...CURRENT, quote });
const old = (quote: string): FactSource => ({ ...OLD, quote });

/** The page of each revision: title, address, ms.date. */
export const PROCEDURE_PAGES = defineFact({
  id: 'procedure.pages',
  topic: 'The procedure',
  statement:
    "Microsoft's Orchestrator page on TLS 1.2 as the runbook follows it: the current revision (retitled, at a new address, ms.date 11/01/2024) and the 2019 revision the runbook was first written from",
  value: {
    current: { ...CURRENT, msDate: '2024-11-01' },
    '2019': { ...OLD, msDate: '2019-07-05' },
  } as Record<ProcedureRevision, { title: string; url: string; msDate: string }>,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    current('This article describes how to set up Transport Security Layer (TLS) protocol version 1.2 with System Center - Orchestrator.'),
    old('This article describes how to set up Transport Security Layer (TLS) protocol version 1.2 with System Center - Orchestrator'),
  ],
  note: "ms.date is the page's metadata (11/01/2024 and 07/05/2019), read in its source in MicrosoftDocs/SystemCenterDocs (orchestrator/install-enable-tls-1-2.md and orchestrator/install-enable-tls.md); the current page's moniker range is <=sc-orch-2022.",
});

/**
 * The order of the steps that change or judge the server, by the step kind that carries each out: the
 * current page configures the .NET Framework first ("Configure Orchestrator to use TLS 1.2", whose
 * sub-step f is the 2019 page's step 2) and SCHANNEL second; the 2019 page did the opposite.
 */
export const PROCEDURE_ORDER = defineFact({
  id: 'procedure.order',
  topic: 'The procedure',
  statement: 'The order of the configuration steps: .NET Framework before SCHANNEL in the current revision, SCHANNEL before .NET Framework in the 2019 one; then the updates, the restart and the Integration Pack fix',
  value: {
    current: ['windows/dotnet-tls', 'windows/schannel', 'windows/hotfix-verify', 'windows/restart', 'orchestrator/ip-verify'],
    '2019': ['windows/schannel', 'windows/dotnet-tls', 'windows/hotfix-verify', 'windows/restart', 'orchestrator/ip-verify'],
  } as Record<ProcedureRevision, readonly string[]>,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    current('Configure Orchestrator to use TLS 1.2'),
    current('Set Windows to use only TLS 1.2.'),
    old('Set Windows to use only TLS 1.2.'),
    old('Set System Center to use only TLS 1.2.'),
  ],
  note: 'The current page numbers "Configure Orchestrator to use TLS 1.2" (SchUseStrongCrypto, then the SystemDefaultTlsVersions tables as its sub-step f) as step 1 and "Set Windows to use only TLS 1.2." as step 2; the 2019 page numbers "Set Windows to use only TLS 1.2." as step 1 and "Set System Center to use only TLS 1.2." as step 2. Steps 3 (updates) and 4 (restart) and the Integration Pack note keep their places.',
});

/**
 * `SchUseStrongCrypto`: the current page creates it (DWORD 1) under `.NETFramework\v4.0.30319` in the
 * native and the WOW6432Node key, as the first thing it does; the 2019 page does not set it.
 */
export const PROCEDURE_STRONG_CRYPTO = defineFact({
  id: 'procedure.strong-crypto',
  topic: 'The procedure',
  statement: 'SchUseStrongCrypto = 1 (REG_DWORD) under .NETFramework\\v4.0.30319 in both registry views (native and WOW6432Node) in the current revision; not set by the 2019 revision',
  value: {
    current: { name: 'SchUseStrongCrypto', data: 1, versions: ['v4.0.30319'] },
    '2019': null,
  } as Record<ProcedureRevision, { name: string; data: number; versions: readonly string[] } | null>,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    current('Locate the following registry subkey: HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319.'),
    current('Create the DWORD SchUseStrongCrypto [Value=1] under this key.'),
    current('Locate the following registry subkey: HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\.NetFramework\\v4.0.30319.'),
  ],
  note: 'The 2019 page names no SchUseStrongCrypto value anywhere; its step 2 tables list SystemDefaultTlsVersions only. Neither revision asks for SchUseStrongCrypto under v2.0.50727. On a 32-bit Windows there is no WOW6432Node: the native key is the only one.',
});

/**
 * `SystemDefaultTlsVersions` = 1 in the .NET 2.0 and 4 keys (`key` is the HKLM path of the
 * `.NETFramework` key, read in each registry view), in both views on 64-bit Windows: the same table in
 * both revisions.
 */
export const PROCEDURE_SYSTEM_DEFAULT_TLS = defineFact({
  id: 'procedure.system-default-tls-versions',
  topic: 'The procedure',
  statement: 'SystemDefaultTlsVersions = 1 (REG_DWORD) under .NETFramework\\v2.0.50727 and \\v4.0.30319: both views on a 64-bit OS (four keys), the native keys on a 32-bit OS (two); the same in both revisions',
  value: { key: 'SOFTWARE\\Microsoft\\.NETFramework', name: 'SystemDefaultTlsVersions', data: 1, versions: ['v2.0.50727', 'v4.0.30319'] } as { key: string; name: string; data: number; versions: readonly string[] },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    current('HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v2.0.50727 | SystemDefaultTlsVersions | dword:00000001'),
    current('HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319 | SystemDefaultTlsVersions | dword:00000001'),
    old('HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v4.0.30319 | SystemDefaultTlsVersions | dword:00000001'),
  ],
  note: "The 2019 page's 32-bit table spells the 2.0 key with a stray space (.NETFramework\\ v2.0.50727); the current page corrects it.",
});

/** SCHANNEL: the values per protocol side and which protocols stay on; the same in both revisions. */
export const PROCEDURE_SCHANNEL = defineFact({
  id: 'procedure.schannel-values',
  topic: 'The procedure',
  statement:
    'SCHANNEL, under each protocol\'s Client and Server key: enabled = DisabledByDefault 0 and Enabled 1, disabled = DisabledByDefault 1 and Enabled 0; TLS 1.2 enabled, SSL 2.0, SSL 3.0, TLS 1.0 and TLS 1.1 disabled (the script); the same in both revisions',
  value: {
    enabled: { Enabled: 1, DisabledByDefault: 0 },
    disabled: { Enabled: 0, DisabledByDefault: 1 },
    on: ['TLS 1.2'],
    off: ['SSL 2.0', 'SSL 3.0', 'TLS 1.0', 'TLS 1.1'],
  },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    current('To enable a protocol, create the DWORD value under each client and server key, as follows:'),
    current('To disable a protocol, change the DWORD value under each client and server key, as follows:'),
    current('Run the following Windows PowerShell script in administrator mode to automatically configure Windows to use only the TLS 1.2 protocol:'),
  ],
  note: 'The values follow each sentence as a list ("DisabledByDefault [Value = 0]", "Enabled [Value = 1]" to enable; 1 and 0 to disable); the script\'s $ProtocolList is SSL 2.0, SSL 3.0, TLS 1.0, TLS 1.1 and TLS 1.2, TLS 1.2 the only one enabled. The NOTE keeps outgoing TLS 1.0/1.1 (mode tls12-incoming-only).',
});

/**
 * The page's NOTE on SCHANNEL (mode `tls12-incoming-only`): TLS 1.2 alone for incoming communications
 * (the Server side), TLS 1.2, 1.1 and 1.0 for outgoing ones (the Client side). What each side turns off
 * is the rest of the script's $ProtocolList (`procedure.schannel-values`).
 */
export const PROCEDURE_SCHANNEL_INCOMING_ONLY = defineFact({
  id: 'procedure.schannel-incoming-only',
  topic: 'The procedure',
  statement:
    "The NOTE's alternative to the script: incoming (Server) TLS 1.2 only; outgoing (Client) TLS 1.2, TLS 1.1 and TLS 1.0; SSL 2.0 and 3.0 off on both sides, as the script turns them off",
  value: {
    Server: { on: ['TLS 1.2'], off: ['SSL 2.0', 'SSL 3.0', 'TLS 1.0', 'TLS 1.1'] },
    Client: { on: ['TLS 1.0', 'TLS 1.1', 'TLS 1.2'], off: ['SSL 2.0', 'SSL 3.0'] },
  },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    old('We recommend that you enable the TLS 1.2 protocol for incoming communications. Enable the TLS 1.2, TLS 1.1, and TLS 1.0 protocols for all outgoing communications.'),
  ],
  note: "Quoted from the 2019 revision (the copy in /work/shared/reference, step 1, Method 1's NOTE); the same two sentences stand in the same NOTE of Microsoft's Orchestrator integration pack page for Operations Manager. The current revision's NOTE was not read again against the live page for this fact. The NOTE names no SSL protocol: SSL 2.0 and 3.0 stay off on both sides as the script's $ProtocolList turns them off.",
});

/** The Orchestrator releases each revision's "Before you start" accepts. */
export const PROCEDURE_RELEASES = defineFact({
  id: 'procedure.orchestrator-releases',
  topic: 'The procedure',
  statement: "The Orchestrator releases the procedure is written for: 2016 UR4 or later, 2019 and 2022 in the current revision; 2016 UR4 or later, 1801, 1807 and 2019 in the 2019 one",
  value: {
    current: ['2016 UR4', '2019', '2022'],
    '2019': ['2016 UR4', '1801', '1807', '2019'],
  } as Record<ProcedureRevision, readonly string[]>,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    current('Orchestrator should be running version 2016 with Update Rollup 4 or later, 2019, or 2022.'),
    old('Orchestrator should be running version 2016 with Update Rollup 4 or later/1801/1807/2019.'),
  ],
  note: "The preflight of the TLS 1.2 runbook judges a host's release by the revision it follows (parameter procedure): a release that revision names is `ok`, any other release the engine knows (orchestrator.accepted-releases) is `unknown`, with what the page lists. The current page's moniker range (<=sc-orch-2022) leaves Orchestrator 2025 to Microsoft's separate TLS 1.3 page; the 2019 page predates 2022 and 2025.",
});

/** Every procedure fact, in the order of `docs/windows-facts.md`. */
export const PROCEDURE_FACTS: readonly WindowsFact[] = [
  PROCEDURE_PAGES,
  PROCEDURE_ORDER,
  PROCEDURE_STRONG_CRYPTO,
  PROCEDURE_SYSTEM_DEFAULT_TLS,
  PROCEDURE_SCHANNEL,
  PROCEDURE_SCHANNEL_INCOMING_ONLY,
  PROCEDURE_RELEASES,
];
