/**
 * The simulated Windows host executor: every call loads the host document, carries out the batch and
 * writes it back atomically, so the host survives the controller being killed at any moment.
 */
import { hash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ExecutorError } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import { writeFileAtomicUnsyncedAsync, writeFileAtomicUnsynced } from '../util/write-atomic.js';
import { jsonFaultWhere } from '../util/json-error.js';
import { refuseUnmodelled, serveEndpoints, type ServedEndpoints } from './endpoints.js';
// The WinRM listener (node:http, the NTLM layer) is loaded only when asked for: a simulated host without it
// loads neither (nor can a process started from a V8 snapshot, which cannot take node:http).
import type { ServedWinrm, WinrmListenerOptions } from './winrm-listener.js';
import { applyOp, boot, goDown, opKey, settle, sortedRegistry, type SimHostState } from './model.js';
import type { Executor, HostOp, HostOpResult, RunOptions } from '../executors/types.js';
import { WRITE_OPS } from '../executors/types.js';
import { simHostIssues } from './host-check.js';

export const name = 'simulated' satisfies Executor['name'];

const locks = new Map<string, Promise<unknown>>();

/** Runs `fn` while no other call in this process touches the same file. */
async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(file) ?? Promise.resolve();
  const next = previous.then(fn, fn);
  const settled = next.catch(() => undefined);
  locks.set(file, settled);
  try {
    return await next;
  } finally {
    if (locks.get(file) === settled) locks.delete(file);
  }
}

/**
 * Reads a host document, with an error that names the file when it is not one. The read is synchronous:
 * a host file is a few kilobytes on a local disk, read at every round trip, and one synchronous read
 * costs less than the four thread-pool hops (open, stat, read, close) of an asynchronous one.
 *
 * @example
 * ```ts
 * const host = await readHost('host.json');
 * console.log(host.name, host.os.caption, Object.keys(host.registry).length);
 * ```
 */
export async function readHost(file: string): Promise<SimHostState> {
  return parseHost(file, readHostText(file));
}

/**
 * The host documents this process knows are valid, by file: the SHA-256 of the last text it read and
 * found valid, or wrote itself from a valid document through the model. A read that finds a text of
 * that digest again skips the document's checks (a few hundred property checks, at every round trip of
 * every host of a fleet); any other text — a file someone else wrote — is checked in full. The digest,
 * not the text: a fleet's simulated hosts are targets, whose documents (~11 KB each) are no part of
 * what its controller holds per host (measured: a sixth of its live heap per in-flight host).
 */
const validated = new Map<string, string>();

function digestOf(text: string): string {
  return hash('sha256', text, 'base64');
}

/**
 * Hosts this process found restarting, by file: until when, and the file as it was when read (inode,
 * size, modification time in ns: a rename by anyone — every writer here renames — or a write in place
 * changes it). A round trip to such a host, before that time and with the file unchanged, answers
 * "unreachable" without reading and parsing the document.
 */
const downHosts = new Map<string, { identity: string; until: number; latencyMs: number; why: string }>();

/**
 * Why a host that is down does not answer, as its document says it: restarting (a restart it went
 * through, `down.restart`), or down for another reason — switched off, cut off (a document edited so) —
 * which no restart brings back.
 */
function downMessage(down: NonNullable<SimHostState['down']>): string {
  return down.restart ? 'the host does not answer (it is restarting)' : `the host does not answer (it is down, not restarting: switched off or cut off, since ${down.since})`;
}

/** The file as it is now (inode, size, mtime in ns), or '' when it cannot be seen. */
function fileIdentity(file: string): string {
  const s = statSync(file, { bigint: true, throwIfNoEntry: false });
  return s ? `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : '';
}

function readHostText(file: string): string {
  try {
    const text = readFileSync(file, 'utf8');
    // A byte order mark (Windows PowerShell 5.1's `Out-File -Encoding utf8` writes one) is no part of the document.
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch (cause) {
    throw new ExecutorError('permanent', `cannot read the simulated host file`, {
      where: file,
      hint: 'create one with `runbook sim create --preset server-2016 --out <file>`',
      cause,
    });
  }
}

function parseHost(file: string, text: string): SimHostState {
  const digest = digestOf(text);
  if (validated.get(file) === digest) return JSON.parse(text) as SimHostState;
  validated.delete(file);
  const host = checkedHost(file, text);
  validated.set(file, digest);
  return host;
}

function checkedHost(file: string, text: string): SimHostState {
  const examined = examineHostText(text);
  if ('problem' in examined) {
    const { problem, issues, hint } = examined;
    throw new ExecutorError('permanent', issues.length > 0 ? `${problem}:\n${issues.map((i) => `  - ${i}`).join('\n')}` : problem, { where: file, hint });
  }
  return examined.host;
}

/** Why a text is no simulated host document: what is wrong, the fields at fault (if any), what to do. */
export interface HostDocumentProblem {
  problem: string;
  issues: string[];
  hint: string;
}

/** The host a document's text holds, or what is wrong with it (the simulator's own check, `simHostIssues`). */
function examineHostText(text: string): { host: SimHostState } | HostDocumentProblem {
  let host: SimHostState;
  try {
    host = JSON.parse(text) as SimHostState;
  } catch {
    // Where it breaks, never what it holds there: the file may be anything (sim:/etc/passwd), and this
    // message reaches the report, junit.xml and the console. No cause either: its message quotes the text.
    return {
      problem: `the simulated host file is not valid JSON: it breaks at ${jsonFaultWhere(text) ?? 'its end'}`,
      issues: [],
      hint: 'correct the file where the JSON breaks, or create a new one with `runbook sim create --preset server-2016 --out <file>`',
    };
  }
  if (host?.format !== 'runbook-engine/simulated-host@1' || typeof host.registry !== 'object') {
    return { problem: 'the file is not a simulated host (format runbook-engine/simulated-host@1)', issues: [], hint: 'create one with `runbook sim create --preset server-2016 --out <file>`' };
  }
  const issues = simHostIssues(host);
  if (issues.length > 0) return { problem: 'the simulated host file is not valid', issues, hint: 'fix those fields, or create a new file with `runbook sim create --preset server-2016 --out <file>`' };
  return { host };
}

/**
 * Checks a simulated host's file as its executor would read it — JSON, a simulated host document, every
 * field as the simulator reads it — without keeping the document: what is wrong, or `undefined` when
 * it is a host. A file found valid is remembered by its digest (as a round trip remembers it), so the
 * host's first round trip in this process does not check the same text again. A file that cannot be
 * read throws the executor's error.
 *
 * @example
 * ```ts
 * const problem = checkHostFile('/hosts/web01.json');
 * if (problem) console.error(problem.problem, problem.issues);
 * ```
 */
export function checkHostFile(file: string): HostDocumentProblem | undefined {
  const text = readHostText(file);
  const digest = digestOf(text);
  if (validated.get(file) === digest) return undefined;
  const examined = examineHostText(text);
  if ('problem' in examined) return examined;
  validated.set(file, digest);
  return undefined;
}

/**
 * Writes a host document atomically (a temporary file beside it, then a rename: a reader sees the old
 * document or the new one, never part of one), synchronously, and without fsync. Keys are stored in
 * order. What the simulated host must survive is the controller being killed, which leaves what was
 * written in the page cache; and Windows itself does not flush a registry write to disk before it
 * returns: its "lazy flusher" does, later, or RegFlushKey on request
 * (https://learn.microsoft.com/en-us/windows/win32/api/winreg/nf-winreg-regflushkey). Written this way a
 * round trip that changes the host costs no thread-pool hop (it took five: open, write, fsync, close,
 * rename), which a fleet of simulated hosts in one process feels.
 *
 * @example
 * ```ts
 * const host = createPreset('server-2019');
 * host.hotfixes = host.hotfixes.filter((kb) => kb !== 'KB3140245');
 * await writeHost('host.json', host);
 * ```
 */
export async function writeHost(file: string, host: SimHostState): Promise<void> {
  host.registry = sortedRegistry(host.registry);
  writeFileAtomicUnsynced(file, `${JSON.stringify(host, null, 2)}\n`);
}

/**
 * The executor's own write of a document it read (checked) and changed through the model: as
 * {@link writeHost}, but in the thread pool (creating the temporary file and renaming it wait on a busy
 * disk — profiled: 8 and 17 ms per host run of a fleet — and held the event loop that drives every other
 * host of the fleet); and the text is remembered as valid. The round trip resolves after the rename, as
 * before: a reader in any process sees the new document by then.
 */
async function storeHost(file: string, host: SimHostState): Promise<void> {
  host.registry = sortedRegistry(host.registry);
  const text = `${JSON.stringify(host, null, 2)}\n`;
  validated.delete(file);
  await writeFileAtomicUnsyncedAsync(file, text);
  validated.set(file, digestOf(text));
}

function matchingFault(host: SimHostState, op: HostOp) {
  return host.faults.find(
    (f) => f.times > 0 && f.op === op.op && (!f.keyContains || opKey(op).toLowerCase().includes(f.keyContains.toLowerCase())),
  );
}

/**
 * Options of {@link createSimulatedExecutor}.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const options: SimulatedExecutorOptions = { clock, onTarget: false };
 * const executor = await createSimulatedExecutor('host.json', options);
 * ```
 */
export interface SimulatedExecutorOptions {
  /** Behave as if the engine ran on the target itself (overrides the host file's `onTarget`). */
  onTarget?: boolean;
  /**
   * The host's clock, shared with the runner's so that a restart's downtime passes in virtual time
   * (a {@link VirtualClock}): its boots, pending shutdowns and slow services follow it, and so does
   * the simulated latency. @default the system clock
   */
  clock?: Clock;
  /**
   * Also serve the host's WinRM listeners (HTTP and HTTPS on 127.0.0.1, see {@link serveWinrm}) from
   * creation until `close()`, their URLs in the executor's `winrm`. `true` takes the listener's
   * defaults (Windows': NTLM, encrypted messages over HTTP, no Basic; the account from
   * RUNBOOK_SIM_WINRM_USER / RUNBOOK_SIM_WINRM_PASSWORD). @default false
   */
  winrm?: boolean | Omit<WinrmListenerOptions, 'hostFile' | 'write' | 'clock'>;
  /**
   * Refuse at once (a permanent {@link ExecutorError}) a document whose TLS endpoints could not be
   * served because its build leaves a default open that its `schannelDefaults` does not state — found
   * when the executor is made rather than by the run's first handshake. The CLI asks for it, so that
   * such a file is an input error (exit 2) before a run starts. @default false
   */
  requireServedDefaults?: boolean;
}

/**
 * A simulated host's executor; `winrm` is there when it was asked to serve the WinRM listeners.
 *
 * @example
 * ```ts
 * const sim: SimulatedExecutor = await createSimulatedExecutor('host.json', { winrm: true });
 * console.log(sim.name, sim.target, sim.winrm?.https);
 * await sim.close();
 * ```
 */
export interface SimulatedExecutor extends Executor {
  readonly winrm?: ServedWinrm;
}

/**
 * An executor for a simulated host stored in a JSON file.
 *
 * @example
 * ```ts
 * await writeHost('host.json', createPreset('server-2016'));
 * const executor = await createSimulatedExecutor('host.json');
 * const [os] = await executor.run([{ op: 'os.info' }]);
 * // With its WinRM listeners, for a WinRM client (the account from RUNBOOK_SIM_WINRM_USER/PASSWORD):
 * const listened = await createSimulatedExecutor('host.json', { winrm: true });
 * console.log(listened.winrm?.http); // http://127.0.0.1:40123/wsman
 * ```
 */
export async function createSimulatedExecutor(file: string, options: SimulatedExecutorOptions = {}): Promise<SimulatedExecutor> {
  const initial = await readHost(file);
  if (options.requireServedDefaults && initial.endpoints?.length) refuseUnmodelled(initial, `sim:${file}`);
  const clock = options.clock ?? systemClock;
  let roundTrips = 0;
  const onTarget = options.onTarget ?? initial.onTarget;
  let wentDown = false;
  let served: Promise<ServedEndpoints> | undefined;
  const winrm = options.winrm
    ? await (await import('./winrm-listener.js')).serveWinrm(() => readHost(file), {
        ...(options.winrm === true ? {} : options.winrm),
        hostFile: resolve(file),
        clock,
        write: (host) => withFileLock(file, () => writeHost(file, host)),
      })
    : undefined;
  return {
    name,
    winrm,
    target: `sim:${file}`,
    onTarget,
    get roundTrips() {
      return roundTrips;
    },
    async run(batch: readonly HostOp[], runOptions: RunOptions = {}): Promise<HostOpResult[]> {
      roundTrips += 1;
      runOptions.signal?.throwIfAborted();
      // A controller on the host goes down with it: once a restart it asked for was sent, this process
      // reaches the host no more (a real one would be ended); the start-up task resumes the run.
      if (wentDown) throw new ExecutorError('unreachable', 'this controller runs on the host, which is restarting: its start-up task resumes the run', { where: `sim:${file}` });
      return withFileLock(file, async () => {
        // A host seen restarting, whose file has not changed since: no need to read it to know it
        // does not answer yet (the poll of a restart wait, dozens per host run).
        const identity = fileIdentity(file);
        const restarting = downHosts.get(file);
        let host = restarting?.identity === identity ? undefined : await readHost(file);
        downHosts.delete(file);
        const latencyMs = host ? host.latencyMs : restarting!.latencyMs;
        if (latencyMs > 0) await clock.sleep(latencyMs);
        const at = new Date(clock.now());
        if (!host) {
          if (at.getTime() < restarting!.until) {
            downHosts.set(file, restarting!);
            throw new ExecutorError('unreachable', restarting!.why, { where: `sim:${file}` });
          }
          host = await readHost(file);
        }
        // A shutdown someone else scheduled happens at its time, whatever this engine does.
        if (host.pendingShutdown && at.getTime() >= Date.parse(host.pendingShutdown.at)) {
          const start = Date.parse(host.pendingShutdown.at);
          host.pendingShutdown = null;
          goDown(host, start);
          await storeHost(file, host);
        }
        if (host.down) {
          if (at.getTime() < Date.parse(host.down.until)) {
            const why = downMessage(host.down);
            if (!host.pendingShutdown && identity !== '') downHosts.set(file, { identity, until: Date.parse(host.down.until), latencyMs: host.latencyMs, why });
            throw new ExecutorError('unreachable', why, { where: `sim:${file}` });
          }
          boot(host, host.down.until);
          await storeHost(file, host);
        }
        const results: HostOpResult[] = [];
        // What the boot does on its own meanwhile (LogonUI's key) is written with the batch.
        let dirty = settle(host, at.toISOString());
        try {
          for (const op of batch) {
            const fault = matchingFault(host, op);
            if (fault) {
              fault.times -= 1;
              dirty = true;
              const kind = fault.kind === 'transient' ? 'reset' : 'permanent';
              throw new ExecutorError(kind, `injected ${fault.kind} fault on ${op.op} ${opKey(op)}`, { where: `sim:${file}` });
            }
            const result = applyOp(host, op, at.toISOString());
            results.push(result);
            if (WRITE_OPS.has(op.op)) dirty = true;
            if (onTarget && result.op === 'restart' && result.requested) wentDown = true;
          }
        } finally {
          if (dirty) await storeHost(file, host);
        }
        return results;
      });
    },
    async tlsEndpoints() {
      // Served from the first call until close().
      // A host refused (its document does not state a default the facts leave open) is asked again next time.
      served ??= serveEndpoints(() => readHost(file), { clock, where: `sim:${file}` }).catch((error: unknown) => {
        served = undefined;
        throw error;
      });
      return (await served).endpoints;
    },
    async close() {
      // A fleet's thousands of ended hosts keep nothing here.
      validated.delete(file);
      downHosts.delete(file);
      if (served) await (await served.catch(() => null))?.close();
      served = undefined;
      await winrm?.close();
    },
  };
}
