/**
 * The client side of the PowerShell agent (`agent/agent.ps1`), shared by every transport that runs it:
 * the request document, the framed answer, and the error classes.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExecutorError, type ExecutorErrorKind } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import type { HostOp, HostOpResult } from './types.js';

/** Where the agent program is. */
export function agentPath(): string {
  return join(packageRoot(), 'src', 'executors', 'agent', 'agent.ps1');
}

let agentSource: string | undefined;

/** The agent program's text (read once). */
export function agentProgram(): string {
  agentSource ??= readFileSync(agentPath(), 'utf8');
  return agentSource;
}

/** A request: a fresh random marker and the batch, as one JSON document. */
export function agentRequest(batch: readonly HostOp[]): { marker: string; json: string } {
  const marker = randomBytes(16).toString('hex');
  return { marker, json: JSON.stringify({ marker, ops: batch }) };
}

/**
 * A fixed bootstrap for transports that cannot copy a file first (SSH): it reads the agent program
 * (base64, first line of standard input) and runs it; the agent then reads the batch from the rest of
 * standard input. Passed with -EncodedCommand, so no shell on the way (cmd.exe, sh) can alter it.
 */
export function bootstrapArgs(): string[] {
  const script =
    // UTF-8 before the first read: changing it later would drop what Console.In already buffered.
    '[Console]::InputEncoding = New-Object Text.UTF8Encoding $false; ' +
    '$l = [Console]::In.ReadLine(); ' +
    '$p = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($l)); ' +
    '& ([ScriptBlock]::Create($p))';
  return ['-NoProfile', '-NonInteractive', '-EncodedCommand', Buffer.from(script, 'utf16le').toString('base64')];
}

/** Standard input for the bootstrap: the agent program, then the request. */
export function bootstrapInput(requestJson: string): string {
  return `${Buffer.from(agentProgram(), 'utf8').toString('base64')}\n${requestJson}`;
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
