/**
 * The SOAP side of the simulated host's WinRM listener: reading a WS-Management request envelope and
 * writing the responses and faults as Windows shapes them ([MS-WSMV] section 4.7's Remote Shell
 * examples). Only what the Windows Remote Shell (WinRS) needs is read: the action, the message id,
 * the resource URI, the ShellId selector, the timeouts and the body's elements. Elements are found by
 * their local name whatever their prefix (clients use `s:`, `env:`, `a:`, `wsa:`, `w:`, `wsman:`).
 */
import { randomUUID } from 'node:crypto';

export const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  addressing: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  transfer: 'http://schemas.xmlsoap.org/ws/2004/09/transfer',
  wsman: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
  shell: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
  wsmanFault: 'http://schemas.microsoft.com/wbem/wsman/1/wsmanfault',
} as const;

export const ACTION = {
  create: `${NS.transfer}/Create`,
  delete: `${NS.transfer}/Delete`,
  command: `${NS.shell}/Command`,
  send: `${NS.shell}/Send`,
  receive: `${NS.shell}/Receive`,
  signal: `${NS.shell}/Signal`,
  fault: 'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault',
} as const;

/** The cmd shell's resource URI: the only one the simulated listener serves. */
export const CMD_SHELL_URI = `${NS.shell}/cmd`;

/** One element found by local name: its attributes (by local name) and its raw inner XML. */
export interface XmlElement {
  attrs: Record<string, string>;
  inner: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Text content with XML's entities decoded. */
export function xmlText(raw: string): string {
  return raw
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')
    .replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (all, e: string) =>
      e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : (ENTITIES[e] ?? all),
    )
    .trim();
}

/** Text as XML content or attribute value. */
export function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Every element of that local name, in document order (not nested in one another of the same name). */
export function elements(xml: string, name: string): XmlElement[] {
  const pattern = new RegExp(`<(?:[\\w.-]+:)?${name}((?:\\s[^>]*?)?)(?:/>|>([\\s\\S]*?)</(?:[\\w.-]+:)?${name}\\s*>)`, 'g');
  const found: XmlElement[] = [];
  for (const m of xml.matchAll(pattern)) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? '').matchAll(/([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      attrs[a[1].replace(/^[\w.-]+:/, '')] = xmlText(a[2] ?? a[3] ?? '');
    }
    found.push({ attrs, inner: m[2] ?? '' });
  }
  return found;
}

/** The first element of that local name, or null. */
export function element(xml: string, name: string): XmlElement | null {
  return elements(xml, name)[0] ?? null;
}

/** What the listener reads from a request's header. */
export interface WsmanRequest {
  action: string;
  messageId: string;
  resourceUri: string;
  shellId: string | null;
  /** The client's wsman:MaxEnvelopeSize, in octets (null: not given). */
  maxEnvelopeSize: number | null;
  /** The client's wsman:OperationTimeout, in milliseconds (null: not given). */
  operationTimeoutMs: number | null;
  body: string;
}

/** An ISO 8601 duration as WS-Management writes it (`PT60.000S`, `PT1M30S`), in milliseconds. */
export function durationMs(text: string): number | null {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text.trim());
  if (!m) return null;
  const [d, h, min, s] = [m[1], m[2], m[3], m[4]].map((x) => Number(x ?? 0));
  return Math.round((((d * 24 + h) * 60 + min) * 60 + s) * 1000);
}

/** Reads a request envelope; null when it is not a SOAP envelope with a header. */
export function readRequest(xml: string): WsmanRequest | null {
  const header = element(xml, 'Header');
  if (!header) return null;
  const text = (name: string) => {
    const e = element(header.inner, name);
    return e ? xmlText(e.inner) : '';
  };
  const shellSelector = elements(element(header.inner, 'SelectorSet')?.inner ?? '', 'Selector').find((s) => s.attrs.Name?.toLowerCase() === 'shellid');
  const size = Number(text('MaxEnvelopeSize'));
  const timeout = text('OperationTimeout');
  return {
    action: text('Action'),
    messageId: text('MessageID'),
    resourceUri: text('ResourceURI'),
    shellId: shellSelector ? xmlText(shellSelector.inner) : null,
    maxEnvelopeSize: Number.isFinite(size) && size > 0 ? size : null,
    operationTimeoutMs: timeout ? durationMs(timeout) : null,
    body: element(xml, 'Body')?.inner ?? '',
  };
}

/** A response envelope for `action`, relating to the request's message id. */
export function responseEnvelope(action: string, relatesTo: string, body: string): string {
  return (
    `<s:Envelope xml:lang="en-US" xmlns:s="${NS.soap}" xmlns:a="${NS.addressing}" xmlns:x="${NS.transfer}" xmlns:w="${NS.wsman}" xmlns:rsp="${NS.shell}">` +
    `<s:Header><a:Action>${xmlEscape(action)}</a:Action><a:MessageID>uuid:${randomUUID().toUpperCase()}</a:MessageID>` +
    `<a:To>${NS.addressing}/role/anonymous</a:To>${relatesTo ? `<a:RelatesTo>${xmlEscape(relatesTo)}</a:RelatesTo>` : ''}</s:Header>` +
    `<s:Body>${body}</s:Body></s:Envelope>`
  );
}

/** A SOAP fault as the WinRM service writes one: code, subcode, reason, and the WSManFault detail. */
export interface WsmanFault {
  code: 's:Sender' | 's:Receiver';
  subcode: string;
  reason: string;
  /** The WSManFault's Code (a Windows error number). */
  wsmanCode: number;
  message: string;
  detail?: string;
}

/** The fault's envelope (sent with HTTP 500, as the WinRM service sends its faults). */
export function faultEnvelope(fault: WsmanFault, relatesTo: string, machine: string): string {
  const detail = fault.detail ? `<w:FaultDetail>${xmlEscape(fault.detail)}</w:FaultDetail>` : '';
  return responseEnvelope(
    ACTION.fault,
    relatesTo,
    `<s:Fault><s:Code><s:Value>${fault.code}</s:Value><s:Subcode><s:Value>${xmlEscape(fault.subcode)}</s:Value></s:Subcode></s:Code>` +
      `<s:Reason><s:Text xml:lang="en-US">${xmlEscape(fault.reason)}</s:Text></s:Reason>` +
      `<s:Detail>${detail}<f:WSManFault xmlns:f="${NS.wsmanFault}" Code="${fault.wsmanCode}" Machine="${xmlEscape(machine)}"><f:Message>${xmlEscape(fault.message)}</f:Message></f:WSManFault></s:Detail></s:Fault>`,
  );
}
