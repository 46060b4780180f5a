/**
 * A long-lived agent: one PowerShell running `agent/agent.ps1` that answers request after request, one
 * per line of its standard input (see the agent's header). PowerShell starts once per session instead
 * of once per call — half a second to a second of CPU on the target each time. The local and SSH
 * executors keep one session each; the transport only says how to start the agent's process.
 *
 * Calls go one at a time. A call that times out or is cancelled ends the session (the agent may be in
 * the middle of the batch): the next call starts a new one. A session whose process or connection ends
 * is started again by the next call; a call in flight then fails as `reset` (transient), as a one-shot
 * call whose connection dropped did.
 */
import { ExecutorError } from '../../errors.js';
import { agentRequest, parseAgentAnswer } from './protocol.js';
import { boundedCall } from '../common.js';
import { clixmlErrors, plainStderr } from './clixml.js';
import type { Executor, HostOp, HostOpResult, RunOptions } from '../types.js';

/** What a session hears from the agent's process. */
export interface AgentOutput {
  stdout(text: string): void;
  stderr(text: string): void;
  /**
   * The process or its connection ended; `error` when it could not run at all (e.g. not installed),
   * `exitCode` when the transport knows the process's (WinRM's CommandState).
   */
  closed(error?: unknown, exitCode?: number | null): void;
}

/** A running agent, as the transport started it. */
export interface AgentProcess {
  /** Writes to the agent's standard input. */
  write(text: string): void;
  /** Ends its standard input: the agent exits after its last answer. */
  end(): void;
  /**
   * Stops it now; a promise when stopping takes a round trip (SSH), settled once the process is
   * stopped or stopping it has failed. The session starts no other agent before then.
   */
  kill(): void | Promise<void>;
}

/** Starts the agent's process (reading requests from its standard input), its output going to `output`. */
export type StartAgent = (output: AgentOutput) => Promise<AgentProcess>;

/**
 * What to check when PowerShell on the target refuses the agent at its start. Said as possibilities:
 * the error records quoted in the message tell which.
 */
export const AGENT_REFUSED_HINT =
  "nothing was changed. PowerShell on the target stopped the agent's program before it ran: a policy may restrict this account's PowerShell (Constrained Language Mode under AppLocker or Windows Defender Application Control, an execution policy set by Group Policy); the error above says which. Allow this account's PowerShell to run the agent in FullLanguage mode (an AppLocker or WDAC rule, the policy's owner), then run again";

interface Waiting {
  marker: string;
  resolve: (output: string) => void;
  reject: (error: unknown) => void;
}

/**
 * True when the agent's process ended before it printed anything, its shell saying that the command
 * does not exist (cmd.exe, a POSIX shell, or PowerShell itself naming another PowerShell).
 */
export function noShell(stdout: string, stderr: string): boolean {
  return stdout.trim() === '' && /is not recognized as (an internal or external command|the name of a cmdlet)|command not found|No such file or directory|not found$/im.test(stderr);
}

/**
 * Runs batches through one long-lived agent process.
 *
 * @example
 * ```ts
 * import { spawn } from 'node:child_process';
 * const session = new AgentSession('local pwsh', async (output) => {
 *   const child = spawn('pwsh', ['-NoProfile', '-NonInteractive', '-File', 'agent.ps1']);
 *   child.stdout.setEncoding('utf8').on('data', output.stdout);
 *   child.stderr.setEncoding('utf8').on('data', output.stderr);
 *   child.on('close', () => output.closed());
 *   return { write: (t) => void child.stdin.write(t), end: () => child.stdin.end(), kill: () => void child.kill('SIGKILL') };
 * });
 * const [os] = await session.call([{ op: 'os.info' }]);
 * await session.close();
 * ```
 */
export class AgentSession {
  /** The running session; `answered` once its agent has answered a call (it started). */
  private current: { process: Promise<AgentProcess>; closed: Promise<void>; answered: boolean } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private stdout = '';
  private stderr = '';
  private waiting: Waiting | null = null;
  /** Settled once every agent given up on is stopped: no new one starts before (two would write at once). */
  private stopping: Promise<void> = Promise.resolve();

  /**
   * @param where the target, for errors
   * @param start starts the agent's process
   * @param classify turns the error a process could not start with into an executor error
   */
  constructor(
    private readonly where: string,
    private readonly start: StartAgent,
    private readonly classify: (error: unknown) => Error = (error) => new ExecutorError('reset', String(error), { where }),
  ) {}

  /** Runs one batch; calls made while one is in flight wait for it. */
  call(batch: readonly HostOp[], options: RunOptions = {}, timeoutMs?: number): Promise<HostOpResult[]> {
    const task = this.queue.then(() => this.callNow(batch, options, timeoutMs));
    this.queue = task.catch(() => undefined);
    return task;
  }

  private async callNow(batch: readonly HostOp[], options: RunOptions, timeoutMs: number | undefined): Promise<HostOpResult[]> {
    options.signal?.throwIfAborted();
    const { marker, json } = agentRequest(batch);
    const output = await boundedCall<string>(this.where, options, timeoutMs, (resolve, reject, onStop) => {
      const session = this.session();
      // Given up on (time, cancellation): the agent may be half-way through the batch; it is stopped,
      // and the next call starts another.
      onStop(() => {
        this.waiting = null;
        this.stop(session);
      });
      session.process.then((agent) => {
        if (this.current !== session) return reject(new ExecutorError('reset', 'the agent session ended before the call was sent', { where: this.where }));
        this.stdout = '';
        this.stderr = '';
        this.waiting = { marker, resolve, reject };
        agent.write(`${json}\n`);
      }, reject);
    });
    return parseAgentAnswer(output, marker, this.where);
  }

  /** The running session, or a new one. */
  private session(): NonNullable<AgentSession['current']> {
    if (this.current) return this.current;
    let ended!: () => void;
    const closed = new Promise<void>((resolve) => (ended = resolve));
    const session: NonNullable<AgentSession['current']> = {
      closed,
      answered: false,
      process: this.stopping.then(() => this.start({
        stdout: (text) => {
          if (this.current !== session) return;
          this.stdout += text;
          const waiting = this.waiting;
          if (waiting && this.stdout.includes(`\nRBE-END ${waiting.marker}`)) {
            this.waiting = null;
            session.answered = true;
            waiting.resolve(this.stdout);
          }
        },
        stderr: (text) => {
          // Kept long enough for PowerShell's CLIXML, whose progress records come before its errors.
          if (this.current === session) this.stderr = `${this.stderr}${text}`.slice(-64 * 1024);
        },
        closed: (error, exitCode) => {
          ended();
          if (this.current !== session) return;
          this.current = null;
          const waiting = this.waiting;
          this.waiting = null;
          if (!waiting) return;
          const said = plainStderr(this.stderr).trim().slice(0, 300);
          const records = clixmlErrors(this.stderr);
          if (error === undefined && !session.answered && typeof exitCode === 'number' && exitCode !== 0 && records.length > 0) {
            // PowerShell itself refused the agent before it answered once: starting it again cannot help.
            waiting.reject(new ExecutorError('permanent', `the agent could not start on the target: PowerShell ended with exit code ${exitCode}: ${records.join(' ').slice(0, 500)}`, {
              where: this.where,
              hint: AGENT_REFUSED_HINT,
            }));
            return;
          }
          if (error === undefined && noShell(this.stdout, said)) {
            // The shell that starts the agent is not there: trying again cannot help.
            waiting.reject(new ExecutorError('permanent', `no PowerShell on the target to start the agent: ${said}`, {
              where: this.where,
              hint: 'name the PowerShell the target has with RUNBOOK_SSH_SHELL (powershell for Windows PowerShell 5.1, pwsh for PowerShell 7), or install it there',
            }));
            return;
          }
          const code = typeof exitCode === 'number' ? ` (exit code ${exitCode})` : '';
          waiting.reject(error !== undefined ? this.classify(error) : new ExecutorError('reset', `the agent ended${code} before it answered${said ? `: ${said}` : ''}`, { where: this.where }));
        },
      })),
    };
    // A process that could not start: the session is over (the call waiting on it is told by `then`).
    session.process.catch(() => {
      ended();
      if (this.current === session) this.current = null;
    });
    this.current = session;
    return session;
  }

  private stop(session: NonNullable<AgentSession['current']>): void {
    if (this.current === session) this.current = null;
    const stopped = session.process.then((agent) => agent.kill(), () => undefined).then(() => undefined, () => undefined);
    this.stopping = Promise.all([this.stopping, stopped]).then(() => undefined);
  }

  /** Ends the session: the agent's input is closed and it exits (stopped if it has not within `graceMs`). */
  async close(graceMs = 5000): Promise<void> {
    await this.queue;
    const session = this.current;
    // Agents given up on are stopped before close returns.
    if (!session) return this.stopping;
    this.current = null;
    let agent: AgentProcess;
    try {
      agent = await session.process;
    } catch {
      return this.stopping;
    }
    agent.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([session.closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    await agent.kill();
    await this.stopping;
  }
}

/** What an executor over an agent session says of itself; `run` and `roundTrips` come with the session. */
export interface SessionExecutorInfo {
  name: Executor['name'];
  target: string;
  onTarget: boolean;
  /** How long one call may take. */
  timeoutMs?: number;
}

/**
 * An executor whose batches go through one agent session: each `run` is one call, counted in
 * `roundTrips`; `rest` adds what the transport has of its own (at least `close`).
 *
 * @example
 * ```ts
 * declare const session: AgentSession;
 * const executor = sessionExecutor(session, { name: 'ssh', target: 'ssh://admin@orch01', onTarget: false }, { close: () => session.close() });
 * await executor.run([{ op: 'os.info' }]); // executor.roundTrips === 1
 * ```
 */
export function sessionExecutor(session: AgentSession, info: SessionExecutorInfo, rest: Pick<Executor, 'close' | 'transportTls' | 'tlsEndpoints'>): Executor {
  let roundTrips = 0;
  return {
    name: info.name,
    target: info.target,
    onTarget: info.onTarget,
    get roundTrips() {
      return roundTrips;
    },
    async run(batch: readonly HostOp[], runOptions: RunOptions = {}): Promise<HostOpResult[]> {
      roundTrips += 1;
      return session.call(batch, runOptions, info.timeoutMs);
    },
    ...rest,
  };
}
