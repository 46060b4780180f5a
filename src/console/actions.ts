/**
 * The console's actions — resume, rollback, relaunch a fleet's failed hosts — each carried out by the
 * `runbook` CLI in a child process, exactly as a person would type it: the same code paths, signals,
 * leases and journals as the command line, and a console that stays a reader (it loads no engine, no
 * transport; a drive that crashes does not take the console down, and stopping the console does not
 * stop a drive). Every action is journaled in `<state-dir>/console/actions.jsonl` with who asked
 * (the console's user, the session's address and browser) and when, then how it ended.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { makeFolder } from '../util/make-folder.js';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Session } from './auth.js';
import type { ConsoleReader } from './reader.js';
import { RELAUNCHED } from './outcome.js';
import { createMasker, type Masker } from '../engine/secrets.js';
import type { RunStartedRecord } from '../engine/records.js';
import type { RunbookDefinition } from '../engine/runbook.js';

export type ActionName = 'resume' | 'rollback' | 'relaunch';

export type ActionEntry = {
  seq: number;
  at: string;
  action: ActionName;
  id: string;
  /** Whether `id` names a run or a fleet. */
  of: 'run' | 'fleet';
  who: { user: string; address: string; userAgent: string; session: string };
  event: 'started' | 'ended' | 'refused';
  pid?: number;
  exitCode?: number | null;
  /** The fleet a relaunch started. */
  fleetId?: string;
  hosts?: string[];
  /**
   * Why: of a `refused` entry, the refusal; of an `ended` one with an exit code other than 0, why the
   * CLI failed (its `error:` line and hint, or what its exit code means; masked) and the log's place;
   * of a relaunch that ended well, the fleet it started.
   */
  detail?: string;
  /** A resume that may restart the run's host now (`runbook resume --allow-restart`). */
  allowRestart?: boolean;
  /** A relaunch: true when it plans the failed hosts of a plan (`runbook plan`, nothing changed), false when it runs them. */
  checkMode?: boolean;
  log?: string;
};

export { RELAUNCHED } from './outcome.js';

export interface ActionsOptions {
  reader: ConsoleReader;
  stateDir: string;
  /** `--store` as given (never with a password: the CLI refuses one). */
  storeUrl?: string;
  /** The CLI to run: node and its arguments. @default this process's own CLI */
  cli?: string[];
  /** Told of each entry once it is journaled (an action started, ended or refused). */
  onEntry?: (entry: ActionEntry) => void;
}

export class ConsoleActions {
  private seq = 0;
  private readonly dir: string;
  readonly children = new Set<number>();

  constructor(private readonly o: ActionsOptions) {
    this.dir = join(o.stateDir, 'console');
  }

  /** The journal of actions, oldest first. */
  async entries(): Promise<ActionEntry[]> {
    const text = await readFile(join(this.dir, 'actions.jsonl'), 'utf8').catch(() => '');
    return text.split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as ActionEntry];
      } catch {
        return [];
      }
    });
  }

  private async journal(entry: Omit<ActionEntry, 'seq' | 'at'>): Promise<ActionEntry> {
    await makeFolder(this.dir);
    if (this.seq === 0) this.seq = (await this.entries()).reduce((n, e) => Math.max(n, e.seq), 0);
    const full = { seq: ++this.seq, at: new Date().toISOString(), ...entry };
    await appendFile(join(this.dir, 'actions.jsonl'), `${JSON.stringify(full)}\n`);
    this.o.onEntry?.(full);
    return full;
  }

  private who(session: Session): ActionEntry['who'] {
    let user = '?';
    try {
      user = userInfo().username;
    } catch {
      // no user name on this system
    }
    // The session id is a credential: only a digest of it is journaled.
    return { user, address: session.address, userAgent: session.userAgent, session: createHash('sha256').update(session.id).digest('hex').slice(0, 12) };
  }

  /**
   * Starts an action; resolves once its process started (and is journaled). `allowRestart`: a run's
   * resume that may restart its host now (`runbook resume --allow-restart`: its restart window is open).
   */
  async start(action: ActionName, id: string, of: 'run' | 'fleet', session: Session, options: { allowRestart?: boolean } = {}): Promise<ActionEntry> {
    const who = this.who(session);
    // Options first, then `--`, then the operands: an operand is never read as an option, whatever it
    // holds (an id "--all" would have resumed every run; the server refuses it before this too).
    let args: string[];
    let operands: string[];
    let hosts: string[] | undefined;
    let checkMode: boolean | undefined;
    if (action === 'relaunch') {
      const made = await this.relaunchInventory(id);
      if ('refused' in made) {
        await this.journal({ action, id, of, who, event: 'refused', detail: made.refused });
        throw new ActionRefused(made.refused);
      }
      hosts = made.hosts;
      checkMode = made.checkMode;
      // A plan's failed hosts are planned again, never run: a relaunch changes no more than the fleet did.
      args = [made.checkMode ? 'plan' : 'run', '--inventory', made.file, '--max-failures', String(made.maxFailures), '--concurrency', String(made.concurrency), '--json'];
      operands = [made.source];
    } else {
      args = [action, ...(action === 'resume' && options.allowRestart ? ['--allow-restart'] : [])];
      operands = [id];
    }
    args.push('--state-dir', this.o.stateDir, ...(this.o.storeUrl ? ['--store', this.o.storeUrl] : []), '--', ...operands);
    await makeFolder(this.dir);
    const log = join(this.dir, `action-${Date.now()}-${action}.log`);
    const cli = this.o.cli ?? [...process.execArgv, resolve(process.argv[1] ?? 'runbook')];
    // The drive writes straight into its log and runs in a process group of its own: stopping the
    // console (Ctrl-C reaches its whole group) neither signals it nor breaks a pipe it writes to.
    const fd = openSync(log, 'a', 0o600);
    let child;
    try {
      child = spawn(process.execPath, [...cli, ...args], { stdio: ['ignore', fd, fd], detached: true, env: { ...process.env, NO_COLOR: '1' } });
    } finally {
      closeSync(fd);
    }
    const pid = child.pid ?? -1;
    this.children.add(pid);
    const allowRestart = action === 'resume' && options.allowRestart === true;
    const started = await this.journal({ action, id, of, who, event: 'started', pid, ...(allowRestart ? { allowRestart } : {}), ...(hosts ? { hosts } : {}), ...(checkMode !== undefined ? { checkMode } : {}), log: log.slice(this.o.stateDir.length + 1) });
    child.on('close', (code, signal) => {
      this.children.delete(pid);
      void (async () => {
        const text = await readFile(log, 'utf8').catch(() => '');
        // A relaunch's first JSON event names the fleet it started.
        const fleetId = action === 'relaunch' ? /"fleetId":"([A-Za-z0-9._-]+)"/.exec(text)?.[1] : undefined;
        // Why it failed, as the CLI said it: its output holds no secret, and is masked again all the same.
        const failed = code === 0 ? undefined : (await this.maskerFor(id, of)).text(failureOf(text, code, signal, log.slice(this.o.stateDir.length + 1)));
        const detail = failed ?? (fleetId ? `relaunched as fleet ${fleetId}` : undefined);
        await this.journal({ action, id, of, who, event: 'ended', pid, ...(allowRestart ? { allowRestart } : {}), exitCode: code, ...(fleetId ? { fleetId } : {}), ...(detail ? { detail } : {}) });
      })();
    });
    child.unref();
    return started;
  }

  /**
   * A masker of the secret values an action's child could hold: the run's (or the fleet's runbook's)
   * secret parameters, read from this process's environment as the child read them. No secret known:
   * a masker that changes nothing.
   */
  private async maskerFor(id: string, of: 'run' | 'fleet'): Promise<Masker> {
    try {
      let parameters: RunbookDefinition['parameters'];
      let names: string[];
      if (of === 'fleet') {
        parameters = (await this.o.reader.fleetRecord(id)).runbook.parameters ?? {};
        names = Object.entries(parameters).filter(([, p]) => p.secret).map(([n]) => n);
      } else {
        const read = await this.o.reader.read(id);
        if (!read.ok) return createMasker({});
        const started = read.run.records[0] as unknown as RunStartedRecord;
        parameters = started.runbook.parameters ?? {};
        names = started.secrets ?? [];
      }
      const values = Object.fromEntries(names.flatMap((n) => {
        const env = parameters?.[n]?.env;
        const value = env ? process.env[env] : undefined;
        return value ? [[n, value]] : [];
      }));
      return createMasker(values);
    } catch {
      return createMasker({});
    }
  }

  /**
   * The inventory of a relaunch: the fleet's failed hosts only, in their waves, with the parameters the
   * fleet gave them (written into the file, never onto a command line); and whether the fleet was a plan.
   */
  private async relaunchInventory(fleetId: string): Promise<{ file: string; source: string; hosts: string[]; maxFailures: number; concurrency: number; checkMode: boolean } | { refused: string }> {
    const view = await this.o.reader.fleet(fleetId);
    if (view.status === 'running') return { refused: `fleet ${fleetId} is still running: relaunch its failed hosts once it ended` };
    const record = await this.o.reader.fleetRecord(fleetId);
    const failed = new Set(view.waves.flatMap((w) => w.hosts).filter((h) => (RELAUNCHED as readonly string[]).includes(h.outcomeId)).map((h) => h.name));
    if (failed.size === 0) return { refused: `fleet ${fleetId} has no failed host to relaunch (failed and rolled back, unreachable or cancelled)` };
    // The fleet's own definition, as its record keeps it (the hosts' runs were started from it).
    const stamp = Date.now();
    await makeFolder(this.dir);
    const source = join(this.dir, `relaunch-${fleetId}-${stamp}.runbook.json`);
    await writeFile(source, `${JSON.stringify(record.runbook, null, 2)}\n`);
    const waves = record.inventory.waves
      .map((w, i) => ({ name: w.name, group: `wave-${i + 1}`, hosts: w.hosts.filter((h) => failed.has(h.name)) }))
      .filter((w) => w.hosts.length > 0);
    const doc = {
      defaults: record.inventory.defaults,
      hosts: waves.flatMap((w) => w.hosts.map((h) => ({ name: h.name, target: h.target, groups: [w.group], params: { ...h.params, ...(record.params as Record<string, string | number | boolean>) } }))),
      waves: waves.map((w) => ({ name: w.name, groups: [w.group] })),
    };
    const file = join(this.dir, `relaunch-${fleetId}-${stamp}.inventory.yaml`);
    await writeFile(file, `# the failed hosts of fleet ${fleetId}, relaunched from the console\n${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
    return { file, source, hosts: [...failed], maxFailures: record.maxFailures, concurrency: record.concurrency, checkMode: record.checkMode };
  }
}

/** What an exit code of the CLI means, where its output says no `error:` (a run's own outcome). */
const EXIT_MEANS: Record<number, string> = {
  1: 'a step failed: the run was rolled back (or cancelled)',
  2: 'a usage or input error: nothing was changed',
  3: 'the rollback failed: an operator is needed',
  69: 'a target could not be reached: nothing was changed on it',
  75: 'interrupted, or awaiting a resume',
};

/** The most of the CLI's words an entry keeps. */
const DETAIL_LIMIT = 600;

/**
 * Why an action's process failed, from its log: the CLI's last `error:` line with the lines that
 * go with it (its issues `- …` and its hint `→ …`), on one line; else what its exit code means. The
 * log's place closes it, for all the rest.
 *
 * @example
 * ```ts
 * failureOf('error: no journal for this run (/s/runs/x/journal.jsonl)\n  → check the run id\n', 2, null, 'console/a.log');
 * // 'no journal for this run (/s/runs/x/journal.jsonl) → check the run id (console/a.log)'
 * ```
 */
export function failureOf(log: string, code: number | null, signal: NodeJS.Signals | null, logName: string): string {
  const lines = log.split('\n');
  let at = lines.length - 1;
  while (at >= 0 && !lines[at].startsWith('error: ')) at -= 1;
  let said: string;
  if (at >= 0) {
    const more = [];
    for (const l of lines.slice(at + 1)) {
      if (!/^\s+(→|-) /.test(l)) break;
      more.push(l.trim());
    }
    said = [lines[at].slice('error: '.length), ...more].join(' ');
    if (said.length > DETAIL_LIMIT) said = `${said.slice(0, DETAIL_LIMIT)}…`;
  } else if (code === null) said = `ended by ${signal ?? 'a signal'}`;
  else said = EXIT_MEANS[code] ?? `exit ${code}`;
  return `${said} (${logName})`;
}

/** An action that cannot be carried out (the page says why). */
export class ActionRefused extends Error {
  override readonly name = 'ActionRefused';
}
