/**
 * A throw-away PostgreSQL cluster for the tests: `initdb` into a temporary folder (as an unprivileged
 * user when the tests run as root: PostgreSQL refuses to run as root), a free loopback port, password
 * authentication (scram), the server started as a child process of this test and stopped by its PID.
 * The binaries come from Debian's packages (`.ci/run` installs them); without them the test fails — it
 * never skips.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './sshd.js';
import { tempDir } from './helpers.js';

/** The folder of PostgreSQL's server binaries: $RUNBOOK_PG_BIN, else the newest Debian one. */
export function pgBin(): string {
  if (process.env.RUNBOOK_PG_BIN) return process.env.RUNBOOK_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed: `apt-get install postgresql` (.ci/run does), or set RUNBOOK_PG_BIN to its bin folder');
  return join(root, versions[0], 'bin');
}

/** The uid/gid the server runs as: this user, or (as root) the `postgres` or `nobody` account. */
function serverAccount(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'));
  const row = passwd.find((r) => r[0] === 'postgres') ?? passwd.find((r) => r[0] === 'nobody');
  if (!row) throw new Error('running as root, and no postgres or nobody account to run PostgreSQL as');
  return { uid: Number(row[2]), gid: Number(row[3]) };
}

export interface TestPostgres {
  /** postgres://runbook@127.0.0.1:port/runbook — no password in it; see `env`. */
  url: string;
  /** The environment a client needs (PGPASSWORD). */
  env: Record<string, string>;
  port: number;
  pid(): number | undefined;
  start(): Promise<void>;
  /** Stops the server (fast shutdown, SIGINT to its PID) and waits for it to exit. */
  stop(): Promise<void>;
  /** A new empty database, for a test that wants its own. */
  freshDatabase(): Promise<string>;
  /** A hot standby of this server (`pg_basebackup -R`), read-only, started; its URL names `database`. */
  standby(database: string): Promise<{ url: string; stop(): Promise<void> }>;
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = pgBin();
  const dir = await tempDir('rbe-pg-');
  const data = join(dir, 'data');
  const account = serverAccount();
  const password = randomBytes(12).toString('hex');
  writeFileSync(join(dir, 'pw'), password);
  if (account) {
    chownSync(dir, account.uid, account.gid);
    chownSync(join(dir, 'pw'), account.uid, account.gid);
  }
  const as = account ? { uid: account.uid, gid: account.gid } : {};
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'runbook', '--auth=scram-sha-256', `--pwfile=${join(dir, 'pw')}`, '-E', 'UTF8', '--no-instructions'], { ...as, stdio: 'pipe', cwd: dir });
  const port = await freePort();
  let child: ChildProcess | undefined;
  let log = '';
  let exited: Promise<void> = Promise.resolve();
  const url = `postgres://runbook@127.0.0.1:${port}/postgres`;
  const env = { PGPASSWORD: password };

  async function ready(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'runbook', database: 'postgres', password });
      try {
        await client.connect();
        await client.end();
        return;
      } catch (error) {
        log += `client: ${(error as Error).message}\n`;
        await client.end().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50)); // polling a real server's start, not simulated time
      }
    }
    throw new Error(`PostgreSQL on port ${port} did not start:\n${log.slice(-2000)}`);
  }

  const server: TestPostgres = {
    url,
    env,
    port,
    pid: () => child?.pid,
    async start() {
      child = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'], { ...as, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      exited = new Promise((resolve) => child!.once('exit', () => resolve()));
      await ready();
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      child.kill('SIGINT');
      await exited;
    },
    async freshDatabase() {
      const name = `t_${randomBytes(5).toString('hex')}`;
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'runbook', database: 'postgres', password });
      await client.connect();
      await client.query(`CREATE DATABASE ${name}`);
      await client.end();
      return url.replace(/\/postgres$/, `/${name}`);
    },
    async standby(database) {
      const sdata = join(dir, `standby-${randomBytes(3).toString('hex')}`);
      execFileSync(join(bin, 'pg_basebackup'), ['-D', sdata, '-h', '127.0.0.1', '-p', String(port), '-U', 'runbook', '-R', '-X', 'stream', '-c', 'fast'], { ...as, stdio: 'pipe', cwd: dir, env: { ...process.env, PGPASSWORD: password } });
      const sport = await freePort();
      const standby = spawn(join(bin, 'postgres'), ['-D', sdata, '-p', String(sport), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'], { ...as, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      standby.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      const gone = new Promise<void>((resolve) => standby.once('exit', () => resolve()));
      process.once('exit', () => {
        if (standby.exitCode === null) standby.kill('SIGINT');
      });
      for (let i = 0; ; i++) {
        const client = new pg.Client({ host: '127.0.0.1', port: sport, user: 'runbook', database, password });
        try {
          await client.connect();
          await client.end();
          break;
        } catch (error) {
          await client.end().catch(() => undefined);
          if (i > 200) throw new Error(`the standby on port ${sport} did not start: ${(error as Error).message}\n${log.slice(-2000)}`);
          await new Promise((r) => setTimeout(r, 50)); // polling a real server's start, not simulated time
        }
      }
      return {
        url: `postgres://runbook@127.0.0.1:${sport}/${database}`,
        async stop() {
          if (standby.exitCode !== null) return;
          standby.kill('SIGINT');
          await gone;
        },
      };
    },
  };
  await server.start();
  process.once('exit', () => {
    if (child && child.exitCode === null) child.kill('SIGINT');
  });
  return server;
}

/** What a test file closes after its tests: a store, a queue. */
type Closable = { close(): Promise<unknown> };

/**
 * The PostgreSQL server of one test file, started and stopped with uvu's `before`/`after`: started
 * before the file's tests, its password put in process.env (for pg clients and the CLI's children),
 * then `before` (what the file sets up on it). After the tests: `after` (what the file started
 * besides: processes, clients), every store pushed on `stores` closed (a close that fails is not the
 * test's), and the server stopped.
 *
 * `server` stands for the started server: read it inside a test or a hook, not at the file's top.
 */
export function postgresForFile(suite: { before(fn: () => Promise<void>): void; after(fn: () => Promise<void>): void }, hooks: { before?: (server: TestPostgres) => Promise<unknown>; after?: () => Promise<unknown> } = {}): { server: TestPostgres; stores: Closable[] } {
  let started: TestPostgres | undefined;
  const it = (): TestPostgres => {
    if (!started) throw new Error('the test PostgreSQL server is not started: use it inside a test');
    return started;
  };
  const stores: Closable[] = [];
  suite.before(async () => {
    started = await startPostgres();
    Object.assign(process.env, started.env);
    await hooks.before?.(started);
  });
  suite.after(async () => {
    await hooks.after?.();
    for (const s of stores) await s.close().catch(() => undefined);
    await started?.stop();
  });
  const server: TestPostgres = {
    get url() {
      return it().url;
    },
    get env() {
      return it().env;
    },
    get port() {
      return it().port;
    },
    pid: () => it().pid(),
    start: () => it().start(),
    stop: () => it().stop(),
    freshDatabase: () => it().freshDatabase(),
    standby: (database) => it().standby(database),
  };
  return { server, stores };
}
