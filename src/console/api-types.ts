/**
 * What the console's JSON API sends to the page: view models built on the server from journals and
 * fleet records, never raw journal records (no checksums, no step contexts, no parameters marked
 * secret). Types only: the page's bundle imports them too.
 */

/** How a run's outcome is shown: the same three fields on every page. */
export type OutcomeFields = {
  /** The outcome: the engine's (`src/engine/outcome.ts`), or `pending` / `damaged` (`src/console/outcome.ts`). */
  outcomeId: string;
  /**
   * Its words, the CLI's and the reports' (`outcomeLabel`: a failed plan reads "plan failed (nothing
   * changed)"; `interrupted (lease expired)` for a run whose driver is gone, as `runbook status` says).
   */
  outcome: string;
  /** Its tone, the colour class: `ok`, `warn` or `bad`. */
  outcomeClass: string;
};

/** A run's row: in the list, and as a host's row in its fleet's matrix. */
export type RunRow = OutcomeFields & {
  kind: 'run';
  runId: string;
  runbook: string;
  target: string;
  /**
   * The run's status; `awaiting-resume` for a run whose journal says `running` but whose driver is
   * gone (`leaseExpired`). A fleet's host without a run: `pending`, `skipped`, `not-started` (an
   * interrupted fleet did not start it), `unreachable`, `held` (another run's lease refused it), or
   * `refused` (refused at its turn for input to fix first: a ValidationError, a damaged journal; `why` says it).
   */
  status: string;
  /** Set when the journal says `running` but no driver holds the run's lease: it waits for `runbook resume`. */
  leaseExpired?: true;
  /** Step id → its status ('-' not reached). */
  steps: Record<string, string>;
  currentStep: string | null;
  changes: number;
  startedAt: string;
  endedAt: string;
  /** The first line of the run's error: why a failed host failed. */
  why?: string;
  /** When the run is a fleet's host. */
  fleetId?: string;
  host?: string;
};

export type FleetCounts = Record<string, number>;

/** A fleet's row in the list. */
export type FleetRow = {
  kind: 'fleet';
  fleetId: string;
  runbook: string;
  status: string;
  checkMode: boolean;
  hosts: number;
  /** Outcome → hosts. */
  counts: FleetCounts;
  hostNames: string[];
  startedAt: string;
  endedAt: string;
};

export type ListResponse = { items: (RunRow | FleetRow)[]; store: string };

export type FleetHost = RunRow & { wave: string; name: string };

export type FleetView = {
  fleetId: string;
  runbook: string;
  checkMode: boolean;
  status: string;
  startedAt: string;
  steps: string[];
  waves: { name: string; hosts: FleetHost[] }[];
  counts: FleetCounts;
  budget: { maxFailures: number; failures: number; spent: boolean; stopped: string[] };
  concurrency: number;
  reports: string[];
};

export type Downtime = { from: string; to: string; polls: number };

export type StepView = {
  id: string;
  kind: string;
  status: string;
  summary: string;
  startedAt?: string;
  endedAt?: string;
  roundTrips: number;
  pollRoundTrips: number;
  retries: number;
  attempts: { phase: string; attempt: number; willRetry: boolean; code: string; message: string; at: string }[];
  /** `key`: a whole key (created or deleted), counted apart from values; `maybe`: may have been written (the journal cannot tell). */
  changes: { target: string; field: string; before: string; after: string; type: string; action: string; view: string; key: boolean; maybe?: true }[];
  compensation?: { status: string; detail: string };
  error?: { code: string; message: string };
  downtime?: Downtime;
};

export type RunView = OutcomeFields & {
  runId: string;
  runbook: string;
  target: string;
  /** As a row's (`awaiting-resume` when its driver is gone: `leaseExpired`). */
  status: string;
  leaseExpired?: true;
  advice: string | null;
  checkMode: boolean;
  startedAt: string;
  endedAt: string;
  params: { name: string; value: string }[];
  steps: StepView[];
  segments: { at: string; mode: string; resume: boolean }[];
  error?: { code: string; message: string };
  reason?: string;
  handshakes: { columns: { stepId: string; verdict: string }[]; rows: { endpoint: string; protocol: string; cells: ({ outcome: string; evidence: string } | null)[] }[]; notTestable: string } | null;
  /** Changes still on the host after a failed rollback; `maybe`: the run may have written it (the journal cannot tell). */
  remaining: { target: string; field: string; before: string; after: string; maybe?: true }[];
  files: string[];
  fleetId?: string;
  host?: string;
  /** Set when the journal cannot be read: the page says so, the files are still offered. */
  damaged?: string;
};

/** One server-sent `update`: the rows that changed since the last one, and the fleets they touch. */
export type UpdateEvent = { rows: RunRow[]; fleets: string[] };

export type SessionInfo = { csrf: string; allowActions: boolean; store: string };
