/**
 * The console over the PostgreSQL store: runs listed and shown from the database, and live updates
 * found by polling (the store sends no notification), pushed as server-sent events.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSimulatedExecutor, validateRunbook, type RunbookDefinition } from '../../src/index.js';
import { postgresStore, type PostgresStore } from '../../src/store/postgres.js';
import { startConsole, type Console } from '../../src/console/server.js';
import { startPostgres, type TestPostgres } from '../postgres.js';
import { kinds, makeHost, newRunner, tempDir } from '../helpers.js';

let server: TestPostgres;
let store: PostgresStore;
let c: Console;
let stateDir: string;

const preflight: RunbookDefinition = { name: 'just-preflight', steps: [{ id: 'preflight', uses: 'orchestrator/preflight' }] };

async function runOne(): Promise<string> {
  const executor = await createSimulatedExecutor(await makeHost('server-2016'));
  try {
    return (await newRunner(stateDir, undefined, store).start(validateRunbook(preflight, kinds, 'inline'), { executor }).result).runId;
  } finally {
    await executor.close();
  }
}

test.before(async () => {
  server = await startPostgres();
  Object.assign(process.env, server.env);
  stateDir = await tempDir();
  store = await postgresStore(await server.freshDatabase(), { stateDir });
});

test.after(async () => {
  await c?.close();
  await store?.close();
  await server?.stop();
});

test('runs in PostgreSQL are listed and shown; a new run reaches the page as a server-sent update found by the poll', async () => {
  const first = await runOne();
  c = await startConsole({ store, stateDir, port: 0, intervalMs: 100 });
  assert.is(c.liveMode, 'poll');
  const base = c.url.slice(0, c.url.indexOf('/?'));
  const auth = { authorization: `Bearer ${c.token}` };
  const list = (await (await fetch(`${base}/api/list`, { headers: auth })).json()) as { items: { runId: string; outcome: string }[]; store: string };
  assert.equal(list.items.map((i) => [i.runId, i.outcome]), [[first, 'already compliant']]);
  assert.not.match(list.store, /:[^:@/]+@/, 'no password in the store shown');
  const run = (await (await fetch(`${base}/api/runs/${first}`, { headers: auth })).json()) as { steps: { id: string }[] };
  assert.equal(run.steps.map((s) => s.id), ['preflight']);

  const events = await fetch(`${base}/api/events`, { headers: auth });
  const reader = events.body!.getReader();
  const second = runOne();
  let text = '';
  const id = await second;
  while (!text.includes(`"runId":"${id}"`)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  await reader.cancel();
  assert.match(text, /event: update/);
  assert.ok(text.includes(`"runId":"${id}"`), 'the new run was pushed');
});

test.run();
