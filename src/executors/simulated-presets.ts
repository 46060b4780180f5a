/**
 * Presets of the simulated host: the servers the reference procedure covers, each in the state of a
 * fresh install that still speaks every protocol (no SCHANNEL or SystemDefaultTlsVersions values).
 */
import type { OsInfo, RegistryValue } from './types.js';
import { configuredProtocols, configuredTls13, type SimHostState } from './simulated-model.js';

interface PresetSpec {
  description: string;
  os: OsInfo;
  /** Updates as Get-HotFix lists them; the reference's KBs only where a real server would list them. */
  hotfixes: string[];
  /** `NDP\v4\Full` Release of the .NET Framework 4.x the OS ships or the preset installs. */
  dotnetRelease: number;
  /** The 2.0/3.5 runtime carries the TLS System Default Versions fix (in the box, or by a later rollup). */
  dotnet35Fixed: boolean;
  /** The SQL Server instance, its version as `Setup\PatchLevel` reports it (service pack in the minor number). */
  sql: { name: string; version: string } | null;
  nativeClient: string | null;
  /** Microsoft OLE DB Driver 18 for SQL Server (`MSOLEDBSQL`), the successor of Native Client. */
  oledbDriver?: string;
  orchestrator: { release: string; updateRollup: number; version: string | null };
}

const ORCHESTRATOR_SERVICES = ['omanagement', 'orunbook', 'oremoting'];

/*
 * Facts and their sources:
 * - OS versions and builds: Windows Server 2012 6.2.9200, 2012 R2 6.3.9600, 2016 10.0.14393,
 *   2019 10.0.17763, 2022 10.0.20348 (Microsoft's Windows Server release information).
 * - .NET Framework Release values: "How to: Determine which .NET Framework versions are installed" —
 *   394806 (4.6.2 on other OS versions), 394802 (4.6.2 on Server 2016), 461814 (4.7.2 on other OS
 *   versions), 528449 (4.8 on Windows Server 2022).
 * - SQL Server versions in their registry form: SQL Server 2014 SP2 12.2.5000.0, SQL Server 2012 SP4
 *   11.4.7001.0, SQL Server 2016 SP2 13.2.5026.0, SQL Server 2019 RTM 15.0.2000.5, SQL Server 2022 RTM
 *   16.0.1000.6 (KB3135244 gives the builds; the minor number is the service pack level).
 * - The .NET 3.5 fix: KB3154519/KB3154520 (superseded by later .NET Framework updates, so a patched
 *   server lists neither); Server 2016 and later have it in the box and never list KB3156421.
 * - TLS 1.3 is on by default on Windows Server 2022 ("TLS protocol version support" in Microsoft's
 *   SChannel documentation); nothing in the registry says so.
 */
const SPECS: Record<string, PresetSpec> = {
  'server-2016': {
    description: 'Windows Server 2016 Datacenter x64, Orchestrator 2016 UR4, SQL Server 2016 SP2, .NET 4.6.2 (the .NET 3.5 fix in the box)',
    os: { caption: 'Microsoft Windows Server 2016 Datacenter', version: '10.0.14393', build: 14393, architecture: '64-bit', productType: 'server', servicePack: 0 },
    hotfixes: [],
    dotnetRelease: 394802,
    dotnet35Fixed: true,
    sql: { name: 'MSSQLSERVER', version: '13.2.5026.0' },
    nativeClient: '11.4.7462.6',
    orchestrator: { release: '2016', updateRollup: 4, version: '7.3.0.0' },
  },
  'server-2012r2': {
    description: 'Windows Server 2012 R2 Standard x64, Orchestrator 1801, SQL Server 2014 SP2, .NET 4.6.2, .NET 3.5 fixed by later .NET updates (KB3154520 not listed)',
    os: { caption: 'Microsoft Windows Server 2012 R2 Standard', version: '6.3.9600', build: 9600, architecture: '64-bit', productType: 'server', servicePack: 0 },
    hotfixes: ['KB2919355'],
    dotnetRelease: 394806,
    dotnet35Fixed: true,
    sql: { name: 'MSSQLSERVER', version: '12.2.5000.0' },
    nativeClient: '11.4.7462.6',
    orchestrator: { release: '1801', updateRollup: 0, version: '7.4.0.0' },
  },
  'server-2012': {
    description: 'Windows Server 2012 Standard x64, Orchestrator 2016 UR5, SQL Server 2012 SP4, .NET 4.6.2',
    os: { caption: 'Microsoft Windows Server 2012 Standard', version: '6.2.9200', build: 9200, architecture: '64-bit', productType: 'server', servicePack: 0 },
    hotfixes: ['KB3154519'],
    dotnetRelease: 394806,
    dotnet35Fixed: true,
    sql: { name: 'MSSQLSERVER', version: '11.4.7001.0' },
    nativeClient: '11.4.7462.6',
    orchestrator: { release: '2016', updateRollup: 5, version: '7.3.0.0' },
  },
  'server-2019': {
    description: 'Windows Server 2019 Datacenter x64, Orchestrator 2019, SQL Server 2019, .NET 4.7.2',
    os: { caption: 'Microsoft Windows Server 2019 Datacenter', version: '10.0.17763', build: 17763, architecture: '64-bit', productType: 'server', servicePack: 0 },
    hotfixes: [],
    dotnetRelease: 461814,
    dotnet35Fixed: true,
    sql: { name: 'MSSQLSERVER', version: '15.0.2000.5' },
    nativeClient: '11.4.7462.6',
    orchestrator: { release: '2019', updateRollup: 0, version: '10.19.0.0' },
  },
  'server-2022': {
    description: 'Windows Server 2022 Datacenter x64 (TLS 1.3 on by default), Orchestrator 2022, SQL Server 2022, .NET 4.8',
    os: { caption: 'Microsoft Windows Server 2022 Datacenter', version: '10.0.20348', build: 20348, architecture: '64-bit', productType: 'server', servicePack: 0 },
    hotfixes: [],
    dotnetRelease: 528449,
    dotnet35Fixed: true,
    sql: { name: 'MSSQLSERVER', version: '16.0.1000.6' },
    nativeClient: null,
    oledbDriver: '18.6.5.0',
    orchestrator: { release: '2022', updateRollup: 0, version: null },
  },
  'windows-8.1-x86': {
    description: 'Windows 8.1 Pro 32-bit with the Runbook Designer console, .NET 4.6.2, SQL Server 2016 on the same box',
    os: { caption: 'Microsoft Windows 8.1 Pro', version: '6.3.9600', build: 9600, architecture: '32-bit', productType: 'workstation', servicePack: 0 },
    hotfixes: ['KB2919355', 'KB3154520'],
    dotnetRelease: 394806,
    dotnet35Fixed: true,
    sql: { name: 'SQLEXPRESS', version: '13.2.5026.0' },
    nativeClient: '11.4.7462.6',
    orchestrator: { release: '2016', updateRollup: 4, version: '7.3.0.0' },
  },
};

/** Variants built on a base preset, named for the scenario they stage. */
const VARIANTS: Record<string, { base: string; description: string; change: (host: SimHostState) => void }> = {
  'server-2012r2-no-hotfix': {
    base: 'server-2012r2',
    description: 'Server 2012 R2 whose .NET 3.5 runtime lacks the TLS System Default Versions fix (no KB3154520, no later .NET update)',
    change: (host) => {
      host.hotfixes = ['KB2919355'];
      host.dotnet35.systemDefaultTls = false;
    },
  },
  'server-2016-sql2008r2': {
    base: 'server-2016',
    description: 'Server 2016 whose Orchestrator database runs on SQL Server 2008 R2 (no TLS 1.2)',
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
    [PROTOCOLS_KEY]: {},
    // Windows ships this one key on most builds: SSL 2.0 client disabled by default.
    [`${PROTOCOLS_KEY}\\SSL 2.0`]: {},
    [`${PROTOCOLS_KEY}\\SSL 2.0\\Client`]: { DisabledByDefault: dword(1) },
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
  if (spec.oledbDriver) registry['SOFTWARE\\Microsoft\\MSOLEDBSQL'] = { InstalledVersion: sz(spec.oledbDriver) };
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
      // Not modeled: no Microsoft document gives the file version a given update brings.
      version: null,
      systemDefaultTls: spec.dotnet35Fixed,
    },
    sqlInstances: spec.sql ? [{ ...spec.sql }] : [],
    orchestrator: { installed: true, ...spec.orchestrator },
    services: Object.fromEntries(ORCHESTRATOR_SERVICES.map((s) => [s, { state: 'running', startType: 'auto' }])),
    bootTime,
    inEffect: {} as SimHostState['inEffect'],
    downtimeMs: 1500,
    down: null,
    restarts: 0,
    bootActions: [],
    faults: [],
    latencyMs: 0,
    files: {},
    startupTasks: {},
    onTarget: false,
    // WinRM's HTTPS listener (port 5986, "Installation and configuration for Windows Remote Management")
    // and the Orchestrator Web Service (port 81, "System requirements for System Center Orchestrator":
    // ports), here configured for HTTPS.
    endpoints: [
      { name: 'winrm-https', port: 5986 },
      { name: 'orchestrator-web-service', port: 81 },
    ],
  };
  host.inEffect = configuredProtocols(host);
  host.tls13InEffect = configuredTls13(host);
  return host;
}

/** Names and descriptions of every preset. */
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
