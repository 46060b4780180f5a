/**
 * The console's server, in process, over a state directory of real runs: the token and its cookie,
 * the Content-Security-Policy, the Host check, CSRF and Origin checks on actions, actions off without
 * --allow-actions, no secret parameter sent, a damaged journal said so while the rest works, a run
 * that does not exist not found, the files a run left offered for download (nothing else), and the
 * refusals of an action's id (one that is no run or fleet, one that reads as an option) and body.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSimulatedExecutor, fileStore, validateRunbook, type RunbookDefinition } from '../../src/index.js';
import { startConsole, type Console } from '../../src/console/server.js';
import type { ActionEntry } from '../../src/console/actions.js';
import { hostOf, kinds, makeHost, newRunner, runToEnd, tempDir } from '../helpers.js';
import { CLI } from '../cli/run-cli.js';

const SECRET = 'console-Secr3t-value';

async function stateWithRuns(): Promise<{ state: string; ok: string; damaged: string; secret: string; undo: string }> {
  const state = await tempDir();
  const runner = newRunner(state);
  const run = async (runbook: RunbookDefinition, params: Record<string, unknown> = {}) => {
    const executor = await createSimulatedExecutor(await makeHost('server-2016'));
    try {
      const r = runner.start(validateRunbook(runbook, kinds, 'inline'), { executor, params });
      return (await r.result).runId;
    } finally {
      await executor.close();
    }
  };
  const preflight: RunbookDefinition = { name: 'just-preflight', steps: [{ id: 'preflight', uses: 'orchestrator/preflight' }] };
  const ok = await run(preflight);
  const damaged = await run(preflight);
  const undo = await run(preflight);
  process.env.RBE_CONSOLE_SECRET = SECRET;
  const secret = await run({ name: 'secretive', parameters: { token: { type: 'string', secret: true, env: 'RBE_CONSOLE_SECRET' } }, steps: [{ id: 'preflight', uses: 'orchestrator/preflight' }] });
  delete process.env.RBE_CONSOLE_SECRET;
  // A record in the middle of the journal altered after it was written: its checksum no longer matches.
  const file = join(state, 'runs', damaged, 'journal.jsonl');
  const lines = (await readFile(file, 'utf8')).split('\n');
  lines[2] = lines[2].replace('"seq":3', '"seq":3,"x":1');
  await writeFile(file, lines.join('\n'));
  return { state, ok, damaged, secret, undo };
}

let fixture: Awaited<ReturnType<typeof stateWithRuns>>;
let c: Console;
let base: string;
let cookie: string;
let csrf: string;

test.before(async () => {
  fixture = await stateWithRuns();
  c = await startConsole({ store: fileStore(fixture.state), stateDir: fixture.state, port: 0 });
  base = c.url.slice(0, c.url.indexOf('/?'));
});
test.after(async () => {
  await c.close();
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers, redirect: 'manual' });

/** Opens a session on a console: its base address, the session cookie and the CSRF token. */
async function signIn(console: Console): Promise<{ b: string; session: string; token: string }> {
  const b = console.url.slice(0, console.url.indexOf('/?'));
  const session = (await fetch(console.url, { redirect: 'manual' })).headers.get('set-cookie')!.split(';')[0];
  const token = ((await (await fetch(`${b}/api/session`, { headers: { cookie: session } })).json()) as { csrf: string }).csrf;
  return { b, session, token };
}

test('the address printed holds a token; the token is exchanged for an HttpOnly SameSite=Strict cookie and the page is sent on without it', async () => {
  assert.match(c.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
  const res = await fetch(c.url, { redirect: 'manual' });
  assert.is(res.status, 303);
  assert.is(res.headers.get('location'), '/');
  const set = res.headers.get('set-cookie') ?? '';
  assert.match(set, /HttpOnly/);
  assert.match(set, /SameSite=Strict/);
  cookie = set.split(';')[0];
  const page = await get('/', { cookie });
  assert.is(page.status, 200);
  assert.match(await page.text(), /<script src="\/assets\/app\.js" defer><\/script>/);
  csrf = ((await (await get('/api/session', { cookie })).json()) as { csrf: string }).csrf;
  assert.ok(csrf.length > 20);
});

test('without the token, or with a wrong one, nothing is served but the refusal', async () => {
  for (const path of ['/', '/?token=wrong', '/api/list', `/api/runs/${fixture.ok}`, '/api/events']) {
    const res = await get(path);
    assert.is(res.status, 401, path);
    assert.not.ok((await res.text()).includes(fixture.ok), `${path} leaked a run`);
  }
  assert.is((await get('/api/list', { cookie: `runbook_console_${c.port}=forged` })).status, 401);
  assert.is((await get('/api/list', { authorization: `Bearer ${c.token}` })).status, 200, 'a script may send the token');
});

test('every answer carries a strict Content-Security-Policy: no inline script, no eval, nothing from elsewhere', async () => {
  for (const path of ['/', '/api/list', '/assets/app.js']) {
    const csp = (await get(path, { cookie })).headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.not.match(csp, /unsafe-inline|unsafe-eval|\*/);
  }
});

test('a Host other than the console\'s own is refused (no DNS rebinding)', async () => {
  const res = await new Promise<number>((resolve) => {
    import('node:http').then(({ request }) => {
      const req = request(`${base}/api/list`, { headers: { host: 'evil.example:80', cookie } }, (r) => resolve(r.statusCode ?? 0));
      req.end();
    });
  });
  assert.is(res, 421);
});

test('actions are refused when the console was started without --allow-actions, even with the token and CSRF token', async () => {
  const res = await fetch(`${base}/api/actions`, { method: 'POST', headers: { cookie, origin: base, 'x-csrf-token': csrf, 'content-type': 'application/json' }, body: JSON.stringify({ action: 'resume', id: fixture.ok }) });
  assert.is(res.status, 403);
  assert.match(((await res.json()) as { error: string }).error, /--allow-actions/);
});

test('a cross-site POST is refused, and so is one without the session\'s CSRF token', async () => {
  const withActions = await startConsole({ store: fileStore(fixture.state), stateDir: fixture.state, port: 0, allowActions: true, token: 't'.repeat(32) });
  try {
    const b = withActions.url.slice(0, withActions.url.indexOf('/?'));
    const session = (await fetch(withActions.url, { redirect: 'manual' })).headers.get('set-cookie')!.split(';')[0];
    const token = ((await (await fetch(`${b}/api/session`, { headers: { cookie: session } })).json()) as { csrf: string }).csrf;
    const post = (headers: Record<string, string>) => fetch(`${b}/api/actions`, { method: 'POST', headers: { cookie: session, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ action: 'rollback', id: fixture.ok }) });
    const cross = await post({ origin: 'http://evil.example', 'x-csrf-token': token });
    assert.is(cross.status, 403);
    assert.match(((await cross.json()) as { error: string }).error, /cross-site/);
    assert.is((await post({ origin: b })).status, 403, 'no CSRF token');
    assert.is((await post({ origin: b, 'x-csrf-token': 'wrong' })).status, 403, 'a wrong CSRF token');
    assert.is((await post({ 'x-csrf-token': token })).status, 403, 'no Origin');
    const text = await readFile(join(fixture.state, 'console', 'actions.jsonl'), 'utf8').catch(() => '');
    assert.is(text, '', 'nothing was started or journaled');
  } finally {
    await withActions.close();
  }
});

test('a parameter marked secret is never sent to the browser, not even masked', async () => {
  const body = await (await get(`/api/runs/${fixture.secret}`, { cookie })).text();
  assert.not.ok(body.includes(SECRET));
  const view = JSON.parse(body) as { params: { name: string; value: string }[] };
  assert.equal(view.params.find((p) => p.name === 'token'), { name: 'token', value: '(secret: not shown)' });
});

test('a damaged journal: the list and the run say so with the reason; the other runs are served as ever', async () => {
  const list = (await (await get('/api/list', { cookie })).json()) as { items: { runId?: string; outcome?: string; why?: string }[] };
  const damaged = list.items.find((i) => i.runId === fixture.damaged)!;
  assert.is(damaged.outcome, 'journal damaged');
  assert.match(damaged.why!, /checksum does not match/);
  assert.is(list.items.find((i) => i.runId === fixture.ok)!.outcome, 'already compliant');
  const run = (await (await get(`/api/runs/${fixture.damaged}`, { cookie })).json()) as { damaged: string; files: string[] };
  assert.match(run.damaged, /corrupt journal record/);
  assert.ok(run.files.includes('report.md'), 'its files are still offered');
});

test('a run the store does not hold is not found (404, as a fleet), whatever the length of its id, and the answer holds no path; a run folder whose journal is gone is still a damaged run', async () => {
  for (const id of ['20990101-000000-never-run-abcdef', 'x'.repeat(5000)]) {
    const res = await get(`/api/runs/${id}`, { cookie });
    assert.is(res.status, 404, `${id.slice(0, 40)}: ${res.status}`);
    const { error } = (await res.json()) as { error: string };
    assert.match(error, /^no run (20990101-000000-never-run-abcdef|x{80}… \(5000 characters\))$/);
    assert.not.ok(error.includes(fixture.state));
  }
  assert.is((await get('/api/fleets/20990101-000000-no-fleet', { cookie })).status, 404);
  const lost = '20990101-000000-journal-lost-abcdef';
  await mkdir(join(fixture.state, 'runs', lost));
  try {
    const res = await get(`/api/runs/${lost}`, { cookie });
    assert.is(res.status, 200);
    const view = (await res.json()) as { outcome: string; damaged: string };
    assert.is(view.outcome, 'journal damaged');
    assert.match(view.damaged, /the run's folder is there but its journal is gone/);
  } finally {
    await rm(join(fixture.state, 'runs', lost), { recursive: true });
  }
});

test('a file name in the address that is not valid percent-encoding is a bad request (400), not a server error', async () => {
  const res = await get(`/api/runs/${fixture.ok}/files/%E0%A4%A`, { cookie });
  assert.is(res.status, 400);
  assert.match(((await res.json()) as { error: string }).error, /not valid percent-encoded UTF-8/);
});

test('an action whose id reads as an option (--all, --help, -rf) is refused (400), one that is no run or fleet of the store is not found (404), a body that is not an object is refused (400): nothing is started or journaled', async () => {
  const told: ActionEntry[] = [];
  const withActions = await startConsole({ store: fileStore(fixture.state), stateDir: fixture.state, port: 0, allowActions: true, cli: [CLI], onAction: (e) => told.push(e) });
  try {
    const { b, session, token } = await signIn(withActions);
    const post = (body: string) => fetch(`${b}/api/actions`, { method: 'POST', headers: { cookie: session, origin: b, 'x-csrf-token': token, 'content-type': 'application/json' }, body });
    for (const [action, id] of [['resume', '--all'], ['resume', '--help'], ['rollback', '-rf'], ['relaunch', '-x']]) {
      const res = await post(JSON.stringify({ action, id }));
      assert.is(res.status, 400, `${action} ${id}`);
      assert.match(((await res.json()) as { error: string }).error, /is not a run or fleet id: an id never starts with "-"; nothing was started/);
    }
    for (const [action, id] of [['resume', '20990101-000000-never-run-abcdef'], ['rollback', 'nope'], ['relaunch', 'no-fleet'], ['resume', 'y'.repeat(5000)]]) {
      const res = await post(JSON.stringify({ action, id }));
      assert.is(res.status, 404, `${action} ${id.slice(0, 40)}`);
      const long = id.length > 255;
      const error = ((await res.json()) as { error: string }).error;
      if (long) assert.match(error, /^no run or fleet y+… \(5000 characters\) in this state directory: nothing was started \(an id holds at most 255 characters\)$/);
      else assert.match(error, /^no run or fleet \S+ in this state directory: nothing was started$/);
    }
    for (const body of ['null', '[]', '"resume"', '{"action":"resume"}']) assert.is((await post(body)).status, 400, body);
    assert.equal(told, [], 'nothing was started');
  } finally {
    await withActions.close();
  }
});

test('an id made only of dots is no run or fleet: "." and ".." (the runs\' folder and the state directory) and "..." are not found (404) for every action and page, and nothing is started or journaled', async () => {
  const told: ActionEntry[] = [];
  const withActions = await startConsole({ store: fileStore(fixture.state), stateDir: fixture.state, port: 0, allowActions: true, cli: [CLI], onAction: (e) => told.push(e) });
  try {
    const { b, session, token } = await signIn(withActions);
    const post = (body: unknown) => fetch(`${b}/api/actions`, { method: 'POST', headers: { cookie: session, origin: b, 'x-csrf-token': token, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const id of ['.', '..', '...', '_']) {
      for (const action of ['resume', 'rollback', 'relaunch']) {
        const res = await post({ action, id });
        assert.is(res.status, 404, `${action} ${id}`);
        assert.match(((await res.json()) as { error: string }).error, /^no run or fleet \S+ in this state directory: nothing was started \(an id holds a letter or a digit\)$/);
      }
    }
    // "." and ".." never reach the server as a path's segment (the address is normalised): "..." does.
    for (const path of ['/api/runs/...', '/api/fleets/...', '/api/fleets/.../reports/report.md', '/api/runs/.../files/report.md']) {
      assert.is((await fetch(`${b}${path}`, { headers: { cookie: session } })).status, 404, path);
    }
    assert.equal(told, [], 'nothing was started');
    assert.is(await readFile(join(fixture.state, 'console', 'actions.jsonl'), 'utf8').catch(() => ''), '', 'nothing was journaled');
  } finally {
    await withActions.close();
  }
});

test('a run awaiting its restart window: "Resume and restart now" (allowRestart) runs `runbook resume --allow-restart` and the run ends changed; allowRestart with anything but a run\'s resume is refused (400)', async () => {
  const state = await tempDir();
  const host = await makeHost('server-2016');
  const { result, executor } = await runToEnd(host, { stateDir: state, params: { allowRestart: false, pollIntervalMs: 10 } });
  await executor.close();
  assert.is(result.status, 'awaiting-resume');
  let ended!: (entry: ActionEntry) => void;
  const actionEnded = new Promise<ActionEntry>((resolve) => (ended = resolve));
  const withActions = await startConsole({ store: fileStore(state), stateDir: state, port: 0, allowActions: true, cli: [CLI], onAction: (e) => e.event === 'ended' && ended(e) });
  try {
    const { b, session, token } = await signIn(withActions);
    const post = (body: unknown) => fetch(`${b}/api/actions`, { method: 'POST', headers: { cookie: session, origin: b, 'x-csrf-token': token, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const body of [{ action: 'rollback', id: result.runId, allowRestart: true }, { action: 'resume', id: result.runId, allowRestart: 'yes' }]) {
      assert.is((await post(body)).status, 400, JSON.stringify(body));
    }
    const res = await post({ action: 'resume', id: result.runId, allowRestart: true });
    assert.is(res.status, 202);
    assert.is(((await res.json()) as ActionEntry).allowRestart, true);
    const end = await actionEnded;
    assert.is(end.exitCode, 0, `${end.detail}: ${await readFile(join(state, 'console', (await readdir(join(state, 'console'))).find((f) => f.endsWith('.log'))!), 'utf8')}`);
    const run = (await (await fetch(`${b}/api/runs/${result.runId}`, { headers: { cookie: session } })).json()) as { outcome: string };
    assert.is(run.outcome, 'changed');
    assert.is((await hostOf(host)).restarts, 1, 'the host was restarted');
  } finally {
    await withActions.close();
  }
});

test('a request body over 64 KB is refused as too large (413), whether its length is announced or it comes in chunks', async () => {
  const withActions = await startConsole({ store: fileStore(fixture.state), stateDir: fixture.state, port: 0, allowActions: true, cli: [CLI] });
  try {
    const { b, session, token } = await signIn(withActions);
    const headers = { cookie: session, origin: b, 'x-csrf-token': token, 'content-type': 'application/json' };
    const big = JSON.stringify({ action: 'resume', id: fixture.ok, pad: 'p'.repeat(70_000) });
    const announced = await fetch(`${b}/api/actions`, { method: 'POST', headers, body: big });
    assert.is(announced.status, 413);
    assert.match(((await announced.json()) as { error: string }).error, /^the request body is over 65536 bytes, the most this console reads/);
    const bytes = new TextEncoder().encode(big);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.slice(i, i + 8192));
        controller.close();
      },
    });
    const streamed = await fetch(`${b}/api/actions`, { method: 'POST', headers, body: chunked, duplex: 'half' } as RequestInit);
    assert.is(streamed.status, 413);
    assert.match(((await streamed.json()) as { error: string }).error, /over 65536 bytes/);
  } finally {
    await withActions.close();
  }
});

test('a run\'s files are offered for download by name; a path out of the run folder is not', async () => {
  const res = await get(`/api/runs/${fixture.ok}/files/report.md`, { cookie });
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="report.md"/);
  assert.match(await res.text(), /just-preflight/);
  assert.is((await get(`/api/runs/${fixture.ok}/files/..%2F..%2Fconsole%2Factions.jsonl`, { cookie })).status, 404);
  assert.is((await get(`/api/runs/${fixture.ok}/files/journal.jsonl`, { cookie })).status, 404, 'the journal itself is not a download');
});

test('with --allow-actions, a rollback asked by a session runs `runbook rollback`, journaled with who and when; the run then reads "rolled back on request"', async () => {
  let ended!: (entry: ActionEntry) => void;
  const actionEnded = new Promise<ActionEntry>((resolve) => (ended = resolve));
  const withActions = await startConsole({ store: fileStore(fixture.state), stateDir: fixture.state, port: 0, allowActions: true, cli: [CLI], onAction: (e) => e.event === 'ended' && ended(e) });
  try {
    const b = withActions.url.slice(0, withActions.url.indexOf('/?'));
    const session = (await fetch(withActions.url, { redirect: 'manual', headers: { 'user-agent': 'console-test' } })).headers.get('set-cookie')!.split(';')[0];
    const token = ((await (await fetch(`${b}/api/session`, { headers: { cookie: session } })).json()) as { csrf: string }).csrf;
    const res = await fetch(`${b}/api/actions`, { method: 'POST', headers: { cookie: session, origin: b, 'x-csrf-token': token, 'content-type': 'application/json' }, body: JSON.stringify({ action: 'rollback', id: fixture.undo }) });
    assert.is(res.status, 202);
    const started = (await res.json()) as { pid: number; who: { userAgent: string; address: string; session: string }; at: string };
    assert.is(started.who.userAgent, 'console-test');
    assert.match(started.who.address, /127\.0\.0\.1/);
    assert.not.ok(session.includes(started.who.session), 'the session id itself is not journaled');
    const entries = async () => (await (await fetch(`${b}/api/actions`, { headers: { cookie: session } })).json()) as { event: string; exitCode?: number; action: string; id: string }[];
    // The console tells when the action's process closed (and its end is journaled): no polling.
    const told = await actionEnded;
    assert.is(told.pid, started.pid);
    const end = (await entries()).find((e) => e.event === 'ended')!;
    assert.equal([end.action, end.id, end.exitCode], ['rollback', fixture.undo, 0]);
    const run = (await (await fetch(`${b}/api/runs/${fixture.undo}`, { headers: { cookie: session } })).json()) as { outcome: string };
    assert.is(run.outcome, 'rolled back on request');
  } finally {
    await withActions.close();
  }
});

test.run();
