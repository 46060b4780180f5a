/**
 * Every resume path of a fleet's host runs, for the CLI tests of both stores: a fleet whose hosts wait
 * for a restart window; one host resumed by its run id, the others by \`resume --all\`; the fleet then
 * reads every host as ended. Each host restarted exactly once.
 */
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readHost } from '../../src/index.js';
import { cli } from './run-cli.js';

export async function fleetHostResumes(fleetDir: string, on: string[]): Promise<void> {
  // One wave, so that every host's run waits for its window: a canary that waits holds the next wave
  // back (docs/fleets.md, "Waves, concurrency and the failure budget").
  const inventory = join(fleetDir, 'inventory.yaml');
  await writeFile(inventory, (await readFile(inventory, 'utf8')).replace(/\nwaves:\n[\s\S]*$/, '\n'));
  const ran = await cli(['run', 'orchestrator-tls12', '--inventory', inventory, '--json', ...on, '--param', 'pollIntervalMs=10', '--param', 'allowRestart=false']);
  assert.is(ran.code, 75, ran.stderr + ran.stdout);
  const summary = JSON.parse(ran.stdout.trim().split('\n').pop()!) as { fleetId: string; waves: { hosts: { host: string; runId: string; status: string }[] }[] };
  const hosts = summary.waves.flatMap((w) => w.hosts);
  assert.ok(hosts.every((h) => h.status === 'awaiting-resume'), JSON.stringify(hosts.map((h) => h.status)));
  const one = await cli(['resume', hosts[0].runId, '--allow-restart', ...on]);
  assert.is(one.code, 0, `resume <host run id>: ${one.stderr}${one.stdout}`);
  const all = await cli(['resume', '--all', '--allow-restart', ...on]);
  assert.is(all.code, 0, `resume --all: ${all.stderr}${all.stdout}`);
  const fleet = await cli(['resume', summary.fleetId, ...on]);
  assert.is(fleet.code, 0, `resume <fleet-id>: ${fleet.stderr}${fleet.stdout}`);
  assert.match(fleet.stdout, new RegExp(`Fleet: done — ${hosts.length} changed`));
  for (const h of hosts) assert.is((await readHost(join(fleetDir, `${h.host}.json`))).restarts, 1, `${h.host} restarted once`);
}
