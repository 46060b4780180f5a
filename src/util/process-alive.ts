/**
 * Whether a process of this machine runs: one that exists but is another user's (EPERM) counts as
 * running. Not a process id (0, a negative number, not an integer) is no process.
 *
 * @example
 * ```ts
 * processAlive(process.pid); // true
 * processAlive(0); // false
 * ```
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
