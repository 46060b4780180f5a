/** Windows facts: SCHANNEL. Each states its Microsoft source; see `types.ts` for the shape. */
import { defineFact, type WindowsFact } from './types.js';

const TLS_REGISTRY = {
  title: 'Transport Layer Security (TLS) registry settings — TLS, DTLS, and SSL protocol version settings',
  url: 'https://learn.microsoft.com/windows-server/security/tls/tls-registry-settings',
};
const PROTOCOLS_TABLE = {
  title: 'Protocols in TLS/SSL (Schannel SSP)',
  url: 'https://learn.microsoft.com/windows/win32/secauthn/protocols-in-tls-ssl--schannel-ssp-',
};
const SQL_10054 = {
  title: 'An existing connection was forcibly closed by the remote host (OS error 10054)',
  url: 'https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/tls-exist-connection-closed',
};
const DEPRECATION = {
  title: 'TLS 1.0 and TLS 1.1 soon to be disabled in Windows (Windows IT Pro Blog)',
  url: 'https://techcommunity.microsoft.com/t5/windows-it-pro-blog/tls-1-0-and-tls-1-1-soon-to-be-disabled-in-windows/ba-p/3887947',
};

/** Where the per-protocol keys live: `<protocol>\Client` and `<protocol>\Server` below it (64-bit view). */
export const SCHANNEL_PROTOCOLS_KEY_FACT = defineFact({
  id: 'schannel.protocols-key',
  topic: 'SCHANNEL',
  statement: 'The protocol version settings live in version-specific subkeys (e.g. `TLS 1.2\\Server`) below this key',
  value: 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols',
  status: 'stated',
  proof: 'microsoft',
  sources: [{ ...TLS_REGISTRY, quote: 'These version-specific subkeys can be created under the following registry path: HKLM SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols' }],
});

/**
 * `Enabled`: 1 sets a side to the Enabled state, 0 to Disabled; absent, Windows' default applies. An
 * earlier revision of the same document asked for "a non-zero value": any non-zero DWORD enables, and
 * that is how the engine reads one (0xFFFFFFFF included). The value the current revision writes is 1.
 */
export const SCHANNEL_ENABLED_FACT = defineFact({
  id: 'schannel.enabled-value',
  topic: 'SCHANNEL',
  statement: '`Enabled`=1 overrides the default to Enabled, `Enabled`=0 to Disabled; any non-zero value enables (the canonical one is 1)',
  value: { name: 'Enabled', enable: 1, disable: 0, nonZeroEnables: true },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...TLS_REGISTRY, quote: 'In order to override a system default and set a supported (D)TLS or SSL protocol version to the Enabled state, create a DWORD registry value named "Enabled" with an entry value of "1" under the corresponding version-specific subkey.' },
    { ...TLS_REGISTRY, quote: 'In order to override a system default and set a supported (D)TLS or SSL protocol version to the Disabled state, change the DWORD registry value of "Enabled" to "0" under the corresponding version-specific subkey.' },
    { ...TLS_REGISTRY, title: `${TLS_REGISTRY.title} (earlier revision, as quoted in microsoft/CSS-Exchange#1093)`, quote: 'In order to override a system default and set a supported (D)TLS or SSL protocol version to the Enabled state, create a DWORD registry value named "Enabled" with a non-zero value' },
  ],
  note: 'Tools that check the literal value reject 0xFFFFFFFF (what IIS Crypto writes): Exchange Health Checker flagged "Must be a value of 1 or 0" until microsoft/CSS-Exchange#2063 (April 2024). The engine reports such a value and rewrites it to 1 only when asked (windows/schannel `normaliseEnabled`).',
});

/** `DisabledByDefault`=1: the side is not used by default; only an application that asks for it explicitly may negotiate it. */
export const SCHANNEL_DISABLED_BY_DEFAULT_FACT = defineFact({
  id: 'schannel.disabled-by-default',
  topic: 'SCHANNEL',
  statement: '`DisabledByDefault`=1 keeps a protocol side out of what SCHANNEL negotiates by default; only an application that explicitly requests it may still negotiate it',
  value: { name: 'DisabledByDefault', disabledWhen: 1, explicitRequestMayNegotiate: true },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      ...TLS_REGISTRY,
      title: `${TLS_REGISTRY.title} (revision with one section per protocol, TLS 1.2)`,
      quote: 'To disable TLS 1.2 by default, create a DisabledByDefault entry and change the DWORD value to 1. If an SSPI app explicitly requests to use TLS 1.2, it may be negotiated.',
    },
  ],
  note: 'The engine counts a side with DisabledByDefault=1 as not negotiated by the services that use the system defaults (IIS, WinRM, SQL Server); the simulated host refuses it on its endpoints.',
});

/** Changes apply to credential handles acquired afterwards: services that keep theirs need a restart (of the service or the host). */
export const SCHANNEL_CHANGES_APPLY_FACT = defineFact({
  id: 'schannel.changes-apply-to-new-credential-handles',
  topic: 'SCHANNEL',
  statement: 'A changed protocol setting applies to credential handles acquired after the change; a service holding older handles needs a restart. SCHANNEL is not said to read the keys only at boot, so key write times prove nothing',
  value: { appliesTo: 'credential handles acquired after the change', serviceRestartMayBeRequired: true, readOnlyAtBoot: false },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...TLS_REGISTRY, quote: 'Once the (D)TLS or SSL protocol version settings have been modified, they take effect on connections established using credential handles opened by subsequent AcquireCredentialsHandle calls.' },
    { ...TLS_REGISTRY, quote: 'In order to get these applications to reacquire their credential handles, an application or service restart may be required.' },
  ],
});

/**
 * Values already in the registry (written by hand or by Group Policy, without a restart) need not be
 * in effect: the services that answer handshakes keep the credential handles they acquired before, and
 * the procedure restarts the computer after setting the values. Handshakes that show a protocol doing
 * otherwise than its values configure (accepted where they disable it, refused where they enable it)
 * are therefore evidence of a restart owed; handshakes that prove nothing (inconclusive, no endpoint)
 * are not.
 */
export const SCHANNEL_IN_EFFECT_AFTER_RESTART_FACT = defineFact({
  id: 'schannel.in-effect-after-restart',
  topic: 'SCHANNEL',
  statement:
    'Protocol values already in the registry are not in effect for services that acquired their credential handles before they were written; the procedure restarts the computer after setting them. Baseline handshakes that disagree with the values (a protocol accepted that they disable, or refused that they enable) owe a restart',
  value: { restartOwedWhenHandshakesDisagree: true },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...TLS_REGISTRY, quote: 'Once the (D)TLS or SSL protocol version settings have been modified, they take effect on connections established using credential handles opened by subsequent AcquireCredentialsHandle calls.' },
    { ...TLS_REGISTRY, quote: 'In order to get these applications to reacquire their credential handles, an application or service restart may be required.' },
    { title: 'Set up TLS for Orchestrator', url: 'https://learn.microsoft.com/system-center/orchestrator/install-enable-tls', quote: 'Restart the computer.' },
  ],
  note: 'The quote "Restart the computer." is step 4 of the 2019 revision of the Orchestrator page (the text in /work/shared/reference/set-up-tls-for-orchestrator.md), after "Set Windows to use only TLS 1.2.".',
});

type DefaultState = 'enabled' | 'disabled' | 'not-supported';
type SideDefaults = { Client: DefaultState; Server: DefaultState };
/** One row of the protocols table: the build it starts at and each protocol's default per side. */
export type SchannelDefaultsRow = {
  build: number;
  os: string;
  protocols: Record<'SSL 2.0' | 'SSL 3.0' | 'TLS 1.0' | 'TLS 1.1' | 'TLS 1.2' | 'TLS 1.3', SideDefaults>;
};

const both = (s: DefaultState): SideDefaults => ({ Client: s, Server: s });
const row = (build: number, os: string, ssl2: SideDefaults, ssl3: DefaultState, tls10: DefaultState, tls11: DefaultState, tls12: DefaultState, tls13: DefaultState): SchannelDefaultsRow => ({
  build,
  os,
  protocols: { 'SSL 2.0': ssl2, 'SSL 3.0': both(ssl3), 'TLS 1.0': both(tls10), 'TLS 1.1': both(tls11), 'TLS 1.2': both(tls12), 'TLS 1.3': both(tls13) },
});
const SSL2_CLIENT_OFF_SERVER_ON: SideDefaults = { Client: 'disabled', Server: 'enabled' };

/**
 * Windows' own default (no registry value) per protocol, side and OS, as Microsoft's protocols table
 * gives it, one row per Windows Server release this project meets; a build between two rows takes the
 * earlier one (the table's Windows 10 rows in between carry the same values). The table has no row
 * after Windows Server 2022 / Windows 11.
 */
export const SCHANNEL_DEFAULTS_FACT = defineFact<readonly SchannelDefaultsRow[]>({
  id: 'schannel.protocol-defaults',
  topic: 'SCHANNEL',
  statement: "Windows' default per protocol and side when the registry sets nothing: SSL 3.0 on through Windows Server 2012 R2 (off from 2016); SSL 2.0 server on through 2008 R2; TLS 1.1/1.2 off on 2008 R2, on from 2012; TLS 1.3 from 2022",
  value: [
    row(7601, 'Windows 7 / Windows Server 2008 R2', SSL2_CLIENT_OFF_SERVER_ON, 'enabled', 'enabled', 'disabled', 'disabled', 'not-supported'),
    row(9200, 'Windows 8 / Windows Server 2012', both('disabled'), 'enabled', 'enabled', 'enabled', 'enabled', 'not-supported'),
    row(9600, 'Windows 8.1 / Windows Server 2012 R2', both('disabled'), 'enabled', 'enabled', 'enabled', 'enabled', 'not-supported'),
    row(14393, 'Windows 10 1607 / Windows Server 2016', both('not-supported'), 'disabled', 'enabled', 'enabled', 'enabled', 'not-supported'),
    row(17763, 'Windows 10 1809 / Windows Server 2019', both('not-supported'), 'disabled', 'enabled', 'enabled', 'enabled', 'not-supported'),
    row(20348, 'Windows Server 2022', both('not-supported'), 'disabled', 'enabled', 'enabled', 'enabled', 'enabled'),
  ],
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...PROTOCOLS_TABLE, quote: '| Windows 8.1/Windows Server 2012 R2 | Not supported | Disabled | Disabled | Enabled | Enabled |' },
    { ...PROTOCOLS_TABLE, quote: '| Windows 7/Windows Server 2008 R2 | Enabled | Enabled | Disabled | Disabled | Disabled | Disabled | Not supported | Not supported |' },
    { ...PROTOCOLS_TABLE, quote: '| Windows Server 2022 | Enabled | Enabled | Enabled | Enabled | Enabled | Enabled | Enabled | Enabled |' },
    { ...PROTOCOLS_TABLE, quote: '| Windows 10, version 1607/Windows Server 2016 Standard | Not supported | Not supported | Not supported | Disabled | Disabled |' },
  ],
  note: 'Pre-TLS table columns: PCT 1.0, SSL2 Client, SSL2 Server, SSL3 Client, SSL3 Server; TLS table columns: TLS 1.0 to 1.3, Client then Server. TLS 1.0 and 1.1 from Windows Server 2022 on are disputed (schannel.tls10-tls11-default-from-2022); no row covers builds after 20348.',
});

/**
 * TLS 1.3: Windows Server 2022 (build 20348) is the first Server release the table lists it for, and the
 * last row of the table. A build before it has no TLS 1.3; a build after it (Windows Server 2025, 26100)
 * is in no row: whether it has TLS 1.3 is `unknown` (`protocolSupported` answers null), never assumed.
 */
export const TLS13_FIRST_BUILD_FACT = defineFact({
  id: 'schannel.tls13-first-build',
  topic: 'SCHANNEL',
  statement: 'TLS 1.3 exists on Windows Server 2022 (build 20348); earlier builds do not support it; the protocols table has no row for a later build (Windows Server 2025, 26100), so that is not stated',
  value: 20348,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...PROTOCOLS_TABLE, quote: '| Windows 10, version 1809//Windows Server 2019 | Enabled | Enabled | Enabled | Enabled | Enabled | Enabled | Not supported | Not supported |' },
    { ...PROTOCOLS_TABLE, quote: '| Windows Server 2022 | Enabled | Enabled | Enabled | Enabled | Enabled | Enabled | Enabled | Enabled |' },
  ],
  note: 'Searched the docs and pages corpora (the protocols table, the TLS/SSL overview, the SQL Server TLS 1.3 page\'s operating-system list, MS-TLSP\'s product behavior) for a row or sentence giving TLS 1.3 on Windows Server 2025 (build 26100): none found with the sentence itself (the SQL Server page\'s list did not come with its items). The preflight (os-tls13) and the parameters (tls13=enabled, tls12Server=disabled) therefore judge build 20348 `ok`, earlier builds refused, later builds `unknown`.',
});

/**
 * TLS 1.2 after the table's last row: the SQL Server support article states it for every supported
 * Windows, which covers Windows Server 2025.
 */
export const TLS12_ENABLED_EVERYWHERE_FACT = defineFact({
  id: 'schannel.tls12-default-after-table',
  topic: 'SCHANNEL',
  statement: 'TLS 1.2 is enabled by default on every supported Windows, builds after the protocols table (Windows Server 2025) included',
  value: { protocol: 'TLS 1.2', state: 'enabled' },
  status: 'stated',
  proof: 'microsoft',
  sources: [{ ...SQL_10054, quote: '| TLS 1.2 | Enabled by default on all supported Windows versions. Broadly supported by SQL Server and modern client drivers. | Recommended baseline. |' }],
});

/**
 * TLS 1.0 and 1.1 from Windows Server 2022 (build 20348) on: the protocols table says enabled on 2022,
 * a SQL Server support article says disabled on 2022 and later, the deprecation announcement says
 * disabled in future releases (2025 is one; 2022 was released before it). No guess decides: the engine
 * reads the host (values present, handshakes).
 */
export const TLS10_TLS11_FROM_2022_FACT = defineFact({
  id: 'schannel.tls10-tls11-default-from-2022',
  topic: 'SCHANNEL',
  statement: "Whether TLS 1.0 and TLS 1.1 are on by default from Windows Server 2022 (build 20348) on: Microsoft's documents disagree",
  value: {
    protocols: ['TLS 1.0', 'TLS 1.1'],
    fromBuild: 20348,
    readings: [
      { document: PROTOCOLS_TABLE.title, state: 'enabled', builds: 'Windows Server 2022 (no row after it)' },
      { document: SQL_10054.title, state: 'disabled', builds: 'Windows 11, Windows Server 2022 and later' },
      { document: DEPRECATION.title, state: 'disabled', builds: 'future Windows releases (after September 2023)' },
    ],
  },
  status: 'disputed',
  proof: 'microsoft',
  sources: [
    { ...PROTOCOLS_TABLE, quote: '| Windows Server 2022 | Enabled | Enabled | Enabled | Enabled | Enabled | Enabled | Enabled | Enabled |' },
    { ...SQL_10054, quote: 'On modern Windows releases (Windows 11, Windows Server 2022, and later), TLS 1.0 and TLS 1.1 are disabled by default.' },
    { ...DEPRECATION, quote: 'To increase the security posture of Windows customers and encourage modern protocol adoption, TLS versions 1.0 and 1.1 will soon be disabled by default in the operating system, starting with Windows 11 Insider Preview builds in September 2023 and future Windows OS releases.' },
  ],
  note: 'Could not be settled: the protocols table (enabled on 2022, silent on 2025) against the SQL Server 10054 article (disabled from 2022) and the deprecation announcement (disabled in future releases). The engine never assumes either: it writes explicit values, reads the values present, and proves by handshake.',
});

/** Every SCHANNEL fact, in the order of `docs/windows-facts.md`. */
export const SCHANNEL_FACTS: readonly WindowsFact[] = [
  SCHANNEL_PROTOCOLS_KEY_FACT,
  SCHANNEL_ENABLED_FACT,
  SCHANNEL_DISABLED_BY_DEFAULT_FACT,
  SCHANNEL_CHANGES_APPLY_FACT,
  SCHANNEL_IN_EFFECT_AFTER_RESTART_FACT,
  SCHANNEL_DEFAULTS_FACT,
  TLS13_FIRST_BUILD_FACT,
  TLS12_ENABLED_EVERYWHERE_FACT,
  TLS10_TLS11_FROM_2022_FACT,
];
