/**
 * The Windows Remote Shell (WinRS) of the simulated host: shells, commands, their standard streams
 * and exit codes, as [MS-WSMV] 3.1.4 describes Create, Command, Send, Receive, Signal and Delete.
 *
 * This is a simulator reachable from the network, so its shell runs one program only: the engine's
 * agent, started by the same fixed bootstrap the ssh executor sends (`powershell -EncodedCommand …`,
 * which reads the agent program from its first line of standard input). Any other command line is
 * refused with a fault, and a first line of standard input that is not the agent program (for either
 * backend) ends the command; the agent then runs on the file backend against the host file, in the
 * PowerShell the tests use (RUNBOOK_PWSH).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { bootstrapArgs, bootstrapProgramLine } from './agent-protocol.js';
import { WINRM_RECEIVE_TIMEOUT_CODE, WINRM_SHELL_NOT_FOUND } from '../windows/facts/winrm-service.js';
import { ACTION, CMD_SHELL_URI, NS, element, elements, responseEnvelope, xmlEscape, xmlText, type WsmanFault, type WsmanRequest } from './simulated-wsman.js';

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

interface Command {
  id: string;
  child: ChildProcessWithoutNullStreams;
  stdout: Buffer[];
  stderr: Buffer[];
  exitCode: number | null;
  /** Standard input before its first line was checked (the agent program). */
  gate: Buffer | null;
  wake: (() => void) | null;
  /** Requests sent to the agent (non-blank lines after the program) and answers it wrote. */
  requests: number;
  answers: number;
  /** Whether the line being sent has anything but blanks; the tail of stdout not yet searched. */
  lineHasText: boolean;
  tail: string;
  /** The client ended standard input; the client was told the command is done. */
  inputEnded: boolean;
  doneSent: boolean;
}

interface Shell {
  id: string;
  /** The host's boot time when the shell was made: a restart ends it. */
  bootTime: string;
  commands: Map<string, Command>;
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

const AGENT_FLAGS = new Set(['-noprofile', '-noninteractive', '-nologo']);
const ENCODED = new Set(['-encodedcommand', '-enc', '-ec']);

/**
 * Whether a command line is the agent's bootstrap: `powershell` (or `powershell.exe`, any folder),
 * the flags -NoProfile, -NonInteractive, -NoLogo and -ExecutionPolicy Bypass in any order and case,
 * and -EncodedCommand with exactly the bootstrap's script. pywinrm's `run_ps` form
 * (`powershell -encodedcommand <script>`) passes when its script is the bootstrap.
 */
export function isAgentCommandLine(commandLine: string): boolean {
  const words = commandLine.trim().split(/\s+/);
  if (!/^(?:.*[\\/])?powershell(?:\.exe)?$/i.test(words[0] ?? '')) return false;
  const bootstrap = bootstrapArgs();
  const script = Buffer.from(bootstrap[bootstrap.length - 1], 'base64').toString('utf16le');
  let encoded: string | null = null;
  for (let i = 1; i < words.length; i++) {
    const word = words[i].toLowerCase();
    if (AGENT_FLAGS.has(word)) continue;
    if (word === '-executionpolicy' && words[i + 1]?.toLowerCase() === 'bypass') i += 1;
    else if (ENCODED.has(word) && encoded === null && words[i + 1]) encoded = words[++i];
    else return false;
  }
  return encoded !== null && Buffer.from(encoded, 'base64').toString('utf16le') === script;
}

/** The agent program lines a client may send first (either backend): the simulator runs the file one. */
const PROGRAM_LINES = () => [bootstrapProgramLine('file'), bootstrapProgramLine('windows')].map((l) => l.trimEnd());

/**
 * The shells of one simulated host.
 *
 * @example
 * ```ts
 * const winrs = new Winrs({ hostFile: 'host.json', pwsh: process.env.RUNBOOK_PWSH! });
 * const answer = await winrs.handle(readRequest(xml)!, bootTime);
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
    if (shell && shell.bootTime !== bootTime && [...shell.commands.values()].every(idle)) this.drop(shell);
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
    const env: NodeJS.ProcessEnv = { ...process.env, RUNBOOK_AGENT_HOST_FILE: this.options.hostFile };
    // The listener's account never reaches the agent.
    delete env.RUNBOOK_SIM_WINRM_PASSWORD;
    delete env.RUNBOOK_WINRM_PASSWORD;
    const child = spawn(this.options.pwsh, bootstrapArgs(), { env, stdio: 'pipe' });
    const id = randomUUID().toUpperCase();
    const cmd: Command = { id, child, stdout: [], stderr: [], exitCode: null, gate: Buffer.alloc(0), wake: null, requests: 0, answers: 0, lineHasText: false, tail: '', inputEnded: false, doneSent: false };
    const wake = () => {
      const w = cmd.wake;
      cmd.wake = null;
      w?.();
    };
    child.stdout.on('data', (chunk: Buffer) => {
      cmd.stdout.push(chunk);
      const text = cmd.tail + chunk.toString('latin1');
      cmd.answers += text.split('RBE-END ').length - 1;
      cmd.tail = text.slice(-8);
      wake();
    });
    child.stderr.on('data', (chunk: Buffer) => (cmd.stderr.push(chunk), wake()));
    child.stdin.on('error', () => undefined);
    child.on('error', (error) => {
      cmd.stderr.push(Buffer.from(`the simulated host could not start PowerShell (${this.options.pwsh}): ${error.message}\n`));
      cmd.exitCode ??= 1;
      wake();
    });
    child.on('close', (code) => {
      cmd.exitCode ??= code ?? 1;
      wake();
    });
    shell.commands.set(id, cmd);
    return { ok: true, action: `${ACTION.command}Response`, body: `<rsp:CommandResponse><rsp:CommandId>${id}</rsp:CommandId></rsp:CommandResponse>` };
  }

  private find(shell: Shell, commandId: string | undefined): Command | WsmanFault {
    const cmd = shell.commands.get((commandId ?? '').toUpperCase());
    return cmd ?? badRequest(`The command ${commandId ?? '(none)'} is not running in the shell ${shell.id}.`);
  }

  private send(shell: Shell, body: string): WinrsAnswer {
    for (const stream of elements(body, 'Stream')) {
      const cmd = this.find(shell, stream.attrs.CommandId);
      if ('code' in cmd) return { ok: false, fault: cmd };
      if (stream.attrs.Name !== 'stdin') return { ok: false, fault: badRequest(`The shell has one input stream, stdin; the request sent "${stream.attrs.Name}".`) };
      this.input(cmd, Buffer.from(xmlText(stream.inner), 'base64'));
      if (/^true$/i.test(stream.attrs.End ?? '')) {
        cmd.inputEnded = true;
        if (cmd.exitCode === null) cmd.child.stdin.end();
      }
    }
    return { ok: true, action: `${ACTION.send}Response`, body: '<rsp:SendResponse/>' };
  }

  /** Standard input: the first line must be the agent program; then everything passes. */
  private input(cmd: Command, data: Buffer): void {
    if (cmd.gate === null) {
      if (cmd.exitCode === null) forward(cmd, data);
      return;
    }
    const held = Buffer.concat([cmd.gate, data]);
    const newline = held.indexOf(0x0a);
    if (newline < 0) {
      cmd.gate = held;
      return;
    }
    const first = held.subarray(0, newline).toString('latin1').replace(/\r$/, '');
    cmd.gate = null;
    if (!PROGRAM_LINES().includes(first)) {
      cmd.stderr.push(Buffer.from('The simulated host runs only the runbook agent: the first line of standard input was not the agent program.\n'));
      cmd.exitCode = 1;
      cmd.child.kill('SIGKILL');
      cmd.wake?.();
      return;
    }
    cmd.child.stdin.write(bootstrapProgramLine('file'));
    forward(cmd, held.subarray(newline + 1));
  }

  private async receive(shell: Shell, request: WsmanRequest, maxEnvelopeSize: number): Promise<WinrsAnswer> {
    const desired = element(request.body, 'DesiredStream');
    const cmd = this.find(shell, desired?.attrs.CommandId);
    if ('code' in cmd) return { ok: false, fault: cmd };
    if (cmd.stdout.length + cmd.stderr.length === 0 && cmd.exitCode === null) {
      const wait = Math.min(request.operationTimeoutMs ?? Infinity, this.options.maxTimeoutMs ?? 60_000);
      const arrived = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => ((cmd.wake = null), resolve(false)), wait);
        cmd.wake = () => (clearTimeout(timer), resolve(true));
      });
      if (!arrived) {
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
    }
    // The response stays within the client's envelope: base64 takes 4 characters for 3 bytes.
    let room = Math.max(1024, Math.floor(((maxEnvelopeSize - 2048) * 3) / 4));
    const take = (queue: Buffer[]) => {
      const all = Buffer.concat(queue.splice(0));
      const part = all.subarray(0, room);
      if (all.length > part.length) queue.push(all.subarray(part.length));
      room -= part.length;
      return part;
    };
    const out = take(cmd.stdout);
    const err = take(cmd.stderr);
    const done = cmd.exitCode !== null && cmd.stdout.length + cmd.stderr.length === 0;
    if (done) cmd.doneSent = true;
    const stream = (name: string, data: Buffer) =>
      data.length > 0 || done ? `<rsp:Stream Name="${name}" CommandId="${cmd.id}"${done ? ' End="true"' : ''}>${data.toString('base64')}</rsp:Stream>` : '';
    const state = done
      ? `<rsp:CommandState CommandId="${cmd.id}" State="${STATE}/Done"><rsp:ExitCode>${cmd.exitCode}</rsp:ExitCode></rsp:CommandState>`
      : `<rsp:CommandState CommandId="${cmd.id}" State="${STATE}/Running"/>`;
    return { ok: true, action: `${ACTION.receive}Response`, body: `<rsp:ReceiveResponse>${stream('stdout', out)}${stream('stderr', err)}${state}</rsp:ReceiveResponse>` };
  }

  private signal(shell: Shell, body: string): WinrsAnswer {
    const signal = element(body, 'Signal');
    const cmd = this.find(shell, signal?.attrs.CommandId);
    if ('code' in cmd) return { ok: false, fault: cmd };
    const code = xmlText(element(signal?.inner ?? '', 'Code')?.inner ?? '');
    if (code.toLowerCase() === SIGNAL.ctrlC) {
      if (cmd.exitCode === null) cmd.child.kill('SIGINT');
    } else if (code.toLowerCase() === SIGNAL.terminate.toLowerCase()) {
      if (cmd.exitCode === null) cmd.child.kill('SIGKILL');
      shell.commands.delete(cmd.id);
    } else {
      return { ok: false, fault: badRequest(`The signal "${xmlEscape(code)}" is not one the Windows Remote Shell supports.`) };
    }
    return { ok: true, action: `${ACTION.signal}Response`, body: '<rsp:SignalResponse/>' };
  }

  private drop(shell: Shell): void {
    for (const cmd of shell.commands.values()) if (cmd.exitCode === null) cmd.child.kill('SIGKILL');
    this.shells.delete(shell.id);
  }
}

/** Writes requests to the agent, counting them (the agent skips blank lines). */
function forward(cmd: Command, data: Buffer): void {
  for (const byte of data) {
    if (byte === 0x0a) {
      if (cmd.lineHasText) cmd.requests += 1;
      cmd.lineHasText = false;
    } else if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) cmd.lineHasText = true;
  }
  cmd.child.stdin.write(data);
}

/**
 * A command with nothing in flight: its output was collected, and either its end was reported or it
 * waits for more input having answered every request. (One whose input was ended finishes first.)
 */
function idle(cmd: Command): boolean {
  if (cmd.stdout.length + cmd.stderr.length > 0) return false;
  return cmd.doneSent || (!cmd.inputEnded && cmd.exitCode === null && cmd.answers >= cmd.requests);
}

/** The response envelope of an answer (the fault's is written by the listener, which knows the machine). */
export function answerEnvelope(answer: Extract<WinrsAnswer, { ok: true }>, relatesTo: string): string {
  return responseEnvelope(answer.action, relatesTo, answer.body);
}
