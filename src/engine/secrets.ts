/**
 * Secret parameters: kept out of everything a run writes or emits. Step parameters hold a secret as
 * `{ "$secret": name }` and get the value back only inside the handler that needs it; everything else
 * (journal records, events, reports) passes through a mask that replaces each secret value — whole or
 * inside a longer string, and in the encoded forms `secret-forms.ts` lists — with `***`.
 */
import { StepError } from '../errors.js';
import { escapeRegExp } from '../util/escape-regexp.js';
import { secretForms, type SecretForms } from './secret-forms.js';
import type { Json } from './types.js';

/** What a secret value is replaced with. */
export const MASK = '***';

/** Masks secret values in any JSON-like data. */
export interface Masker {
  mask<T>(value: T): T;
  text(value: string): string;
}

/**
 * Secrets shorter than this are masked only where they stand as a whole word (between characters that
 * are not letters or digits): masked everywhere, a secret `ab` would turn `table` into `t***le`.
 */
export const MIN_INSIDE = 4;

/**
 * A masker for a run's secret values (strings of one character or more, and the text of numbers):
 * each is replaced wherever it occurs — inside longer strings too, and in the forms
 * {@link secretForms} lists: URL-encoded (either case of `%xx`, `+` for a space), JSON-escaped once
 * or twice, XML/HTML-escaped, base64 and base64url of its UTF-8 and UTF-16LE bytes, hex of those
 * bytes run together or comma-separated (where it spells 8 bytes or more), and in another case (a
 * secret of 8 characters or more) — except that a secret shorter than {@link MIN_INSIDE} characters
 * is replaced only where it stands as a whole word, as itself, so that it does not mangle what is not
 * secret. A secret whose text is a whole number of {@link MIN_INSIDE} digits or more (a PIN a step
 * writes as a REG_DWORD) is that number too: a registry value's data that is that number is replaced
 * (by the string `***`; other numbers are not looked at, so that a secret `8443` leaves ports alone),
 * and so are its decimal text and its hex as a plan and a `.reg` file write it (`0x02710001`,
 * `dword:02710001`).
 *
 * What is masked is the union of every match of every form of every secret: where matches overlap
 * (two secrets sharing characters, one inside another's encoded form) or touch, they become one
 * `***`, so that no part of any of them is left showing.
 *
 * All forms of all secrets are one regular expression, so that a string is scanned once for where
 * matches begin, and only a string that holds a piece every form has (its anchors) is scanned at all;
 * a run without secrets costs nothing.
 *
 * @example
 * ```ts
 * const masker = createMasker({ password: 'p@ss&w0rd-1' });
 * masker.text('Authorization: p@ss&w0rd-1'); // 'Authorization: ***'
 * masker.text('POST pw=p%40ss%26w0rd-1'); // 'POST pw=***'
 * masker.text('echo P@SS&W0RD-1'); // 'echo ***' (11 characters: any case)
 * masker.text('<Password>p@ss&amp;w0rd-1</Password>'); // '<Password>***</Password>'
 * masker.text('key 7040737326773072642D31'); // 'key ***'
 * masker.text('-EncodedCommand JABwACAAPQAgACIAcABAAHMAcwAmAHcAMAByAGQALQAxACIA'); // '-EncodedCommand JABwACAAPQAgACIA***CIA'
 * createMasker({ pin: '123' }).text('pin 123, build 12345'); // 'pin ***, build 12345'
 * createMasker({ pin: '40960001' }).mask({ type: 'REG_DWORD', data: 40960001, shown: '0x02710001 (40960001)' }); // { type: 'REG_DWORD', data: '***', shown: '*** (***)' }
 * ```
 */
export function createMasker(secrets: Record<string, Json>): Masker {
  const given = [...new Set(Object.values(secrets).filter((v) => typeof v === 'string' || typeof v === 'number').map(String))].filter((s) => s.length > 0);
  // A secret of digits may become a number (a PIN a step writes as a REG_DWORD): that number, its
  // decimal text and its hex are the secret too.
  const numbers = new Set(given.flatMap((v) => secretNumber(v) ?? []));
  const values = [...new Set([...given, ...[...numbers].map(String)])];
  const forms = [...values.filter((v) => v.length >= MIN_INSIDE).map(secretForms), ...[...numbers].map(numberForms)];
  // Shortest first, so that the search of a text stops at the first anchor longer than it: most of a
  // record's strings are short, and each secret has a dozen anchors (its hex forms' four are long).
  const anchors = [...new Set(forms.flatMap((f) => f.anchors))].sort((a, b) => a.length - b.length);
  const patterns = [...new Set(forms.flatMap((f) => f.patterns))];
  // Compiled when first needed: a regular expression of every form takes V8 a millisecond or more to
  // compile, more than masking a run's journal costs, and most runs' records hold no secret at all.
  let all: RegExp | undefined;
  let each: RegExp[] | undefined;
  /**
   * Where the longest match of any form beginning at `at` ends. The alternation gives the first form
   * that matches there, not the longest: `zzab` before `abcdefgh`'s longer match at the same place,
   * or a short secret's escaped form longer than a long one's plain form.
   */
  const endOfLongest = (value: string, at: number, first: number): number => {
    let end = at + first;
    if (patterns.length === 1) return end;
    for (const re of (each ??= patterns.map((p) => new RegExp(p, 'y')))) {
      re.lastIndex = at;
      const m = re.exec(value);
      if (m && at + m[0].length > end) end = at + m[0].length;
    }
    return end;
  };
  /** Every form's matches, overlapping ones too (the search starts again one place after each start), as one `***` per run of them. */
  const maskForms = (value: string): string => {
    const re = (all ??= new RegExp(patterns.join('|'), 'g'));
    re.lastIndex = 0;
    let m = re.exec(value);
    if (!m) return value;
    let out = '';
    let from = 0;
    let start = m.index;
    let end = endOfLongest(value, m.index, m[0].length);
    for (re.lastIndex = m.index + 1; (m = re.exec(value)); re.lastIndex = m.index + 1) {
      const stop = endOfLongest(value, m.index, m[0].length);
      // Overlapping or touching: one span.
      if (m.index <= end) end = Math.max(end, stop);
      else {
        out += value.slice(from, start) + MASK;
        from = end;
        start = m.index;
        end = stop;
      }
    }
    return out + value.slice(from, start) + MASK + value.slice(end);
  };
  // A whole word: not inside a run of letters and digits. Longest first, so that a short secret
  // containing another is masked whole.
  const short = values
    .filter((v) => v.length < MIN_INSIDE)
    .sort((a, b) => b.length - a.length)
    .map((v) => `(?<![\\p{L}\\p{N}])${escapeRegExp(v)}(?![\\p{L}\\p{N}])`);
  const words = short.length > 0 ? new RegExp(short.join('|'), 'gu') : undefined;
  const text = (value: string): string => {
    let out = value;
    if (anchors.length > 0) {
      // The common case: no anchor in the text, so no form of a secret either (see secretForms).
      const lower = value.toLowerCase();
      for (const anchor of anchors) {
        if (anchor.length > lower.length) break;
        if (!lower.includes(anchor)) continue;
        out = maskForms(value);
        break;
      }
    }
    return words ? out.replace(words, MASK) : out;
  };
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return text(value);
    if (!value || typeof value !== 'object' || value instanceof Error) return value;
    if (Array.isArray(value)) return value.map(walk);
    // A plain loop rather than Object.fromEntries(Object.entries(…)): this runs on every record, and
    // the arrays of pairs cost more than the scan. A key `__proto__` (from parsed JSON) stays a key.
    const out: Record<string, unknown> = {};
    // A registry value whose number is a secret's (only there: a secret `8443` leaves ports alone).
    const holdsNumber = numbers.size > 0 && registryNumber(value, numbers);
    for (const key of Object.keys(value)) {
      const masked = holdsNumber && key === 'data' ? MASK : walk((value as Record<string, unknown>)[key]);
      if (key === '__proto__') Object.defineProperty(out, key, { value: masked, enumerable: true, writable: true, configurable: true });
      else out[key] = masked;
    }
    return out;
  };
  return {
    mask: <T>(value: T) => (forms.length === 0 && !words ? value : (walk(value) as T)),
    text: (value) => (forms.length === 0 && !words ? value : text(value)),
  };
}

/**
 * The number a secret's text spells (`40960001`, `+40960001`, `0040960001`), when a step could write it
 * as one (a REG_DWORD's or REG_QWORD's data) and it is at least {@link MIN_INSIDE} digits long as a
 * number: a shorter one (`0042` is 42) would mask ordinary counts and values throughout the journal.
 */
function secretNumber(secret: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(secret)) return undefined;
  const n = Number(secret);
  return Number.isSafeInteger(n) && String(n).length >= MIN_INSIDE ? n : undefined;
}

/** True for a registry value (`{ type: 'REG_DWORD', data: 40960001 }`) whose data is one of `numbers`. */
function registryNumber(value: object, numbers: ReadonlySet<number>): boolean {
  const { type, data } = value as { type?: unknown; data?: unknown };
  return (type === 'REG_DWORD' || type === 'REG_QWORD') && typeof data === 'number' && numbers.has(data);
}

/**
 * The hex of a secret's number, as a plan shows a REG_DWORD (`0x02710001`) and a `.reg` file writes
 * one (`dword:02710001`): with any zero padding, in either case, never inside a longer run of digits
 * and letters. (Its decimal text is masked as a secret of its own.)
 */
function numberForms(n: number): SecretForms {
  const digits = Math.abs(n).toString(16);
  const hex = digits.replace(/[a-f]/g, (d) => `[${d}${d.toUpperCase()}]`);
  return { patterns: [`(?<![0-9A-Za-z])(?:0[xX]|[dD][wW][oO][rR][dD]:)0*${hex}(?![0-9A-Fa-f])`], anchors: [digits] };
}

/**
 * Fields of journal records that the engine reads to replay a run: names and numbers, never data; and
 * the runbook's definition with its fingerprint (a secret parameter has no default, so its value is not
 * in it; masked, the definition would no longer match its fingerprint and the run could not resume).
 */
const STRUCTURAL = new Set(['runbook', 'fingerprint', 'type', 'index', 'stepId', 'state', 'status', 'position', 'resume', 'pid', 'mode', 'name', 'failedIndex', 'attempt', 'willRetry', 'awaiting', 'force', 'roundTrips', 'pollRoundTrips', 'retries']);

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

/**
 * Masks a record for the journal, and refuses a memo of a step that can undo (`undoes(index)`) when the
 * mask would change it. Such a memo (what the step captured for its undo, found again on a resume or a
 * rollback in another process) is data the run acts on: masked, the undo would write `***` back; in
 * clear, the secret would be in the journal. So the step fails there, before its first change (its
 * capture is journaled before any).
 *
 * @example
 * ```ts
 * const masker = createMasker({ token: 's3cr3t-v4lue' });
 * const memo = (value: object) => ({ type: 'memo', index: 0, stepId: 'web', name: 'capture', value });
 * journaledRecord(memo({ url: 'https://x' }), masker, () => true); // unchanged
 * journaledRecord(memo({ auth: 'Bearer s3cr3t-v4lue' }), masker, () => false); // { …, value: { auth: 'Bearer ***' } }
 * journaledRecord(memo({ auth: 'Bearer s3cr3t-v4lue' }), masker, () => true); // throws SECRET_IN_MEMO
 * ```
 */
export function journaledRecord<T>(record: T, masker: Masker, undoes: (index: number) => boolean): T {
  const masked = maskRecord(record, masker);
  const snapshot = record as { type?: unknown; context?: unknown };
  if (snapshot.type === 'step.snapshot' && snapshot.context !== (masked as typeof snapshot).context && JSON.stringify((masked as typeof snapshot).context) !== JSON.stringify(snapshot.context)) {
    // What the step planned or did held a secret's value: the journal keeps only its mask, which a
    // resume must not act on (hostStep).
    return { ...masked, masked: true };
  }
  const memo = record as { type?: unknown; index?: unknown; stepId?: unknown; name?: unknown; value?: unknown };
  if (memo.type !== 'memo' || typeof memo.index !== 'number') return masked;
  const value = (masked as { value?: unknown }).value;
  if (value === memo.value || JSON.stringify(value) === JSON.stringify(memo.value) || !undoes(memo.index)) return masked;
  const what = memo.name === 'capture' ? 'what it captured for its undo' : `what it remembered as "${String(memo.name)}"`;
  throw new StepError('SECRET_IN_MEMO', `step ${String(memo.stepId)}: ${what} holds the value of a secret parameter; the journal can keep it neither in clear nor masked (an undo would write *** back)`, {
    hint: 'the step changed nothing; choose a secret value that does not occur in what the step reads from the target',
  });
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
