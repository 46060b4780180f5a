/**
 * A fleet's reports, in its directory: `report.json` (the result), `report.md` (a summary table, then
 * per host) and `junit.xml` (one test case per host, a failure with its error, skipped hosts skipped),
 * for CI systems and dashboards. Each host's own run keeps its reports in its run directory.
 */
import { join } from 'node:path';
import { removeStaleTemporaryFiles, writeFileAtomic } from '../util/write-atomic.js';
import { OUTCOMES, describeCounts } from '../engine/outcome.js';
import type { FleetResult, HostOutcome } from './types.js';
import type { UnwrittenFile } from '../engine/types.js';
import { diskErrorOf } from '../errors.js';

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

const seconds = (h: HostOutcome) => (h.startedAt && h.endedAt ? (Date.parse(h.endedAt) - Date.parse(h.startedAt)) / 1000 : 0);

/**
 * The fleet as JUnit XML: a test suite per wave, a test case per host.
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * declare const fleet: Fleet;
 * await writeFile('junit.xml', renderJunit(await fleet.result));
 * ```
 */
export function renderJunit(fleet: FleetResult): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const all = fleet.waves.flatMap((w) => w.hosts);
  const failed = (h: HostOutcome) => OUTCOMES[h.outcome].failure;
  lines.push(`<testsuites name="${xml(`${fleet.runbook} fleet ${fleet.fleetId}`)}" tests="${all.length}" failures="${all.filter(failed).length}" skipped="${all.filter((h) => h.status === 'skipped').length}">`);
  for (const wave of fleet.waves) {
    lines.push(`  <testsuite name="${xml(wave.name)}" tests="${wave.hosts.length}" failures="${wave.hosts.filter(failed).length}" skipped="${wave.hosts.filter((h) => h.status === 'skipped').length}">`);
    for (const h of wave.hosts) {
      const open = `    <testcase classname="${xml(`${fleet.runbook}.${wave.name}`)}" name="${xml(h.host)}" time="${seconds(h).toFixed(3)}">`;
      const label = OUTCOMES[h.outcome].label;
      if (h.outcome === 'skipped') lines.push(open, `      <skipped message="${xml(`${label}: ${fleet.budget.spent ? 'the failure budget was spent' : 'the fleet was stopped'}`)}"/>`, '    </testcase>');
      else if (failed(h)) lines.push(open, `      <failure message="${xml(`${label}: ${h.error?.message.split('\n')[0] ?? ''}`)}" type="${xml(h.error?.code ?? h.outcome)}">${xml(h.error?.message ?? label)}</failure>`, '    </testcase>');
      else lines.push(`${open}<system-out>${xml(label)}</system-out></testcase>`);
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}

/**
 * The fleet as Markdown: the summary, a table of every host, then the failures with their errors.
 *
 * @example
 * ```ts
 * declare const fleet: Fleet;
 * console.log(renderFleetMarkdown(await fleet.result));
 * ```
 */
export function renderFleetMarkdown(fleet: FleetResult): string {
  const c = fleet.counts;
  const lines = [
    `# Fleet ${fleet.fleetId}`,
    '',
    `- runbook: **${fleet.runbook}**${fleet.checkMode ? ' (check mode: nothing was changed)' : ''}`,
    `- status: **${fleet.status}** (exit ${fleet.exitCode}) — ${describeCounts(c)}`,
    `- failure budget: ${fleet.budget.failures} failed of ${fleet.budget.maxFailures} tolerated${fleet.budget.spent ? ' — spent: no host started after it' : ''}`,
    ...(fleet.drivenElsewhere ? [`- driven elsewhere: ${fleet.drivenElsewhere.join(', ')} (another process drives its run): the fleet stopped after its wave; \`runbook resume ${fleet.fleetId}\` goes on once that run has ended`] : []),
    ...(fleet.refused ? [`- not driven: ${fleet.refused.join(', ')} (input to fix first, see Failures): nothing was sent to them; the fleet stopped after their wave; \`runbook resume ${fleet.fleetId}\` goes on once it is fixed`] : []),
    ...(fleet.awaitingRestart ? [`- awaiting a restart window: ${fleet.awaitingRestart.join(', ')} — a wave restarts (and checks) its hosts before the next starts: the fleet stopped after their wave; \`runbook resume ${fleet.fleetId} --allow-restart\` in the window restarts them and goes on`] : []),
    `- started ${fleet.startedAt}, ended ${fleet.endedAt}`,
    '',
    `| wave | host | outcome | ${fleet.checkMode ? 'changes pending' : 'changes'} | round trips | run |`,
    '|---|---|---|---|---|---|',
    ...fleet.waves.flatMap((w) => w.hosts.map((h) => `| ${w.name} | ${h.host} | ${OUTCOMES[h.outcome].label} | ${h.changes} | ${h.roundTrips} | ${h.runId ?? '-'} |`)),
  ];
  const failures = fleet.waves.flatMap((w) => w.hosts).filter((h) => h.error);
  if (failures.length > 0) {
    lines.push('', '## Failures', '');
    for (const h of failures) lines.push(`- **${h.host}** (${OUTCOMES[h.outcome].label}): \`${h.error!.code}\` ${h.error!.message.split('\n')[0]}`);
  }
  lines.push('', 'Each host\'s own report is in its run directory (`runs/<run>/report.md`).');
  return `${lines.join('\n')}\n`;
}

/**
 * Writes report.json, report.md and junit.xml into the fleet's directory — first removing the
 * temporary files an earlier controller of the fleet left there when it was stopped mid-write (a second
 * SIGINT exits at once), so that a resumed fleet's folder holds its files and nothing else.
 */
export async function writeFleetReports(fleet: FleetResult): Promise<void> {
  await removeStaleTemporaryFiles(fleet.dir);
  await writeFileAtomic(join(fleet.dir, 'report.json'), `${JSON.stringify(fleet, null, 2)}\n`);
  await writeFileAtomic(join(fleet.dir, 'report.md'), renderFleetMarkdown(fleet));
  await writeFileAtomic(join(fleet.dir, 'junit.xml'), renderJunit(fleet));
}

/**
 * The reports of a fleet that ran, as {@link writeFleetReports} writes them — each file tried apart —
 * for the fleet's own end: a report the disk refuses (full, failing, read-only: a system error of a
 * file) does not change what the fleet did. It is returned as unwritten (the file, its errno, the
 * system's words), and the others are still written; the hosts' journals keep everything needed to
 * write it again (`runbook status <fleet-id> --reports DIR`, `runbook resume <fleet-id>`). Anything
 * else (a bug) is thrown.
 *
 * @example
 * ```ts
 * declare const fleet: FleetResult;
 * const unwritten = await writeFleetReportsNoting(fleet);
 * for (const u of unwritten) console.warn(`${u.file}: ${u.errno}`);
 * ```
 */
export async function writeFleetReportsNoting(fleet: FleetResult): Promise<UnwrittenFile[]> {
  const unwritten: UnwrittenFile[] = [];
  await removeStaleTemporaryFiles(fleet.dir);
  const files: [string, () => string][] = [
    ['report.json', () => `${JSON.stringify(fleet, null, 2)}\n`],
    ['report.md', () => renderFleetMarkdown(fleet)],
    ['junit.xml', () => renderJunit(fleet)],
  ];
  for (const [name, content] of files) {
    const file = join(fleet.dir, name);
    try {
      await writeFileAtomic(file, content());
    } catch (error) {
      const e = error as NodeJS.ErrnoException | null;
      if (typeof e?.code !== 'string' || !(diskErrorOf(e) || e.syscall)) throw error;
      unwritten.push({ kind: 'file', file: typeof e.path === 'string' ? e.path : file, errno: e.code, message: e.message.split('\n')[0] });
    }
  }
  return unwritten;
}
