/**
 * The local processes the executors start (the agent's PowerShell, the remoting host), each the leader
 * of a process group of its own, and how to end one with everything it started. A PowerShell here may
 * be a launcher whose child is the runtime (`dotnet …pwsh.dll`), and the remoting host starts `ssh`:
 * ending only the direct child would leave those running. The live ones are kept here, so that the
 * CLI's second Ctrl-C (src/cli/signals.ts) can end them all, synchronously, before it exits. This
 * registry is each thread's own: a fleet's worker thread reports its groups to the main thread
 * ({@link watchGroups}), which records them here too.
 */
import { spawnSync } from 'node:child_process';

/** The live groups' leaders, by PID. */
const live = new Set<number>();
let hooked = false;
/** What hears each group this thread records or lets go of (a fleet's worker thread tells its main thread). */
const watchers = new Set<(pid: number, live: boolean) => void>();
/** What ends other threads' groups, each synchronously (a fleet's worker threads, src/fleet/threads.ts). */
const elsewhere = new Set<() => void>();

const SIGNALS: NodeJS.Signals[] = process.platform === 'win32' ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * A signal that would end this process (no other handler: a command that does not stop at a safe
 * point) ends the groups first, then this process by the same signal, as it would have ended. A group
 * leads itself, so a Ctrl-C at the terminal no longer reaches it, and execa's own clean-up passes over
 * detached children. With another handler (the CLI's stopOnSignals), that one decides.
 */
function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  endAllGroups();
  for (const s of SIGNALS) process.off(s, onSignal);
  process.kill(process.pid, signal);
}

/**
 * Whether a child is started as the leader of a group of its own (`detached` for execa or spawn): on
 * POSIX systems. On Windows `detached` would give it a console of its own; its tree is ended with
 * taskkill /T instead.
 */
export function ownGroup(platform: NodeJS.Platform = process.platform): boolean {
  return platform !== 'win32';
}

/**
 * Records a started child (the leader of its group) until it exits; its group is ended when this
 * process exits without ending it (a `process.exit` anywhere).
 */
export function trackGroup(pid: number | undefined): void {
  if (!pid || live.has(pid)) return;
  live.add(pid);
  for (const w of watchers) w(pid, true);
  if (!hooked) {
    hooked = true;
    process.on('exit', endAllGroups);
  }
  if (live.size === 1) for (const s of SIGNALS) process.on(s, onSignal);
}

/** The child exited: its PID is no longer one to end (it may be given to another process). */
export function untrackGroup(pid: number | undefined): void {
  if (pid) forget(pid);
}

/** Takes a PID off the live ones; the signal handlers go with the last one. */
function forget(pid: number): void {
  if (!live.delete(pid)) return;
  for (const w of watchers) w(pid, false);
  if (live.size > 0) return;
  for (const s of SIGNALS) process.off(s, onSignal);
}

/**
 * Ends a child and everything it started, now (synchronous): its process group (SIGKILL) on POSIX
 * systems, its process tree (taskkill /T /F) on Windows. A group already gone is no error.
 */
export function endGroup(pid: number | undefined): void {
  if (!pid) return;
  forget(pid);
  if (process.platform === 'win32') {
    spawnSync('taskkill', ['/T', '/F', '/PID', String(pid)], { stdio: 'ignore', windowsHide: true });
    return;
  }
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is gone; the leader itself may still be there if it was not started as one.
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone too
    }
  }
}

/** Ends every live group the executors started (the second Ctrl-C, this process's exit). */
export function endAllGroups(): void {
  for (const pid of [...live]) endGroup(pid);
  for (const end of [...elsewhere]) end();
}

/**
 * Ends another thread's groups with this thread's (the second Ctrl-C, this process's exit): `end` asks
 * that thread to end its own and waits, synchronously, until it has — a group it started a moment ago,
 * whose report ({@link watchGroups}) has not reached this thread yet, among them. Returns what takes it
 * off again (that thread ended).
 */
export function endGroupsElsewhere(end: () => void): () => void {
  elsewhere.add(end);
  if (!hooked) {
    hooked = true;
    process.on('exit', endAllGroups);
  }
  return () => void elsewhere.delete(end);
}

/**
 * Hears each group recorded here from now on (`live`) and each let go of (it exited, or was ended):
 * a fleet's worker thread tells its main thread (src/fleet/thread-worker.ts), which records them too —
 * only the main thread's second Ctrl-C and exit can end them, a worker's own exit hook does not run when
 * the main thread exits. Returns what stops it.
 */
export function watchGroups(watcher: (pid: number, live: boolean) => void): () => void {
  watchers.add(watcher);
  return () => void watchers.delete(watcher);
}

/** The PIDs of the live groups' leaders (for tests). */
export function liveGroups(): number[] {
  return [...live];
}
