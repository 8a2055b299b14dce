import type { Ref } from "../links/refs.ts";
import type { IntegrationId } from "../sync/registry.ts";

/**
 * What the operators' view (status page, CLI) shows. The data layer (lib/ops/stats.ts, parked.ts,
 * lookup.ts, overview.ts, dead-letters.ts) produces these; the page and the CLI only render them.
 */

/** The integrations, named as their job types are prefixed (`otrs-redmine.ticket`): the registry's ids. */
export { INTEGRATION_IDS, type IntegrationId } from "../sync/registry.ts";

/** Counted per integration, per time bucket. */
export const COUNTERS = ["received", "succeeded", "retrying", "deadLettered"] as const;
export type Counter = (typeof COUNTERS)[number];
export type WindowCounts = Record<Counter, number>;

export interface IntegrationStatus {
  integration: IntegrationId;
  /** False when the deployment's config has no section for it (its counts are then all zero). */
  configured: boolean;
  lastHour: WindowCounts;
  lastDay: WindowCounts;
  lastSuccess?: { at: string; jobId: string; type: string };
  lastFailure?: { at: string; jobId: string; type: string; code: string; reason: string };
}

/** One object in one system, with where to open it. */
export interface ObjectView {
  ref: Ref;
  /** `otrs:main:ticket:4711`, as stored. */
  key: string;
  /** Its page in its own system's web UI, when the system's URL is known. */
  url?: string;
}

/** A dead letter as the page lists it. `id` is the job id (what a replay names). */
export interface DeadLetterView {
  id: string;
  type: string;
  integration: IntegrationId | "unknown";
  attempts: number;
  error: { code: string; message: string };
  failedAt: string;
  /** The source object the job syncs (from its input), when the job names one. */
  source?: ObjectView;
}

/** A GLPI ticket request whose CNPJ matched no entity: kept so that it can be assigned and replayed. */
export interface ParkedRequest {
  /** The job id the request was given (replaying it keeps the id, so it never opens two tickets). */
  id: string;
  receivedAt: string;
  cnpj: string;
  reason: string;
  /** The validated form submission, as received. */
  submission: Record<string, unknown>;
  /** Set once an operator replayed it into an entity; the request is dropped when its ticket exists. */
  replay?: { entityId: number; requestedAt: string };
}

export interface StatusOverview {
  generatedAt: string;
  integrations: IntegrationStatus[];
  deadLetters: DeadLetterView[];
  /** Messages in the dead-letter queue that are not even JSON (left in place, counted). */
  unreadableDeadLetters: number;
  parked: ParkedRequest[];
}

export interface AspectView {
  name: string;
  syncedAt: string;
  /** What the bridge could not sync of this aspect, and why (e.g. an image iTop would not let it read). */
  notes?: string[];
}

/** One link found for a looked-up object: both ends and what was last synced of each aspect. */
export interface LinkView {
  source: ObjectView;
  target: ObjectView;
  aspects: AspectView[];
  createdAt: string;
  updatedAt: string;
}

export interface LinkLookup {
  query: { system: string; id: string };
  /** Every link in which the object is the source or the target, on any configured instance. */
  links: LinkView[];
}
