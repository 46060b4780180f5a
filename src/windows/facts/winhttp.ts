/** Windows facts: WinHTTP. Each states its Microsoft source; see `types.ts` for the shape. */
import { defineFact, type WindowsFact } from './types.js';

const KB3140245 = {
  title: 'Update to enable TLS 1.1 and TLS 1.2 as default secure protocols in WinHTTP in Windows (KB3140245)',
  url: 'https://support.microsoft.com/help/3140245',
};

/**
 * The builds KB3140245 is for: Windows Server 2012 (9200) and Windows 7 SP1 / Windows Server 2008 R2
 * SP1 (7601). On them, WinHTTP clients that use the default protocols (WinRM among them) do not use TLS
 * 1.1 or 1.2 until the update is installed and `DefaultSecureProtocols` says so.
 */
export const KB3140245_BUILDS_FACT = defineFact({
  id: 'winhttp.kb3140245-builds',
  topic: 'WinHTTP',
  statement: 'KB3140245 (DefaultSecureProtocols) is for Windows Server 2012 (build 9200) and Windows 7 SP1 / Windows Server 2008 R2 SP1 (build 7601)',
  value: { kb: 'KB3140245', builds: [7601, 9200] },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...KB3140245, quote: 'This update provides support for Transport Layer Security (TLS) 1.1 and TLS 1.2 in Windows Server 2012, Windows 7 Service Pack 1 (SP1), and Windows Server 2008 R2 SP1.' },
    { ...KB3140245, quote: "Applications and services that are written by using WinHTTP for Secure Sockets Layer (SSL) connections that use the WINHTTP_OPTION_SECURE_PROTOCOLS flag can't use TLS 1.1 or TLS 1.2 protocols." },
    { ...KB3140245, quote: 'This is the case for some Microsoft Office applications when they open documents from a SharePoint library or a Web Folder, IP-HTTPS tunnels for DirectAccess connectivity, and other applications by using technologies such as WebClient by using WebDav, WinRM, and others.' },
  ],
});

/** Where `DefaultSecureProtocols` goes: the WinHttp key, in both registry views on 64-bit Windows. */
export const DEFAULT_SECURE_PROTOCOLS_LOCATION_FACT = defineFact({
  id: 'winhttp.default-secure-protocols-location',
  topic: 'WinHTTP',
  statement: '`DefaultSecureProtocols` (DWORD) under `SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp`, and on x64 also under Wow6432Node (the 32-bit view)',
  value: { key: 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp', name: 'DefaultSecureProtocols', views: ['64', '32'] },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...KB3140245, quote: 'The DefaultSecureProtocols registry entry can be added in the following path: HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp' },
    { ...KB3140245, quote: 'On x64-based computers, DefaultSecureProtocols must also be added to the Wow6432Node path: HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp' },
  ],
  note: 'Quoted from the KB as reproduced verbatim in answers that cite it (superuser.com question 1080317); the live page moved to support.microsoft.com/topic/… with the same text.',
});

/** The bits of `DefaultSecureProtocols`: one per protocol; their sum enables several (TLS 1.1 + 1.2 = 0xA00). */
export const DEFAULT_SECURE_PROTOCOLS_BITS_FACT = defineFact({
  id: 'winhttp.default-secure-protocols-bits',
  topic: 'WinHTTP',
  statement: 'DefaultSecureProtocols is a bitmap: TLS 1.1 = 0x00000200, TLS 1.2 = 0x00000800 (both: 0x00000A00)',
  value: { 'TLS 1.1': 0x200, 'TLS 1.2': 0x800 },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...KB3140245, quote: 'The registry value is a DWORD bitmap.' },
    { ...KB3140245, quote: 'Take the value for TLS 1.1 (0x00000200) and the value for TLS 1.2 (0x00000800) then add them together in calculator (in programmer mode), the resulting registry value would be 0x00000A00.' },
  ],
  note: 'WinHTTP defaults "are overruled by SCHANNEL disabled protocols" (same KB): a bit for a protocol SCHANNEL disables is harmless but useless.',
});

/**
 * A changed `DefaultSecureProtocols` takes effect once the machine restarts, or the services that use
 * WinHTTP do: `windows/winhttp-tls` owes a restart when it writes it (the services are not known one by
 * one; WinRM is one of them).
 */
export const DEFAULT_SECURE_PROTOCOLS_RESTART_FACT = defineFact({
  id: 'winhttp.default-secure-protocols-restart',
  topic: 'WinHTTP',
  statement: 'A DefaultSecureProtocols value set or changed takes effect after a restart of the machine or of the services that use WinHTTP: a change owes a restart',
  value: { restart: true },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'Configure secure protocol options for WinHTTP',
      url: 'https://learn.microsoft.com/windows-server/networking/configure-secure-protocol-options-winhttp',
      quote: 'Either reboot the machine or restart whichever services are using WinHTTP.',
    },
  ],
  note: "The sentence is the last step of the page's procedure for DefaultSecureProtocols, the same value under the same WinHttp key; the page's Applies to names Windows Server 2016 to 2022 and Windows 10 and 11. KB3140245, for Windows Server 2012 and 2008 R2 SP1 where the step writes the value, was searched for a restart after setting it and says nothing of one: the engine takes the Windows Server page's rule for it, which only ever adds a restart (the bundled runbooks restart after SCHANNEL anyway).",
});

/** Every WinHTTP fact, in the order of `docs/windows-facts.md`. */
export const WINHTTP_FACTS: readonly WindowsFact[] = [KB3140245_BUILDS_FACT, DEFAULT_SECURE_PROTOCOLS_LOCATION_FACT, DEFAULT_SECURE_PROTOCOLS_BITS_FACT, DEFAULT_SECURE_PROTOCOLS_RESTART_FACT];
