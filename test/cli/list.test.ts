/**
 * `runbook list`: both bundled runbooks from the build's checked copies, and with `--target` which of
 * them fits the host (read once, nothing changed).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kinds, makeHost, registryText } from '../helpers.js';
import { loadRunbook } from '../../src/index.js';
import { cli } from './run-cli.js';

const DIST = join(import.meta.dirname, '..', '..', 'dist', 'runbooks');

test('the build checks and ships both bundled runbooks, and list shows both with their parameters', async () => {
  for (const name of ['orchestrator-tls12', 'orchestrator-tls13']) assert.ok(existsSync(join(DIST, `${name}.json`)), name);
  const { code, stdout } = await cli(['list']);
  assert.is(code, 0);
  assert.match(stdout, /orchestrator-tls12 — /);
  assert.match(stdout, /orchestrator-tls13 — TLS 1\.3 and TLS 1\.2 on a System Center Orchestrator 2022\/2025 server/);
  assert.match(stdout, /--param tls12Server=<string>/);
});

test('the build\'s copy of orchestrator-tls13 carries the fingerprint its YAML has when read as any file', async () => {
  const compiled = JSON.parse(readFileSync(join(DIST, 'orchestrator-tls13.json'), 'utf8')) as { fingerprint: string };
  const asFile = await loadRunbook(join(import.meta.dirname, '..', '..', 'runbooks', 'orchestrator-tls13.yaml'), kinds);
  assert.is(compiled.fingerprint, asFile.fingerprint);
  assert.is((await loadRunbook('orchestrator-tls13', kinds)).fingerprint, asFile.fingerprint);
});

test('list --target tells which runbook fits: a Server 2019 / Orchestrator 2019 host fits only orchestrator-tls12, and is not changed', async () => {
  const file = await makeHost('server-2019');
  const before = await registryText(file);
  const { code, stdout, stderr } = await cli(['list', '--target', `sim:${file}`]);
  assert.is(code, 0, stderr);
  assert.match(stdout, /orchestrator-tls12 — [^\n]*\n\s+fits sim:/);
  assert.match(stdout, /orchestrator-tls13 — [^\n]*\n\s+does not fit sim:[^\n]*\n\s+refused: orchestrator-release: Orchestrator 2019/);
  assert.match(stdout, /refused: os-tls13: .*has no TLS 1\.3/);
  assert.is(await registryText(file), before);
});

test('list --target on an Orchestrator 2025 host: both fit', async () => {
  const { stdout } = await cli(['list', '--target', `sim:${await makeHost('server-2025')}`]);
  assert.is(stdout.match(/\n\s+fits sim:/g)?.length, 2, stdout);
});

test.run();
