import { dynamo, requiredEnv, sqs } from "../core/aws.ts";
import { getConfig } from "../core/config.ts";
import type { Config } from "../core/config-schema.ts";
import { logger } from "../core/logger.ts";
import { CursorStore } from "../links/cursors.ts";
import { IdempotencyStore } from "../links/idempotency.ts";
import { LinkStore } from "../links/store.ts";
import { SystemSlots } from "../links/system-slots.ts";
import { JobQueue } from "./queue.ts";
import { JobRecords } from "./records.ts";
import { JobStats } from "./stats.ts";

/** The shared stores and queues every route and the worker use, built once per container. */
export interface JobRuntime {
  config: Readonly<Config>;
  links: LinkStore;
  idempotency: IdempotencyStore;
  cursors: CursorStore;
  records: JobRecords;
  /** The slots that cap concurrent calls per external system (lib/jobs/system-caps.ts). */
  slots: SystemSlots;
  /** Built on first use: a route that only reads (a job's status) never creates the SQS client. */
  readonly queue: JobQueue;
  /** The operators' counters (lib/jobs/stats.ts); built on first use, like the queue. */
  readonly stats: JobStats;
}

let runtime: JobRuntime | undefined;
let records: JobRecords | undefined;

/** Builds the runtime from config and the environment (LINKS_TABLE, JOBS_QUEUE_URL, DEAD_LETTER_QUEUE_URL). */
export function jobRuntime(): JobRuntime {
  if (runtime) return runtime;
  const config = getConfig();
  const table = requiredEnv("LINKS_TABLE");
  let queue: JobQueue | undefined;
  let stats: JobStats | undefined;
  runtime = {
    config,
    links: new LinkStore(dynamo(), table),
    idempotency: new IdempotencyStore(dynamo(), table),
    cursors: new CursorStore(dynamo(), table),
    records: jobRecords(),
    slots: new SystemSlots(dynamo(), table),
    get queue() {
      queue ??= new JobQueue(sqs(), requiredEnv("JOBS_QUEUE_URL"), requiredEnv("DEAD_LETTER_QUEUE_URL"));
      return queue;
    },
    get stats() {
      stats ??= new JobStats(dynamo(), table, { logger });
      return stats;
    },
  };
  return runtime;
}

/**
 * The job status records alone, for a function that only reads them: it imports neither the queue
 * nor the SQS client (the bundler leaves out what this module's other exports use).
 */
export function jobRecords(): JobRecords {
  records ??= new JobRecords(dynamo(), requiredEnv("LINKS_TABLE"), getConfig().jobs.recordTtlDays);
  return records;
}
