/**
 * A Windows Remote Shell over one {@link WinrmTransport}: the shell made once and kept, a command
 * started in it, its standard input sent in chunks that keep every envelope under the server's limit,
 * its output received, and SOAP faults turned into executor errors that say which.
 */
import { ExecutorError } from '../../errors.js';
import type { WinrmTransport } from './transport.js';
import { WINRM_ACCOUNT_ADVICE } from './access-advice.js';
import { WINRM_MAX_SHELLS_PER_USER_DEFAULT, WINRM_SHELL_QUOTA_FAULT } from '../../windows/facts/winrm-service.js';
import {
  FaultCode,
  commandEnvelope,
  createShellEnvelope,
  deleteShellEnvelope,
  parseCommandId,
  parseFault,
  parseReceive,
  parseShellId,
  receiveEnvelope,
  sendChunkBytes,
  sendEnvelope,
  signalEnvelope,
  type EnvelopeContext,
  type ReceiveResult,
  type WsmanFault,
} from './wsman.js';

/** The shell this client made is no longer on the server (it restarted, or the shell timed out). */
export class ShellGone extends ExecutorError {
  constructor(where: string, message: string) {
    super('reset', `the remote shell is gone: ${message}`, { where });
  }
}

/**
 * A WSManFault code as Windows' own tools and documents write it, in hex, and in decimal as it comes.
 *
 * @example
 * ```ts
 * faultCodeText(2150859174); // '2150859174 (0x803381A6)'
 * ```
 */
export function faultCodeText(code: number): string {
  return `${code} (0x${(code >>> 0).toString(16).toUpperCase().padStart(8, '0')})`;
}

/** The executor error a fault means. */
export function faultError(fault: WsmanFault, where: string, during: string): ExecutorError {
  if (fault.code === FaultCode.shellNotFound) return new ShellGone(where, fault.message);
  if (fault.subcode === 'EncodingLimit') {
    return new ExecutorError('permanent', `the WinRM server refused the ${during} envelope as too large: ${fault.message}`, {
      where,
      hint: "set RUNBOOK_WINRM_MAX_ENVELOPE_KB to the server's MaxEnvelopeSizekb (winrm get winrm/config), or raise that setting",
    });
  }
  if (fault.subcode === WINRM_SHELL_QUOTA_FAULT.value.subcode.replace(/^w:/, '')) {
    // Transient: shells end at their idle timeout or when their clients delete them.
    return new ExecutorError('refused', `the WinRM server answered the ${during} with a fault${fault.code !== null ? ` ${faultCodeText(fault.code)}` : ''}: ${fault.message}`, {
      where,
      hint: `a quota of the server's Windows Remote Shell is reached: this account holds as many shells there as it may (MaxShellsPerUser, ${WINRM_MAX_SHELLS_PER_USER_DEFAULT.value} unless configured), or too many users work at once (MaxConcurrentUsers). Shells of other clients of this account, or of runs that ended abruptly, last until they are deleted or idle past their IdleTimeout. On the host, list them (Get-WSManInstance -ResourceURI shell -Enumerate) and delete this account's stale ones (Remove-WSManInstance), wait, or raise the quota (winrm set winrm/config/winrs @{MaxShellsPerUser="…"}); then run again`,
    });
  }
  if (fault.subcode === 'AccessDenied' || /access is denied/i.test(fault.message)) {
    return new ExecutorError('permanent', `the WinRM server denied the ${during}: ${fault.message}`, {
      where,
      hint: WINRM_ACCOUNT_ADVICE,
    });
  }
  return new ExecutorError('protocol', `the WinRM server answered the ${during} with a fault${fault.code !== null ? ` ${faultCodeText(fault.code)}` : ''}: ${fault.message}`, { where });
}

/**
 * The shell of one target, kept across commands until it is gone.
 *
 * @example
 * ```ts
 * declare const transport: ConstructorParameters<typeof RemoteShell>[0]; // a WinrmTransport
 * const shell = new RemoteShell(transport, { to: transport.url, maxEnvelopeBytes: 512000 }, 'winrm://orch01:5985');
 * const commandId = await shell.start('powershell.exe', ['-NoProfile']);
 * await shell.send(commandId, Buffer.from('1+1\n'), true);
 * ```
 */
export class RemoteShell {
  private shellId: string | null = null;

  constructor(
    private readonly transport: WinrmTransport,
    private readonly ctx: EnvelopeContext,
    private readonly where: string,
  ) {}

  /** Shells made so far (one per run unless the target restarted). */
  created = 0;

  private async call(xml: string, during: string, signal?: AbortSignal): Promise<string> {
    const answer = await this.transport.post(xml, signal);
    const fault = parseFault(answer);
    if (fault) {
      const error = faultError(fault, this.where, during);
      if (error instanceof ShellGone) this.shellId = null;
      throw error;
    }
    return answer;
  }

  private async shell(): Promise<string> {
    if (this.shellId) return this.shellId;
    const answer = await this.call(createShellEnvelope(this.ctx), 'shell creation');
    const id = parseShellId(answer);
    if (!id) throw new ExecutorError('protocol', 'the WinRM server created a shell but gave no ShellId', { where: this.where });
    this.created += 1;
    this.shellId = id;
    return id;
  }

  /** Starts a command in the kept shell; a shell that is gone is made again, once. */
  async start(command: string, args: readonly string[]): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const shellId = await this.shell();
      try {
        const id = parseCommandId(await this.call(commandEnvelope(this.ctx, shellId, command, args), 'command'));
        if (!id) throw new ExecutorError('protocol', 'the WinRM server started a command but gave no CommandId', { where: this.where });
        return id;
      } catch (error) {
        if (error instanceof ShellGone && attempt === 0) continue;
        throw error;
      }
    }
  }

  /** Writes to a command's standard input, as many envelopes as the data needs; `end` closes it after. */
  async send(commandId: string, data: Buffer, end = false): Promise<void> {
    const shellId = this.requireShell();
    const size = sendChunkBytes(this.ctx.maxEnvelopeBytes);
    if (data.length === 0) {
      if (end) await this.call(sendEnvelope(this.ctx, shellId, commandId, data, true), 'input');
      return;
    }
    for (let at = 0; at < data.length; at += size) {
      const last = at + size >= data.length;
      await this.call(sendEnvelope(this.ctx, shellId, commandId, data.subarray(at, at + size), end && last), 'input');
    }
  }

  /** One Receive: what the command wrote since the last, or nothing when the server's wait ran out. */
  async receive(commandId: string): Promise<ReceiveResult> {
    const shellId = this.requireShell();
    const answer = await this.transport.post(receiveEnvelope(this.ctx, shellId, commandId));
    const fault = parseFault(answer);
    if (fault?.code === FaultCode.operationTimedOut || fault?.subcode === 'TimedOut') return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), done: false, exitCode: null };
    if (fault) {
      const error = faultError(fault, this.where, 'receive');
      if (error instanceof ShellGone) this.shellId = null;
      throw error;
    }
    return parseReceive(answer, commandId);
  }

  /** Terminates a command (best effort: a shell that is gone has nothing to stop). */
  async terminate(commandId: string): Promise<void> {
    if (!this.shellId) return;
    await this.call(signalEnvelope(this.ctx, this.shellId, commandId), 'signal').catch(() => undefined);
  }

  /** Drops the connection, and with it a request in flight (a Receive waiting for output). */
  interrupt(): void {
    this.transport.reset();
  }

  /** Deletes the shell (best effort). */
  async delete(): Promise<void> {
    const id = this.shellId;
    this.shellId = null;
    if (id) await this.call(deleteShellEnvelope(this.ctx, id), 'shell deletion').catch(() => undefined);
  }

  private requireShell(): string {
    if (!this.shellId) throw new ShellGone(this.where, 'no shell is open');
    return this.shellId;
  }
}
