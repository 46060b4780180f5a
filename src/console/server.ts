/**
 * The run console's HTTP server (node:http, or node:https with a certificate): one page, its two
 * assets, a JSON API under `/api/` and a stream of server-sent events, all behind the token (see
 * `auth.ts`). Safe by construction: a strict Content-Security-Policy (scripts and styles from this
 * server only, no inline script, no eval, nothing from the network), a Host check (no DNS rebinding),
 * view models that never carry a secret parameter, and a page that builds its DOM with `textContent`.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { RunFiles, Store } from '../store/types.js';
import type { SessionInfo, UpdateEvent } from './api-types.js';
import { ActionRefused, ConsoleActions, type ActionEntry, type ActionName } from './actions.js';
import { loadAssets } from './assets.js';
import { ConsoleAuth, type Session } from './auth.js';
import { watchStore, type Changes, type Live, type LiveMode } from './live.js';
import { ConsoleReader } from './reader.js';
import { MAX_ID_LENGTH, isId } from '../util/id.js';

export interface ConsoleOptions {
  store: Store;
  stateDir: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0: any free port. @default 8740 */
  port?: number;
  /** PEM certificate and key: HTTPS. */
  tls?: { cert: string; key: string };
  /** Resume, rollback and relaunch from the page. @default false */
  allowActions?: boolean;
  /** The token (default: a new random one). */
  token?: string;
  /** `--store` as given, for the actions' command lines. */
  storeUrl?: string;
  /** The CLI the actions run (node arguments). @default this process's */
  cli?: string[];
  /**
   * Told of each action's journal entry once written: `started`, `refused`, and `ended` when its
   * process closed (a caller awaits an action's end with it, never by polling).
   */
  onAction?: (entry: ActionEntry) => void;
  /** The batching interval of live updates. @default 250 */
  intervalMs?: number;
  /** The poll of live updates where a store cannot be listened to. @default 1000 */
  pollMs?: number;
}

export interface Console {
  /** The address to open, with the token: `http://127.0.0.1:8740/?token=…`. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** How live updates are found: `watch` (file store), `listen` (PostgreSQL LISTEN/NOTIFY), `poll`. */
  readonly liveMode: LiveMode;
  readonly server: Server;
  close(): Promise<void>;
}

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function secure(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store');
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, ...headers });
  res.end(body);
}
const json = (res: ServerResponse, status: number, body: unknown) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
const refuse = (res: ServerResponse, status: number, message: string) => json(res, status, { error: message });

/** The most a POST body may hold, in bytes (an action is some 60). */
const BODY_LIMIT = 65_536;

/** An id as a message repeats it: a long one cut (it is the address's, up to any length). */
const idShown = (id: string) => (id.length > 80 ? `${id.slice(0, 80)}… (${id.length} characters)` : id);

const REFUSED_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>runbook console: token needed</title></head><body><h1>Token needed</h1><p>Open the address that <code>runbook serve</code> printed, with its <code>?token=…</code>.</p></body></html>`;

/**
 * Starts the console.
 *
 * @example
 * ```ts
 * const c = await startConsole({ store: fileStore('.runbook'), stateDir: '.runbook', port: 0 });
 * console.log(c.url); // http://127.0.0.1:41234/?token=…
 * await c.close();
 * ```
 */
export async function startConsole(o: ConsoleOptions): Promise<Console> {
  const host = o.host ?? '127.0.0.1';
  const auth = new ConsoleAuth(o.token);
  const reader = new ConsoleReader(o.store, o.stateDir);
  const actions = new ConsoleActions({ reader, stateDir: o.stateDir, storeUrl: o.storeUrl, cli: o.cli, onEntry: o.onAction });
  const scheme = o.tls ? 'https' : 'http';
  const clients = new Set<ServerResponse>();
  let port = 0;
  // Any address (0.0.0.0, ::): the machine's names are not known here, so any Host is answered — the
  // token still guards everything, and the cookie is only ever sent to the name it was set for.
  const wildcard = host === '0.0.0.0' || host === '::';
  const hostsAllowed = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${host.includes(':') ? `[${host}]` : host}:${port}`]);
  const hostOk = (h: string) => wildcard || hostsAllowed().has(h);

  const fleetSteps = new Map<string, string[]>();
  const stepsOf = async (fleetId: string) => {
    if (!fleetSteps.has(fleetId)) fleetSteps.set(fleetId, (await reader.fleetRecord(fleetId)).runbook.steps.map((s) => s.id));
    return fleetSteps.get(fleetId)!;
  };

  let busy = Promise.resolve();
  const onBatch = (changes: Changes) => {
    if (clients.size === 0) return;
    // One batch at a time, in order.
    busy = busy.then(async () => {
      const fleets = await reader.fleetIds();
      const touched = new Set(changes.fleets);
      const rows: UpdateEvent['rows'] = [];
      for (const runId of changes.runs) {
        const fleet = reader.fleetOf(runId, fleets);
        if (fleet) touched.add(fleet.fleetId);
        try {
          rows.push(await reader.row(runId, fleet ? await stepsOf(fleet.fleetId) : undefined, fleet));
        } catch {
          // a run that vanished meanwhile
        }
      }
      const event: UpdateEvent = { rows, fleets: [...touched] };
      const frame = `event: update\ndata: ${JSON.stringify(event)}\n\n`;
      for (const c of clients) c.write(frame);
    }).catch(() => undefined);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    secure(res);
    if (!hostOk(String(req.headers.host ?? ''))) return refuse(res, 421, `this console answers to ${[...hostsAllowed()][0]}, not to Host ${String(req.headers.host ?? '(none)')}`);
    const url = new URL(req.url ?? '/', `${scheme}://${req.headers.host}`);
    const path = url.pathname;
    if (req.method === 'GET' && path === '/assets/app.js') return send(res, 200, 'text/javascript; charset=utf-8', (await loadAssets()).js);
    if (req.method === 'GET' && path === '/assets/app.css') return send(res, 200, 'text/css; charset=utf-8', (await loadAssets()).css);
    if (req.method === 'GET' && path === '/favicon.ico') return send(res, 204, 'text/plain', '');
    const token = url.searchParams.get('token');
    if (req.method === 'GET' && path === '/' && token !== null) {
      if (!auth.isToken(token)) return send(res, 401, 'text/html; charset=utf-8', REFUSED_PAGE);
      const { cookie } = auth.open(req, Boolean(o.tls));
      return send(res, 303, 'text/plain', 'signed in', { 'Set-Cookie': cookie, Location: '/' });
    }
    const session = auth.sessionOf(req);
    if (!session) return path.startsWith('/api/') ? refuse(res, 401, 'no session: open the address runbook serve printed, with its token') : send(res, 401, 'text/html; charset=utf-8', REFUSED_PAGE);
    if (req.method === 'GET' && path === '/') return send(res, 200, 'text/html; charset=utf-8', (await loadAssets()).html);
    if (req.method === 'POST') return post(req, res, path, session);
    if (req.method !== 'GET') return refuse(res, 405, 'method not allowed');
    return get(req, res, path);
  };

  const get = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    let m: RegExpExecArray | null;
    if (path === '/api/session') {
      const session = auth.sessionOf(req)!;
      const info: SessionInfo = { csrf: session.csrf, allowActions: Boolean(o.allowActions), store: o.store.location };
      return json(res, 200, info);
    }
    if (path === '/api/list') return json(res, 200, await reader.list());
    if (path === '/api/actions') return json(res, 200, (await actions.entries()).slice(-50).reverse());
    if (path === '/api/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
      res.write(`event: hello\ndata: ${JSON.stringify({ mode: live.mode })}\n\n`);
      clients.add(res);
      const beat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      req.on('close', () => {
        clearInterval(beat);
        clients.delete(res);
      });
      return;
    }
    if ((m = /^\/api\/fleets\/([A-Za-z0-9._-]+)$/.exec(path))) {
      if (!isId(m[1]) || !(await o.store.isFleet(m[1]))) return refuse(res, 404, `no fleet ${idShown(m[1])}`);
      return json(res, 200, await reader.fleet(m[1]));
    }
    if ((m = /^\/api\/fleets\/([A-Za-z0-9._-]+)\/reports\/([a-z.]+)$/.exec(path))) {
      const body = isId(m[1]) ? await reader.fleetReport(m[1], m[2]) : null;
      if (body === null) return refuse(res, 404, `no report ${m[2]}`);
      return download(res, m[2], body);
    }
    if ((m = /^\/api\/runs\/([A-Za-z0-9._-]+)$/.exec(path))) {
      // No journal and no folder is no run (404, as a fleet); a journal that cannot be read is a damaged run.
      const view = isId(m[1]) ? await reader.run(m[1]) : null;
      return view ? json(res, 200, view) : refuse(res, 404, `no run ${idShown(m[1])}`);
    }
    if ((m = /^\/api\/runs\/([A-Za-z0-9._-]+)\/files\/(.+)$/.exec(path))) {
      let name: string;
      try {
        name = decodeURIComponent(m[2]);
      } catch {
        return refuse(res, 400, 'the file name in the address is not valid percent-encoded UTF-8');
      }
      const files = isId(m[1]) ? await o.store.runFiles(m[1]).catch((): RunFiles => ({})) : {};
      if (!Object.hasOwn(files, name)) return refuse(res, 404, `no file ${name}`);
      return download(res, name, files[name]);
    }
    return refuse(res, 404, 'not found');
  };

  const post = async (req: IncomingMessage, res: ServerResponse, path: string, session: Session) => {
    // The Host was checked: this console's own origin is the one the request names.
    const why = auth.refuseWrite(req, session, `${scheme}://${String(req.headers.host)}`);
    if (why) return refuse(res, 403, why);
    if (path !== '/api/actions') return refuse(res, 404, 'not found');
    if (!o.allowActions) return refuse(res, 403, 'actions are off: start the console with --allow-actions to resume, roll back or relaunch from the page');
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return refuse(res, 415, 'send JSON');
    // Over the limit: refused as it is announced, or as soon as the count passes it (a chunked body).
    if (Number(req.headers['content-length']) > BODY_LIMIT) return tooLarge(res);
    const text = await readBody(req);
    if (text === null) return tooLarge(res);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return refuse(res, 400, 'the body is not JSON');
    }
    const { action, id, allowRestart } = (typeof body === 'object' && body !== null ? body : {}) as { action?: unknown; id?: unknown; allowRestart?: unknown };
    if (!['resume', 'rollback', 'relaunch'].includes(action as string) || typeof id !== 'string' || !/^[A-Za-z0-9._-]+$/.test(id) || (allowRestart !== undefined && typeof allowRestart !== 'boolean')) {
      return refuse(res, 400, 'send {"action": "resume" | "rollback" | "relaunch", "id": <run or fleet id>} (a resume may add "allowRestart": true)');
    }
    // The id becomes an operand of the child's command line: one that reads as an option (--all,
    // --help, -rf) is refused here, and the child gets it after `--` anyway (actions.ts).
    if (id.startsWith('-')) return refuse(res, 400, `"${idShown(id)}" is not a run or fleet id: an id never starts with "-"; nothing was started`);
    // `.`, `..` (the runs' folder, the state directory) and the like hold no letter or digit: no run or
    // fleet can have such an id, and the child would be given a folder that is none.
    const noRun = `no run or fleet ${idShown(id)} in ${o.store.kind === 'file' ? 'this state directory' : 'this store'}: nothing was started`;
    if (!isId(id)) return refuse(res, 404, `${noRun} (${id.length > MAX_ID_LENGTH ? `an id holds at most ${MAX_ID_LENGTH} characters` : 'an id holds a letter or a digit'})`);
    const isFleet = await o.store.isFleet(id);
    if (!isFleet && !(await reader.hasRun(id))) return refuse(res, 404, noRun);
    if (action === 'relaunch' && !isFleet) return refuse(res, 400, `${id} is not a fleet: relaunch takes a fleet's failed hosts`);
    // `runbook resume --allow-restart` is a run's: a fleet's resume takes no such option.
    if (allowRestart === true && (action !== 'resume' || isFleet)) return refuse(res, 400, `"allowRestart" goes with the resume of a run (runbook resume <run-id> --allow-restart), not with ${action === 'resume' ? 'a fleet' : `a ${action}`}: nothing was started`);
    try {
      return json(res, 202, await actions.start(action as ActionName, id, isFleet ? 'fleet' : 'run', session, { allowRestart: allowRestart === true }));
    } catch (error) {
      if (error instanceof ActionRefused) return refuse(res, 409, error.message);
      throw error;
    }
  };

  // A change of mode (PostgreSQL refused LISTEN) is told to the open pages as a new hello.
  const onMode = (mode: LiveMode) => {
    for (const c of clients) c.write(`event: hello\ndata: ${JSON.stringify({ mode })}\n\n`);
  };
  const live: Live = watchStore({ store: o.store, stateDir: o.stateDir, onBatch, intervalMs: o.intervalMs, pollMs: o.pollMs, onMode });
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) refuse(res, 500, (error as Error).message.split('\n')[0]);
      else res.end();
    });
  };
  const server: Server = o.tls ? (createHttpsServer({ cert: o.tls.cert, key: o.tls.key }, listener) as unknown as Server) : createHttpServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => {
      live.close();
      reject(error);
    });
    server.listen(o.port ?? 8740, host, () => resolve());
  });
  // Live from the first page: watches set, or LISTEN in place (a first attempt; retried in the background).
  await live.ready;
  port = (server.address() as AddressInfo).port;
  auth.setPort(port);
  // Every run read once, in the background: the first page a person opens finds the replays cached.
  void reader.list().catch(() => undefined);
  const shown = wildcard ? hostname() : host.includes(':') ? `[${host}]` : host;
  return {
    url: `${scheme}://${shown}:${port}/?token=${auth.token}`,
    port,
    token: auth.token,
    get liveMode() {
      return live.mode;
    },
    server,
    async close() {
      live.close();
      for (const c of clients) c.end();
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function download(res: ServerResponse, name: string, body: string | Buffer): void {
  const base = name.split('/').pop() ?? 'file';
  send(res, 200, 'application/octet-stream', body, { 'Content-Disposition': `attachment; filename="${base.replace(/[^A-Za-z0-9._-]/g, '_')}"` });
}

/** 413, and the connection closed once it is sent: the rest of the body is not waited for. */
function tooLarge(res: ServerResponse): void {
  res.setHeader('Connection', 'close');
  refuse(res, 413, `the request body is over ${BODY_LIMIT} bytes, the most this console reads: an action is {"action": …, "id": …}`);
}

/**
 * A request's body as text, or null as soon as it passes {@link BODY_LIMIT} bytes: what comes after
 * is read and dropped, never kept.
 */
function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      if (size > BODY_LIMIT) return;
      size += d.length;
      if (size > BODY_LIMIT) {
        chunks.length = 0;
        resolve(null);
      } else chunks.push(d);
    });
    // Decoded once whole: a character split between two chunks stays one character.
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
