/**
 * Test hook: with `RUNBOOK_CRASH_AFTER=<n>` in the environment the process kills itself (SIGKILL) right
 * after the n-th journal record of this process is durable. Used by the crash-point sweep. The count and
 * the variable belong to the process (its PID): a process started from a V8 startup snapshot (the
 * sweep's children) sees its own environment and counts from zero, whatever ran while the snapshot
 * was made.
 */
let owner = 0;
let durable = 0;
let crashAfter = NaN;

/** Called by the journal after each record reaches the disk. */
export function afterDurableRecord(): void {
  if (owner !== process.pid) {
    owner = process.pid;
    durable = 0;
    crashAfter = Number.parseInt(process.env.RUNBOOK_CRASH_AFTER ?? '', 10);
  }
  durable += 1;
  if (durable === crashAfter) process.kill(process.pid, 'SIGKILL');
}
