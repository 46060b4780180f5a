/**
 * Presets of the simulated host: Orchestrator servers as Microsoft supports them (each release on an OS
 * and a SQL Server its system requirements list, x64 only), each in the state of a fresh install (no
 * SCHANNEL protocol or SystemDefaultTlsVersions values). Every fact a preset carries comes from the
 * Windows facts table (`src/windows/facts/`), named where it is used. Where the facts leave a default
 * the host serves open (Windows Server 2022 and 2025), the preset states its assumption in
 * `schannelDefaults`, with a note naming it as one and the fact it stands in for.
 */
import type { OsInfo, RegistryValue } from '../executors/types.js';
import { configuredProtocols, configuredTls13, freshRuntime, type SchannelDefaults, type SimHostState } from './model.js';
import { OS_SERVER_BUILDS } from '../windows/facts/os.js';
import { winrmDefaultPort } from '../windows/default-ports.js';
import { DOTNET_RELEASE_VALUES } from '../windows/facts/dotnet.js';
import { ORCHESTRATOR_SERVICES } from '../windows/facts/orchestrator.js';
import { SCHANNEL_DEFAULTS_FACT, TLS10_TLS11_FROM_2022_FACT } from '../windows/facts/schannel.js';

interface PresetSpec {
  description: string;
  os: OsInfo;
  /** Updates as Get-HotFix lists them; the reference's KBs only where a real server would list them. */
  hotfixes: string[];
  /** `NDP\v4\Full` Release of the .NET Framework 4.x the OS ships or the preset installs (`dotnet.release-values`). */
  dotnetRelease: number;
  /** The SQL Server instance, its version as `Setup\PatchLevel` reports it (service pack in the minor number). */
  sql: { name: string; version: string } | null;
  nativeClient: string | null;
  /** Microsoft OLE DB Driver for SQL Server: 18 (`MSOLEDBSQL`) or 19 (`MSOLEDBSQL19`), as `orchestrator.sql-client` asks. */
  oledbDriver?: { major: 18 | 19; version: string };
  orchestrator: { release: string; updateRollup: number; version: string | null };
  /** Only where the facts leave a served default open: the rehearsal's assumption, with its note. */
  schannelDefaults?: SchannelDefaults;
}

const build = (name: string): number => OS_SERVER_BUILDS.value.find((b) => b.name === name)!.build;
const server10 = (caption: string, name: string): OsInfo => {
  const b = build(name);
  return { caption, version: `10.0.${b}`, build: b, architecture: '64-bit', productType: 'server', servicePack: 0 };
};
const NET = DOTNET_RELEASE_VALUES.value;

/*
 * Facts and their sources (see docs/windows-facts.md):
 * - OS: `os.server-builds` (2016 14393, 2019 17763, 2022 20348, 2025 26100); Windows Server 2012 R2 is
 *   version 6.3 (`os.version-names`; its build, 9600, decides nothing here).
 * - Orchestrator release on that OS and SQL Server: `orchestrator.supported-os`, `orchestrator.supported-sql`,
 *   x64 only (`orchestrator.x64-only`); its SQL client: `orchestrator.sql-client`.
 * - .NET Framework Release values: `dotnet.release-values`.
 * - SQL Server versions in their registry form (service pack in the minor number): SQL Server 2014 SP2
 *   12.2.5000.0, SQL Server 2016 SP2 13.2.5026.0, 2019 RTM 15.0.2000.5, 2022 RTM 16.0.1000.6
 *   (`sql.service-pack-builds`, `sql.major-versions`); 2022 CU22 16.0.4225.2 on the Orchestrator 2025
 *   hosts, above CU1 (`tls13.sql-server-first-build`).
 * - The .NET 3.5 fix: in the box from build 14393 (`dotnet.v35-tls-in-the-box`); on 2012 R2 the
 *   preset lists KB3154520 itself (`dotnet.v35-tls-fix-kbs`). No System.dll version is modeled: none
 *   is published for the fix (`dotnet.v35-tls-fix-file-version`).
 * - Driver and Native Client version numbers are examples: nothing decides by them (`sql.snac11-tls12-build`).
 */
/**
 * SQL Server 2022 CU22 (16.0.4225.2, the release history of "Release notes for SQL Server 2022 on
 * Linux"): a patched SQL Server 2022, above CU1 from which it speaks TLS 1.3 (`tls13.sql-server-first-build`).
 */
const SQL2022_CU22 = '16.0.4225.2';

/*
 * Rehearsal assumptions: what the facts leave open on Windows Server 2022 and 2025, stated (not
 * decided by the simulator). Each follows the Microsoft document that names the build most directly;
 * the disputed fact keeps every reading, and a real server is read, never assumed (sim capture).
 */
const DISPUTED = `${TLS10_TLS11_FROM_2022_FACT.id} is disputed`;
const SERVER_2022_DEFAULTS: SchannelDefaults = {
  note: `Rehearsal assumption, not a fact: TLS 1.0 and TLS 1.1 are accepted by default, as the protocols table's Windows Server 2022 row says; ${DISPUTED} (the SQL Server 10054 article says disabled from Windows Server 2022). Set them to false to rehearse that reading.`,
  'TLS 1.0': { Server: true },
  'TLS 1.1': { Server: true },
};
const SERVER_2025_DEFAULTS: SchannelDefaults = {
  note: `Rehearsal assumption, not a fact: TLS 1.0 and TLS 1.1 are refused by default, as the SQL Server 10054 article (Windows Server 2022 and later) and the deprecation announcement (future Windows releases) say; ${DISPUTED}. TLS 1.3 is accepted by default as on Windows Server 2022: no document gives it for build 26100 (${SCHANNEL_DEFAULTS_FACT.id} ends at 20348: unknown).`,
  'TLS 1.0': { Server: false },
  'TLS 1.1': { Server: false },
  'TLS 1.3': { Server: true },
};

const SPECS: Record<string, PresetSpec> = {
  'server-2016': {
    description: 'Windows Server 2016 Datacenter x64, Orchestrator 2016 UR4, SQL Server 2016 SP2, .NET 4.6.2 (the .NET 3.5 fix in the box)',
    os: server10('Microsoft Windows Server 2016 Datacenter', 'Windows Server 2016'),
    hotfixes: [],
    dotnetRelease: NET['4.6.2-server2016'],
    sql: { name: 'MSSQLSERVER', version: '13.2.5026.0' },
    nativeClient: '11.4.7462.6',
    orchestrator: { release: '2016', updateRollup: 4, version: '7.3.0.0' },
  },
  'server-2012r2': {
    description: 'Windows Server 2012 R2 Standard x64, Orchestrator 1801, SQL Server 2014 SP2, .NET 4.6.2, KB3154520 installed',
    os: { caption: 'Microsoft Windows Server 2012 R2 Standard', version: '6.3.9600', build: 9600, architecture: '64-bit', productType: 'server', servicePack: 0 },
    hotfixes: ['KB2919355', 'KB3154520'],
    dotnetRelease: NET['4.6.2'],
    sql: { name: 'MSSQLSERVER', version: '12.2.5000.0' },
    nativeClient: '11.4.7462.6',
    orchestrator: { release: '1801', updateRollup: 0, version: '7.4.0.0' },
  },
  'server-2019': {
    description: 'Windows Server 2019 Datacenter x64, Orchestrator 2019, SQL Server 2019, .NET 4.7.2',
    os: server10('Microsoft Windows Server 2019 Datacenter', 'Windows Server 2019'),
    hotfixes: [],
    dotnetRelease: NET['4.7.2'],
    sql: { name: 'MSSQLSERVER', version: '15.0.2000.5' },
    nativeClient: '11.4.7462.6',
    orchestrator: { release: '2019', updateRollup: 0, version: '10.19.0.0' },
  },
  'server-2022': {
    description: 'Windows Server 2022 Datacenter x64 (TLS 1.3 on by default), Orchestrator 2022, SQL Server 2022, .NET 4.8, OLE DB Driver 18',
    os: server10('Microsoft Windows Server 2022 Datacenter', 'Windows Server 2022'),
    hotfixes: [],
    dotnetRelease: NET['4.8-server2022'],
    sql: { name: 'MSSQLSERVER', version: '16.0.1000.6' },
    nativeClient: null,
    oledbDriver: { major: 18, version: '18.6.5.0' },
    orchestrator: { release: '2022', updateRollup: 0, version: null },
    schannelDefaults: SERVER_2022_DEFAULTS,
  },
  'server-2025': {
    description: 'Windows Server 2025 Datacenter x64, Orchestrator 2025, SQL Server 2022 CU22 (TLS 1.3 from CU1), .NET 4.8.1, OLE DB Driver 19.3',
    os: server10('Microsoft Windows Server 2025 Datacenter', 'Windows Server 2025'),
    hotfixes: [],
    dotnetRelease: NET['4.8.1'],
    sql: { name: 'MSSQLSERVER', version: SQL2022_CU22 },
    nativeClient: null,
    oledbDriver: { major: 19, version: '19.3.5.0' },
    orchestrator: { release: '2025', updateRollup: 0, version: null },
    schannelDefaults: SERVER_2025_DEFAULTS,
  },
};

/** Variants built on a base preset, named for the scenario they stage. */
const VARIANTS: Record<string, { base: string; description: string; change: (host: SimHostState) => void }> = {
  'server-2012r2-no-hotfix': {
    base: 'server-2012r2',
    description: 'Server 2012 R2 that lists neither KB3154520 nor an update named as superseding it: the .NET 3.5 fix cannot be proven either way (unknown)',
    change: (host) => {
      host.hotfixes = ['KB2919355'];
    },
  },
  'server-2022-orch2025': {
    base: 'server-2022',
    description: 'Windows Server 2022 Datacenter x64 with Orchestrator 2025 (which supports Server 2022 and 2025), SQL Server 2022 CU22, OLE DB Driver 19.3: a TLS 1.3 host',
    change: (host) => {
      // orchestrator.supported-os (2025: Server 2022 and 2025), orchestrator.sql-client (2025: the OLE DB Driver 19).
      host.orchestrator = { installed: true, release: '2025', updateRollup: 0, version: null };
      host.sqlInstances = [{ name: 'MSSQLSERVER', version: SQL2022_CU22 }];
      delete host.registry['SOFTWARE\\Microsoft\\MSOLEDBSQL'];
      host.registry['SOFTWARE\\Microsoft\\MSOLEDBSQL19'] = { InstalledVersion: sz('19.3.5.0') };
    },
  },
  'server-2016-sql2008r2': {
    base: 'server-2016',
    description: 'Server 2016 whose Orchestrator database runs on SQL Server 2008 R2 SP3 RTM (not supported by Orchestrator 2016, no TLS 1.2 below 10.50.6542.0)',
    change: (host) => {
      host.sqlInstances = [{ name: 'MSSQLSERVER', version: '10.53.6000.34' }];
    },
  },
};

const PROTOCOLS_KEY = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';
const dword = (data: number): RegistryValue => ({ type: 'REG_DWORD', data });
const sz = (data: string): RegistryValue => ({ type: 'REG_SZ', data });

function baseRegistry(spec: PresetSpec): SimHostState['registry'] {
  const registry: SimHostState['registry'] = {
    SYSTEM: {},
    'SYSTEM\\CurrentControlSet': {},
    'SYSTEM\\CurrentControlSet\\Control': {},
    'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders': {},
    'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL': { EventLogging: dword(1) },
    // No protocol subkey: no Microsoft document this project found says Windows ships one (the SSL
    // 2.0\Client DisabledByDefault=1 the presets carried before was taken from real servers, with no
    // sentence behind it). Windows' defaults come from the facts table, and a real server is captured.
    [PROTOCOLS_KEY]: {},
    SOFTWARE: {},
    'SOFTWARE\\Microsoft': {},
    'SOFTWARE\\Microsoft\\.NETFramework': { InstallRoot: sz('C:\\Windows\\Microsoft.NET\\Framework64\\') },
    'SOFTWARE\\Microsoft\\.NETFramework\\v2.0.50727': {},
    'SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319': {},
    'SOFTWARE\\Microsoft\\NET Framework Setup': {},
    'SOFTWARE\\Microsoft\\NET Framework Setup\\NDP': {},
    'SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4': {},
    'SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full': { Release: dword(spec.dotnetRelease), Install: dword(1) },
  };
  if (spec.nativeClient) {
    registry['SOFTWARE\\Microsoft\\SQLNCLI11'] = { InstalledVersion: sz(spec.nativeClient) };
  }
  if (spec.oledbDriver) {
    registry[`SOFTWARE\\Microsoft\\MSOLEDBSQL${spec.oledbDriver.major === 19 ? '19' : ''}`] = { InstalledVersion: sz(spec.oledbDriver.version) };
  }
  if (spec.os.architecture === '64-bit') {
    registry['SOFTWARE\\Wow6432Node'] = {};
    registry['SOFTWARE\\Wow6432Node\\Microsoft'] = {};
    registry['SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework'] = { InstallRoot: sz('C:\\Windows\\Microsoft.NET\\Framework\\') };
    registry['SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v2.0.50727'] = {};
    registry['SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v4.0.30319'] = {};
  } else {
    registry['SOFTWARE\\Microsoft\\.NETFramework'].InstallRoot = sz('C:\\Windows\\Microsoft.NET\\Framework\\');
  }
  return registry;
}

function fromSpec(name: string, spec: PresetSpec, now: Date): SimHostState {
  const bootTime = new Date(now.getTime() - 3 * 24 * 3600 * 1000).toISOString();
  const host: SimHostState = {
    format: 'runbook-engine/simulated-host@1',
    name,
    os: structuredClone(spec.os),
    registry: baseRegistry(spec),
    keyTimes: {},
    hotfixes: [...spec.hotfixes],
    dotnet35: {
      installed: true,
      file: `C:\\Windows\\Microsoft.NET\\${spec.os.architecture === '64-bit' ? 'Framework64' : 'Framework'}\\v2.0.50727\\System.dll`,
      // Not modeled: no Microsoft document gives the file version the fix brings.
      version: null,
    },
    sqlInstances: spec.sql ? [{ ...spec.sql }] : [],
    orchestrator: { installed: true, ...spec.orchestrator },
    services: Object.fromEntries(ORCHESTRATOR_SERVICES.value.map((s) => [s, { state: 'running', startType: 'auto' }])),
    bootTime,
    inEffect: {} as SimHostState['inEffect'],
    ...freshRuntime(),
    // WinRM's HTTPS listener on WinRM's default HTTPS port (`winrm.default-ports`), and the
    // Orchestrator web service, here configured for HTTPS. Both ports are nominal: the simulator serves
    // each endpoint on a free loopback port, so neither decides anything. Orchestrator's has no default
    // to source: setup takes it as a required option when it installs the web service (/WebServicePort,
    // "Install with the Orchestrator Command Line Install Tool"); 81 is the value Microsoft's sample
    // install command passes ("Use Sysprep to Deploy Orchestrator").
    endpoints: [
      { name: 'winrm-https', port: winrmDefaultPort('https') },
      { name: 'orchestrator-web-service', port: 81 },
    ],
    ...(spec.schannelDefaults ? { schannelDefaults: structuredClone(spec.schannelDefaults) } : {}),
  };
  host.inEffect = configuredProtocols(host);
  host.tls13InEffect = configuredTls13(host);
  return host;
}

/**
 * Names and descriptions of every preset.
 *
 * @example
 * ```ts
 * for (const { name, description } of listPresets()) console.log(`${name}: ${description}`);
 * ```
 */
export function listPresets(): { name: string; description: string }[] {
  return [
    ...Object.entries(SPECS).map(([name, spec]) => ({ name, description: spec.description })),
    ...Object.entries(VARIANTS).map(([name, v]) => ({ name, description: v.description })),
  ];
}

/**
 * Builds a fresh host document from a preset.
 *
 * @example
 * ```ts
 * const host = createPreset('server-2016');
 * host.downtimeMs = 200;
 * ```
 */
export function createPreset(name: string, now: Date = new Date()): SimHostState {
  const spec = SPECS[name];
  if (spec) return fromSpec(name, spec, now);
  const variant = VARIANTS[name];
  if (variant) {
    const host = fromSpec(name, SPECS[variant.base], now);
    variant.change(host);
    return host;
  }
  const names = listPresets().map((p) => p.name).join(', ');
  throw new Error(`unknown simulated-host preset "${name}"; known presets: ${names}`);
}
