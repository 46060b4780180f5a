/**
 * The check of a simulated host document at the edge: every field the simulator reads has the type it
 * reads it as, so that a malformed file is refused with the file and the field named — before any
 * operation, so nothing is changed — instead of failing mid-run as a JavaScript error. Fields it does
 * not know are left alone (a newer document may carry more).
 */
import * as z from '../util/zod.js';

const text = z.string();
const count = z.number().check(z.int(), z.minimum(0));
const record = <T extends z.Schema>(value: T) => z.record(z.string(), value as never);

const service = z.object({
  state: z.enum(['running', 'stopped', 'starting']),
  startType: z.enum(['auto', 'manual', 'disabled']),
  startDelayMs: z.optional(count),
  readyAt: z.optional(text),
});

const registryValue = z.object({ type: text, data: z.unknown() });

/** What a simulated host file must hold (see `SimHostState`). */
export const simHostSchema = z.object({
  format: z.enum(['runbook-engine/simulated-host@1']),
  name: text,
  os: z.object({ caption: text, version: text, build: count, architecture: z.enum(['64-bit', '32-bit']), productType: z.enum(['workstation', 'server']), servicePack: count }),
  registry: record(record(registryValue)),
  keyTimes: record(text),
  hotfixes: z.array(text),
  dotnet35: z.unknown(),
  sqlInstances: z.array(z.unknown()),
  orchestrator: z.object({ installed: z.boolean(), release: z.nullable(text), updateRollup: z.number(), version: z.nullable(text) }),
  services: record(service),
  bootTime: text.check(z.refine((v) => !Number.isNaN(Date.parse(v)), { message: 'expected a date and time (ISO 8601)' })),
  inEffect: record(z.unknown()),
  tls13InEffect: z.optional(z.nullable(z.boolean())),
  endpoints: z.optional(z.array(z.object({ name: text, port: z.number().check(z.int(), z.minimum(0), z.maximum(65535)) }))),
  downtimeMs: z.number().check(z.minimum(0)),
  down: z.nullable(z.object({ since: text, until: text })),
  pendingShutdown: z.optional(z.nullable(z.object({ by: text, at: text }))),
  restarts: count,
  shutdownEvents: z.optional(z.nullable(z.array(z.object({ time: text, comment: z.string() })))),
  bootActions: z.array(z.object({ op: text })),
  faults: z.array(z.object({ op: text, keyContains: z.optional(text), kind: z.enum(['transient', 'permanent']), times: count })),
  latencyMs: z.number().check(z.minimum(0)),
  files: record(text),
  startupTasks: record(z.array(text)),
  onTarget: z.boolean(),
});

/**
 * The problems of a simulated host document, each naming its field (`services.orunbook.state: …`);
 * none when it is well formed.
 *
 * @example
 * ```ts
 * simHostIssues({ ...createPreset('server-2016'), services: 'x' }); // ['services: Invalid input: expected record, received string']
 * ```
 */
export function simHostIssues(doc: unknown): string[] {
  const parsed = z.safeParse(simHostSchema, doc);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(document)'}: ${issue.message}`);
}
