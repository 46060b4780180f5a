/**
 * Windows facts: TLS 1.3 for Orchestrator — Microsoft's "Set up TLS 1.3 for Orchestrator" and the SQL
 * Server documents it leans on. Each states its Microsoft source; see `types.ts` for the shape. The OS
 * side (TLS 1.3 from Windows Server 2022, build 20348) is `schannel.tls13-first-build`.
 */
import { defineFact, type WindowsFact } from './types.js';
import type { OrchestratorRelease } from './orchestrator.js';

const ORCH_TLS13 = {
  title: 'Set up TLS 1.3 for Orchestrator',
  url: 'https://learn.microsoft.com/system-center/orchestrator/install-enable-tls-1-3?view=sc-orch-2025',
};
const SQL_TLS13 = {
  title: 'TLS 1.3 support (SQL Server)',
  url: 'https://learn.microsoft.com/sql/relational-databases/security/networking/tls-1-3',
};
const SQL_CONFIGURE_TLS13 = {
  title: 'Configure TLS 1.3 (SQL Server)',
  url: 'https://learn.microsoft.com/sql/relational-databases/security/networking/connect-with-tls-1-3',
};
const SQL_STRICT = {
  title: 'Connect to SQL Server with strict encryption',
  url: 'https://learn.microsoft.com/sql/relational-databases/security/networking/connect-with-strict-encryption',
};
const OLEDB_MAJOR = {
  title: 'Major version differences (Microsoft OLE DB Driver for SQL Server)',
  url: 'https://learn.microsoft.com/sql/connect/oledb/major-version-differences',
};
const SQL2022_RELEASES = {
  title: 'Release notes for SQL Server 2022 on Linux (release history)',
  url: 'https://learn.microsoft.com/sql/linux/sql-server-linux-release-notes-2022',
};

/** The Orchestrator releases the TLS 1.3 procedure is written for. */
export const TLS13_ORCHESTRATOR_RELEASES = defineFact({
  id: 'tls13.orchestrator-releases',
  topic: 'TLS 1.3 for Orchestrator',
  statement: 'The TLS 1.3 procedure is for Orchestrator 2022 and 2025 (earlier releases: the TLS 1.2 procedure)',
  value: ['2022', '2025'] as OrchestratorRelease[],
  status: 'stated',
  proof: 'microsoft',
  sources: [{ ...ORCH_TLS13, quote: 'Orchestrator should be running version 2022 or 2025.' }],
});

/**
 * TLS 1.2 stays enabled: the page's own Important note (and SQL Server's TLS 1.3 page, word for word)
 * says not to disable it; the page's script, which "configure[s] Windows to use only the TLS 1.3
 * protocol", disables it on both sides. The engine takes the safe side: TLS 1.2 on, unless an
 * administrator who checked that nothing needs it asks for a TLS 1.3-only server side.
 */
export const TLS13_KEEP_TLS12 = defineFact({
  id: 'tls13.keep-tls12',
  topic: 'TLS 1.3 for Orchestrator',
  statement: 'TLS 1.2 must stay enabled next to TLS 1.3 (SQL Server satellite services start over it; SQL Server 2025 setup needs it) — the Orchestrator page says so and its script disables it',
  value: { keepTls12: true, pageScriptDisablesTls12: true },
  status: 'disputed',
  proof: 'microsoft',
  sources: [
    { ...ORCH_TLS13, quote: "Even with TLS 1.3 support for TDS connections, TLS 1.2 is still required for starting up SQL Server satellite services. Don't disable TLS 1.2 on the machine." },
    { ...ORCH_TLS13, quote: 'Run the following Windows PowerShell script in administrator mode to automatically configure Windows to use only the TLS 1.3 protocol:' },
    { ...SQL_TLS13, quote: "Even with TLS 1.3 support for TDS connections, TLS 1.2 is still required for starting up SQL Server satellite services. Don't disable TLS 1.2 on the machine." },
    { ...SQL_TLS13, quote: 'SQL Server 2025 setup fails when TLS 1.3 is the only TLS version enabled on the operating system.' },
  ],
  note: 'The page contradicts itself: its Important note says not to disable TLS 1.2; its script sets TLS 1.2 Enabled=0 and DisabledByDefault=1 on both sides. The engine keeps TLS 1.2 on both sides; the runbook parameter tls12Server=disabled gives the TLS 1.3-only server side to an administrator who checked that nothing needs TLS 1.2 (the client side keeps TLS 1.2 either way).',
});

/** The page's own recommendation for the two sides (its NOTE). */
export const TLS13_SIDES_NOTE = defineFact({
  id: 'tls13.incoming-outgoing-note',
  topic: 'TLS 1.3 for Orchestrator',
  statement: 'The page recommends TLS 1.3 for incoming connections and TLS 1.3 down to TLS 1.0 for outgoing ones',
  value: { Server: ['TLS 1.3'], Client: ['TLS 1.3', 'TLS 1.2', 'TLS 1.1', 'TLS 1.0'] },
  status: 'stated',
  proof: 'microsoft',
  sources: [{ ...ORCH_TLS13, quote: 'We recommend that you enable the TLS 1.3 protocol for incoming communications. Enable the TLS 1.3, TLS 1.2, TLS 1.1, and TLS 1.0 protocols for all outgoing communications.' }],
  note: 'The engine does not follow it: outgoing TLS 1.0/1.1 stay off (as in the TLS 1.2 procedure), and incoming TLS 1.2 stays on (tls13.keep-tls12).',
});

/** .NET Framework 4.x strong cryptography, in the native and the WOW64 views. */
export const TLS13_DOTNET_STRONG_CRYPTO = defineFact({
  id: 'tls13.dotnet-strong-crypto',
  topic: 'TLS 1.3 for Orchestrator',
  statement: 'SchUseStrongCrypto=1 under .NETFramework\\v4.0.30319 in both registry views, besides SystemDefaultTlsVersions=1 under v2.0.50727 and v4.0.30319 in both views',
  value: { name: 'SchUseStrongCrypto', data: 1, key: 'SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319', views: ['64', '32'] },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...ORCH_TLS13, quote: 'c. Create the DWORD  **SchUseStrongCrypto** [Value=1] under this key.' },
    { ...ORCH_TLS13, quote: 'd. Locate the following registry subkey:   `HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\.NetFramework\\v4.0.30319`.' },
    { ...ORCH_TLS13, quote: '|`HKEY\\_LOCAL\\_MACHINE\\SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v2.0.50727` | SystemDefaultTlsVersions | dword:00000001 |' },
  ],
});

/**
 * SQL Server speaks TLS 1.3 from SQL Server 2022 Cumulative Update 1 (16.0.4003.1), with TDS 8.0 (strict
 * encryption); 2019 and earlier never. A 2022 build below CU1 (RTM, or a GDR of the RTM line) does not.
 */
export const TLS13_SQL_SERVER = defineFact({
  id: 'tls13.sql-server-first-build',
  topic: 'TLS 1.3 for Orchestrator',
  statement: 'TLS 1.3 to SQL Server needs SQL Server 2022 with Cumulative Update 1 (16.0.4003.1) or later, over TDS 8.0 (strict encryption); SQL Server 2019 and earlier do not support it',
  value: { major: 16, firstBuild: '16.0.4003.1' },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...ORCH_TLS13, quote: 'Install the SQL server version that supports TLS 1.3. SQL Server 2022 or later supports TLS 1.3.' },
    { ...SQL_TLS13, quote: 'SQL Server (Beginning with SQL Server 2022 (16.x)), and Azure SQL Database support Transport Layer Security (TLS) 1.3 when TDS 8.0 is used.' },
    { ...SQL_TLS13, quote: "SQL Server 2019 (15.x) and earlier versions don't support TLS 1.3." },
    { ...SQL_CONFIGURE_TLS13, quote: 'SQL Server 2022 (16.x) with Cumulative Update 1 or later' },
    { ...SQL2022_RELEASES, quote: '| [CU 1](/troubleshoot/sql/releases/linux/release-history-2022#16-0-4003) | 16.0.4003.1 | 2023-02-16 |' },
  ],
  note: '"Configure TLS 1.3" also lists Windows Server 2022 among the requirements (schannel.tls13-first-build). The release history is the Linux one; the Windows CU1 carries the same build number (16.0.4003.1). Builds of the RTM line (16.0.1xxx, GDRs included) are below CU1.',
});

/** The client drivers that connect with strict encryption (TDS 8.0), which TLS 1.3 needs. */
export const TLS13_DRIVERS = defineFact({
  id: 'tls13.strict-encryption-drivers',
  topic: 'TLS 1.3 for Orchestrator',
  statement: 'Strict encryption (TDS 8.0, hence TLS 1.3) needs the OLE DB Driver 19.2.0 or later (or the ODBC Driver 18.1.2.1 or later); SQL Server Native Client 11 is not among the drivers that can',
  value: { oledb: '19.2.0', odbc: '18.1.2.1', nativeClient11: false },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...SQL_STRICT, quote: 'OLE DB Driver for SQL Server version 19.2.0 or higher' },
    { ...SQL_STRICT, quote: 'ODBC Driver for SQL Server version 18.1.2.1 or higher' },
    { ...OLEDB_MAJOR, quote: 'Version 19.2.0+ also supports TLS 1.3.' },
  ],
  note: 'The Orchestrator page still names "SQL Server 2012 Native client 11.0 or later" as a prerequisite; Native Client is not among the drivers strict encryption lists, so it cannot carry TDS 8.0. Orchestrator 2025 requires the OLE DB Driver 19 (orchestrator.sql-client). The driver\'s version is read at a key no document names (sql.client-registry-keys): a version read there is evidence, never a refusal.',
});

/** Every TLS 1.3 fact, in the order of `docs/windows-facts.md`. */
export const TLS13_FACTS: readonly WindowsFact[] = [
  TLS13_ORCHESTRATOR_RELEASES,
  TLS13_KEEP_TLS12,
  TLS13_SIDES_NOTE,
  TLS13_DOTNET_STRONG_CRYPTO,
  TLS13_SQL_SERVER,
  TLS13_DRIVERS,
];
