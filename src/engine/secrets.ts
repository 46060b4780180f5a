/**
 * Secret parameters: kept out of everything a run writes or emits. Step parameters hold a secret as
 * `{ "$secret": name }` and get the value back only inside the handler that needs it; everything else
 * (journal records, events, reports) passes through a mask that replaces each secret value — whole or
 * inside a longer string — with `***`.
 */
import { StepError } from '../errors.js';
import type { Json } from './types.js';

/** What a secret value is replaced with. */
export const MASK = '***';

/** Masks secret values in any JSON-like data. */
export interface Masker {
  mask<T>(value: T): T;
  text(value: string): string;
}

/**
 * A masker for a run's secret values (strings of one character or more, and the text of numbers).
 *
 * @example
 * ```ts
 * createMasker({ token: 's3cr3t' }).text('Authorization: s3cr3t'); // 'Authorization: ***'
 * ```
 */
export function createMasker(secrets: Record<string, Json>): Masker {
  const needles = [...new Set(Object.values(secrets).filter((v) => typeof v === 'string' || typeof v === 'number').map(String))]
    .filter((s) => s.length > 0)
    // Longest first, so that a secret containing another is masked whole.
    .sort((a, b) => b.length - a.length);
  const text = (value: string): string => {
    let out = value;
    for (const n of needles) if (out.includes(n)) out = out.split(n).join(MASK);
    return out;
  };
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return text(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object') {
      if (value instanceof Error) return value;
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    }
    return value;
  };
  return {
    mask: <T>(value: T) => (needles.length === 0 ? value : (walk(value) as T)),
    text: (value) => (needles.length === 0 ? value : text(value)),
  };
}

/** Fields of journal records that the engine reads to replay a run: names and numbers, never data. */
const STRUCTURAL = new Set(['type', 'index', 'stepId', 'state', 'status', 'position', 'resume', 'pid', 'mode', 'name', 'failedIndex', 'attempt', 'willRetry', 'awaiting', 'force', 'roundTrips', 'pollRoundTrips', 'retries']);

/** Fields of a step snapshot that replay reads besides the common ones: the machine's state and its actors. */
const SNAPSHOT_STRUCTURAL = new Set(['value', 'children']);

/**
 * Masks the data of a journal record and leaves alone what replay reads: its structural fields, and
 * of a step snapshot the machine's state and actor ids (its context is data).
 */
export function maskRecord<T>(record: T, masker: Masker): T {
  if (!record || typeof record !== 'object') return record;
  const snapshot = (record as { type?: unknown }).type === 'step.snapshot';
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record as Record<string, unknown>)) {
    out[key] = STRUCTURAL.has(key) || (snapshot && SNAPSHOT_STRUCTURAL.has(key)) ? value : masker.mask(value);
  }
  return out as T;
}

/** Replaces parameters that are exactly a secret's value with `{ "$secret": name }`, for the journal. */
export function secretFree(value: Json, secrets: Record<string, Json>): Json {
  const byValue = new Map(Object.entries(secrets).map(([name, v]) => [JSON.stringify(v), name]));
  if (byValue.size === 0) return value;
  const walk = (v: Json): Json => {
    const name = typeof v === 'string' ? byValue.get(JSON.stringify(v)) : undefined;
    if (name !== undefined) return { $secret: name };
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value);
}

/** Puts secret values back where parameters hold `{ "$secret": name }`. */
export function restoreSecrets(value: Json, secrets: Record<string, Json>): Json {
  if (Array.isArray(value)) return value.map((v) => restoreSecrets(v, secrets));
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$secret') {
      const name = (value as { $secret: string }).$secret;
      if (!(name in secrets)) throw new StepError('SECRET_MISSING', `secret parameter ${name} is not set for this resume`);
      return secrets[name];
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, restoreSecrets(v, secrets)]));
  }
  return value;
}
