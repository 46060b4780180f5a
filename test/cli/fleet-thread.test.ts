/**
 * The CLI spreads a fleet over worker threads (src/cli/fleet-thread.ts): the built CLI with
 * $RUNBOOK_FLEET_THREADS=2 ends every host as one thread does, some of them driven by the worker, and
 * refuses a count that is not a number before any host is contacted.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cli } from './run-cli.js';
import { sim } from './sim-in-process.js';
import { tempDir } from '../helpers.js';

test('a fleet run with RUNBOOK_FLEET_THREADS=2 ends every host, some driven by a worker thread', async () => {
  const dir = await tempDir();
  const state = join(dir, 'state');
  assert.is((await sim(['fleet', '--preset', 'server-2016', '--count', '4', '--out', join(dir, 'fleet'), '--downtime-ms', '40'])).code, 0);
  const r = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', state, '--param', 'pollIntervalMs=10', '--yes'], { RUNBOOK_FLEET_THREADS: '2' });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /4 changed/);
  const threads: number[] = [];
  for (const run of await readdir(join(state, 'runs'))) {
    const lease = (await readdir(join(state, 'runs', run))).find((n) => /^lease\.\d+\.json$/.test(n)) as string;
    threads.push((JSON.parse(await readFile(join(state, 'runs', run, lease), 'utf8')) as { thread?: number }).thread ?? 0);
  }
  assert.is(threads.length, 4);
  assert.ok(threads.includes(0) && threads.some((t) => t !== 0), `hosts in the main thread and in a worker (${threads.join(' ')})`);
});

test('RUNBOOK_FLEET_THREADS that is not a whole number is a usage error, and no host is contacted', async () => {
  const dir = await tempDir();
  assert.is((await sim(['fleet', '--preset', 'server-2016', '--count', '2', '--out', join(dir, 'fleet'), '--downtime-ms', '40'])).code, 0);
  const r = await cli(['run', 'orchestrator-tls12', '--inventory', join(dir, 'fleet', 'inventory.yaml'), '--state-dir', join(dir, 'state'), '--yes'], { RUNBOOK_FLEET_THREADS: 'two' });
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /RUNBOOK_FLEET_THREADS is a whole number of at least 1 \(e\.g\. 2\), got "two"/);
});

test.run();
