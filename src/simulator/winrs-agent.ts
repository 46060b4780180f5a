/**
 * The one command the simulated host's Remote Shell runs: the engine's agent. The listener is
 * reachable from the network, so it runs no command line but the agent's fixed bootstrap (the one the
 * ssh executor sends), and no program but the agent's (the first line of standard input, which the
 * bootstrap runs). The agent then runs on the file backend against the host file, in the PowerShell
 * the tests use, its standard streams kept for Receive.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { bootstrapArgs, bootstrapProgramLine } from '../executors/agent/protocol.js';

const AGENT_FLAGS = new Set(['-noprofile', '-noninteractive', '-nologo']);
const ENCODED = new Set(['-encodedcommand', '-enc', '-ec']);

/**
 * Whether a command line is the agent's bootstrap: `powershell` (or `powershell.exe`, any folder),
 * the flags -NoProfile, -NonInteractive, -NoLogo and -ExecutionPolicy Bypass in any order and case,
 * and -EncodedCommand (-enc, -ec) with exactly the bootstrap's script. pywinrm's `run_ps` form
 * (`powershell -encodedcommand <script>`) passes when its script is the bootstrap.
 *
 * @example
 * ```ts
 * isAgentCommandLine('powershell.exe -NoProfile -NonInteractive -EncodedCommand AAAA'); // false: not the bootstrap's script
 * isAgentCommandLine('cmd.exe /c whoami'); // false
 * ```
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
const programLines = () => [bootstrapProgramLine('file'), bootstrapProgramLine('windows')].map((l) => l.trimEnd());

/**
 * One running agent: its process, its output not yet received, and what is in flight (requests sent,
 * answers written), which tells whether a restart may end its shell yet.
 *
 * @example
 * ```ts
 * const agent = new AgentCommand(process.env.RUNBOOK_PWSH!, 'host.json');
 * declare const programAndRequest: string; // the agent program's line, then a request's line
 * agent.input(Buffer.from(programAndRequest));
 * await agent.output(60_000);
 * const { stdout, exitCode } = agent.take(100_000);
 * ```
 */
export class AgentCommand {
  readonly id = randomUUID().toUpperCase();
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly stdout: Buffer[] = [];
  private readonly stderr: Buffer[] = [];
  private exit: number | null = null;
  /** Standard input held until its first line (the agent program) was checked; null once it was. */
  private gate: Buffer | null = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private requests = 0;
  private answers = 0;
  private lineHasText = false;
  private tail = '';
  private inputEnded = false;
  private doneSent = false;

  constructor(pwsh: string, hostFile: string) {
    const env: NodeJS.ProcessEnv = { ...process.env, RUNBOOK_AGENT_HOST_FILE: hostFile };
    // The listener's account never reaches the agent.
    delete env.RUNBOOK_SIM_WINRM_PASSWORD;
    delete env.RUNBOOK_WINRM_PASSWORD;
    this.child = spawn(pwsh, bootstrapArgs(), { env, stdio: 'pipe' });
    // A waiting agent does not keep the process alive (a Receive in flight has its own timer that does).
    this.child.unref();
    for (const pipe of [this.child.stdin, this.child.stdout, this.child.stderr] as unknown as Socket[]) pipe.unref();
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.stdout.push(chunk);
      const text = this.tail + chunk.toString('latin1');
      this.answers += text.split('RBE-END ').length - 1;
      this.tail = text.slice(-8);
      this.wake();
    });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr.push(chunk), this.wake()));
    this.child.stdin.on('error', () => undefined);
    this.child.on('error', (error) => this.finish(1, `the simulated host could not start PowerShell (${pwsh}): ${error.message}\n`));
    this.child.on('close', (code) => this.finish(code ?? 1));
  }

  /** Standard input from Send: the first line must be the agent program; then everything passes. */
  input(data: Buffer): void {
    if (this.exit !== null) return;
    if (this.gate === null) return this.forward(data);
    const held = Buffer.concat([this.gate, data]);
    const newline = held.indexOf(0x0a);
    if (newline < 0) {
      this.gate = held;
      return;
    }
    this.gate = null;
    if (!programLines().includes(held.subarray(0, newline).toString('latin1').replace(/\r$/, ''))) {
      this.finish(1, 'The simulated host runs only the runbook agent: the first line of standard input was not the agent program.\n');
      this.child.kill('SIGKILL');
      return;
    }
    this.child.stdin.write(bootstrapProgramLine('file'));
    this.forward(held.subarray(newline + 1));
  }

  /** The end of standard input (Send's `End="true"`): the agent exits after its last answer. */
  endInput(): void {
    this.inputEnded = true;
    if (this.exit === null) this.child.stdin.end();
  }

  /** ctrl_c (SIGINT) or terminate (stopped now). */
  signal(kind: 'ctrl_c' | 'terminate'): void {
    if (this.exit === null) this.child.kill(kind === 'ctrl_c' ? 'SIGINT' : 'SIGKILL');
  }

  /** Waits until there is output or an exit to report, at most `ms`; false when none came. */
  async output(ms: number): Promise<boolean> {
    if (this.stdout.length + this.stderr.length > 0 || this.exit !== null) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => ((this.waiting = null), resolve(false)), ms);
      this.waiting = () => (clearTimeout(timer), resolve(true));
    });
  }

  /** Takes at most `room` bytes of output, stdout first; `exitCode` once everything was taken after the exit. */
  take(room: number): { stdout: Buffer; stderr: Buffer; exitCode: number | null } {
    const part = (queue: Buffer[]) => {
      const all = Buffer.concat(queue.splice(0));
      const taken = all.subarray(0, room);
      if (all.length > taken.length) queue.push(all.subarray(taken.length));
      room -= taken.length;
      return taken;
    };
    const stdout = part(this.stdout);
    const stderr = part(this.stderr);
    const done = this.exit !== null && this.stdout.length + this.stderr.length === 0;
    if (done) this.doneSent = true;
    return { stdout, stderr, exitCode: done ? this.exit : null };
  }

  /**
   * Nothing in flight: its output was collected, and either its end was reported or it waits for
   * more input having answered every request. (One whose input was ended finishes first.)
   */
  idle(): boolean {
    if (this.stdout.length + this.stderr.length > 0) return false;
    return this.doneSent || (!this.inputEnded && this.exit === null && this.answers >= this.requests);
  }

  /** Requests go on to the agent, counted (the agent skips blank lines). */
  private forward(data: Buffer): void {
    for (const byte of data) {
      if (byte === 0x0a) {
        if (this.lineHasText) this.requests += 1;
        this.lineHasText = false;
      } else if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) this.lineHasText = true;
    }
    this.child.stdin.write(data);
  }

  private finish(code: number, why?: string): void {
    if (why) this.stderr.push(Buffer.from(why));
    this.exit ??= code;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.();
  }
}
