/** Windows facts: SQL Server. Each states its Microsoft source; see `types.ts` for the shape. */
import { defineFact, type WindowsFact } from './types.js';

const KB3135244 = {
  title: 'TLS 1.2 support for Microsoft SQL Server (KB3135244)',
  url: 'https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/tls-1-2-support-microsoft-sql-server',
};
const KB321185 = {
  title: 'Latest updates and version history for SQL Server (KB321185)',
  url: 'https://learn.microsoft.com/troubleshoot/sql/releases/download-and-install-latest-updates',
};

/**
 * One row of KB3135244's server table. `line` is the servicing line the build belongs to inside its
 * service pack: `GDR` (security fixes only), `CU` (cumulative updates), or `all` (every build of the
 * service pack; `build` absent: every build supports TLS 1.2). `platform: 'IA-64'` marks rows the KB
 * gives for Itanium only.
 */
export type SqlTls12Row = { release: string; line: 'GDR' | 'CU' | 'all'; build?: string; platform?: 'IA-64' };

/**
 * KB3135244's table of the first builds with TLS 1.2, per release and servicing line. "Builds that are
 * later than those listed in this table also support TLS 1.2" holds within a line: a CU build numbered
 * above the GDR fix (12.0.4436.0, SQL Server 2014 SP1 CU4) is still older than the CU fix.
 */
export const SQL_TLS12_FIRST_BUILDS = defineFact({
  id: 'sql.tls12-first-builds',
  topic: 'SQL Server',
  statement: 'The first build with TLS 1.2 of each SQL Server 2008 to 2014 servicing line (GDR and CU apart); 2014 SP2/SP3 and 2012 SP4 have it in every build',
  value: [
    { release: 'SQL Server 2014 SP1', line: 'CU', build: '12.0.4439.1' },
    { release: 'SQL Server 2014 SP1', line: 'GDR', build: '12.0.4219.0' },
    { release: 'SQL Server 2014 RTM', line: 'CU', build: '12.0.2564.0' },
    { release: 'SQL Server 2014 RTM', line: 'GDR', build: '12.0.2271.0' },
    { release: 'SQL Server 2014 SP2', line: 'all' },
    { release: 'SQL Server 2014 SP3', line: 'all' },
    { release: 'SQL Server 2012 SP3', line: 'GDR', build: '11.0.6216.27' },
    { release: 'SQL Server 2012 SP3', line: 'CU', build: '11.0.6518.0' },
    { release: 'SQL Server 2012 SP2', line: 'GDR', build: '11.0.5352.0' },
    { release: 'SQL Server 2012 SP2', line: 'CU', build: '11.0.5644.2' },
    { release: 'SQL Server 2012 SP4', line: 'all' },
    { release: 'SQL Server 2008 R2 SP3', line: 'all', build: '10.50.6542.0' },
    { release: 'SQL Server 2008 R2 SP2', line: 'GDR', build: '10.50.4047.0', platform: 'IA-64' },
    { release: 'SQL Server 2008 R2 SP2', line: 'CU', build: '10.50.4344.0', platform: 'IA-64' },
    { release: 'SQL Server 2008 SP4', line: 'all', build: '10.0.6547.0' },
    { release: 'SQL Server 2008 SP3', line: 'GDR', build: '10.0.5545.0', platform: 'IA-64' },
    { release: 'SQL Server 2008 SP3', line: 'CU', build: '10.0.5896.0', platform: 'IA-64' },
  ] as SqlTls12Row[],
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...KB3135244, quote: 'Builds that are later than those listed in this table also support TLS 1.2.' },
    { ...KB3135244, quote: '|SQL Server 2014 SP1 CU     |     12.0.4439.1 <br><br> SP1 CU5    |' },
    { ...KB3135244, quote: '|SQL Server 2014 SP1 GDR   |    12.0.4219.0 <br><br> SP1 GDR TLS 1.2 Update|' },
    { ...KB3135244, quote: '|SQL Server 2014 RTM CU     |   12.0.2564.0  <br><br> RTM CU12   |' },
    { ...KB3135244, quote: '|SQL Server 2014 RTM GDR     |   12.0.2271.0  <br><br> RTM GDR TLS 1.2 Update    |' },
    { ...KB3135244, quote: '**Note**: TLS 1.2 support is also available in [2014 SP2](…) and [2014 SP3](…).' },
    { ...KB3135244, quote: '|SQL Server 2012 SP3 GDR     |    11.0.6216.27  <br><br> SP3 GDR TLS 1.2 Update  |' },
    { ...KB3135244, quote: '|SQL Server 2012 SP3 CU     |    11.0.6518.0  <br><br> SP1 CU3  |' },
    { ...KB3135244, quote: '|SQL Server 2012 SP2 GDR     |    11.0.5352.0  <br><br> SP2 GDR TLS 1.2 Update   |' },
    { ...KB3135244, quote: '|SQL Server 2012 SP2 CU     |   11.0.5644.2 <br><br>  SP2 CU10   |' },
    { ...KB3135244, quote: '**Note**: TLS 1.2 support is also available in [2012 SP4](…).' },
    { ...KB3135244, quote: '|SQL Server 2008 R2 SP3 (x86/x64 only)     |    10.50.6542.0 <br><br> SP2 TLS 1.2 Update   |' },
    { ...KB3135244, quote: '|SQL Server 2008 R2 SP2 GDR (IA-64 only)     |   10.50.4047.0  <br><br> SP2 TLS 1.2 Update   |' },
    { ...KB3135244, quote: '|SQL Server 2008 R2 SP2 CU (IA-64 only)     |  10.50.4344.0  <br><br>   SP2 TLS 1.2 Update   |' },
    { ...KB3135244, quote: '|SQL Server 2008 SP4 (x86/x64 only)     |  10.0.6547.0 <br><br>  SP4 TLS 1.2 Update     |' },
    { ...KB3135244, quote: '|SQL Server 2008 SP3 GDR (IA-64 only)   |  10.0.5545.0  <br><br>  SP3 TLS 1.2 Update   |' },
    { ...KB3135244, quote: '|SQL Server 2008 SP3 CU (IA-64 only)     | 10.0.5896.0   <br><br>  SP3 TLS 1.2 Update   |' },
  ],
  note: 'The 2012 SP3 CU row reads "SP1 CU3" but links Cumulative Update 1 for SQL Server 2012 SP3 (KB3123299), whose build is 11.0.6518.0. The SQL Server 2008 SP3 and 2008 R2 SP2 rows are for IA-64 only: the engine does not read the platform of a SQL Server, so a build at or above them is `unknown`, a build below them is refused (no line of that service pack has TLS 1.2 below it).',
});

/**
 * Where each service pack's builds begin, and where its cumulative-update line begins (the first CU
 * of the service pack; the GDR line is below it). Read from KB321185's version list.
 */
export const SQL_SERVICE_PACKS = defineFact({
  id: 'sql.service-pack-builds',
  topic: 'SQL Server',
  statement: 'The first build of each SQL Server 2008 to 2014 service pack, and the first cumulative update of each (the GDR line lies below it)',
  value: [
    { release: 'SQL Server 2008 RTM', first: '10.0.1600.22' },
    { release: 'SQL Server 2008 SP1', first: '10.0.2531.0' },
    { release: 'SQL Server 2008 SP2', first: '10.0.4000.0' },
    { release: 'SQL Server 2008 SP3', first: '10.0.5500.0', firstCu: '10.0.5766.0' },
    { release: 'SQL Server 2008 SP4', first: '10.0.6000.29' },
    { release: 'SQL Server 2008 R2 RTM', first: '10.50.1600.1' },
    { release: 'SQL Server 2008 R2 SP1', first: '10.50.2500.0' },
    { release: 'SQL Server 2008 R2 SP2', first: '10.50.4000.0', firstCu: '10.50.4260.0' },
    { release: 'SQL Server 2008 R2 SP3', first: '10.50.6000.34' },
    { release: 'SQL Server 2012 RTM', first: '11.0.2100.60' },
    { release: 'SQL Server 2012 SP1', first: '11.0.3000.0' },
    { release: 'SQL Server 2012 SP2', first: '11.0.5058.0', firstCu: '11.0.5532.0' },
    { release: 'SQL Server 2012 SP3', first: '11.0.6020.0', firstCu: '11.0.6518.0' },
    { release: 'SQL Server 2012 SP4', first: '11.0.7001.0' },
    { release: 'SQL Server 2014 RTM', first: '12.0.2000.8', firstCu: '12.0.2342.0' },
    { release: 'SQL Server 2014 SP1', first: '12.0.4100.1', firstCu: '12.0.4416.0' },
    { release: 'SQL Server 2014 SP2', first: '12.0.5000.0' },
    { release: 'SQL Server 2014 SP3', first: '12.0.6024.0' },
  ] as { release: string; first: string; firstCu?: string }[],
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...KB321185, quote: '|12.0.4416.0|SP1|CU1| [3067839](https://support.microsoft.com/help/3067839)|June 19, 2015|' },
    { ...KB321185, quote: '|12.0.4100.1|SP1| RTW/PCU1| [3058865](https://support.microsoft.com/help/3058865)|May 04, 2015|' },
    { ...KB321185, quote: '|12.0.2342.0|RTM|CU1| [2931693](https://support.microsoft.com/help/2931693)|April 21, 2014|' },
    { ...KB321185, quote: '|12.0.5000.0|SP2| RTW/PCU2| [3171021](https://support.microsoft.com/help/3171021)|July 11, 2016|' },
    { ...KB321185, quote: '[SP3](https://support.microsoft.com/help/4022619) (12.0.6024.0 - October 2018)' },
    { ...KB321185, quote: '|11.0.5532.0|SP2|CU1| [2976982](https://support.microsoft.com/help/2976982)|July 23, 2014|' },
    { ...KB321185, quote: '|11.0.5058.0|SP2| RTW/PCU2| [2958429](https://support.microsoft.com/help/2958429)|June 10, 2014|' },
    { ...KB321185, quote: '|11.0.6518.0|SP3|CU1| [3123299](https://support.microsoft.com/help/3123299)|January 19, 2016|' },
    { ...KB321185, quote: '|11.0.6020.0|SP3| RTW/PCU3| [3072779](https://support.microsoft.com/help/3072779)|November 20, 2015|' },
    { ...KB321185, quote: '|11.0.7001.0|SP4| RTW/PCU4| [4018073](https://support.microsoft.com/help/4018073)|October 2, 2017|' },
    { ...KB321185, quote: '|10.50.4260.00|SP2|CU1| [2720425](https://support.microsoft.com/help/2720425)|July 24, 2012|' },
    { ...KB321185, quote: '|10.50.6000.34|SP3| RTW/PCU3| [2979597](https://support.microsoft.com/help/2979597)|September 26, 2014|' },
    { ...KB321185, quote: '|10.00.5766.00|SP3|CU1| [2617146](https://support.microsoft.com/help/2617146)|October 17, 2011|' },
    { ...KB321185, quote: '|10.00.5500.00| SP3| RTW / PCU 3| [2546951](https://support.microsoft.com/help/2546951)|October 6, 2011|' },
    { ...KB321185, quote: '[SP4](https://support.microsoft.com/help/2979596) (10.0.6000.29 - September 2014)' },
  ],
});

/** SQL Server major versions by release year (the first number of a build). */
export const SQL_MAJOR_VERSIONS = defineFact({
  id: 'sql.major-versions',
  topic: 'SQL Server',
  statement: 'SQL Server 2008 is 10.0, 2008 R2 10.50, 2012 11, 2014 12, 2016 13, 2017 14, 2019 15, 2022 16, 2025 17',
  value: [
    { release: '2008', major: 10, minor: 0 },
    { release: '2008 R2', major: 10, minor: 50 },
    { release: '2012', major: 11 },
    { release: '2014', major: 12 },
    { release: '2016', major: 13 },
    { release: '2017', major: 14 },
    { release: '2019', major: 15 },
    { release: '2022', major: 16 },
    { release: '2025', major: 17 },
  ] as { release: string; major: number; minor?: number }[],
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...KB321185, quote: '[SP2](https://support.microsoft.com/help/4052908) (13.0.5026.0 - April 2018)' },
    { ...KB321185, quote: '|15.0.2000.5|None| RTM|NA|November 04, 2019|' },
    { ...KB321185, quote: '|14.0.3006.16|None| CU1| [4038634](https://support.microsoft.com/help/4038634)|October 24, 2017|' },
    { title: 'SQL Server 2022 release notes', url: 'https://learn.microsoft.com/sql/sql-server/sql-server-2022-release-notes', quote: '| General release to market (RTM) | 16.0.1000.6 | November 16, 2022 |' },
    { title: 'SQL Server 2025 build versions (KB5005684)', url: 'https://learn.microsoft.com/troubleshoot/sql/releases/sqlserver-2025/build-versions', quote: '| CU1 | 17.0.4006.2 | 2025.170.4006.2 | 17.0.25.223 | 2025.170.25.223 | [KB5078298](cumulativeupdate1.md) | January 29, 2026 |' },
  ],
});

/**
 * The SQL Server major versions a Microsoft sentence says speak TLS 1.2 in every build: 2016, 2017 and
 * 2019 (KB3135244), 2022 ("Configure TLS 1.3"). A later major version (SQL Server 2025, 17) is not named
 * by any sentence found: `unknown`, never passed.
 */
export const SQL_TLS12_IN_THE_BOX = defineFact({
  id: 'sql.tls12-without-update',
  topic: 'SQL Server',
  statement: 'SQL Server 2016 (13), 2017 (14), 2019 (15) and 2022 (16) support TLS 1.2 without an update; no sentence found names a later major version',
  value: { from: 13, through: 16 },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...KB3135244, quote: 'SQL Server 2016, SQL Server 2017, and SQL Server 2019 support TLS 1.2 without the need for an update.' },
    { title: 'Configure TLS 1.3', url: 'https://learn.microsoft.com/sql/relational-databases/security/networking/connect-with-tls-1-3', quote: 'With SQL Server 2022 (16.x) on Windows Server 2022, SQL Server supports TLS 1.0, 1.1, 1.2 and 1.3.' },
    { title: 'TDS 8.0', url: 'https://learn.microsoft.com/sql/relational-databases/security/networking/tds-8', quote: 'TDS 8.0 is also fully compatible with TLS 1.2 and previous TLS versions.' },
    { title: 'TLS 1.3 support', url: 'https://learn.microsoft.com/sql/relational-databases/security/networking/tls-1-3', quote: 'Even with TLS 1.3 support for TDS connections, TLS 1.2 is still required for starting up SQL Server satellite services.' },
  ],
  note: 'Searched Microsoft Learn (docs and pages corpora: KB3135244, the SQL Server TLS 1.3, TDS 8.0 and "Configure TLS 1.3" pages) for SQL Server 2025 (17.x) and TLS 1.2: the TLS 1.3 page says "SQL Server 2025 setup fails when TLS 1.3 is the only TLS version enabled on the operating system", which is about setup, not about the connections the engine serves; no sentence found says SQL Server 2025 serves TLS 1.2. A major version above 16 (17, or one the version list does not name) is therefore `unknown`. The TDS 8.0 and TLS 1.3 quotes support 2022 (their pages apply from SQL Server 2022); "Configure TLS 1.3" names Windows Server 2022, the server the Orchestrator database runs on is judged apart.',
});

/**
 * SQL Server Native Client 11: KB3135244 names the "SQL Server 2012 Native Client - QFE" download as
 * its TLS 1.2 update, but gives no build number, so no installed version can be judged against it.
 */
export const SQL_SNAC11_TLS12 = defineFact({
  id: 'sql.snac11-tls12-build',
  topic: 'SQL Server',
  statement: 'The first SQL Server Native Client 11 build with TLS 1.2 (the QFE named by KB3135244) — not published',
  value: null as string | null,
  status: 'unknown',
  proof: 'none',
  sources: [{ ...KB3135244, quote: '|SQL Server Native Client 11.0 for SQL Server 2012/2014 (x86/x64)     |    [Microsoft SQL Server 2012 Native Client - QFE](https://www.microsoft.com/download/details.aspx?id=50402)     |' }],
  note: 'The client components table names the QFE download but no version; an older revision of the KB may have listed builds, the current one does not. An installed Native Client 11 is therefore `unknown`: the plan shows its version and names the QFE to install.',
});

/** The OLE DB Driver for SQL Server (MSOLEDBSQL): KB3135244 does not list it. */
export const SQL_OLEDB_TLS12 = defineFact({
  id: 'sql.oledb-driver-tls12',
  topic: 'SQL Server',
  statement: 'Which Microsoft OLE DB Driver for SQL Server versions speak TLS 1.2 — not found in a Microsoft document',
  value: null as string | null,
  status: 'unknown',
  proof: 'none',
  sources: [],
  note: 'KB3135244 lists SQL Server Native Client 10 and 11 and the MDAC components, not the OLE DB Driver. Orchestrator 2022 and 2025 require the OLE DB Driver 18 and 19 (orchestrator.sql-client), which says they work with the SQL Servers those releases support, but no sentence found states the driver\'s TLS versions.',
});

/** Where the client providers register their version (read by the preflight). */
export const SQL_CLIENT_KEYS = defineFact({
  id: 'sql.client-registry-keys',
  topic: 'SQL Server',
  statement: 'SQL Server Native Client 11 and the OLE DB Driver 18/19 register InstalledVersion under HKLM\\SOFTWARE\\Microsoft\\SQLNCLI11, MSOLEDBSQL and MSOLEDBSQL19',
  value: [
    { key: 'SOFTWARE\\Microsoft\\SQLNCLI11', name: 'InstalledVersion', product: 'SQL Server Native Client 11.0' },
    { key: 'SOFTWARE\\Microsoft\\MSOLEDBSQL', name: 'InstalledVersion', product: 'Microsoft OLE DB Driver 18 for SQL Server' },
    { key: 'SOFTWARE\\Microsoft\\MSOLEDBSQL19', name: 'InstalledVersion', product: 'Microsoft OLE DB Driver 19 for SQL Server' },
  ],
  status: 'unknown',
  proof: 'none',
  sources: [],
  note: 'No Microsoft document found names these keys, so what is read there is shown as evidence and never refuses a host: a provider not found there is `unknown`, not absent.',
});

/** Every SQL Server fact, in the order of `docs/windows-facts.md`. */
/**
 * The SQL Server errors that answer a login this account cannot use (a bad login, an untrusted login, a
 * database it cannot open): the server is up and refused it. The restart step's `sql.ping` sends them.
 */
export const SQL_LOGIN_REFUSED_ERRORS = defineFact({
  id: 'sql.login-refused-errors',
  topic: 'SQL Server',
  statement: 'SQL Server answers a refused login with error 18456 (login failed), 18452 (credentials that cannot be validated) or 4060 (the database requested by the login cannot be opened)',
  value: [18456, 18452, 4060],
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'MSSQLSERVER_18456',
      url: 'https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-18456-database-engine-error',
      quote: 'When a connection attempt is rejected because of an authentication failure that involves a bad password or user name, a message similar to the following is returned to the client:  "Login failed for user \'<user_name>\'. (Microsoft SQL Server, Error: 18456)".',
    },
    {
      title: 'MSSQLSERVER_18452',
      url: 'https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-18452-database-engine-error',
      quote: 'The user attempted to login with credentials that cannot be validated.',
    },
    {
      title: 'Database Engine events and errors (4000 to 4999)',
      url: 'https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-4000-to-4999',
      quote: '|    4060    |    11    |    No    |    Cannot open database "%.*ls" requested by the login. The login failed.    |',
    },
  ],
});

export const SQL_FACTS: readonly WindowsFact[] = [
  SQL_TLS12_FIRST_BUILDS,
  SQL_SERVICE_PACKS,
  SQL_MAJOR_VERSIONS,
  SQL_TLS12_IN_THE_BOX,
  SQL_SNAC11_TLS12,
  SQL_OLEDB_TLS12,
  SQL_CLIENT_KEYS,
  SQL_LOGIN_REFUSED_ERRORS,
];
