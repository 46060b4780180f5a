/**
 * WS-Management envelopes of the Windows Remote Shell (MS-WSMV §3.1.4.1 headers, §3.1.4.5–3.1.4.14 the
 * shell's Create, Command, Send, Receive, Signal and Delete), and the few parts of the answers a client
 * needs: the shell's and command's ids, the output streams, the exit code, and SOAP faults. Built as
 * strings from fixed templates: every value that enters an envelope is escaped or base64.
 */
import { randomUUID } from 'node:crypto';
import { WINRM_RECEIVE_TIMEOUT_CODE, WINRM_SERVICE_MAX_ENVELOPE_SIZE_KB, WINRM_SHELL_NOT_FOUND } from '../../windows/facts/winrm-service.js';

const NS = {
  s: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  w: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
  p: 'http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd',
  rsp: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
} as const;

/** The resource URI of a cmd-type Windows Remote Shell. */
export const SHELL_RESOURCE = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd';

export const Action = {
  create: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Create',
  delete: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete',
  command: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command',
  send: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send',
  receive: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive',
  signal: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal',
} as const;
export type Action = (typeof Action)[keyof typeof Action];

const COMMAND_DONE = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done';
const SIGNAL_TERMINATE = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate';

/** Fault codes a client acts on (the `Code` of the WSManFault detail). */
export const FaultCode = {
  /** A Receive's OperationTimeout passed with no output: ask again. */
  operationTimedOut: WINRM_RECEIVE_TIMEOUT_CODE.value,
  /** The shell is gone (the service restarted, the shell timed out or was deleted). */
  shellNotFound: WINRM_SHELL_NOT_FOUND.value.code,
} as const;

/** The addressing every envelope carries. */
export interface EnvelopeContext {
  /** The listener's URL, port included, e.g. `http://orch01:5985/wsman`. */
  to: string;
  /** `wsman:MaxEnvelopeSize` in bytes: the largest answer the client takes, and the limit it keeps to. */
  maxEnvelopeBytes: number;
  /** How long the server may hold a Receive with no output, in seconds. @default 20 */
  operationTimeoutS?: number;
}

/** The largest envelope, in KB, sent unless told the server's `MaxEnvelopeSizekb` (the service's default). */
export const DEFAULT_MAX_ENVELOPE_KB = WINRM_SERVICE_MAX_ENVELOPE_SIZE_KB.value;

/** What a Send's envelope needs besides its data: headers and the stream element, with room to spare. */
const SEND_OVERHEAD_BYTES = 4096;

/**
 * The most bytes of standard input one Send carries, so that its envelope (data in base64) stays
 * within `maxEnvelopeBytes`.
 *
 * @example
 * ```ts
 * sendChunkBytes(500 * 1024); // 380928
 * ```
 */
export function sendChunkBytes(maxEnvelopeBytes: number): number {
  const room = Math.floor(((maxEnvelopeBytes - SEND_OVERHEAD_BYTES) * 3) / 4);
  return Math.max(3, room - (room % 3));
}

/** Escapes text for an XML element or attribute. */
export function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

function xmlUnescape(text: string): string {
  return text.replace(/&(lt|gt|amp|apos|quot|#x[0-9a-fA-F]+|#\d+);/g, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' } as Record<string, string>)[e];
  });
}

function envelope(ctx: EnvelopeContext, action: Action, extra: { shellId?: string; options?: Record<string, string> }, body: string): string {
  const selector = extra.shellId ? `<w:SelectorSet><w:Selector Name="ShellId">${xmlEscape(extra.shellId)}</w:Selector></w:SelectorSet>` : '';
  const options = extra.options
    ? `<w:OptionSet>${Object.entries(extra.options)
        .map(([name, value]) => `<w:Option Name="${name}">${xmlEscape(value)}</w:Option>`)
        .join('')}</w:OptionSet>`
    : '';
  return (
    `<?xml version="1.0" encoding="utf-8"?>` +
    `<s:Envelope xmlns:s="${NS.s}" xmlns:wsa="${NS.wsa}" xmlns:w="${NS.w}" xmlns:p="${NS.p}" xmlns:rsp="${NS.rsp}">` +
    `<s:Header>` +
    `<wsa:To>${xmlEscape(ctx.to)}</wsa:To>` +
    `<wsa:ReplyTo><wsa:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>` +
    `<wsa:Action s:mustUnderstand="true">${action}</wsa:Action>` +
    `<w:MaxEnvelopeSize s:mustUnderstand="true">${ctx.maxEnvelopeBytes}</w:MaxEnvelopeSize>` +
    `<wsa:MessageID>uuid:${randomUUID().toUpperCase()}</wsa:MessageID>` +
    `<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>` +
    `<p:DataLocale xml:lang="en-US" s:mustUnderstand="false"/>` +
    `<w:OperationTimeout>PT${ctx.operationTimeoutS ?? 20}.000S</w:OperationTimeout>` +
    `<w:ResourceURI s:mustUnderstand="true">${SHELL_RESOURCE}</w:ResourceURI>` +
    selector +
    options +
    `</s:Header>` +
    `<s:Body>${body}</s:Body>` +
    `</s:Envelope>`
  );
}

/**
 * Creates a shell with stdin, stdout and stderr, no user profile, and UTF-8 (code page 65001) for the
 * console of what it runs.
 *
 * @example
 * ```ts
 * const xml = createShellEnvelope({ to: 'http://orch01:5985/wsman', maxEnvelopeBytes: 153600 });
 * ```
 */
export function createShellEnvelope(ctx: EnvelopeContext): string {
  return envelope(
    ctx,
    Action.create,
    { options: { WINRS_NOPROFILE: 'TRUE', WINRS_CODEPAGE: '65001' } },
    `<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>`,
  );
}

/**
 * Starts a command in a shell: the program started directly (no cmd.exe on the way), its standard
 * input a pipe the client writes with Send.
 */
export function commandEnvelope(ctx: EnvelopeContext, shellId: string, command: string, args: readonly string[]): string {
  return envelope(
    ctx,
    Action.command,
    { shellId, options: { WINRS_CONSOLEMODE_STDIN: 'FALSE', WINRS_SKIP_CMD_SHELL: 'TRUE' } },
    `<rsp:CommandLine><rsp:Command>${xmlEscape(command)}</rsp:Command>${args.map((a) => `<rsp:Arguments>${xmlEscape(a)}</rsp:Arguments>`).join('')}</rsp:CommandLine>`,
  );
}

/** Writes bytes to a command's standard input (at most {@link sendChunkBytes} per envelope); `end` closes it. */
export function sendEnvelope(ctx: EnvelopeContext, shellId: string, commandId: string, data: Buffer, end = false): string {
  return envelope(
    ctx,
    Action.send,
    { shellId },
    `<rsp:Send><rsp:Stream Name="stdin" CommandId="${xmlEscape(commandId)}"${end ? ' End="true"' : ''}>${data.toString('base64')}</rsp:Stream></rsp:Send>`,
  );
}

/** Asks for a command's output; the server answers when there is some, or faults after OperationTimeout. */
export function receiveEnvelope(ctx: EnvelopeContext, shellId: string, commandId: string): string {
  return envelope(
    ctx,
    Action.receive,
    { shellId, options: { WSMAN_CMDSHELL_OPTION_KEEPALIVE: 'TRUE' } },
    `<rsp:Receive><rsp:DesiredStream CommandId="${xmlEscape(commandId)}">stdout stderr</rsp:DesiredStream></rsp:Receive>`,
  );
}

/** Terminates a command. */
export function signalEnvelope(ctx: EnvelopeContext, shellId: string, commandId: string): string {
  return envelope(ctx, Action.signal, { shellId }, `<rsp:Signal CommandId="${xmlEscape(commandId)}"><rsp:Code>${SIGNAL_TERMINATE}</rsp:Code></rsp:Signal>`);
}

/** Deletes a shell (and ends what still runs in it). */
export function deleteShellEnvelope(ctx: EnvelopeContext, shellId: string): string {
  return envelope(ctx, Action.delete, { shellId }, '');
}

interface Element {
  attrs: Record<string, string>;
  text: string;
}

/** The elements with this local name, whatever their prefix (answers come from different servers). */
function elements(xml: string, local: string): Element[] {
  const re = new RegExp(`<(?:[\\w.-]+:)?${local}\\b([^>]*?)(?:/>|>([\\s\\S]*?)</(?:[\\w.-]+:)?${local}\\s*>)`, 'g');
  const found: Element[] = [];
  for (const m of xml.matchAll(re)) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? '').matchAll(/([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      attrs[a[1].replace(/^[\w.-]+:/, '')] = xmlUnescape(a[2] ?? a[3] ?? '');
    }
    found.push({ attrs, text: m[2] ?? '' });
  }
  return found;
}

function text(xml: string, local: string): string | null {
  const [first] = elements(xml, local);
  return first ? xmlUnescape(first.text.replace(/<[^>]+>/g, '')).trim() : null;
}

/** A SOAP fault, as much of it as a client acts on. */
export interface WsmanFault {
  /** The WSManFault detail's code (e.g. {@link FaultCode.shellNotFound}), when the server gave one. */
  code: number | null;
  /** The subcode, without its prefix (e.g. `TimedOut`, `EncodingLimit`, `InvalidSelectors`). */
  subcode: string | null;
  /** The server's words: the WSManFault message, else the SOAP reason. */
  message: string;
}

/** The fault an answer carries, or null. */
export function parseFault(xml: string): WsmanFault | null {
  const [fault] = elements(xml, 'Fault');
  if (!fault) return null;
  const [detail] = elements(fault.text, 'WSManFault');
  const code = detail?.attrs.Code ? Number(detail.attrs.Code) : null;
  const [sub] = elements(fault.text, 'Subcode');
  const subcode = sub ? (text(sub.text, 'Value') ?? '').replace(/^[\w.-]+:/, '') || null : null;
  const message = (detail ? text(detail.text, 'Message') : null) || text(fault.text, 'Text') || text(fault.text, 'Reason') || 'no reason given';
  return { code: Number.isFinite(code) ? code : null, subcode, message: message.replace(/\s+/g, ' ').trim() };
}

/** The id of a new shell: `rsp:ShellId`, or the `ShellId` selector some servers answer with instead. */
export function parseShellId(xml: string): string | null {
  const id = text(xml, 'ShellId');
  if (id) return id;
  const selector = elements(xml, 'Selector').find((s) => s.attrs.Name === 'ShellId');
  return selector ? xmlUnescape(selector.text).trim() || null : null;
}

/** The id of a started command. */
export function parseCommandId(xml: string): string | null {
  return text(xml, 'CommandId');
}

/** What one Receive brought. */
export interface ReceiveResult {
  stdout: Buffer;
  stderr: Buffer;
  /** The command has ended (its output is all here). */
  done: boolean;
  exitCode: number | null;
}

/**
 * The output streams of a Receive answer, in order, and whether the command is done.
 *
 * @example
 * ```ts
 * declare const answer: string; // a Receive's answer
 * const { stdout, done, exitCode } = parseReceive(answer);
 * ```
 */
export function parseReceive(xml: string, commandId?: string): ReceiveResult {
  const out: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] };
  for (const stream of elements(xml, 'Stream')) {
    if (commandId && stream.attrs.CommandId && stream.attrs.CommandId.toLowerCase() !== commandId.toLowerCase()) continue;
    const name = stream.attrs.Name;
    if ((name === 'stdout' || name === 'stderr') && stream.text.trim()) out[name].push(Buffer.from(stream.text.trim(), 'base64'));
  }
  const [state] = elements(xml, 'CommandState');
  const done = state?.attrs.State === COMMAND_DONE;
  const exit = state ? text(state.text, 'ExitCode') : null;
  return { stdout: Buffer.concat(out.stdout), stderr: Buffer.concat(out.stderr), done, exitCode: exit !== null && exit !== '' ? Number(exit) : null };
}
