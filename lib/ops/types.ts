import type { SystemStatus } from "../jobs/breakers.ts";
import type { IntegrationWindows } from "../jobs/stats.ts";
import type { Ref } from "../links/refs.ts";
import type { ParkedRequest } from "../sync/glpi-forms/parked.ts";
import type { IntegrationId } from "../sync/registry.ts";

/**
 * What the operators' view (status page, CLI) shows. The data layer (lib/jobs/stats.ts,
 * lib/sync/glpi-forms/parked.ts, lookup.ts, overview.ts, dead-letters.ts) produces these; the page and the CLI only render them.
 */

export type { SystemStatus } from "../jobs/breakers.ts";
// The counters' vocabulary belongs to the job stats (lib/jobs/stats.ts), the parked request to the
// GLPI forms integration (lib/sync/glpi-forms/parked.ts); the operators' view re-exports them.
export { COUNTERS, type Counter, type WindowCounts } from "../jobs/stats.ts";
export type { ParkedRequest } from "../sync/glpi-forms/parked.ts";
/** The integrations, named as their job types are prefixed (`otrs-redmine.ticket`): the registry's ids. */
export { INTEGRATION_IDS, type IntegrationId } from "../sync/registry.ts";

export interface IntegrationStatus extends IntegrationWindows {
  integration: IntegrationId;
  /** False when the deployment's config has no section for it (its counts are then all zero). */
  configured: boolean;
  /** Its pollers (none for an integration without, or not configured). */
  pollers: PollerStatus[];
  /** Its jobs queue's oldest message (absent when not configured). */
  queue?: QueueStatus;
  /** A poller's lag or the queue's oldest age is past its threshold (`monitoring` in the config). */
  warning: boolean;
}

/** A poller's position, measured at the overview's time. */
export interface PollerStatus {
  /** Its cursor's name (`rt:main:transactions`). */
  cursor: string;
  system: string;
  /** When its last successful run ended; absent before its first. */
  lastSuccessAt?: string;
  /** What it has read up to: its last complete run's start, or its cursor when it stopped at its page limit. */
  caughtUpTo?: string;
  /** The timestamp of the last item it handed on. */
  cursorAt?: string;
  /** now − caughtUpTo, in seconds; absent before its first successful run. */
  lagSeconds?: number;
  thresholdSeconds: number;
  warning: boolean;
}

/** An integration's jobs queue: how long its oldest message has waited. */
export interface QueueStatus {
  /** Seconds (0: empty); absent when it cannot be read (CloudWatch has no recent datapoint). */
  oldestAgeSeconds?: number;
  thresholdSeconds: number;
  warning: boolean;
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

export interface StatusOverview {
  generatedAt: string;
  integrations: IntegrationStatus[];
  deadLetters: DeadLetterView[];
  /** Messages in the dead-letter queue that are not even JSON (left in place, counted). */
  unreadableDeadLetters: number;
  parked: ParkedRequest[];
  /** Each configured system instance's breaker: up, failing, down since… with the jobs waiting for it. */
  systems?: SystemStatus[];
}

export interface AspectView {
  name: string;
  syncedAt: string;
  /** What the bridge could not sync of this aspect, and why (e.g. an image iTop would not let it read). */
  notes?: string[];
  /** Figures the aspect keeps about itself (a conversation: entries copied each way, the last one). */
  summary?: Record<string, string | number>;
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
