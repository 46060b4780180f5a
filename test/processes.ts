/**
 * The processes a test started, found in /proc by their parentage (never by a name pattern across the
 * machine): an sshd's session processes, the agents an executor keeps.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Every descendant of a process, from /proc: the processes it started, and theirs. */
export function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // the process ended meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parents) {
      if (parent === pid) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return out;
}

/**
 * The agent sessions (PowerShell running the agent) among a process's descendants: the outermost
 * process of each (a `dotnet tool` PowerShell is a launcher with the runtime as its child).
 */
export function agentProcesses(root: number): number[] {
  const agents = descendants(root).filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      // The local agent runs a file (runbook-agent-….ps1 or agent.ps1); the SSH bootstrap an encoded command.
      return argv.some((a) => /runbook-agent-[0-9a-f]+\.ps1$|[\\/]agent\.ps1$/.test(a)) || argv.includes('-EncodedCommand');
    } catch {
      return false;
    }
  });
  return agents.filter((pid) => !agents.includes(parentOf(pid)));
}

/** A process's parent's id (-1 once it is gone). */
export function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

/** True while a process exists and has not exited (a zombie awaiting its parent's wait has). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Resolves once every process has ended; rejects when one is still there after `limitMs`. */
export async function untilGone(pids: number[], limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (pids.some(running)) {
    if (Date.now() > deadline) throw new Error(`still running after ${limitMs} ms: ${pids.filter(running).join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls `check` (a real server's or process's progress) every 20 ms until it holds; fails after `limitMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Ends each of these processes (a test's own, by the ids it recorded), ignoring those already gone. */
export function killAll(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ended
    }
  }
}
