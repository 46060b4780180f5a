/** Windows facts: .NET Framework. Each states its Microsoft source; see `types.ts` for the shape. */
import { defineFact, type WindowsFact } from './types.js';

const VERSIONS_DOC = {
  title: 'How to: Determine which .NET Framework versions are installed',
  url: 'https://learn.microsoft.com/dotnet/framework/install/how-to-determine-which-versions-are-installed',
};
const TLS_DOC = {
  title: 'Transport Layer Security (TLS) best practices with the .NET Framework',
  url: 'https://learn.microsoft.com/dotnet/framework/network-programming/tls',
};
const PROTOCOLS_TABLE = {
  title: 'Protocols in TLS/SSL (Schannel SSP)',
  url: 'https://learn.microsoft.com/windows/win32/secauthn/protocols-in-tls-ssl--schannel-ssp-',
};
const kb = (n: string, title: string) => ({ title, url: `https://support.microsoft.com/help/${n}` });

/** Where the .NET Framework 4.5+ version is read, and the lowest Release value of .NET Framework 4.6. */
export const DOTNET_MIN_RELEASE_46 = defineFact({
  id: 'dotnet.min-release-4-6',
  topic: '.NET Framework',
  statement: '.NET Framework 4.6 or later is installed when NDP\\v4\\Full Release is 393295 or more; no Full key means no 4.5 or later',
  value: { key: 'SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full', name: 'Release', min: 393295 },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...VERSIONS_DOC, quote: '| .NET Framework 4.6     | 393295 |' },
    { ...VERSIONS_DOC, quote: 'If the **Full** subkey is missing, then .NET Framework 4.5 or above isn\'t installed.' },
  ],
});

/** Release values the presets carry (what a real server of each kind reports). */
export const DOTNET_RELEASE_VALUES = defineFact({
  id: 'dotnet.release-values',
  topic: '.NET Framework',
  statement: 'NDP\\v4\\Full Release of 4.6.2 (394802 on Server 2016, 394806 elsewhere), 4.7.2 (461814), 4.8 on Server 2022 (528449), 4.8.1 (533325 outside Windows 11)',
  value: { '4.6.2-server2016': 394802, '4.6.2': 394806, '4.7.2': 461814, '4.8-server2022': 528449, '4.8.1': 533325 },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...VERSIONS_DOC, quote: '| .NET Framework 4.6.2   | On Windows 10 Anniversary Update and Windows Server 2016: **394802**<br />On all other Windows operating systems (including other Windows 10 operating systems): **394806** |' },
    { ...VERSIONS_DOC, quote: 'On all Windows operating systems other than Windows 10 April 2018 Update and Windows Server, version 1803: **461814**' },
    { ...VERSIONS_DOC, quote: 'On Windows 11 and Windows Server 2022: **528449**' },
    { ...VERSIONS_DOC, quote: '| .NET Framework 4.8.1   | On Windows 11 2025 Update: **533509**<br/>On Windows 11 2022 Update and Windows 11 2023 Update: **533320**<br/>All other Windows operating systems: **533325** |' },
  ],
});

/** Where the .NET Framework 3.5 (2.0 runtime) tells it is installed. */
export const DOTNET35_INSTALLED = defineFact({
  id: 'dotnet.v35-install-key',
  topic: '.NET Framework',
  statement: '.NET Framework 3.5 is installed when HKLM\\SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v3.5 Install is 1',
  value: { key: 'SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v3.5', name: 'Install', data: 1 },
  status: 'stated',
  proof: 'microsoft',
  sources: [{ ...VERSIONS_DOC, quote: '| 3.5                | **HKLM\\\\Software\\\\Microsoft\\\\NET Framework Setup\\\\NDP\\\\v3.5**        | **Install** REG_DWORD equals `1` |' }],
});

/** The update per OS that brings the TLS System Default Versions support to the .NET Framework 3.5. */
export const DOTNET35_TLS_FIX_KBS = defineFact({
  id: 'dotnet.v35-tls-fix-kbs',
  topic: '.NET Framework',
  statement: 'TLS 1.2 for the .NET Framework 3.5 needs KB3154518 (6.1), KB3154519 (6.2), KB3154520 (6.3), KB3156421 (Windows 10 1511)',
  value: [
    { version: '6.1', kbs: ['KB3154518'] },
    { version: '6.2', kbs: ['KB3154519'] },
    { version: '6.3', kbs: ['KB3154520'] },
    { version: '10.0', kbs: ['KB3156421'] },
  ],
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...TLS_DOC, quote: '| Windows 7 SP1</br>Windows Server 2008 R2 SP1 | [Support for TLS System Default Versions included in the .NET Framework 3.5.1 on Windows 7 SP1 and Server 2008 R2 SP1](https://support.microsoft.com/help/3154518/support-for-tls-system-default-versions-included-in-the--net-framework) |' },
    { ...TLS_DOC, quote: '| Windows 8.0</br>Windows Server 2012 | [Support for TLS System Default Versions included in the .NET Framework 3.5 on Windows Server 2012](https://support.microsoft.com/help/3154519/support-for-tls-system-default-versions-included-in-the--net-framework) |' },
    { ...TLS_DOC, quote: '| Windows 8.1</br>Windows Server 2012 R2 | [Support for TLS System Default Versions included in the .NET Framework 3.5 on Windows 8.1 and Windows Server 2012 R2](https://support.microsoft.com/help/3154520/support-for-tls-system-default-versions-included-in-the--net-framework) |' },
    { ...TLS_DOC, quote: '| Windows 10</br>Windows Server 2016 | [Cumulative Update for Windows 10 Version 1511 and Windows Server 2016 Technical Preview 4: May 10, 2016](https://support.microsoft.com/help/3156421/cumulative-update-for-windows-10-version-1511-and-windows-server-2016) |' },
  ],
});

/**
 * The OS builds whose Windows carries the .NET 3.5 support itself: Windows Server 2016 (14393) and 2019
 * (17763), the Windows 10 releases the protocols table pairs them with. No sentence found covers a
 * later server build (2022, 2025): there the fix is `unknown` unless an update the administrator names
 * is installed.
 */
export const DOTNET35_TLS_IN_THE_BOX = defineFact({
  id: 'dotnet.v35-tls-in-the-box',
  topic: '.NET Framework',
  statement: 'On Windows Server 2016 (build 14393) and 2019 (17763), Windows 10 releases, the .NET Framework 3.5 negotiates TLS 1.2 with no update to install; no sentence found covers a later server build',
  value: [14393, 17763] as readonly number[],
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...TLS_DOC, quote: '| 3.5 | TLS 1.2 | TLS 1.2 |' },
    { ...TLS_DOC, quote: '| Windows 10</br>Windows Server 2016 | [Cumulative Update for Windows 10 Version 1511 and Windows Server 2016 Technical Preview 4: May 10, 2016](https://support.microsoft.com/help/3156421/cumulative-update-for-windows-10-version-1511-and-windows-server-2016) |' },
    { ...PROTOCOLS_TABLE, quote: '| Windows 10, version 1607/Windows Server 2016 Standard | Not supported | Not supported | Not supported | Disabled | Disabled |' },
    { ...PROTOCOLS_TABLE, quote: '| Windows 10, version 1809//Windows Server 2019 | Enabled | Enabled | Enabled | Enabled | Enabled | Enabled | Not supported | Not supported |' },
  ],
  note: "The first row is the current table of the highest TLS version per .NET Framework target, whose columns are Windows 10 and Windows 11 (no build, no server release, no update named). The second is the 2018 revision: the only update named for Windows 10 / Server 2016 is the May 2016 cumulative update of Windows 10 1511 and Server 2016 Technical Preview 4, which Server 2016 itself (build 14393, os.server-builds) cannot install. The protocols table's rows pair Windows Server 2016 with Windows 10 1607 and Server 2019 with Windows 10 1809: that is how the Windows 10 column covers them. Deviation from the reference page, which lists KB3154521 and KB3156421 for \"Windows 10 and Windows Server 2016\": builds 14393 and 17763 need neither. Searched the docs and pages corpora for the .NET Framework 3.5 and TLS 1.2 on Windows Server 2022 (20348) and 2025 (26100): no sentence found names them (the table's Windows 11 column is not a server release), so there the fix is `unknown` unless a KB passed with hotfixSupersededBy is installed.",
});

/** The KB pages say later .NET updates superseded the hotfixes, without naming them. */
export const DOTNET35_TLS_FIX_SUPERSEDED = defineFact({
  id: 'dotnet.v35-tls-fix-superseding-kbs',
  topic: '.NET Framework',
  statement: 'KB3154518/19/20 are superseded by "the latest updates of .NET Framework" — no superseding KB is named',
  value: [] as string[],
  status: 'unknown',
  proof: 'none',
  sources: [
    { ...kb('3154520', 'Support for TLS System Default Versions included in the .NET Framework 3.5 on Windows 8.1 and Windows Server 2012 R2'), quote: 'The hotfix that corresponds to KB3154520 has been superseded with the latest updates of .NET Framework, which contain all fixes that were previously included in KB3154520.' },
    { ...kb('3154519', 'Support for TLS System Default Versions included in the .NET Framework 3.5 on Windows Server 2012'), quote: 'The hotfix that corresponds to KB3154519 has been superseded with the latest updates of .NET Framework, which contain all fixes that were previously included in KB3154519.' },
    { ...kb('3154518', 'Support for TLS System Default Versions included in the .NET Framework 3.5.1 on Windows 7 SP1 and Server 2008 R2 SP1'), quote: 'The hotfix that corresponds to KB3154518 has been superseded with the latest updates of .NET Framework, which contain all fixes that were previously included in KB3154518.' },
  ],
  note: 'A patched server may list neither the hotfix nor any KB the engine could recognise: its absence from the installed updates is not evidence of absence. An administrator who knows which rollup carries it passes it with hotfixSupersededBy.',
});

/** No KB page publishes a System.dll file version for the fix. */
export const DOTNET35_TLS_FIX_FILE_VERSION = defineFact({
  id: 'dotnet.v35-tls-fix-file-version',
  topic: '.NET Framework',
  statement: 'The 2.0 runtime System.dll version that carries the TLS System Default Versions support — not published',
  value: null as string | null,
  status: 'unknown',
  proof: 'none',
  sources: [],
  note: 'The KB3154518/19/20 pages as Microsoft keeps them now have no file information section. The file version read on the host is shown as evidence and judged by nothing.',
});

/**
 * `SslProtocolsExtensions` is an enumeration applications add to their own code: its absence from the
 * 2.0 runtime's System.dll proves nothing (the engine no longer searches for it).
 */
export const DOTNET35_EXTENSIONS_ARE_APP_CODE = defineFact({
  id: 'dotnet.sslprotocolsextensions-app-code',
  topic: '.NET Framework',
  statement: 'SecurityProtocolTypeExtensions and SslProtocolsExtensions are added by applications to their own code: not evidence of the fix in System.dll',
  value: 'application-code' as const,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...TLS_DOC, quote: 'If you must explicitly set a security protocol instead of letting the .NET framework or the OS pick the security protocol, add `SecurityProtocolTypeExtensions` and `SslProtocolsExtension` enumerations to your code.' },
  ],
});

/** Every .NET Framework fact, in the order of `docs/windows-facts.md`. */
export const DOTNET_FACTS: readonly WindowsFact[] = [
  DOTNET_MIN_RELEASE_46,
  DOTNET_RELEASE_VALUES,
  DOTNET35_INSTALLED,
  DOTNET35_TLS_FIX_KBS,
  DOTNET35_TLS_IN_THE_BOX,
  DOTNET35_TLS_FIX_SUPERSEDED,
  DOTNET35_TLS_FIX_FILE_VERSION,
  DOTNET35_EXTENSIONS_ARE_APP_CODE,
];
