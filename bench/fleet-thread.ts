/**
 * The worker module of bench/fleet.ts's `--threads`: each worker thread of the fleet builds the same
 * runner and simulated connections as the bench's main thread, and counts its fsyncs into the counter
 * the main thread shares with it.
 */
import fs from 'node:fs';
import { open } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runner, bundledStepKinds, createSimulatedExecutor } from '../src/index.js';
import type { HostDeps } from '../src/fleet/host-lane.js';
import { serveFleetThread } from '../src/fleet/thread-worker.js';

/**
 * Counts every fsync of this thread (file handles' sync and datasync, fs.fsyncSync) into `counter`.
 * With BENCH_NO_FSYNC=1 each is counted and not made (every write still is; nothing is durable): what
 * the fleet would gain if no run ever flushed — the most a group commit across the runs could.
 */
export async function countFsyncs(counter: SharedArrayBuffer): Promise<void> {
  const n = new Int32Array(counter);
  const skip = process.env.BENCH_NO_FSYNC === '1';
  const probeFile = join(tmpdir(), `rbe-bench-probe-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const probe = await open(probeFile, 'w');
  const handleProto = Object.getPrototypeOf(probe) as { sync: () => Promise<void>; datasync: () => Promise<void> };
  await probe.close();
  await fs.promises.rm(probeFile, { force: true });
  for (const name of ['sync', 'datasync'] as const) {
    const original = handleProto[name];
    handleProto[name] = function (this: unknown) {
      Atomics.add(n, 0, 1);
      return skip ? Promise.resolve() : original.call(this);
    };
  }
  for (const name of ['fsyncSync', 'fdatasyncSync'] as const) {
    const original = fs[name];
    (fs as unknown as Record<string, unknown>)[name] = (fd: number) => {
      Atomics.add(n, 0, 1);
      if (!skip) original(fd);
    };
  }
  syncBuiltinESMExports();
}

export async function fleetThread(data: unknown): Promise<HostDeps> {
  const { stateDir, synced } = data as { stateDir: string; synced: SharedArrayBuffer };
  await countFsyncs(synced);
  const kinds = bundledStepKinds();
  return { runner: new Runner({ kinds, stateDir }), connect: (target) => createSimulatedExecutor(target.slice('sim:'.length)) };
}

serveFleetThread(fleetThread);
