/**
 * What a fleet prints while it goes, from its events: on a terminal a live block (the wave's counts and
 * each running host's current step, for how long, what it does), a failed host's line kept above it;
 * in a pipe one line per step outcome of each host, then the host's own outcome; with `--json` the
 * fleet's events as NDJSON. An operator alert goes to stderr, out of the live block's way.
 */
import type { EventEmitter } from 'eventemitter3';
import { textWidth } from './text-width.js';
import { OUTCOMES, type Outcome } from '../engine/outcome.js';
import type { FleetEvents } from '../fleet/types.js';
import { bold, red, toned } from './colors.js';
import { fleetLive, hostEnded, hostStarted, hostStep, waveStarted } from './fleet-view.js';
import { duration, outcomeLine, pad, pipeField, PIPE_OUTCOME_WIDTH } from './frame.js';
import type { LiveBlock, TerminalStream } from './notice.js';
import type { OutputMode, Renderer } from './run-output.js';

/** An outcome's label in its colour. */
export const paintOutcome = (o: Outcome) => toned(OUTCOMES[o].tone, OUTCOMES[o].label);

/** What an operator must do now, on stderr: a rollback that failed left changes on a host. */
export function operatorAlert(host: string, runId: string | undefined): string {
  return `${red('ROLLBACK FAILED — an operator is needed')} on ${host}: its report lists what is still changed; undo.reg and undo.ps1 in its run directory undo it${runId ? ` (\`runbook status ${runId}\`)` : ''}\n`;
}

const JSON_EVENTS = ['wave:start', 'host:start', 'host:end', 'wave:end'] as const;

/**
 * Attaches a fleet's output to its events: a live block on a terminal, lines in a pipe, NDJSON with
 * `json`. Returns what stops it (the live block stays on screen, the summary goes below it); on a
 * terminal its `ready` settles once the block's libraries are loaded.
 *
 * @example
 * ```ts
 * declare const fleet: { id: string; events: Parameters<typeof attachFleetOutput>[0] };
 * const stop = attachFleetOutput(fleet.events, process.stdout.isTTY ? 'tty' : 'plain', { heading: `Fleet ${fleet.id}` });
 * stop();
 * ```
 */
export function attachFleetOutput(
  events: EventEmitter<FleetEvents>,
  mode: OutputMode,
  o: { heading: string; stdout?: TerminalStream; stderr?: TerminalStream; now?: () => number; tickMs?: number },
): Renderer {
  const stdout = o.stdout ?? process.stdout;
  const stderr = o.stderr ?? process.stderr;
  const now = o.now ?? Date.now;
  const offs: (() => void)[] = [];
  const on = <E extends keyof FleetEvents>(name: E, listener: (...args: FleetEvents[E]) => void) => {
    events.on(name, listener as never);
    offs.push(() => events.off(name, listener as never));
  };
  const stopAll = () => offs.splice(0).forEach((off) => off());
  if (mode === 'json') {
    for (const name of JSON_EVENTS) on(name, ((e: object) => stdout.write(`${JSON.stringify({ event: name, at: new Date().toISOString(), ...e })}\n`)) as never);
    return Object.assign(stopAll, { ready: Promise.resolve() });
  }
  stdout.write(`${o.heading}\n`);
  let block: LiveBlock | undefined;
  let timer: NodeJS.Timeout | undefined;
  const alert = (host: string, runId: string | undefined) => (block ? block.notice(operatorAlert(host, runId)) : stderr.write(operatorAlert(host, runId)));
  // A failure stays on screen above the live block (or, before the block is drawn, is written as is).
  const keep = (text: string) => (block ? block.persist(text) : stdout.write(`${text}\n`));

  let ready = Promise.resolve();
  if (mode === 'tty') {
    const view = fleetLive();
    let ui: { liveBlock: typeof import('./live.js').liveBlock; fleetFrame: typeof import('./fleet-frame.js').fleetFrame } | undefined;
    let inWave = false;
    /** The wave's live block, once its libraries are loaded. */
    const open = () => {
      if (!ui || !inWave || block) return;
      const { fleetFrame } = ui;
      block = ui.liveBlock((size) => fleetFrame(view, { ...size, now: now() }), { stdout, stderr });
      block.draw();
      timer ??= setInterval(() => block?.draw(), o.tickMs ?? 500).unref();
    };
    ready = Promise.all([import('./live.js'), import('./fleet-frame.js')]).then(([live, frame]) => {
      ui = { liveBlock: live.liveBlock, fleetFrame: frame.fleetFrame };
      open();
    });
    on('wave:start', (e) => {
      waveStarted(view, e.wave, e.hosts.length);
      inWave = true;
      open();
    });
    on('host:start', (e) => {
      hostStarted(view, e.host, now());
      block?.draw();
    });
    on('host:step', (e) => {
      hostStep(view, e, now());
      block?.draw();
    });
    on('host:end', (h) => {
      const tone = OUTCOMES[h.outcome].tone;
      const key = h.outcome === 'awaiting-restart-window' || h.outcome === 'interrupted' ? 'waiting' : tone === 'bad' ? 'failed' : 'done';
      hostEnded(view, h.host, key);
      // A failure stays on screen above the live block, with its cause.
      if (key === 'failed') keep(`  ${paintOutcome(h.outcome)} ${h.host}: ${h.error?.message.split('\n')[0] ?? ''}`);
      if (h.outcome === 'rollback-failed') alert(h.host, h.runId);
      block?.draw();
    });
    on('wave:end', () => {
      // The wave's last frame stays: its counts, no host running.
      inWave = false;
      block?.done();
      block = undefined;
    });
  } else {
    // One line per step outcome of each host (as Ansible's per-task lines), then the host's outcome.
    const widths = { host: 12, step: 14 };
    const steps = fleetLive();
    on('wave:start', (e) => {
      widths.host = Math.max(widths.host, ...e.hosts.map((h) => textWidth(h)));
      waveStarted(steps, e.wave, e.hosts.length);
      stdout.write(`\n${bold(`wave ${e.wave}`)}: ${e.hosts.length} host(s)\n`);
    });
    on('host:start', (e) => hostStarted(steps, e.host, now()));
    on('host:step', (e) => {
      const ended = hostStep(steps, e, now());
      if (!ended) return;
      widths.step = Math.max(widths.step, textWidth(ended.id));
      stdout.write(`${outcomeLine(e.host, ended, now(), widths)}\n`);
    });
    on('host:end', (h) => {
      hostEnded(steps, h.host, 'done');
      const error = h.error && OUTCOMES[h.outcome].tone !== 'ok' ? ` — ${h.error.message.split('\n')[0]}` : '';
      const took = h.startedAt && h.endedAt ? duration(Date.parse(h.endedAt) - Date.parse(h.startedAt)) : '';
      // The host's own line in the same columns, `(result)` in the step's place and the outcome's key (one
      // field, as --json names it) in the outcome's: `grep host-1` shows all of it.
      stdout.write(`${pad(pipeField(h.host), widths.host)}  ${pad('(result)', widths.step)}  ${toned(OUTCOMES[h.outcome].tone, pad(h.outcome, PIPE_OUTCOME_WIDTH))}  ${pad(pipeField(took), 6, 'right')}  ${h.changes} ${h.outcome === 'changes-pending' ? 'pending' : h.outcome === 'rollback-failed' ? 'still changed' : 'change(s)'}, ${h.roundTrips} round trip(s)${error}\n`);
      if (h.outcome === 'rollback-failed') alert(h.host, h.runId);
    });
  }
  const stop = () => {
    if (timer) clearInterval(timer);
    block?.done();
    block = undefined;
    stopAll();
  };
  return Object.assign(stop, { ready });
}
