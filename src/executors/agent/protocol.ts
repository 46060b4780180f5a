/**
 * The client side of the PowerShell agent (`agent/agent.ps1`), shared by every transport that runs it:
 * the request document, the framed answer, and the error classes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutorError, type ExecutorErrorKind } from '../../errors.js';
import { packageRoot } from '../../util/package-root.js';
import type { HostOp, HostOpResult } from '../types.js';

/** Where the agent program is. */
export function agentPath(): string {
  return join(packageRoot(), 'src', 'executors', 'agent', 'agent.ps1');
}

/**
 * Which backend the agent runs on: `windows` (the production agent, `agent.ps1` alone) or `file` (the
 * tests' simulated-host file, `agent-file-backend.ps1` joined in).
 */
export type AgentBackend = 'windows' | 'file';

/** The line of agent.ps1 where a backend's overrides are joined in. */
const JOIN_AT = '# ---------- backend overrides are joined here';

const programs = new Map<AgentBackend, string>();

/** The agent program's text for a backend (read once). */
export function agentProgram(backend: AgentBackend = 'windows'): string {
  let text = programs.get(backend);
  if (text === undefined) {
    const base = readFileSync(agentPath(), 'utf8');
    if (backend === 'windows') text = base;
    else {
      const at = base.indexOf('\n', base.indexOf(JOIN_AT)) + 1;
      const overrides = readFileSync(join(packageRoot(), 'src', 'executors', 'agent', 'agent-file-backend.ps1'), 'utf8');
      text = `${base.slice(0, at)}\n${overrides}\n${base.slice(at)}`;
    }
    programs.set(backend, text);
  }
  return text;
}

/** A file to run with `-File`: agent.ps1 itself, or the joined program written once to the temp folder. */
export function agentScriptFile(backend: AgentBackend = 'windows'): string {
  if (backend === 'windows') return agentPath();
  const text = agentProgram(backend);
  const file = join(tmpdir(), `runbook-agent-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.ps1`);
  if (!existsSync(file)) writeFileSync(file, text);
  return file;
}

/** The backend an executor uses: the option, else `file` when a simulated-host file is named in its environment. */
export function agentBackendFor(option: AgentBackend | undefined, env: Record<string, string | undefined> = {}): AgentBackend {
  if (option) return option;
  return env.RUNBOOK_AGENT_HOST_FILE || process.env.RUNBOOK_AGENT_HOST_FILE || process.env.RUNBOOK_AGENT_BACKEND === 'file' ? 'file' : 'windows';
}

/** A request: a fresh random marker and the batch, as one JSON document. */
export function agentRequest(batch: readonly HostOp[]): { marker: string; json: string } {
  const marker = randomBytes(16).toString('hex');
  return { marker, json: JSON.stringify({ marker, ops: batch }) };
}

/** The first line of a bootstrap told to announce its process's id: `RBE-PID <n>`. */
export const PID_LINE = 'RBE-PID';

/**
 * The agent's process id from the start of its output, and the output after that line: `pid` is
 * undefined while the line is not whole yet (`rest` then empty), null when the output does not begin
 * with it (all of it is `rest`). Only a whole number a process id can be is taken.
 *
 * @example
 * ```ts
 * announcedPid('RBE-PID 4242\r\nRBE-BEGIN …'); // { pid: 4242, rest: 'RBE-BEGIN …' }
 * ```
 */
export function announcedPid(head: string): { pid: number | null | undefined; rest: string } {
  const nl = head.indexOf('\n');
  if (nl < 0) return PID_LINE.startsWith(head.slice(0, PID_LINE.length)) && head.length < 64 ? { pid: undefined, rest: '' } : { pid: null, rest: head };
  const m = new RegExp(`^${PID_LINE} ([1-9][0-9]{0,9})\r?$`).exec(head.slice(0, nl));
  const pid = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(pid) || pid > 0x7fffffff) return { pid: null, rest: head };
  return { pid, rest: head.slice(nl + 1) };
}

/**
 * The command that stops the agent's process by its id, run on a connection of its own: fixed text
 * and a whole number (nothing else is accepted), read alike by cmd.exe, PowerShell and sh.
 */
export function stopProcessCommand(shell: string, pid: number): string {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > 0x7fffffff) throw new Error(`not a process id: ${pid}`);
  return `${shell} -NoProfile -NonInteractive -Command Stop-Process -Id ${pid} -Force`;
}

/**
 * A fixed bootstrap for transports that cannot copy a file first (SSH): it reads the agent program
 * (base64, first line of standard input) and runs it; the agent then reads requests from the rest of
 * standard input, one per line. Passed with -EncodedCommand, so no shell on the way (cmd.exe, sh) can
 * alter it.
 */
export function bootstrapArgs(options: { announcePid?: boolean } = {}): string[] {
  const script =
    // The process's id first (`RBE-PID <n>`), when the transport can stop the agent only by it (SSH:
    // sshd acts on no signal for a command without a terminal).
    (options.announcePid ? `[Console]::Out.WriteLine('${PID_LINE} ' + $PID); [Console]::Out.Flush(); ` : '') +
    // UTF-8 before the first read: changing it later would drop what Console.In already buffered.
    // Without a console, Windows PowerShell 5.1 throws at this setter ("The handle is invalid"): the
    // bootstrap goes on (powershell.no-console-output-encoding).
    'try { [Console]::InputEncoding = New-Object Text.UTF8Encoding $false } catch { } ' +
    '$l = [Console]::In.ReadLine(); ' +
    '$p = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($l)); ' +
    '& ([ScriptBlock]::Create($p))';
  return ['-NoProfile', '-NonInteractive', '-EncodedCommand', Buffer.from(script, 'utf16le').toString('base64')];
}

/** The bootstrap's first line of standard input: the agent program (base64). Requests follow, a line each. */
export function bootstrapProgramLine(backend: AgentBackend = 'windows'): string {
  return `${Buffer.from(agentProgram(backend), 'utf8').toString('base64')}\n`;
}

interface AgentAnswer {
  ok: boolean;
  results: HostOpResult[];
  error?: { kind: string; message: string; index: number };
}

/**
 * Finds the answer framed by this call's marker, ignoring anything else a profile or the host printed.
 * A missing or malformed answer is a transient protocol error.
 */
export function parseAgentAnswer(output: string, marker: string, where: string): HostOpResult[] {
  const begin = `RBE-BEGIN ${marker}\n`;
  const end = `\nRBE-END ${marker}`;
  const normalised = output.replace(/\r\n/g, '\n');
  const start = normalised.lastIndexOf(begin);
  const stop = start >= 0 ? normalised.indexOf(end, start + begin.length) : -1;
  if (start < 0 || stop < 0) {
    throw new ExecutorError('protocol', 'the agent gave no framed answer', {
      where,
      hint: `output began with: ${JSON.stringify(normalised.slice(0, 200))}`,
    });
  }
  let answer: AgentAnswer;
  try {
    answer = JSON.parse(normalised.slice(start + begin.length, stop)) as AgentAnswer;
  } catch (cause) {
    throw new ExecutorError('protocol', 'the agent answered with malformed JSON', { where, cause });
  }
  if (!answer.ok) {
    const kind = (['permanent', 'protocol', 'unreachable', 'timeout'].includes(answer.error?.kind ?? '') ? answer.error!.kind : 'permanent') as ExecutorErrorKind;
    throw new ExecutorError(kind, `the agent failed at operation ${answer.error?.index}: ${answer.error?.message}`, { where });
  }
  // PowerShell 5.1 writes a one-element array as a bare object.
  return Array.isArray(answer.results) ? answer.results : [answer.results as unknown as HostOpResult];
}
