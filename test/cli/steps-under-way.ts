/**
 * Step events of a run under way, for the frame tests: two steps ended (one with a long summary in
 * Japanese), one restarting, two to come.
 */
import { applyStepEvent, pendingSteps, type StepLive } from '../../src/cli/frame.js';
import type { HostStepEvent } from '../../src/fleet/types.js';

export const transition = (stepId: string, to: string): HostStepEvent => ({ name: 'step:transition', event: { runId: 'r1', stepId, index: 0, from: null, to } });
export const settled = (stepId: string, status: 'succeeded' | 'skipped' | 'failed' | 'planned', summary: string, changes = 0): HostStepEvent => ({
  name: 'step:settled',
  event: { runId: 'r1', stepId, index: 0, status, summary, changes: Array.from({ length: changes }, () => ({ target: 'HKLM\\X', field: 'Enabled', before: null, after: 0, action: 'create' as const })), roundTrips: 1 },
});
export const wait = (stepId: string, polls: number, deadline: number, waitingFor: string): HostStepEvent => ({ name: 'step:wait', event: { runId: 'r1', stepId, index: 0, polls, deadline: new Date(deadline).toISOString(), waitingFor } });

/** A run under way: two steps ended (one with a long summary in Japanese), one restarting, two to come. */
export function runUnderWay(): StepLive[] {
  const steps = pendingSteps(['preflight', 'schannel-東京サーバー設定', 'restart', 'ip-verify', 'tls-verify']);
  applyStepEvent(steps, transition('preflight', 'probing'), 0);
  applyStepEvent(steps, settled('preflight', 'succeeded', 'prerequisites met: Microsoft Windows Server 2016 Datacenter (64-bit), Orchestrator 2016, .NET release 394802'), 400);
  applyStepEvent(steps, transition('schannel-東京サーバー設定', 'probing'), 400);
  applyStepEvent(steps, transition('schannel-東京サーバー設定', 'apply'), 500);
  applyStepEvent(steps, settled('schannel-東京サーバー設定', 'succeeded', 'SCHANNEL プロトコル: 19 個の値を変更しました 🚀 TLS 1.3 は変更なし', 19), 1600);
  applyStepEvent(steps, transition('restart', 'restart'), 1600);
  applyStepEvent(steps, transition('restart', 'awaitBoot'), 2000);
  applyStepEvent(steps, wait('restart', 12, 2000 + 600_000, 'boot time still 2026-12-03T20:57:30.385Z; Windows still starting (LogonUI has not reached the logon prompt)'), 14_000);
  return steps;
}

