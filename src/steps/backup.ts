/**
 * Step `windows/registry-backup`: before anything changes, exports the keys the run touches with
 * `reg export` to a `.reg` file on the target (both views), keeps a copy in the run's state directory,
 * and journals the exact prior value (or absence) of every value the later steps may write.
 */
import * as z from '../util/zod.js';
import { StepError } from '../errors.js';
import { defineStepKind } from '../engine/step-kind.js';
import type { DeclaredWrite } from '../engine/step-kind.js';
import { resultOf, type HostOp, type OsInfo, type RegistryView } from '../executors/types.js';
import { observe, planWrites, type ObservedValue } from './registry/values.js';

export const backupParams = z.strictObject({
  /** Keys to export, each in the views listed. */
  keys: z
    .array(z.strictObject({ key: z.string().check(z.minLength(1)), views: z._default(z.array(z.enum(['64', '32'])).check(z.minLength(1)), ['64']) }))
    .check(z.minLength(1)),
  /** Folder on the target for the `.reg` files. @default 'C:\Windows\Temp' */
  targetDir: z._default(z.string().check(z.minLength(1)), 'C:\\Windows\\Temp'),
});
export type BackupParams = z.infer<typeof backupParams>;

/** What the probe reads: the values the run's later steps may write, each as it is now, and the OS's architecture. */
type Observed = { writes: DeclaredWrite[]; observed: ObservedValue[]; architecture: OsInfo['architecture'] };

/** One key to export, in one view, to a file on the target. */
type Export = { key: string; view: RegistryView; file: string };

/** One exported key: its file on the target and its copy in the run's state directory. */
type ExportedFile = { target: string; local: string; key: string; view: string };

function fileName(runId: string, key: string, view: string): string {
  const leaf = key.split('\\').pop()!.replace(/[^A-Za-z0-9.]+/g, '-').replace(/^-+|-+$/g, '');
  return `${runId}-${leaf}-${view}bit.reg`;
}

export const backupStep = defineStepKind({
  kind: 'windows/registry-backup',
  description: 'Exports the keys the run touches to .reg files (target and state directory) and captures every value the run may write',
  params: backupParams,
  outputs: z.object({ files: z.array(z.unknown()), captured: z.number() }),
  // The OS's architecture (which views to export); the values come from the later steps' declarations.
  reads: () => [{ op: 'os.info' }],
  async probe({ rt }): Promise<Observed> {
    const writes = await rt.plannedWrites();
    const [os] = await rt.read([{ op: 'os.info' }]);
    return { writes, observed: await observe(rt, writes), architecture: resultOf(os, 'os.info').architecture };
  },
  plan({ params, observed, rt }) {
    const { writes, observed: values, architecture } = observed;
    const pending = planWrites(writes, values);
    const exports: Export[] = [];
    for (const k of params.keys) {
      // A 32-bit OS has one view: export it once.
      const views = architecture === '32-bit' ? ['32' as const] : k.views;
      for (const view of new Set(views)) exports.push({ key: k.key, view, file: `${params.targetDir}\\${fileName(rt.runId, k.key, view)}` });
    }
    return {
      changes: pending.length === 0 ? [] : exports.map((e) => ({ target: `HKLM\\${e.key} (${e.view}-bit view)`, field: 'reg export', before: null, after: e.file, action: 'run' as const })),
      summary: pending.length === 0 ? `nothing to back up: the ${writes.length} values the run manages are already as required` : `export ${exports.length} key(s); capture ${writes.length} values`,
      data: { exports },
    };
  },
  // What the probe read, each value with its type and whether its key existed.
  capture: async ({ observed }) => observed.observed,
  // For undo.reg: every value as it was before the run.
  registryPriors: (priors) => (Array.isArray(priors) ? priors : []),
  phases: [
    {
      name: 'export',
      async run({ rt, plan }) {
        const { exports } = plan.data;
        const ops: HostOp[] = exports.map((e) => ({ op: 'registry.export', view: e.view, key: e.key, file: e.file }));
        const results = await rt.exec(ops);
        const files: ExportedFile[] = [];
        for (const [i, r] of results.entries()) {
          const exported = resultOf(r, 'registry.export');
          const local = await rt.saveFile(exported.file.split('\\').pop()!, exported.content);
          files.push({ target: exported.file, local, key: exports[i].key, view: exports[i].view });
        }
        return { files };
      },
    },
  ],
  async verify({ results, priors }) {
    const files = (results.export as { files?: ExportedFile[] } | undefined)?.files ?? [];
    if (files.length === 0) throw new StepError('BACKUP_MISSING', 'the backup exported nothing');
    // Verify follows the export, so the priors were captured.
    const captured = priors?.length ?? 0;
    return {
      ok: true,
      summary: `exported ${files.length} key(s) to ${files.map((f) => f.target).join(', ')}; captured ${captured} prior values`,
      output: { files, captured },
    };
  },
  compensate: async () => ({ detail: 'backups are kept on the target and in the state directory', changes: [] }),
});
