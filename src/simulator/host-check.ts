/**
 * The check of a simulated host document at the edge: every field the simulator reads has the type it
 * reads it as, so that a malformed file is refused with the file and the field named — before any
 * operation, so nothing is changed — instead of failing mid-run as a JavaScript error. Fields it does
 * not know are left alone (a newer document may carry more).
 */
import * as z from '../util/zod.js';
import { protocolDefault } from '../windows/schannel.js';

const text = z.string();
const count = z.number().check(z.int(), z.minimum(0));
const record = <T extends z.Schema>(value: T) => z.record(z.string(), value as never);
/** A time the simulator computes with (`Date.parse`, `toISOString`): one it cannot read fails mid-run as "Invalid time value". */
const date = text.check(z.refine((v) => !Number.isNaN(Date.parse(v)), { message: 'expected a date and time (ISO 8601)' }));
/** The longest wait a timer takes (a longer one fires at once, with a warning). */
const delayMs = z.number().check(z.minimum(0), z.maximum(2 ** 31 - 1));
/**
 * A time after another that the simulator makes a date of (`new Date(start + ms)`: a restart's end, a
 * service's or SQL Server's readiness): a date holds at most 8.64e15 ms after 1970, and past it is
 * "Invalid time value" mid-run. 1e14 ms (some 3,000 years) keeps every such date one, and is as good
 * as never for a host that does not come back.
 */
const offsetMs = z.number().check(z.minimum(0), z.maximum(1e14));

const service = z.object({
  state: z.enum(['running', 'stopped', 'starting']),
  startType: z.enum(['auto', 'manual', 'disabled']),
  startDelayMs: z.optional(offsetMs),
  readyAt: z.optional(date),
});

/** Whether a value's data is what its type holds (as `RegistryValue`, src/windows/registry.ts, types it). */
function fitsType(v: { type: string; data: unknown }): boolean {
  const { type, data } = v;
  if (type === 'REG_DWORD') return Number.isInteger(data) && (data as number) >= 0 && (data as number) <= 0xffffffff;
  if (type === 'REG_QWORD') return typeof data === 'string' && /^\d{1,20}$/.test(data) && BigInt(data) < 2n ** 64n;
  if (type === 'REG_SZ' || type === 'REG_EXPAND_SZ') return typeof data === 'string';
  if (type === 'REG_MULTI_SZ') return Array.isArray(data) && data.every((d) => typeof d === 'string');
  return typeof data === 'string' && /^(?:[0-9a-f]{2})*$/.test(data);
}

/** A value a real registry could hold: one of the types this project speaks of, with data of that type. */
const registryValue = z.object({ type: z.enum(['REG_DWORD', 'REG_QWORD', 'REG_SZ', 'REG_EXPAND_SZ', 'REG_MULTI_SZ', 'REG_BINARY']), data: z.unknown() }).check(
  z.refine(fitsType, {
    message: 'data does not fit its type (REG_DWORD: a whole number from 0 to 4294967295; REG_QWORD: an unsigned 64-bit number as decimal text; REG_SZ, REG_EXPAND_SZ: text; REG_MULTI_SZ: a list of texts; REG_BINARY: bytes as lowercase hex)',
    path: ['data'],
  }),
);

const sides = z.strictObject({ Client: z.optional(z.boolean()), Server: z.optional(z.boolean()) });
const PROTOCOL_NAMES = ['SSL 2.0', 'SSL 3.0', 'TLS 1.0', 'TLS 1.1', 'TLS 1.2', 'TLS 1.3'] as const;
/** A host's own defaults: per protocol and side true (accepts) or false, and the note that says why. Strict: a misspelt protocol would be ignored. */
const schannelDefaults = z.strictObject({ note: z.optional(text), ...Object.fromEntries(PROTOCOL_NAMES.map((p) => [p, z.optional(sides)])) });
/** The protocols in effect (`ProtocolMap`): per protocol the registry knows and side, true, false or null (Windows' default). */
const IN_EFFECT_NAMES = ['SSL 2.0', 'SSL 3.0', 'TLS 1.0', 'TLS 1.1', 'TLS 1.2'] as const;
const inEffectSides = z.strictObject({ Client: z.optional(z.nullable(z.boolean())), Server: z.optional(z.nullable(z.boolean())) });
const inEffect = z.strictObject(Object.fromEntries(IN_EFFECT_NAMES.map((p) => [p, z.optional(inEffectSides)])));

/** What a simulated host file must hold (see `SimHostState`). */
export const simHostSchema = z.object({
  format: z.enum(['runbook-engine/simulated-host@1']),
  name: text,
  os: z.object({ caption: text, version: text, build: count, architecture: z.enum(['64-bit', '32-bit']), productType: z.enum(['workstation', 'server']), servicePack: count }),
  registry: record(record(registryValue)),
  keyTimes: record(date),
  hotfixes: z.array(text),
  // Versions as the agent reports them: a file's version text (`2.0.50727.9149 (WinRelRS6.050727-9100)`),
  // a SQL Server's PatchLevel (`13.2.5026.0`, or empty when setup wrote none).
  dotnet35: z.nullable(z.object({ installed: z.boolean(), file: z.nullable(text), version: z.nullable(text) })),
  sqlInstances: z.array(z.object({ name: text, version: text, edition: z.optional(text) })),
  // -1: the server cannot tell its Update Rollup (the agent's answer then; the operator states it).
  orchestrator: z.object({ installed: z.boolean(), release: z.nullable(text), updateRollup: z.number().check(z.int(), z.minimum(-1)), version: z.nullable(text) }),
  services: record(service),
  bootTime: date,
  inEffect,
  tls13InEffect: z.optional(z.nullable(z.boolean())),
  schannelDefaults: z.optional(schannelDefaults),
  endpoints: z.optional(z.array(z.object({ name: text, port: z.number().check(z.int(), z.minimum(0), z.maximum(65535)) }))),
  downtimeMs: offsetMs,
  down: z.nullable(z.object({ since: date, until: date, restart: z.optional(z.boolean()) })),
  pendingShutdown: z.optional(z.nullable(z.object({ by: text, at: date, inProgress: z.optional(z.boolean()) }))),
  logonUi: z.optional(z.object({ afterMs: z.nullable(offsetMs), at: z.optional(z.nullable(date)) })),
  sqlStartDelayMs: z.optional(offsetMs),
  sqlReadyAt: z.optional(z.nullable(date)),
  sqlServers: z.optional(record(z.boolean())),
  restarts: count,
  shutdownEvents: z.optional(z.nullable(z.array(z.object({ time: date, comment: z.string() })))),
  bootActions: z.array(z.object({ op: text })),
  faults: z.array(z.object({ op: text, keyContains: z.optional(text), kind: z.enum(['transient', 'permanent']), times: count })),
  latencyMs: delayMs,
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
  if (!parsed.success) return parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(document)'}: ${issue.message}`);
  return overriddenFacts(doc as { os: { build: number }; schannelDefaults?: Record<string, unknown> });
}

/**
 * `schannelDefaults` may state only what the facts leave open: a default the facts table settles for the
 * build is Windows', and a document cannot make it otherwise (the simulator would ignore the entry).
 */
function overriddenFacts(doc: { os: { build: number }; schannelDefaults?: Record<string, unknown> }): string[] {
  const issues: string[] = [];
  for (const protocol of PROTOCOL_NAMES) {
    const stated = doc.schannelDefaults?.[protocol] as Partial<Record<'Client' | 'Server', boolean>> | undefined;
    for (const side of ['Client', 'Server'] as const) {
      if (stated?.[side] === undefined) continue;
      const d = protocolDefault(protocol, side, doc.os.build);
      if (d.state === null) continue;
      issues.push(`schannelDefaults.${protocol}.${side}: the facts settle this default on build ${doc.os.build} (${d.state}, ${d.fact}); a host document states only what they leave open — remove it`);
    }
  }
  return issues;
}
