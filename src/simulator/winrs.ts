/**
 * The Windows Remote Shell (WinRS) of the simulated host: shells, commands, their standard streams
 * and exit codes, as [MS-WSMV] 3.1.4 describes Create, Command, Send, Receive, Signal and Delete.
 * Its one command is the engine's agent (`winrs-agent.ts`): any other command line is
 * refused with a fault.
 */
import { randomUUID } from 'node:crypto';
import { AgentCommand, isAgentCommandLine } from './winrs-agent.js';
import { WINRM_RECEIVE_TIMEOUT_CODE, WINRM_SHELL_NOT_FOUND } from '../windows/facts/winrm-service.js';
import { ACTION, CMD_SHELL_URI, NS, element, elements, responseEnvelope, xmlEscape, xmlText, type WsmanFault, type WsmanRequest } from './wsman.js';

/** What the shell needs from the listener. */
export interface WinrsOptions {
  /** The simulated host's file: the agent's RUNBOOK_AGENT_HOST_FILE. */
  hostFile: string;
  /** The PowerShell that stands for `powershell.exe`. */
  pwsh: string;
  /** The longest a Receive waits for output (MaxTimeoutms). @default 60000 */
  maxTimeoutMs?: number;
}

/** An answer: a response envelope's body and action, or a fault. */
export type WinrsAnswer = { ok: true; action: string; body: string } | { ok: false; fault: WsmanFault };

interface Shell {
  id: string;
  /** The host's boot time when the shell was made: a restart ends it. */
  bootTime: string;
  commands: Map<string, AgentCommand>;
}

const STATE = `${NS.shell}/CommandState`;
const SIGNAL = { terminate: `${NS.shell}/signal/terminate`, ctrlC: `${NS.shell}/signal/ctrl_c` } as const;

/** The fault for a shell the server does not have (any more). */
function shellNotFound(shellId: string): WsmanFault {
  const fact = WINRM_SHELL_NOT_FOUND.value;
  return {
    code: 's:Sender',
    subcode: fact.subcode,
    reason: 'The WS-Management service cannot process the request because the request contained invalid selectors for the resource.',
    wsmanCode: fact.code,
    message: fact.message.replace('{shellId}', shellId),
    detail: 'http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors',
  };
}

/** The simulator's own refusal (not Windows'): a command line other than the agent's bootstrap. */
function refused(what: string): WsmanFault {
  const message = `The simulated host runs only the runbook agent (powershell.exe -NoProfile -NonInteractive -EncodedCommand <the agent bootstrap>); it refused ${what}.`;
  return { code: 's:Sender', subcode: 'w:AccessDenied', reason: message, wsmanCode: 5, message };
}

function badRequest(message: string): WsmanFault {
  return { code: 's:Sender', subcode: 'w:InvalidParameter', reason: 'The parameter is incorrect.', wsmanCode: 87, message };
}

/**
 * The shells of one simulated host.
 *
 * @example
 * ```ts
 * const winrs = new Winrs({ hostFile: 'host.json', pwsh: process.env.RUNBOOK_PWSH! });
 * declare const request: Parameters<Winrs['handle']>[0]; // a WS-Man request, as readRequest parses it
 * const answer = await winrs.handle(request, '2026-12-06T08:00:00.000Z', 512_000);
 * winrs.close();
 * ```
 */
export class Winrs {
  private readonly shells = new Map<string, Shell>();

  constructor(private readonly options: WinrsOptions) {}

  /** Carries out one request against the host as it is now (`bootTime`: its last boot). */
  async handle(request: WsmanRequest, bootTime: string, maxEnvelopeSize: number): Promise<WinrsAnswer> {
    if (request.resourceUri !== CMD_SHELL_URI) {
      return {
        ok: false,
        fault: {
          code: 's:Sender',
          subcode: 'a:DestinationUnreachable',
          reason: 'The WS-Management service cannot process the request. The service cannot find the resource identified by the resource URI and selectors.',
          wsmanCode: 2150858752,
          message: `The simulated host serves only ${CMD_SHELL_URI}; the request named "${request.resourceUri}".`,
          detail: 'http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/InvalidResourceURI',
        },
      };
    }
    if (request.action === ACTION.create) return this.create(bootTime);
    const shellId = request.shellId ?? '';
    const shell = this.shells.get(shellId.toUpperCase());
    // A restart ends every shell, once the agent has answered what it was asked and the answer was
    // collected: on Windows the agent asks for the restart and answers before the system goes down.
    if (shell && shell.bootTime !== bootTime && [...shell.commands.values()].every((c) => c.idle())) this.drop(shell);
    if (!shell || !this.shells.has(shell.id)) return { ok: false, fault: shellNotFound(shellId) };
    switch (request.action) {
      case ACTION.delete:
        this.drop(shell);
        return { ok: true, action: `${ACTION.delete}Response`, body: '' };
      case ACTION.command:
        return this.command(shell, request.body);
      case ACTION.send:
        return this.send(shell, request.body);
      case ACTION.receive:
        return this.receive(shell, request, maxEnvelopeSize);
      case ACTION.signal:
        return this.signal(shell, request.body);
      default:
        return {
          ok: false,
          fault: {
            code: 's:Sender',
            subcode: 'a:ActionNotSupported',
            reason: 'The WS-Management service cannot process the request. The WS-Addressing action URI is invalid.',
            wsmanCode: 2150858753,
            message: `The action "${request.action}" is not one the Windows Remote Shell supports.`,
          },
        };
    }
  }

  /** Ends every shell and its processes. */
  close(): void {
    for (const shell of [...this.shells.values()]) this.drop(shell);
  }

  private create(bootTime: string): WinrsAnswer {
    const id = randomUUID().toUpperCase();
    this.shells.set(id, { id, bootTime, commands: new Map() });
    return {
      ok: true,
      action: `${ACTION.create}Response`,
      body:
        `<x:ResourceCreated><a:Address>${NS.addressing}/role/anonymous</a:Address><a:ReferenceParameters>` +
        `<w:ResourceURI>${CMD_SHELL_URI}</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">${id}</w:Selector></w:SelectorSet>` +
        `</a:ReferenceParameters></x:ResourceCreated>` +
        `<rsp:Shell><rsp:ShellId>${id}</rsp:ShellId><rsp:ResourceUri>${CMD_SHELL_URI}</rsp:ResourceUri><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>`,
    };
  }

  private command(shell: Shell, body: string): WinrsAnswer {
    const line = element(body, 'CommandLine');
    const command = line ? xmlText(element(line.inner, 'Command')?.inner ?? '') : '';
    const args = line ? elements(line.inner, 'Arguments').map((a) => xmlText(a.inner)) : [];
    const commandLine = [command, ...args].join(' ').trim();
    if (!isAgentCommandLine(commandLine)) return { ok: false, fault: refused(`"${commandLine.slice(0, 120)}${commandLine.length > 120 ? '…' : ''}"`) };
    const cmd = new AgentCommand(this.options.pwsh, this.options.hostFile);
    shell.commands.set(cmd.id, cmd);
    return { ok: true, action: `${ACTION.command}Response`, body: `<rsp:CommandResponse><rsp:CommandId>${cmd.id}</rsp:CommandId></rsp:CommandResponse>` };
  }

  private find(shell: Shell, commandId: string | undefined): AgentCommand | WsmanFault {
    const cmd = shell.commands.get((commandId ?? '').toUpperCase());
    return cmd ?? badRequest(`The command ${commandId ?? '(none)'} is not running in the shell ${shell.id}.`);
  }

  private send(shell: Shell, body: string): WinrsAnswer {
    for (const stream of elements(body, 'Stream')) {
      const cmd = this.find(shell, stream.attrs.CommandId);
      if ('code' in cmd) return { ok: false, fault: cmd };
      if (stream.attrs.Name !== 'stdin') return { ok: false, fault: badRequest(`The shell has one input stream, stdin; the request sent "${stream.attrs.Name}".`) };
      cmd.input(Buffer.from(xmlText(stream.inner), 'base64'));
      if (/^true$/i.test(stream.attrs.End ?? '')) cmd.endInput();
    }
    return { ok: true, action: `${ACTION.send}Response`, body: '<rsp:SendResponse/>' };
  }

  private async receive(shell: Shell, request: WsmanRequest, maxEnvelopeSize: number): Promise<WinrsAnswer> {
    const desired = element(request.body, 'DesiredStream');
    const cmd = this.find(shell, desired?.attrs.CommandId);
    if ('code' in cmd) return { ok: false, fault: cmd };
    const wait = Math.min(request.operationTimeoutMs ?? Infinity, this.options.maxTimeoutMs ?? 60_000);
    if (!(await cmd.output(wait))) {
      return {
        ok: false,
        fault: {
          code: 's:Receiver',
          subcode: 'w:TimedOut',
          reason: 'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.',
          wsmanCode: WINRM_RECEIVE_TIMEOUT_CODE.value,
          message: 'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.',
        },
      };
    }
    // The response stays within the client's envelope: base64 takes 4 characters for 3 bytes.
    const { stdout, stderr, exitCode } = cmd.take(Math.max(1024, Math.floor(((maxEnvelopeSize - 2048) * 3) / 4)));
    const done = exitCode !== null;
    const stream = (name: string, data: Buffer) =>
      data.length > 0 || done ? `<rsp:Stream Name="${name}" CommandId="${cmd.id}"${done ? ' End="true"' : ''}>${data.toString('base64')}</rsp:Stream>` : '';
    const state = done
      ? `<rsp:CommandState CommandId="${cmd.id}" State="${STATE}/Done"><rsp:ExitCode>${exitCode}</rsp:ExitCode></rsp:CommandState>`
      : `<rsp:CommandState CommandId="${cmd.id}" State="${STATE}/Running"/>`;
    return { ok: true, action: `${ACTION.receive}Response`, body: `<rsp:ReceiveResponse>${stream('stdout', stdout)}${stream('stderr', stderr)}${state}</rsp:ReceiveResponse>` };
  }

  private signal(shell: Shell, body: string): WinrsAnswer {
    const signal = element(body, 'Signal');
    const cmd = this.find(shell, signal?.attrs.CommandId);
    if ('code' in cmd) return { ok: false, fault: cmd };
    const code = xmlText(element(signal?.inner ?? '', 'Code')?.inner ?? '');
    if (code.toLowerCase() === SIGNAL.ctrlC) {
      cmd.signal('ctrl_c');
    } else if (code.toLowerCase() === SIGNAL.terminate.toLowerCase()) {
      cmd.signal('terminate');
      shell.commands.delete(cmd.id);
    } else {
      return { ok: false, fault: badRequest(`The signal "${xmlEscape(code)}" is not one the Windows Remote Shell supports.`) };
    }
    return { ok: true, action: `${ACTION.signal}Response`, body: '<rsp:SignalResponse/>' };
  }

  private drop(shell: Shell): void {
    for (const cmd of shell.commands.values()) cmd.signal('terminate');
    this.shells.delete(shell.id);
  }
}

/** The response envelope of an answer (the fault's is written by the listener, which knows the machine). */
export function answerEnvelope(answer: Extract<WinrsAnswer, { ok: true }>, relatesTo: string): string {
  return responseEnvelope(answer.action, relatesTo, answer.body);
}
