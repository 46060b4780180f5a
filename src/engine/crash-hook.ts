/**
 * Test hook: with `RUNBOOK_CRASH_AFTER=<n>` in the environment the process kills itself (SIGKILL) right
 * after the n-th journal record of this process is durable. Used by the crash-point sweep.
 */
let durable = 0;
const crashAfter = Number.parseInt(process.env.RUNBOOK_CRASH_AFTER ?? '', 10);

/** Called by the journal after each record reaches the disk. */
export function afterDurableRecord(): void {
  durable += 1;
  if (Number.isFinite(crashAfter) && durable === crashAfter) process.kill(process.pid, 'SIGKILL');
}
