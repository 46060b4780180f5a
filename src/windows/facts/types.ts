/**
 * The shape of a Windows fact: a value the engine decides by, with the Microsoft document that states it.
 * Code asks the table (`facts/index.ts`) for a fact's value; it never carries its own copy of one.
 */

/**
 * A Microsoft document and the sentence in it that states the fact, quoted as written there.
 *
 * @example
 * ```ts
 * const source: FactSource = {
 *   title: 'Transport Layer Security (TLS) registry settings',
 *   url: 'https://learn.microsoft.com/en-us/windows-server/security/tls/tls-registry-settings',
 *   quote: 'the sentence of the page that states the fact, verbatim',
 * };
 * ```
 */
export type FactSource = {
  /** The document's title as Microsoft publishes it. */
  title: string;
  /** Its address. */
  url: string;
  /** The sentence (or table row) that states the fact, verbatim. */
  quote: string;
};

/**
 * How a fact is proven:
 * - `microsoft`: a Microsoft document states it (the sources say where);
 * - `real-server`: read on a real server (the note says which, and how);
 * - `none`: nothing proves it — such a fact is `unknown` and never decides on its own.
 *
 * @example
 * ```ts
 * const proven = (proof: FactProof) => proof !== 'none';
 * console.log(WINDOWS_FACTS.filter((f) => proven(f.proof)).length);
 * ```
 */
export type FactProof = 'microsoft' | 'real-server' | 'none';

/**
 * - `stated`: the sources state it and agree;
 * - `disputed`: Microsoft's documents disagree — the engine reads the host instead of assuming, and the
 *   note names the documents it could not settle;
 * - `unknown`: no document states it — the engine does not guess; the plan and report say so.
 *
 * @example
 * ```ts
 * const settled: FactStatus[] = ['stated'];
 * const open = WINDOWS_FACTS.filter((f) => !settled.includes(f.status));
 * ```
 */
export type FactStatus = 'stated' | 'disputed' | 'unknown';

/**
 * One fact of the table. `value` is what code reads; everything else is its evidence.
 *
 * @example
 * ```ts
 * const fact: WindowsFact | undefined = WINDOWS_FACTS.find((f) => f.topic === 'SCHANNEL');
 * if (fact) console.log(`${fact.id}: ${fact.statement} (${fact.status}, ${fact.sources.length} source(s))`);
 * ```
 */
export interface WindowsFact<T = unknown> {
  /** Stable identifier, dotted by topic: `sql.tls12-first-builds`. */
  id: string;
  /** The topic it belongs to (the section of `docs/windows-facts.md`). */
  topic: string;
  /** What the engine takes from it, in this project's words. */
  statement: string;
  /** The data code decides by. */
  value: T;
  status: FactStatus;
  proof: FactProof;
  /** The Microsoft documents that state it; at least one unless `proof` is `none` or `real-server`. */
  sources: readonly FactSource[];
  /** Why a fact is disputed or unknown, what it was read against, or how a real server proved it. */
  note?: string;
}

/**
 * Declares a fact (typed by its value).
 *
 * @example
 * ```ts
 * const tls13FirstBuild = defineFact({
 *   id: 'schannel.tls13-first-build',
 *   topic: 'SCHANNEL',
 *   statement: 'TLS 1.3 exists from Windows Server 2022 (build 20348)',
 *   value: 20348,
 *   status: 'stated',
 *   proof: 'microsoft',
 *   sources: [{ title: 'Protocols in TLS/SSL (Schannel SSP)', url: 'https://learn.microsoft.com/windows/win32/secauthn/protocols-in-tls-ssl--schannel-ssp-', quote: '…' }],
 * });
 * ```
 */
export function defineFact<T>(fact: WindowsFact<T>): WindowsFact<T> {
  return fact;
}
