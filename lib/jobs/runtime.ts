import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { dynamo, requiredEnv, sqs } from "../core/aws.ts";
import { getConfig } from "../core/config.ts";
import type { Config } from "../core/config-schema.ts";
import { logger } from "../core/logger.ts";
import { CursorStore } from "../links/cursors.ts";
import { IdempotencyStore } from "../links/idempotency.ts";
import { LinkStore } from "../links/store.ts";
import { SystemBreakers } from "../links/system-breakers.ts";
import { SystemSlots } from "../links/system-slots.ts";
import { breakerSettings } from "./breakers.ts";
import { type IntegrationQueues, JobQueue, parseIntegrationQueues } from "./queue.ts";
import { JobRecords } from "./records.ts";
import { JobStats } from "./stats.ts";

/**
 * The clients and names every part of a function shares: the config, the DynamoDB client and the
 * links table, the SQS client and the queues. Built once per container from the environment; the
 * operators' view (lib/ops/deps.ts) works with this alone, the routes and workers with the stores
 * JobRuntime adds on top of the same object's parts.
 */
export interface RuntimeBase {
  config: Readonly<Config>;
  db: DynamoDBDocumentClient;
  table: string;
  /** Built on first use (a route that only reads never creates the SQS client). */
  readonly sqs: SQSClient;
  readonly jobsQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** Each integration's queue and dead-letter queue (JOB_QUEUES), by integration id. */
  readonly jobQueues: IntegrationQueues;
}

/** The shared stores and queues every route and the worker use, on the function's RuntimeBase. */
export interface JobRuntime extends RuntimeBase {
  links: LinkStore;
  idempotency: IdempotencyStore;
  cursors: CursorStore;
  records: JobRecords;
  /** The slots that cap concurrent calls per external system (lib/jobs/system-caps.ts). */
  slots: SystemSlots;
  /** The breaker of each external system, beside its slots (lib/jobs/breakers.ts). */
  breakers: SystemBreakers;
  /** Built on first use: a route that only reads (a job's status) never creates the SQS client. */
  readonly queue: JobQueue;
  /** The operators' counters (lib/jobs/stats.ts); built on first use, like the queue. */
  readonly stats: JobStats;
}

let base: RuntimeBase | undefined;
let jobQueues: IntegrationQueues | undefined;
let runtime: JobRuntime | undefined;
let records: JobRecords | undefined;

/**
 * The function's clients, config and resource names from the environment (LINKS_TABLE,
 * JOBS_QUEUE_URL, DEAD_LETTER_QUEUE_URL, JOB_QUEUES), once per container. Imports no store: a function that
 * needs only these (the operators' routes) bundles none of them.
 */
export function runtimeBase(): RuntimeBase {
  base ??= {
    config: getConfig(),
    db: dynamo(),
    table: requiredEnv("LINKS_TABLE"),
    get sqs() {
      return sqs();
    },
    get jobsQueueUrl() {
      return requiredEnv("JOBS_QUEUE_URL");
    },
    get deadLetterQueueUrl() {
      return requiredEnv("DEAD_LETTER_QUEUE_URL");
    },
    get jobQueues() {
      jobQueues ??= parseIntegrationQueues(process.env.JOB_QUEUES);
      return jobQueues;
    },
  };
  return base;
}

/** Builds the stores on the function's RuntimeBase, once per container. */
export function jobRuntime(): JobRuntime {
  if (runtime) return runtime;
  const shared = runtimeBase();
  const { db, table } = shared;
  let queue: JobQueue | undefined;
  let stats: JobStats | undefined;
  runtime = {
    config: shared.config,
    db,
    table,
    get sqs() {
      return shared.sqs;
    },
    get jobsQueueUrl() {
      return shared.jobsQueueUrl;
    },
    get deadLetterQueueUrl() {
      return shared.deadLetterQueueUrl;
    },
    get jobQueues() {
      return shared.jobQueues;
    },
    links: new LinkStore(db, table),
    idempotency: new IdempotencyStore(db, table),
    cursors: new CursorStore(db, table),
    records: jobRecords(),
    slots: new SystemSlots(dynamo(), table),
    breakers: new SystemBreakers(dynamo(), table, () => breakerSettings(shared.config.jobs)),
    get queue() {
      queue ??= new JobQueue(shared.sqs, shared.jobsQueueUrl, shared.deadLetterQueueUrl, shared.jobQueues);
      return queue;
    },
    get stats() {
      stats ??= new JobStats(db, table, { logger });
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
  // Not through runtimeBase(): its SQS getter would bring the SQS client into this function's bundle.
  records ??= new JobRecords(dynamo(), requiredEnv("LINKS_TABLE"), getConfig().jobs.recordTtlDays);
  return records;
}
