/** Windows facts: OS. Each states its Microsoft source; see `types.ts` for the shape. */
import { defineFact, type WindowsFact } from './types.js';

const OS_VERSION_DOC = {
  title: 'Operating System Version',
  url: 'https://learn.microsoft.com/windows/win32/sysinfo/operating-system-version',
};
const SERVER_RELEASE_INFO = {
  title: 'Windows Server release information',
  url: 'https://learn.microsoft.com/windows/release-health/windows-server-release-info',
};

/**
 * Windows releases of the 6.x family by `major.minor` version: a server (`ProductType` not 1) or a
 * workstation. Windows Server 2012 R2 is told by its version (6.3) and product type, not by a build.
 */
export const OS_VERSION_NAMES = defineFact({
  id: 'os.version-names',
  topic: 'OS',
  statement: 'Windows 6.x releases are told apart by major.minor version and product type: 6.1 Server 2008 R2 / Windows 7, 6.2 Server 2012 / Windows 8, 6.3 Server 2012 R2 / Windows 8.1',
  value: [
    { version: '6.1', server: 'Windows Server 2008 R2', workstation: 'Windows 7' },
    { version: '6.2', server: 'Windows Server 2012', workstation: 'Windows 8' },
    { version: '6.3', server: 'Windows Server 2012 R2', workstation: 'Windows 8.1' },
  ] as const,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...OS_VERSION_DOC, quote: '| Windows Server 2012 R2 | 6.3* | 6 | 3 | OSVERSIONINFOEX.wProductType != VER_NT_WORKSTATION |' },
    { ...OS_VERSION_DOC, quote: '| Windows Server 2012 | 6.2 | 6 | 2 | OSVERSIONINFOEX.wProductType != VER_NT_WORKSTATION |' },
    { ...OS_VERSION_DOC, quote: '| Windows Server 2008 R2 | 6.1 | 6 | 1 | OSVERSIONINFOEX.wProductType != VER_NT_WORKSTATION |' },
  ],
});

/** The long-term servicing releases of Windows Server on version 10.0, by OS build. */
export const OS_SERVER_BUILDS = defineFact({
  id: 'os.server-builds',
  topic: 'OS',
  statement: 'Windows Server 2016, 2019, 2022 and 2025 are version 10.0 with OS builds 14393, 17763, 20348 and 26100',
  value: [
    { name: 'Windows Server 2016', build: 14393 },
    { name: 'Windows Server 2019', build: 17763 },
    { name: 'Windows Server 2022', build: 20348 },
    { name: 'Windows Server 2025', build: 26100 },
  ] as const,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...SERVER_RELEASE_INFO, quote: 'Windows Server 2016 (OS build 14393)' },
    { ...SERVER_RELEASE_INFO, quote: 'Windows Server 2019 (OS build 17763)' },
    { ...SERVER_RELEASE_INFO, quote: 'Windows Server 2022 (OS build 20348)' },
    { ...SERVER_RELEASE_INFO, quote: 'Windows Server 2025 (OS build 26100)' },
  ],
});

/** Every OS fact, in the order of `docs/windows-facts.md`. */
export const OS_FACTS: readonly WindowsFact[] = [OS_VERSION_NAMES, OS_SERVER_BUILDS];
