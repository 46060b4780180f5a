/**
 * Whether a resume or a rollback drives the machine its run was made on. `--target` reaches a run's
 * target another way (another transport, user or port; credentials are never recorded) — never another
 * machine: a rollback that read another host would say "nothing to undo" and leave the run's changes
 * where they are, and a resume would change a host whose baseline the journal does not hold.
 *
 * The journal holds no machine identity that one host alone has (no operation reads a computer name or
 * a machine GUID), so two things are checked, before anything on the target changes:
 * - the address: the same simulated host file, or the same host name (any case) — whatever the
 *   transport and the user; on the same transport, the same port. Another address is refused unless
 *   the operator says it is the same machine (`force`: a DNS alias, an IP address).
 * - the Windows the run recorded (the preflight's `os.info`, journaled with its output) against the one
 *   the target reports now, read once: another version, build, architecture or product type is another
 *   machine, refused even with `force`.
 */
import { resolve } from 'node:path';
import { RunStateError } from '../errors.js';
import { defaultPortOf } from '../windows/default-ports.js';
import { hostNameKey } from '../windows/host-names.js';
import type { Executor, OsInfo } from '../executors/types.js';
import type { RunStartedRecord } from './records.js';
import { replay } from './replay.js';
import type { JournalRecord } from './run-store.js';

type Address = { host: string; protocol?: string; port?: string };

/**
 * What names the machine in a target's text: a simulated host's file (relative to `folder`), or a host
 * name as `hostNameKey` compares it — any case, one trailing dot dropped (the facts
 * `names.host-name-case-insensitive`, `names.fqdn-trailing-dot`) — and its transport's port, its
 * default when none is written (WinRM's from `winrm.default-ports`), so that a port written out and one
 * left to its default are one address.
 */
function addressOf(target: string, folder?: string): Address {
  if (target.startsWith('sim:')) return { host: `sim:${folder === undefined ? resolve(target.slice(4)) : resolve(folder, target.slice(4))}` };
  try {
    const url = new URL(target);
    if (url.hostname) return { host: hostNameKey(url.hostname.replace(/^\[|\]$/g, '')), protocol: url.protocol, port: url.port || String(defaultPortOf(url.protocol) ?? '') };
  } catch {
    // not a URL: `local`
  }
  return { host: target.trim().toLowerCase() };
}

/**
 * The key of the machine a target's text names — the one key of the machine lease and of an
 * inventory's duplicate check: a simulated host's file (made absolute, against `folder` when given:
 * an inventory's), else the host name in any case and without one trailing dot (the facts
 * `names.host-name-case-insensitive` and `names.fqdn-trailing-dot`, by `hostNameKey`) — whatever the
 * transport, user and port (two listeners of one host are one machine), else the text itself (`local`).
 *
 * @example
 * ```ts
 * machineKeyOf('winrm://admin@ORCH01:5986'); // 'orch01'
 * machineKeyOf('ssh://orch01'); // 'orch01'
 * machineKeyOf('winrm+https://web01.example.com.'); // 'web01.example.com'
 * machineKeyOf('sim:h.json'); // 'sim:/current/dir/h.json'
 * machineKeyOf('sim:h.json', '/fleet'); // 'sim:/fleet/h.json'
 * ```
 */
export function machineKeyOf(target: string, folder?: string): string {
  return addressOf(target, folder).host;
}

/**
 * Whether two targets' texts name one machine: the same simulated host file, or the same host name —
 * whatever the transport and user, and on one transport the same port.
 *
 * @example
 * ```ts
 * sameAddress('winrm://orch01', 'ssh://admin@ORCH01'); // true
 * sameAddress('winrm://orch01', 'winrm://admin@orch01:5985'); // true: WinRM's default port over HTTP
 * sameAddress('winrm://orch01:5986', 'winrm://orch01'); // false: another listener of it
 * sameAddress('sim:/x/a.json', 'sim:/x/b.json'); // false
 * ```
 */
export function sameAddress(a: string, b: string): boolean {
  const x = addressOf(a);
  const y = addressOf(b);
  if (x.host !== y.host) return false;
  return x.protocol === undefined || x.protocol !== y.protocol || x.port === y.port;
}

/** The Windows a run recorded of its target: the `os` a settled step published (the preflight's). */
export function recordedOs(records: readonly JournalRecord[]): OsInfo | null {
  let state;
  try {
    state = replay(records);
  } catch {
    return null;
  }
  for (const step of state.steps) {
    const os = (step.output as { os?: Partial<OsInfo> } | null)?.os;
    if (os && typeof os === 'object' && typeof os.build === 'number' && typeof os.version === 'string') return os as OsInfo;
  }
  return null;
}

const describe = (os: Pick<OsInfo, 'caption' | 'version' | 'architecture'>) => `${os.caption} ${os.version} (${os.architecture})`;

/**
 * Refuses (`TARGET_MISMATCH`) to drive `executor` for the run `started` recorded when it reaches
 * another machine; see the module's comment. Nothing is read when the executor's target is the one the
 * run recorded; otherwise `os.info` is read once (read-only) when the journal holds the run's Windows.
 */
export async function checkSameMachine(executor: Executor, started: RunStartedRecord, records: readonly JournalRecord[], options: { force: boolean; handed: boolean }): Promise<void> {
  const recorded = started.target;
  const driven = executor.target;
  if (driven === recorded) return;
  const then = `run ${started.runId} was made on ${recorded}`;
  const redo = `nothing was changed; resume (or roll back) without --target to reach ${recorded}, or give an address of that machine`;
  // An executor handed to the API is its caller's: its address is not compared (a simulated host's file
  // may have been copied elsewhere), only its Windows.
  const sameSpot = options.handed || sameAddress(driven, recorded);
  if (!sameSpot && !options.force) {
    throw new RunStateError('TARGET_MISMATCH', `${then}; ${driven} is another address — it may be another machine`, {
      hint: `${redo}; when ${driven} is the same machine by another name (an alias, an IP address), add --force`,
    });
  }
  const os = recordedOs(records);
  if (!os) return;
  let now;
  try {
    [now] = await executor.run([{ op: 'os.info' }]);
  } catch (error) {
    // A host that does not answer now (restarting) proves nothing: at its own address the drive waits
    // for it as it would; another address, taken on the operator's word, is not driven unproven.
    if (sameSpot) return;
    throw error;
  }
  if (now?.op !== 'os.info') return;
  const same = now.version === os.version && now.build === os.build && now.architecture === os.architecture && now.productType === os.productType;
  if (!same) {
    throw new RunStateError('TARGET_MISMATCH', `${then}, which ran ${describe(os)}; ${driven} runs ${describe(now)}: it is another machine`, { hint: redo });
  }
}
