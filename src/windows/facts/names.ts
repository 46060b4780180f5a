/**
 * Windows facts: how a computer's name compares — what makes two targets' host names one machine
 * (the inventory's duplicate check and the machine lease, `machineKeyOf`). Each states its source;
 * see `types.ts` for the shape.
 */
import { defineFact, type WindowsFact } from './types.js';

/** `ORCH01` and `orch01` name one computer: its DNS name does not depend on case. */
export const HOST_NAME_CASE_INSENSITIVE = defineFact({
  id: 'names.host-name-case-insensitive',
  topic: 'Computer names',
  statement: "A computer's DNS name (its host name, alone or fully qualified) is not case sensitive: names that differ only in case name one computer",
  value: true,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'Computer Names',
      url: 'https://learn.microsoft.com/en-us/windows/win32/sysinfo/computer-names',
      quote: 'DNS names are represented in the UTF-8 character set or Unicode. The name is not case sensitive.',
    },
    {
      title: 'Creating DNS Computer Names',
      url: 'https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-server-2003/cc785282(v=ws.10)',
      quote: 'Do not use character case to convey the owner or purpose of a computer. DNS is not case-sensitive.',
    },
    {
      title: 'DnsNameCompare_A function (windns.h)',
      url: 'https://learn.microsoft.com/en-us/windows/win32/api/windns/nf-windns-dnsnamecompare_a',
      quote: 'Name comparisons are not case sensitive, and trailing dots are ignored.',
    },
  ],
  note: 'RFC 4343 (Domain Name System (DNS) Case Insensitivity Clarification, https://www.rfc-editor.org/rfc/rfc4343) says it of every DNS name: each node "has a name consisting of zero or more labels [...] that are treated in a case insensitive fashion". A NetBIOS name is compared byte for byte ([MS-NBTE] 2.2.1: "NetBIOS names are inherently case-sensitive"), but Windows writes a computer\'s NetBIOS name in uppercase by convention (Computer Names: "NetBIOS names, by convention, are represented in uppercase"), so the case a target is written in does not pick another computer either. The engine compares host names in lower case (ASCII and Unicode alike, as JavaScript lowercases them).',
});

/**
 * `web01.example.com.` and `web01.example.com` name one computer: the trailing dot is the DNS root's
 * (empty) label, written to say the name is complete.
 */
export const FQDN_TRAILING_DOT = defineFact({
  id: 'names.fqdn-trailing-dot',
  topic: 'Computer names',
  statement: 'One dot at the end of a DNS name is the root of the DNS name space: `web01.example.com.` is `web01.example.com` written as complete (fully qualified), and Windows compares DNS names with the trailing dot ignored',
  value: '.',
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'Root',
      url: 'https://learn.microsoft.com/en-us/windows/win32/dns/root',
      quote: 'The root, which is defined as " " (nothing) or more accurately "." (a dot), is the base at which any entire-domain-tree search must be initiated.',
    },
    {
      title: 'DnsNameCompare_A function (windns.h)',
      url: 'https://learn.microsoft.com/en-us/windows/win32/api/windns/nf-windns-dnsnamecompare_a',
      quote: 'Name comparisons are not case sensitive, and trailing dots are ignored.',
    },
  ],
  note: 'RFC 1034 section 3.1 (https://www.rfc-editor.org/rfc/rfc1034#section-3.1) says how the dot is written: "Since a complete domain name ends with the root label, this leads to a printed form which ends in a dot." A name written without it may be completed by the resolver (a DNS suffix appended: RFC 1034\'s "relative" name), so the two spellings could, in a rare setup, reach two computers; the engine takes them as one machine all the same — the cautious side: two entries that may be one machine are refused in one inventory and never driven at once, where taking them as two could drive one computer twice at once.',
});

/** Every computer-name fact, in the order of `docs/windows-facts.md`. */
export const NAMES_FACTS: readonly WindowsFact[] = [HOST_NAME_CASE_INSENSITIVE, FQDN_TRAILING_DOT];
