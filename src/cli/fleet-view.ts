/**
 * A fleet as its live view follows it, as pure functions: the wave's counts and each running host's
 * steps, from the fleet's events (the frame is drawn by fleet-frame.ts, on a terminal only).
 */
import type { HostStepEvent } from '../fleet/types.js';
import { bold, green, red } from './colors.js';
import { applyStepEvent, type StepLive } from './frame.js';

/** A wave's hosts by where they stand. */
export type WaveCounts = { done: number; failed: number; waiting: number; running: number; pending: number };

/** A fleet as its live view shows it. */
export interface FleetLive {
  wave: string;
  counts: WaveCounts;
  /** Hosts running now, in the order they started: when, and their steps as seen so far. */
  running: Map<string, { since: number; steps: StepLive[] }>;
}

/**
 * A fleet's live state before its first wave.
 *
 * @example
 * ```ts
 * const view = fleetLive();
 * waveStarted(view, 'canary', 1);
 * ```
 */
export function fleetLive(): FleetLive {
  return { wave: '', counts: { done: 0, failed: 0, waiting: 0, running: 0, pending: 0 }, running: new Map() };
}

/** A wave starts: its hosts all pending. */
export function waveStarted(view: FleetLive, wave: string, hosts: number): void {
  view.wave = wave;
  view.counts = { done: 0, failed: 0, waiting: 0, running: 0, pending: hosts };
  view.running.clear();
}

/** A host's run started. */
export function hostStarted(view: FleetLive, host: string, now: number): void {
  view.counts.pending -= 1;
  view.counts.running += 1;
  view.running.set(host, { since: now, steps: [] });
}

/** A step event of a running host. */
export function hostStep(view: FleetLive, e: { host: string } & HostStepEvent, now: number): StepLive | undefined {
  const host = view.running.get(e.host);
  return host ? applyStepEvent(host.steps, e, now) : undefined;
}

/** A host ended, counted as done, failed or waiting (a skipped host never ran). */
export function hostEnded(view: FleetLive, host: string, key: keyof Omit<WaveCounts, 'running' | 'pending'>): void {
  if (view.running.delete(host)) view.counts.running = Math.max(0, view.counts.running - 1);
  else view.counts.pending -= 1;
  view.counts[key] += 1;
}

/**
 * A wave's progress in one line: how many hosts are done, failed, wait, run and are still to start.
 *
 * @example
 * ```ts
 * progressLine('rest', { done: 997, failed: 3, waiting: 0, running: 0, pending: 0 });
 * // 'wave rest: 997 done, 3 failed, 0 waiting, 0 running, 0 pending'
 * ```
 */
export function progressLine(wave: string, c: WaveCounts): string {
  return `wave ${bold(wave)}: ${green(`${c.done} done`)}, ${red(`${c.failed} failed`)}, ${c.waiting} waiting, ${c.running} running, ${c.pending} pending`;
}

