/** Windows facts: Orchestrator. Each states its Microsoft source; see `types.ts` for the shape. */
import { defineFact, type WindowsFact } from './types.js';

const REQ_TITLE = 'System requirements for System Center Orchestrator';
const reqUrl = (view: string) => `https://learn.microsoft.com/system-center/orchestrator/system-requirements-orch?view=${view}`;

/** The Orchestrator releases this project knows, oldest first. */
export type OrchestratorRelease = '2016' | '1801' | '1807' | '2019' | '2022' | '2025';

/**
 * The Orchestrator releases the engine knows, and Update Rollup 4 as the least of 2016: what the
 * preflight can judge a host's systems by (each release's requirements below). Whether the TLS 1.2
 * procedure covers a release is `procedure.orchestrator-releases` (per revision of the page), whether
 * the TLS 1.3 one does `tls13.orchestrator-releases`: a release this list knows but the chosen page does
 * not name is `unknown`, never passed.
 */
export const ORCHESTRATOR_ACCEPTED_RELEASES = defineFact({
  id: 'orchestrator.accepted-releases',
  topic: 'Orchestrator',
  statement: 'The Orchestrator releases the engine knows: 2016 (with Update Rollup 4 or later), 1801, 1807, 2019, 2022 and 2025; which of them a procedure covers is the procedure\'s own fact',
  value: { releases: ['2016', '1801', '1807', '2019', '2022', '2025'] as OrchestratorRelease[], minUpdateRollup2016: 4 },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'Set up TLS for Orchestrator',
      url: 'https://learn.microsoft.com/system-center/orchestrator/install-enable-tls',
      quote: 'Orchestrator should be running version 2016 with Update Rollup 4 or later/1801/1807/2019.',
    },
    {
      title: 'Set up TLS 1.3 for Orchestrator',
      url: 'https://learn.microsoft.com/system-center/orchestrator/install-enable-tls-1-3?view=sc-orch-2025',
      quote: 'Orchestrator should be running version 2022 or 2025.',
    },
  ],
  note: 'A release outside this list is refused (no page names it). A release in it is judged for the TLS 1.2 procedure by the revision the run follows (procedure.orchestrator-releases: the current page names 2016 UR4+, 2019 and 2022; the 2019 page 2016 UR4+, 1801, 1807 and 2019), so Orchestrator 2025, which no TLS 1.2 page names, is `unknown` there; for the TLS 1.3 procedure by tls13.orchestrator-releases.',
});

/** The Windows Server releases each Orchestrator release supports for its server roles. */
export const ORCHESTRATOR_SUPPORTED_OS = defineFact({
  id: 'orchestrator.supported-os',
  topic: 'Orchestrator',
  statement: 'Server roles run on: 2016/1801/1807 Server 2012 R2 and 2016; 2019 Server 2016 and 2019; 2022 Server 2019 and 2022; 2025 Server 2022 and 2025',
  value: {
    '2016': ['Windows Server 2012 R2', 'Windows Server 2016'],
    '1801': ['Windows Server 2012 R2', 'Windows Server 2016'],
    '1807': ['Windows Server 2012 R2', 'Windows Server 2016'],
    '2019': ['Windows Server 2016', 'Windows Server 2019'],
    '2022': ['Windows Server 2019', 'Windows Server 2022'],
    '2025': ['Windows Server 2022', 'Windows Server 2025'],
  } as Record<OrchestratorRelease, string[]>,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { title: `${REQ_TITLE} (2016)`, url: reqUrl('sc-orch-2016'), quote: '| Component | Windows Server 2012 R2 Standard, Datacenter | Windows Server 2016 Standard, Datacenter with Desktop Experience | Windows Server Core 2016 | … |All server roles|Supported|Supported|Not Supported' },
    { title: `${REQ_TITLE} (1801)`, url: reqUrl('sc-orch-1801'), quote: '| Component | Windows Server 2012 R2 Standard, Datacenter | Windows Server 2016 Standard, Datacenter with Desktop Experience | Windows Server Core 2016 | … |All server roles|Supported|Supported|Not Supported' },
    { title: `${REQ_TITLE} (1807)`, url: reqUrl('sc-orch-1807'), quote: '| Component | Windows Server 2012 R2 Standard, Datacenter | Windows Server 2016 Standard, Datacenter with Desktop Experience | Windows Server Core 2016 | … |All server roles|Supported|Supported|Not Supported' },
    { title: `${REQ_TITLE} (2019)`, url: reqUrl('sc-orch-2019'), quote: '| Component | Windows Server 2016 Standard, Datacenter with Desktop Experience | Windows Server 2019 Standard, Datacenter with Desktop Experience | … | All server roles | Supported | Supported |' },
    { title: `${REQ_TITLE} (2022)`, url: reqUrl('sc-orch-2022'), quote: '| Component | Windows Server 2019 Standard, Datacenter with Desktop Experience | Windows Server 2022 Standard, Datacenter with Desktop Experience | … |All server roles|Supported|Supported|' },
    { title: `${REQ_TITLE} (2025)`, url: reqUrl('sc-orch-2025'), quote: '| Component | Windows Server 2022 Standard, Datacenter with Desktop Experience | Windows Server 2025 Standard, Datacenter with Desktop Experience | … |All server roles|Supported|Supported|' },
  ],
});

/** Orchestrator's server roles need an x64 processor (every release's hardware table). */
export const ORCHESTRATOR_ARCHITECTURE = defineFact({
  id: 'orchestrator.x64-only',
  topic: 'Orchestrator',
  statement: 'Every Orchestrator server role needs an x64 processor: a 32-bit Windows cannot host one',
  value: '64-bit' as const,
  status: 'stated',
  proof: 'microsoft',
  sources: [{ title: REQ_TITLE, url: reqUrl('sc-orch-2019'), quote: '| Orchestrator Server Role | x64 Processor (min) | Memory (min) | Disk space (min) |' }],
});

/** The SQL Server releases (by year) each Orchestrator release supports for its database. */
export const ORCHESTRATOR_SUPPORTED_SQL = defineFact({
  id: 'orchestrator.supported-sql',
  topic: 'Orchestrator',
  statement: 'The database runs on: 2016/1801/1807 SQL Server 2012, 2014, 2016; 2019 SQL Server 2016, 2017, 2019; 2022 and 2025 SQL Server 2017, 2019, 2022',
  value: {
    '2016': ['2012', '2014', '2016'],
    '1801': ['2012', '2014', '2016'],
    '1807': ['2012', '2014', '2016'],
    '2019': ['2016', '2017', '2019'],
    '2022': ['2017', '2019', '2022'],
    '2025': ['2017', '2019', '2022'],
  } as Record<OrchestratorRelease, string[]>,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { title: `${REQ_TITLE} (2016)`, url: reqUrl('sc-orch-2016'), quote: 'Microsoft SQL Server 2012, 2014, or 2016 – Orchestrator requires only the basic SQL Server features found in the Database Engine Service.' },
    { title: `${REQ_TITLE} (1801)`, url: reqUrl('sc-orch-1801'), quote: 'Microsoft SQL Server 2012, 2014, or 2016 – Orchestrator requires only the basic SQL Server features found in the Database Engine Service.' },
    { title: `${REQ_TITLE} (1807)`, url: reqUrl('sc-orch-1807'), quote: 'Microsoft SQL Server 2012, 2014, or 2016 – Orchestrator requires only the basic SQL Server features found in the Database Engine Service.' },
    { title: `${REQ_TITLE} (2019)`, url: reqUrl('sc-orch-2019'), quote: '| **[SQL Server 2019](/lifecycle/products/?terms=SQL+Server+2019)** | Y | … | **[SQL Server 2017](/lifecycle/products/?terms=SQL+Server+2017)** | Y | … | **SQL Server 2016 and SPs as detailed [here](/lifecycle/products/?terms=SQL+Server+2016)** | Y |' },
    { title: `${REQ_TITLE} (2022)`, url: reqUrl('sc-orch-2022'), quote: '**[SQL Server 2022](https://www.microsoft.com/sql-server/sql-server-2022)** | Y … **[SQL Server 2019](/lifecycle/products/?terms=SQL+Server+2019)** | Y … **[SQL Server 2017](/lifecycle/products/?terms=SQL+Server+2017)** | Y' },
    { title: `${REQ_TITLE} (2025)`, url: reqUrl('sc-orch-2025'), quote: '**[SQL Server 2022](https://www.microsoft.com/sql-server/sql-server-2022)** | Y … **[SQL Server 2019](/lifecycle/products/?terms=SQL+Server+2019)** | Y … **[SQL Server 2017](/lifecycle/products/?terms=SQL+Server+2017)** | Y' },
  ],
  note: 'The 2016, 1801 and 1807 pages also mark SQL Server 2008 "N". The 2019 page\'s software list still says "Microsoft SQL Server 2016 or 2017"; its SQL Server table (quoted) adds 2019.',
});

/** The SQL Server client each Orchestrator release requires on its management and runbook servers. */
export const ORCHESTRATOR_SQL_CLIENT = defineFact({
  id: 'orchestrator.sql-client',
  topic: 'Orchestrator',
  statement: 'Orchestrator 2016 to 2019 require the SQL Server 2012 Native Client QFE; 2022 the OLE DB Driver 18; 2025 the OLE DB Driver 19',
  value: {
    '2016': 'Microsoft SQL Server 2012 Native Client - QFE',
    '1801': 'Microsoft SQL Server 2012 Native Client - QFE',
    '1807': 'Microsoft SQL Server 2012 Native Client - QFE',
    '2019': 'Microsoft SQL Server 2012 Native Client - QFE',
    '2022': 'Microsoft OLE DB Driver for SQL Server v18',
    '2025': 'Microsoft OLE DB Driver for SQL Server v19',
  } as Record<OrchestratorRelease, string>,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { title: `${REQ_TITLE} (2019)`, url: reqUrl('sc-orch-2019'), quote: '[Microsoft SQL Server 2012 Native Client - QFE (applies to SQL 2012/2014/2016)](https://www.microsoft.com/download/details.aspx?id=50402).' },
    { title: `${REQ_TITLE} (2022)`, url: reqUrl('sc-orch-2022'), quote: 'Ensure that [Microsoft OLE DB Driver for SQL Server v18](/sql/connect/oledb/release-notes-for-oledb-driver-for-sql-server?view=sql-server-ver16#previous-releases&preserve-view=true) is installed on machines that host the Management Server, Runbook Service, Runbook Designer, or the Web API Service.' },
    { title: `${REQ_TITLE} (2025)`, url: reqUrl('sc-orch-2025'), quote: 'Ensure that [Microsoft OLE DB Driver for SQL Server v19](/sql/connect/oledb/release-notes-for-oledb-driver-for-sql-server?view=sql-server-ver16#previous-releases&preserve-view=true) is installed on machines that host the Management Server, Runbook Service, Runbook Designer, or the Web API Service.' },
  ],
});

const MIGRATE = {
  title: 'Migrate Orchestrator between environments',
  url: 'https://learn.microsoft.com/system-center/orchestrator/migrate-orchestrator-between-environments',
} as const;

/**
 * The Windows service names of Orchestrator's services: what the runbook checks after the restart and
 * waits for while the server comes back, and what the simulated and captured hosts carry. Which of them
 * a given server has depends on the roles installed on it: no document says every server has all four,
 * so a service that is absent is reported (`unknown`), never a failure on its own.
 */
export const ORCHESTRATOR_SERVICES = defineFact({
  id: 'orchestrator.services',
  topic: 'Orchestrator',
  statement:
    'The Orchestrator services by their Windows service names: omanagement (Orchestrator Management Service), oremoting (Orchestrator Remoting Service), omonitor (Orchestrator Runbook Server Monitor), orunbook (Orchestrator Runbook Service)',
  value: ['omanagement', 'oremoting', 'omonitor', 'orunbook'] as readonly string[],
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...MIGRATE, quote: 'Stop all Orchestrator related services on all Management Servers/Runbook Servers:' },
    { ...MIGRATE, quote: 'Orchestrator Management Service (omanagement)' },
    { ...MIGRATE, quote: 'Orchestrator Remoting Service (oremoting)' },
    { ...MIGRATE, quote: 'Orchestrator Runbook Server Monitor (omonitor)' },
    { ...MIGRATE, quote: 'Orchestrator Runbook Service (orunbook)' },
  ],
  note: "Read in the page's source (MicrosoftDocs/SystemCenterDocs, orchestrator/migrate-orchestrator-between-environments.md, ms.date 11/01/2024), section \"Check/enable SQL Broker\"; its PowerShell selects the services by these names (Get-Service, Where Name -match \"^omanagement|^oremoting|^omonitor|^orunbook\"), i.e. those a server has. Earlier revisions of this table took oremoting for the Runbook Server Monitor and left omonitor out. No page found says that every server has all four: a server holds the services of the roles installed on it, so an absent one is reported as unknown and does not fail the run; the names are the runbooks' `orchestratorServices` parameter.",
});

/** Every Orchestrator fact, in the order of `docs/windows-facts.md`. */
export const ORCHESTRATOR_FACTS: readonly WindowsFact[] = [
  ORCHESTRATOR_ACCEPTED_RELEASES,
  ORCHESTRATOR_SUPPORTED_OS,
  ORCHESTRATOR_ARCHITECTURE,
  ORCHESTRATOR_SUPPORTED_SQL,
  ORCHESTRATOR_SQL_CLIENT,
  ORCHESTRATOR_SERVICES,
];
