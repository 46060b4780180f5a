/**
 * The restart step as a careful administrator restarts: someone else's pending shutdown is never
 * cancelled, slow-starting services are waited for, boot times are compared with a tolerance.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FAST, hostOf, makeHost, registryText, runToEnd } from '../helpers.js';
import { sameBoot } from '../../src/windows/boot-time.js';

test('a shutdown someone else scheduled is left alone; by default the step fails and the run rolls back', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.pendingShutdown = { by: 'an administrator', at: new Date(Date.now() + 3_600_000).toISOString() };
  });
  const before = await registryText(file);
  const { result } = await runToEnd(file);
  assert.is(result.status, 'rolled-back');
  assert.is(result.error?.code, 'SHUTDOWN_PENDING');
  assert.match(result.error!.message, /shutdown\.exe answered 1190\); it was left alone/);
  const host = await hostOf(file);
  assert.ok(host.pendingShutdown, 'the pending shutdown was not cancelled');
  assert.is(host.restarts, 0);
  assert.is(await registryText(file), before);
});

test('with ifShutdownPending=wait, the pending shutdown is the restart the run waits for', async () => {
  const file = await makeHost('server-2016', (h) => {
    // Late enough that the run reaches its restart step first, even on a slow machine.
    h.pendingShutdown = { by: 'an administrator', at: new Date(Date.now() + 2500).toISOString() };
  });
  const { result } = await runToEnd(file, { params: { ...FAST, ifShutdownPending: 'wait', restartTimeoutSeconds: 30 } });
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  const host = await hostOf(file);
  assert.is(host.restarts, 1, 'one restart: theirs');
  assert.is(host.pendingShutdown, null);
});

test('an Orchestrator service that starts slowly is waited for: no rollback', async () => {
  const file = await makeHost('server-2016', (h) => {
    h.services.orunbook.startDelayMs = 400;
  });
  const { result } = await runToEnd(file, { params: { ...FAST, restartTimeoutSeconds: 30 } });
  assert.is(result.status, 'succeeded', JSON.stringify(result.error));
  assert.ok(result.steps.find((s) => s.id === 'restart')!.pollRoundTrips >= 2, 'it polled while the service started');
});

test('boot times that differ by milliseconds (WMI drift) are the same boot; a restart is not', () => {
  assert.ok(sameBoot('2026-11-20T06:12:44.1234567Z', '2026-11-20T06:12:44.126Z'));
  assert.ok(sameBoot('2026-11-20T07:12:44.123+01:00', '2026-11-20T06:12:44.9Z'));
  assert.not.ok(sameBoot('2026-11-20T06:12:44Z', '2026-11-20T06:14:02Z'));
});


test('the wait for the restart outlasts the downtime by at most one poll interval', async () => {
  const { createSimulatedExecutor, loadRunbook, VirtualClock } = await import('../../src/index.js');
  const { kinds, newRunner, tempDir } = await import('../helpers.js');
  for (const [downtimeMs, pollIntervalMs] of [[2000, 500], [7000, 1000], [60_000, 1000]]) {
    const file = await makeHost('server-2016', (h) => void (h.downtimeMs = downtimeMs));
    const clock = new VirtualClock();
    const runner = newRunner(await tempDir(), clock);
    const started = clock.now();
    const result = await runner.start(await loadRunbook('orchestrator-tls12', kinds), { executor: await createSimulatedExecutor(file, { clock }), params: { pollIntervalMs } }).result;
    assert.is(result.status, 'succeeded');
    // Nothing else in the run waits: the virtual time spent is the restart's wait.
    const waited = clock.now() - started;
    assert.ok(waited >= downtimeMs && waited <= downtimeMs + pollIntervalMs, `${downtimeMs} ms down, polled every ${pollIntervalMs} ms: waited ${waited} ms`);
  }
});

test.run();
