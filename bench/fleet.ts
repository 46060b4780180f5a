/**
 * Fleets of simulated Server 2016 hosts, through the library, each fleet in its own child process so
 * that its peak memory is its own: one host alone (the baseline), then N hosts at concurrency N, every
 * host 50 ms per round trip and a restart of 60 s (by default: what a real Windows server takes; the
 * simulated host waits it out on the real clock, so each fleet takes at least that long).
 * Prints, for each size, against the one host alone: the wall ratio (budget ≤ 1.3× for 5,000 hosts),
 * the CPU per host run on the main thread and on the other threads (GC, libuv's pool) apart (budget
 * ≤ 13 ms in all), the peak RSS and heap, the RSS per in-flight host beyond the process's own (budget
 * ≤ 100 KB), per run the journal's bytes and records, the fsyncs the process made and the flushes the
 * disk completed (Linux), and when the hosts' restarts began and ended and their runs ended (first /
 * median / last host: the journals' record times). The budgets are printed, not asserted. The hosts serve no TLS endpoints: handshakes have their own tests.
 *
 *   node --import tsx bench/fleet.ts                       # 60 s restart; 1,000 and 5,000 hosts (5-15 min: the 5,000 are disk-bound)
 *   node --import tsx bench/fleet.ts --quick               # 10 s restart; 200 and 1,000 hosts (~2 min)
 *   node --import tsx bench/fleet.ts --stress              # the stress figure: 2 s restart, 1,000 hosts
 *   node --import tsx bench/fleet.ts --restart 30 --hosts 500,2000 --poll 500
 *   node --import tsx bench/fleet.ts --threads 2           # the hosts spread over 2 threads (startFleet's `threads`)
 *   node --import tsx bench/fleet.ts --hosts-on-disk       # the simulated hosts' documents on the disk, beside the state (see hostsFolder)
 *   node --import tsx bench/fleet.ts --against ../before --rounds 3 --hosts 1000 --restart 20
 *                                                          # this checkout against another (a worktree of the commit before), alternated
 *   npm run build && node --import tsx bench/fleet.ts --dist   # the engine as it ships (dist/), not the sources through tsx
 *
 * By default the fleet drives the sources through tsx, which compiles them with `keepNames` (every
 * closure gets a name property: more memory and some CPU per host than the built engine); `--dist`
 * drives the built `dist/` instead, what the CLI runs (one thread only).
 *
 * The restart step polls at its default interval (1 s) unless `--poll` says otherwise; the 2 s stress
 * case polls every 200 ms, as this bench always did.
 *
 * Add `-- --cpu-prof` or `-- --heap-prof` (node's own flags, passed to each fleet's process) to profile;
 * BENCH_CPU_PROF=<file> profiles the fleet alone (not its set-up), BENCH_HEAP_SNAPSHOT=<file>@<s> takes a
 * heap snapshot that many seconds into it (run one size: `--hosts 300 --restart 20`), BENCH_ALLOC_PROF=<file>
 * a sampling heap profile of where the fleet allocates, what the GC collected included (with
 * BENCH_ALLOC_SURVIVORS=1 as well: what outlived a scavenge only — where the promoted bytes come from).
 * BENCH_NO_FSYNC=1 counts every fsync and makes none (nothing is durable): the most a group commit
 * could gain.
 *
 * Each fleet also reports what its main thread's heap went through (v8.GCProfiler): the bytes allocated
 * and promoted per host run, and the GC pauses. Those bytes hardly move from one run to the next (±2 %,
 * where the CPU figures move by a third on a shared machine): a change to what a host run allocates
 * shows in them first.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { GCProfiler, type GCProfilerResult } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { countFsyncs } from './fleet-thread.js';

const LATENCY = 50;
const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

interface Figures {
  hosts: number;
  wallMs: number;
  mainCpuMs: number;
  otherCpuMs: number;
  peakRss: number;
  peakHeap: number;
  peakHeapTotal: number;
  peakExternal: number;
  journalBytes: number;
  records: number;
  fsyncs: number;
  /** Flushes the state directory's disk completed while the fleet ran (every process's: see {@link diskFlushes}); null where Linux does not say. */
  diskFlushes: number | null;
  status: string;
  outcome: string;
  /** The main thread's heap over the fleet (V8's GC profiler): see {@link heapFigures}. */
  heap: HeapFigures;
  /** Where the simulated hosts' documents were: in memory (/dev/shm) or on the disk beside the state (see {@link hostsFolder}). */
  hostsIn: 'memory' | 'disk';
  /** Seconds into the fleet (min, median, max over its hosts) at which each host's restart began and ended, and its run ended. */
  phases: { restartStart: number[]; restartEnd: number[]; end: number[] };
}

if (args[0] === '--child') {
  process.stdout.write(`${JSON.stringify(await child(Number(args[1]), Number(args[2]), args[3] === undefined ? 200 : Number(args[3]), Number(args[4] ?? 1), args[5] === 'dist'))}\n`);
  process.exit(0);
} else {
  await parent();
}

/**
 * Where the simulated hosts' documents go. A simulated host stands for a server elsewhere: what it
 * writes (every round trip that changes it rewrites its document, about 12 per run — a file created,
 * written and renamed each time) would be that server's disk work, not the controller's. So the
 * documents live in memory (`/dev/shm`, removed at exit) and the controller's own files — journals,
 * leases, backups, reports — on the disk under the state directory, as they would. `--hosts-on-disk`
 * (BENCH_HOSTS_ON_DISK=1 in the fleet's process) keeps them beside the state on the disk, as the rounds
 * of issue #27 before the fifth did; a machine without a writable `/dev/shm` does the same.
 */
function hostsFolder(dir: string): string {
  if (process.env.BENCH_HOSTS_ON_DISK) return dir;
  try {
    const hosts = mkdtempSync('/dev/shm/rbe-bench-hosts-');
    process.once('exit', () => rmSync(hosts, { recursive: true, force: true }));
    return hosts;
  } catch {
    return dir;
  }
}

/** CPU of the main thread alone (Linux: its task's utime + stime), in ms; 10 ms resolution. */
function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of the line (utime, stime) are 11 and 12 after the name, in clock ticks.
    const ticks = Number(fields[11]) + Number(fields[12]);
    const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    return (ticks * 1000) / hz;
  } catch {
    return Number.NaN;
  }
}

/** The process's peak RSS so far (Linux: VmHWM), in bytes; sampled RSS elsewhere. */
function peakRssOfProcess(sampled: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : sampled;
  } catch {
    return sampled;
  }
}

async function child(count: number, restartMs: number, pollMs: number, threads: number, dist: boolean): Promise<Figures> {
  // The same exports either way: the built engine's are the sources' compiled.
  const engine: typeof import('../src/index.js') = dist ? await import(new URL('../dist/index.js', import.meta.url).href) : await import('../src/index.js');
  const { Runner, bundledStepKinds, createPreset, createSimulatedExecutor, loadInventory, loadRunbook, startFleet, writeHost } = engine;
  const { tempDir } = await import('../test/helpers.js');
  // Words for the outcome counts (a pure function: taken from the sources either way).
  const { describeCounts } = await import('../src/engine/outcome.js');
  const kinds = bundledStepKinds();
  const runbook = await loadRunbook('orchestrator-tls12', kinds);
  // Removed when the bench ends (test/helpers.ts's `tempDir`).
  const dir = await tempDir('rbe-bench-fleet-');
  const hostsDir = hostsFolder(dir);
  const names = Array.from({ length: count }, (_, i) => `h${String(i).padStart(4, '0')}`);
  for (const name of names) {
    const h = createPreset('server-2016');
    h.latencyMs = LATENCY;
    h.downtimeMs = restartMs;
    h.endpoints = [];
    await writeHost(join(hostsDir, `${name}.json`), h);
  }
  const inventoryFile = join(dir, 'inventory.yaml');
  writeFileSync(inventoryFile, stringify({ defaults: { params: pollMs > 0 ? { pollIntervalMs: pollMs } : {} }, hosts: names.map((name) => ({ name, target: `sim:${join(hostsDir, `${name}.json`)}` })) }));
  const inventory = await loadInventory(inventoryFile);

  // Every fsync the process makes (journal batches, lease claims and renewals, atomic writes), in this
  // thread and in the fleet's workers (they add to the same shared counter).
  const synced = new SharedArrayBuffer(4);
  await countFsyncs(synced);

  let peakHeap = 0;
  let peakHeapTotal = 0;
  let peakExternal = 0;
  let peakRss = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakHeapTotal = Math.max(peakHeapTotal, m.heapTotal);
    peakExternal = Math.max(peakExternal, m.external);
    peakRss = Math.max(peakRss, m.rss);
  }, 100);
  const stateDir = join(dir, 'state');
  // BENCH_CPU_PROF=<file>: a CPU profile of the fleet alone (not the setup, nor the clean-up).
  const profile = process.env.BENCH_CPU_PROF ? await startProfile() : undefined;
  // BENCH_ALLOC_PROF=<file>: where the fleet allocates (a sampling heap profile that keeps what the GC collected).
  const allocations = process.env.BENCH_ALLOC_PROF ? await startAllocationProfile() : undefined;
  // What the main thread's heap went through: every GC's heap before and after (v8.GCProfiler).
  const gcProfiler = new GCProfiler();
  gcProfiler.start();
  const flushes0 = diskFlushes(dir);
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const t0 = performance.now();
  const epoch0 = Date.now();
  const fleet = startFleet({
    runner: new Runner({ kinds, stateDir }),
    kinds,
    runbook,
    inventory,
    connect: (target) => createSimulatedExecutor(target.slice('sim:'.length)),
    concurrency: count,
    // The workers' runner and connect: bench/fleet-thread.ts, as this process's.
    ...(threads > 1 ? { threads: { count: threads, module: new URL('./fleet-thread.ts', import.meta.url), data: { stateDir, synced } } } : {}),
  });
  // BENCH_HEAP_SNAPSHOT=<file>@<seconds>: a heap snapshot that many seconds into the fleet.
  const [snapFile, snapAt] = (process.env.BENCH_HEAP_SNAPSHOT ?? '').split('@');
  if (snapFile) setTimeout(() => void import('node:v8').then((v8) => v8.writeHeapSnapshot(snapFile)), Number(snapAt) * 1000);
  const result = await fleet.result;
  const heap = heapFigures(gcProfiler.stop());
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const mainCpuMs = mainThreadCpuMs() - main0;
  const flushes1 = diskFlushes(dir);
  clearInterval(sampler);
  if (profile) writeFileSync(process.env.BENCH_CPU_PROF as string, JSON.stringify(await profile()));
  if (allocations) writeFileSync(process.env.BENCH_ALLOC_PROF as string, JSON.stringify(await allocations()));

  let journalBytes = 0;
  let records = 0;
  const times = { restartStart: [] as number[], restartEnd: [] as number[], end: [] as number[] };
  const runs = join(stateDir, 'runs');
  for (const run of (() => { try { return readdirSync(runs); } catch { return []; } })()) {
    const file = join(runs, run, 'journal.jsonl');
    try {
      journalBytes += statSync(file).size;
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      records += lines.length;
      // When, into the fleet, the host's restart began and ended and its run ended (the records' times).
      const seconds = (at: string) => (Date.parse(at) - epoch0) / 1000;
      for (const line of lines) {
        const r = JSON.parse(line) as { type: string; stepId?: string; at: string };
        if (r.stepId === 'restart' && r.type === 'step.started') times.restartStart.push(seconds(r.at));
        if (r.stepId === 'restart' && r.type === 'step.settled') times.restartEnd.push(seconds(r.at));
      }
      times.end.push(seconds((JSON.parse(lines[lines.length - 1]) as { at: string }).at));
    } catch {
      // A run without a journal: none counted.
    }
  }
  const spread = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted.length ? [sorted[0], sorted[Math.floor(sorted.length / 2)], sorted[sorted.length - 1]] : [];
  };
  const allCpuMs = (cpu.user + cpu.system) / 1000;
  return {
    hosts: count,
    wallMs,
    mainCpuMs,
    otherCpuMs: allCpuMs - mainCpuMs,
    peakRss: peakRssOfProcess(peakRss),
    peakHeap,
    peakHeapTotal,
    peakExternal,
    journalBytes,
    records,
    fsyncs: Atomics.load(new Int32Array(synced), 0),
    diskFlushes: flushes0 === null || flushes1 === null ? null : flushes1 - flushes0,
    status: result.status,
    outcome: describeCounts(result.counts),
    heap,
    hostsIn: hostsDir === dir ? 'disk' : 'memory',
    phases: { restartStart: spread(times.restartStart), restartEnd: spread(times.restartEnd), end: spread(times.end) },
  };
}

/**
 * The flush requests the disk under `path` has completed since it started (Linux: field 16 of the
 * block device's `stat`, the whole disk's when `path` is on a partition), or null where that is not to
 * be read. Every process's flushes count, so the difference over a fleet is an upper bound for its
 * own: it tells whether the file system already serves many fsyncs with one flush of the disk (a
 * group commit of its own) or flushes the disk for each.
 */
function diskFlushes(path: string): number | null {
  try {
    const dev = statSync(path, { bigint: true }).dev;
    const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
    const minor = Number((dev & 0xffn) | ((dev >> 12n) & 0xffffff00n));
    // A partition's folder lies inside its disk's: the link is followed first (joining '..' to the
    // link's own path would only drop its last part).
    const device = realpathSync(join('/sys/dev/block', `${major}:${minor}`));
    const stat = readFileSync(join(existsSync(join(device, 'partition')) ? join(device, '..') : device, 'stat'), 'utf8').trim().split(/\s+/);
    return stat.length >= 16 ? Number(stat[15]) : null;
  } catch {
    return null;
  }
}

/** What the main thread's heap went through while the fleet ran (bytes, and ms of GC pauses). */
interface HeapFigures {
  /** Bytes allocated: between two GCs, what the heap used grew by. */
  allocated: number;
  /** Bytes the scavenges moved to the old generation (what outlived the young one: what full GCs must mark). */
  promoted: number;
  scavenges: number;
  fullGcs: number;
  /** The GCs' pauses on the main thread, in ms, by kind. */
  scavengeMs: number;
  fullGcMs: number;
}

/**
 * The figures of a V8 GC profile. They do not depend on how busy the machine is — the bytes a fleet
 * allocates and promotes are its own — so a change to what a host run allocates shows in them when the
 * CPU figures drown it in the machine's noise.
 */
function heapFigures(profile: GCProfilerResult): HeapFigures {
  type Stats = GCProfilerResult['statistics'][number]['beforeGC'];
  const young = (s: Stats) => s.heapSpaceStatistics.filter((x) => x.spaceName === 'new_space' || x.spaceName === 'new_large_object_space').reduce((n, x) => n + x.spaceUsedSize, 0);
  const old = (s: Stats) => s.heapStatistics.usedHeapSize - young(s);
  const figures: HeapFigures = { allocated: 0, promoted: 0, scavenges: 0, fullGcs: 0, scavengeMs: 0, fullGcMs: 0 };
  let usedAfter: number | undefined;
  for (const gc of profile.statistics) {
    if (usedAfter !== undefined) figures.allocated += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - usedAfter);
    usedAfter = gc.afterGC.heapStatistics.usedHeapSize;
    if (gc.gcType === 'Scavenge') {
      figures.scavenges += 1;
      figures.scavengeMs += gc.cost / 1000;
      figures.promoted += Math.max(0, old(gc.afterGC) - old(gc.beforeGC));
    } else if (gc.gcType === 'MarkSweepCompact') {
      figures.fullGcs += 1;
      figures.fullGcMs += gc.cost / 1000;
    }
  }
  return figures;
}

/** A session with this process's inspector: `post` sends it a command and resolves with the answer. */
async function inspectorPost(): Promise<(method: string, params?: object) => Promise<unknown>> {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  return (method, params) => new Promise<unknown>((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
}

/** Starts the inspector's sampling heap profiler, counting collected objects too; the function returned stops it and gives the profile. */
async function startAllocationProfile(): Promise<() => Promise<unknown>> {
  const post = await inspectorPost();
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.BENCH_ALLOC_SURVIVORS === undefined });
  return async () => ((await post('HeapProfiler.stopSampling')) as { profile: unknown }).profile;
}

/** Starts the inspector's CPU profiler; the function returned stops it and gives the profile. */
async function startProfile(): Promise<() => Promise<unknown>> {
  const post = await inspectorPost();
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 1000 });
  await post('Profiler.start');
  return async () => ((await post('Profiler.stop')) as { profile: unknown }).profile;
}

/** A fleet in a child process: this checkout's bench, or (`checkout`) the same bench in another checkout of the project. */
function runChild(count: number, restartMs: number, pollMs: number, nodeFlags: string[], threads = 1, dist = false, checkout?: string): Promise<Figures> {
  const self = checkout ? join(checkout, 'bench', 'fleet.ts') : fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const env = args.includes('--hosts-on-disk') ? { ...process.env, BENCH_HOSTS_ON_DISK: '1' } : process.env;
    const p = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', self, '--child', String(count), String(restartMs), String(pollMs), String(threads), dist ? 'dist' : 'src'], { stdio: ['ignore', 'pipe', 'inherit'], env, ...(checkout ? { cwd: checkout } : {}) });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`the fleet of ${count} exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as Figures);
    });
  });
}

async function parent(): Promise<void> {
  const quick = args.includes('--quick');
  const stress = args.includes('--stress');
  const restartMs = Number(arg('--restart') ?? (stress ? 2 : quick ? 10 : 60)) * 1000;
  const sizes = (arg('--hosts') ?? (stress ? '1000' : quick ? '200,1000' : '1000,5000')).split(',').map(Number);
  // The restart step's poll interval: its default (1 s) unless the restart is the 2 s stress case.
  const pollMs = Number(arg('--poll') ?? (restartMs <= 2000 ? 200 : 0));
  const dashDash = args.indexOf('--');
  const nodeFlags = dashDash >= 0 ? args.slice(dashDash + 1) : [];
  // Threads that drive hosts (the main thread among them): 1 drives every host in the main thread.
  const threads = Number(arg('--threads') ?? 1);
  const dist = args.includes('--dist');
  if (dist && threads > 1) {
    console.error('--dist drives one thread only (the worker threads load bench/fleet-thread.ts, the sources)');
    process.exit(2);
  }
  if (dist && !existsSync(new URL('../dist/index.js', import.meta.url))) {
    console.error('--dist needs the built engine: run `npm run build` first');
    process.exit(2);
  }

  const against = arg('--against');
  if (against !== undefined) return compare(against, Number(arg('--rounds') ?? 3), sizes, restartMs, pollMs, nodeFlags, threads, dist);

  const alone = await runChild(1, restartMs, pollMs, [], 1, dist);
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
  console.log(`${LATENCY} ms per round trip, ${restartMs / 1000} s restart, polled every ${pollMs > 0 ? `${pollMs} ms` : '1 s (the default)'}, concurrency = hosts, one process per fleet, ${dist ? 'the built engine (dist/)' : 'the sources through tsx'}, ${threads > 1 ? `${threads} threads (worker threads: bench/fleet-thread.ts)` : 'one thread'}, the simulated hosts' documents ${alone.hostsIn === 'memory' ? 'in memory (/dev/shm: the targets\' disks are not the controller\'s)' : 'on the disk beside the state'}${process.env.BENCH_NO_FSYNC === '1' ? ', BENCH_NO_FSYNC: no fsync made (nothing durable)' : ''}, ${new Date().toISOString()}`);
  console.log(`one host alone: ${(alone.wallMs / 1000).toFixed(1)} s, CPU ${alone.mainCpuMs.toFixed(0)} ms main + ${alone.otherCpuMs.toFixed(0)} ms other threads, peak RSS ${mb(alone.peakRss)}, journal ${alone.journalBytes} B in ${alone.records} records, ${alone.fsyncs} fsyncs`);
  for (const n of sizes) {
    const f = await runChild(n, restartMs, pollMs, nodeFlags, threads, dist);
    const ratio = f.wallMs / alone.wallMs;
    const main = f.mainCpuMs / n;
    const other = f.otherCpuMs / n;
    const perHostKb = (f.peakRss - alone.peakRss) / n / 1024;
    console.log(
      [
        `${n} hosts: wall ${(f.wallMs / 1000).toFixed(1)} s → ${ratio.toFixed(2)}× one host alone (budget ≤ 1.3× at 5,000 with a 60 s restart)`,
        `  CPU per host run: ${(main + other).toFixed(1)} ms = ${main.toFixed(1)} main thread + ${other.toFixed(1)} other threads (budget ≤ 13 ms)`,
        `  peak RSS ${mb(f.peakRss)} → ${perHostKb.toFixed(0)} KB per in-flight host beyond one host alone's ${mb(alone.peakRss)} (budget ≤ 100 KB); peak heap used ${mb(f.peakHeap)} of ${mb(f.peakHeapTotal)}, external ${mb(f.peakExternal)}`,
        `  main thread's heap per host run: ${(f.heap.allocated / n / 2 ** 20).toFixed(2)} MB allocated, ${(f.heap.promoted / n / 1024).toFixed(0)} KB promoted (outlived the young generation); GC pauses ${((f.heap.scavengeMs + f.heap.fullGcMs) / n).toFixed(1)} ms (${f.heap.scavenges} scavenges, ${f.heap.fullGcs} full GCs in the fleet)`,
        `  per run: journal ${(f.journalBytes / n / 1024).toFixed(1)} KB in ${(f.records / n).toFixed(0)} records, ${(f.fsyncs / n).toFixed(1)} fsyncs (every file)${f.diskFlushes === null ? '' : `, ${(f.diskFlushes / n).toFixed(1)} flushes of the disk (every process's on that disk: ${(f.diskFlushes / Math.max(1, f.fsyncs)).toFixed(2)} per fsync)`}`,
        `  seconds into the fleet (first / median / last host): restart began ${f.phases.restartStart.map((x) => x.toFixed(1)).join(' / ')}, ended ${f.phases.restartEnd.map((x) => x.toFixed(1)).join(' / ')}; run ended ${f.phases.end.map((x) => x.toFixed(1)).join(' / ')}`,
        `  outcome: ${f.status} — ${f.outcome}`,
      ].join('\n'),
    );
  }
}

/**
 * `--against <checkout> [--rounds N]`: the same fleets driven by this checkout's engine (A) and by
 * another checkout's (B, e.g. a `git worktree` of the commit before a change), alternated A B, B A, …
 * so that the machine's drift falls on both alike; each run's figures, then the medians and B against A.
 * No host alone: both face the same restart.
 */
async function compare(checkout: string, rounds: number, sizes: number[], restartMs: number, pollMs: number, nodeFlags: string[], threads: number, dist: boolean): Promise<void> {
  if (!existsSync(join(checkout, 'bench', 'fleet.ts'))) {
    console.error(`--against ${checkout}: no bench/fleet.ts there; give a checkout of this project (with its node_modules)`);
    process.exit(2);
  }
  if (!Number.isInteger(rounds) || rounds < 1) {
    console.error(`--rounds: a whole number of at least 1, got ${arg('--rounds')}`);
    process.exit(2);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  // A checkout whose bench predates hostsFolder keeps its hosts on the disk: give --hosts-on-disk to compare like with like.
  console.log(`A = this checkout, B = ${checkout}; ${rounds} rounds alternated, ${restartMs / 1000} s restart, ${threads} thread(s), ${new Date().toISOString()}`);
  for (const n of sizes) {
    const hostsIn: Record<'A' | 'B', string> = { A: '', B: '' };
    const runs: Record<'A' | 'B', { wall: number; cpu: number; main: number; rssKb: number; allocKb: number; promotedKb: number }[]> = { A: [], B: [] };
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
        const f = await runChild(n, restartMs, pollMs, nodeFlags, threads, dist, side === 'B' ? checkout : undefined);
        // A checkout whose bench predates the heap figures has none (B/A then reads NaN).
        const run = { wall: f.wallMs / 1000, cpu: (f.mainCpuMs + f.otherCpuMs) / n, main: f.mainCpuMs / n, rssKb: f.peakRss / n / 1024, allocKb: (f.heap?.allocated ?? Number.NaN) / n / 1024, promotedKb: (f.heap?.promoted ?? Number.NaN) / n / 1024 };
        runs[side].push(run);
        hostsIn[side] = f.hostsIn ?? 'disk';
        console.log(`${n} hosts, ${side}: wall ${run.wall.toFixed(1)} s, CPU per host run ${run.cpu.toFixed(1)} ms (${run.main.toFixed(1)} main), peak RSS ÷ hosts ${run.rssKb.toFixed(0)} KB, per host run ${run.allocKb.toFixed(0)} KB allocated and ${run.promotedKb.toFixed(0)} KB promoted`);
      }
    }
    type Figure = keyof (typeof runs)['A'][number];
    const m = (side: 'A' | 'B', k: Figure) => median(runs[side].map((x) => x[k]));
    const line = (k: Figure, label: string, unit: string, digits: number) =>
      `  ${label}: A ${m('A', k).toFixed(digits)} ${unit}, B ${m('B', k).toFixed(digits)} ${unit} → B/A ${(m('B', k) / m('A', k)).toFixed(3)} (A's runs ${Math.min(...runs.A.map((x) => x[k])).toFixed(digits)}–${Math.max(...runs.A.map((x) => x[k])).toFixed(digits)})`;
    if (hostsIn.A !== hostsIn.B) console.log(`(the hosts' documents were on ${hostsIn.A === 'disk' ? 'the disk' : 'memory'} for A and ${hostsIn.B === 'disk' ? 'the disk' : 'memory'} for B: give --hosts-on-disk to compare like with like)`);
    console.log(`${n} hosts, medians of ${rounds}:`);
    console.log(line('wall', 'wall', 's', 1));
    console.log(line('cpu', 'CPU per host run', 'ms', 1));
    console.log(line('main', 'of it the main thread', 'ms', 1));
    console.log(line('rssKb', 'peak RSS ÷ hosts', 'KB', 0));
    console.log(line('allocKb', "allocated per host run (main thread's heap)", 'KB', 0));
    console.log(line('promotedKb', 'promoted per host run', 'KB', 0));
  }
}
