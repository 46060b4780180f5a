/**
 * The worker module of test/fleet/threads.test.ts: each worker thread builds the tests' runner (its own
 * virtual clock, as the main thread's) over the same state directory. With `stop`, the worker thread
 * ends (process.exit in a worker ends only that thread) as soon as it is to reach a host.
 */
import { VirtualClock, createSimulatedExecutor } from '../../src/index.js';
import type { HostDeps } from '../../src/fleet/host-lane.js';
import { serveFleetThread } from '../../src/fleet/thread-worker.js';
import { newRunner } from '../helpers.js';

export async function fleetThread(data: unknown): Promise<HostDeps> {
  const { stateDir, stop } = data as { stateDir: string; stop?: boolean };
  const clock = new VirtualClock();
  return {
    runner: newRunner(stateDir, clock),
    connect: (target) => (stop ? process.exit(1) : createSimulatedExecutor(target.slice(4), { clock })),
  };
}

serveFleetThread(fleetThread);
