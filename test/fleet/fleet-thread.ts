/**
 * The worker module of test/fleet/threads.test.ts: each worker thread builds the tests' runner (its own
 * virtual clock, as the main thread's) over the same state directory.
 */
import { VirtualClock, createSimulatedExecutor } from '../../src/index.js';
import type { HostDeps } from '../../src/fleet/host-lane.js';
import { newRunner } from '../helpers.js';

export async function fleetThread(data: unknown): Promise<HostDeps> {
  const { stateDir } = data as { stateDir: string };
  const clock = new VirtualClock();
  return { runner: newRunner(stateDir, clock), connect: (target) => createSimulatedExecutor(target.slice(4), { clock }) };
}
