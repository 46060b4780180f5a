/**
 * Step `windows/registry-backup`: before anything changes, exports the keys the run touches with
 * `reg export` to a `.reg` file on the target (both views), keeps a copy in the run's state directory,
 * and journals the exact prior value (or absence) of every value the later steps may write.
 */
import { createHash } from 'node:crypto';
import * as z from '../util/zod.js';
import { StepError } from '../errors.js';
import { defineStepKind } from '../engine/step-kind.js';
import type { DeclaredWrite } from '../engine/step-kind.js';
import { resultOf, type HostOp, type OsInfo, type RegistryView } from '../executors/types.js';
import { observe, planWrites, type ObservedValue } from './registry/values.js';
import { displayRegistryKey } from '../windows/undo-files.js';
import { regFileTexts } from '../windows/reg-file.js';

export const backupParams = z.strictObject({
  /** Keys to export, each in the views listed. */
  keys: z
    .array(z.strictObject({ key: z.string().check(z.minLength(1)), views: z._default(z.array(z.enum(['64', '32'])).check(z.minLength(1)), ['64']) }))
    .check(z.minLength(1)),
  /** Folder on the target for the `.reg` files. @default 'C:\Windows\Temp' */
  targetDir: z._default(z.string().check(z.minLength(1)), 'C:\\Windows\\Temp'),
});
export type BackupParams = z.infer<typeof backupParams>;

/**
 * What the probe reads: the values the run's later steps may write, each as it is now, the OS's
 * architecture, and the keys (as people read them) whose export would hold a secret's value.
 */
type Observed = { writes: DeclaredWrite[]; observed: ObservedValue[]; architecture: OsInfo['architecture']; holdingSecret: string[] };

/** One key to export, in one view, to a file on the target. */
type Export = { key: string; view: RegistryView; file: string };

/** An exported key: its file on the target, and `local`, the copy's name among the run's files (`backups/<file>`). */
type ExportedFile = { target: string; local: string; key: string; view: string };

/** The views a key is exported in: a 32-bit OS has one. */
function viewsOf(k: BackupParams['keys'][number], architecture: OsInfo['architecture']): RegistryView[] {
  return architecture === '32-bit' ? ['32'] : [...new Set(k.views)];
}

/**
 * The longest name of a backup's file, in bytes (its names are ASCII: one byte a character). A file name
 * holds at most 255 bytes on the file systems a state directory lives on (and 255 UTF-16 units on
 * NTFS, the target's); the rest is kept for the temporary name a write goes to first
 * (`<file>.<pid>-<8 hex>-<n>.tmp`, util/write-atomic.ts), and the target's path stays within Windows'
 * 260 characters under the default `targetDir`.
 */
export const MAX_BACKUP_FILE_NAME = 200;

/** What each key's file name ends with: `-64bit.reg` or `-32bit.reg`. */
const VIEW_SUFFIX_LENGTH = '-64bit.reg'.length;

/** The longest part of a key's last part that a shortened file name keeps. */
const SHORTENED_LEAF = 60;

/**
 * A file name no longer than {@link MAX_BACKUP_FILE_NAME} once its view's suffix is added: as it is
 * when it fits; else the run id's start, the key's last part's start and a short hash of the run id and
 * `tag` (the whole key in lower case: Windows names keys without case), so that it stays unique among
 * the run's keys and across runs, and still reads as the key's.
 */
function bounded(runId: string, leaf: string, tag: string): string {
  const name = `${runId}-${leaf}`;
  const room = MAX_BACKUP_FILE_NAME - VIEW_SUFFIX_LENGTH;
  if (name.length <= room) return name;
  const hash = createHash('sha256').update(`${runId}\n${tag}`).digest('hex').slice(0, 8);
  const kept = leaf.slice(0, SHORTENED_LEAF).replace(/-+$/, '');
  return `${runId.slice(0, room - kept.length - hash.length - 2)}-${kept}-${hash}`;
}

/**
 * The file name of each key's export (`<run-id>-<last part of the key>-<view>bit.reg`), the same on the
 * target and in the state directory. A name is never a secret's carrier: where the readable one would
 * hold a secret's value (`holdsSecret`), or has no letters left, the key is named by its place in
 * `keys` (`key2`); and two keys whose last parts read alike get their place added, so that neither
 * export overwrites the other. A name longer than {@link MAX_BACKUP_FILE_NAME} with its suffix (a long
 * key name — Windows allows 255 characters — or a fleet host's long run id) is shortened, a hash of
 * the key keeping it unique; the step's output (in the journal) pairs each file with its key.
 */
export function backupFileNames(runId: string, keys: readonly string[], holdsSecret: (text: string) => boolean): string[] {
  const readable = keys.map((key, i) => {
    const leaf = key.split('\\').pop()!.replace(/[^A-Za-z0-9.]+/g, '-').replace(/^-+|-+$/g, '');
    const carries = ['64', '32'].some((view) => holdsSecret(`${runId}-${leaf}-${view}bit.reg`) || holdsSecret(`${bounded(runId, leaf, key.toLowerCase())}-${view}bit.reg`));
    // A key named by its place is hashed by its place too: no hash of what holds a secret.
    return leaf === '' || carries ? { leaf: `key${i + 1}`, tag: `#${i + 1}` } : { leaf, tag: key.toLowerCase() };
  });
  // Windows names files without case: SOFTWARE\A\Foo and SOFTWARE\B\foo would be one file.
  const taken = new Map<string, string>();
  return readable.map(({ leaf, tag }, i) => {
    const same = taken.get(leaf.toLowerCase());
    const unique = same === undefined || same === keys[i].toLowerCase() ? leaf : `${leaf}-${i + 1}`;
    taken.set(unique.toLowerCase(), keys[i].toLowerCase());
    return bounded(runId, unique, tag);
  });
}

/**
 * Refuses, before anything is sent to the target, a backup whose parameters would carry a secret's
 * value there: a key whose path holds one (its path goes to the target in the export's read and on
 * `reg export`'s command line) or a `targetDir` that does (the files' paths). The parameters decide
 * it, so no read is needed; the engine does not send such a read ahead either.
 */
function refuseSecretPaths(stepId: string, params: BackupParams, holdsSecret: (text: string) => boolean): void {
  const named = params.keys.filter((k) => holdsSecret(k.key)).flatMap((k) => [...new Set(k.views)].map((view) => displayRegistryKey(view, k.key)));
  if (named.length > 0) {
    throw new StepError('SECRET_IN_BACKUP', `step ${stepId}: the backup of ${named.join(', ')} would hold the value of a secret parameter: the key's path holds it, and the path would reach the target (the export's read, reg.exe's command line) and the copy in the state directory`, {
      hint: 'the step exported nothing and changed nothing; leave that key out of the step\'s keys (nothing naming it was sent to the target), or choose a secret value that does not occur in its path',
    });
  }
  if (holdsSecret(params.targetDir)) {
    throw new StepError('SECRET_IN_BACKUP', `step ${stepId}: targetDir holds the value of a secret parameter; the backups' paths on the target would carry it`, {
      hint: 'the step exported nothing and changed nothing; give targetDir a folder without the secret',
    });
  }
}

/**
 * Refuses, before any export, a backup whose text would hold a secret's value: a key whose export (a
 * subkey, a value's name or data, the text of a value the export writes as hex bytes) holds one.
 * Masked, the copy in the state directory would not restore the key (`Password=***`); in clear, the
 * secret would be on the controller's disk — the rule of a step's capture (SECRET_IN_MEMO). The keys are named as people read them (the journal masks a
 * secret in a key's path); the values never.
 */
function refuseSecrets(stepId: string, holdingSecret: readonly string[]): void {
  if (holdingSecret.length > 0) {
    throw new StepError('SECRET_IN_BACKUP', `step ${stepId}: the backup of ${holdingSecret.join(', ')} would hold the value of a secret parameter; its copy in the state directory can be kept neither in clear nor masked (masked, it would not restore the key)`, {
      hint: 'the step exported nothing and changed nothing; leave that key out of the step\'s keys and back it up on the target by other means, or choose a secret value that does not occur in it',
    });
  }
}

export const backupStep = defineStepKind({
  kind: 'windows/registry-backup',
  description: 'Exports the keys the run touches to .reg files (target and state directory) and captures every value the run may write',
  params: backupParams,
  outputs: z.object({ files: z.array(z.unknown()), captured: z.number() }),
  // The OS's architecture (which views to export) and the text each export would hold (read with the
  // run's first batch; a key whose path holds a secret is not read ahead, and the probe refuses it
  // before any read); the values come from the later steps' declarations.
  reads: ({ params }) => [{ op: 'os.info' }, ...params.keys.flatMap((k) => viewsOf(k, '64-bit').map((view): HostOp => ({ op: 'registry.exportText', view, key: k.key })))],
  async probe({ params, rt }): Promise<Observed> {
    // From the parameters alone, before the first read: a secret in a key's path or targetDir is sent nowhere.
    refuseSecretPaths(rt.stepId, params, rt.holdsSecret);
    const writes = await rt.plannedWrites();
    const [os] = await rt.read([{ op: 'os.info' }]);
    const { architecture } = resultOf(os, 'os.info');
    const exports = params.keys.flatMap((k) => viewsOf(k, architecture).map((view) => ({ key: k.key, view })));
    // Only a verdict is kept: the texts stay out of the step's journaled state.
    const texts = await rt.read(exports.map((e): HostOp => ({ op: 'registry.exportText', view: e.view, key: e.key })));
    // The text as it is and each hex value's text: a REG_EXPAND_SZ, REG_MULTI_SZ or REG_BINARY holds
    // a secret in the export only as its bytes (`hex(2):5a,00,71,00,…`, lines wrapped where long).
    const holds = (text: string) => regFileTexts(text).some(rt.holdsSecret);
    const holdingSecret = exports.filter((_, i) => holds(resultOf(texts[i], 'registry.exportText').content)).map((e) => displayRegistryKey(e.view, e.key));
    return { writes, observed: await observe(rt, writes), architecture, holdingSecret };
  },
  plan({ params, observed, rt }) {
    const { writes, observed: values, architecture, holdingSecret } = observed;
    const pending = planWrites(writes, values);
    if (pending.length > 0) refuseSecrets(rt.stepId, holdingSecret);
    const names = backupFileNames(rt.runId, params.keys.map((k) => k.key), rt.holdsSecret);
    const exports: Export[] = [];
    params.keys.forEach((k, i) => {
      for (const view of viewsOf(k, architecture)) exports.push({ key: k.key, view, file: `${params.targetDir}\\${names[i]}-${view}bit.reg` });
    });
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
  // It reads the values and exports keys to files; it writes no registry value.
  registryWrites: () => [],
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
  compensate: async () => ({ detail: 'backups are kept on the target and with the run\'s files', changes: [] }),
});
