import { dynamo, requiredEnv, sqs } from "../core/aws.ts";
import { getConfig } from "../core/config.ts";
import type { Config } from "../core/config-schema.ts";
import { CursorStore } from "../links/cursors.ts";
import { IdempotencyStore } from "../links/idempotency.ts";
import { LinkStore } from "../links/store.ts";
import { JobQueue } from "./queue.ts";
import { JobRecords } from "./records.ts";

/** The shared stores and queues every route and the worker use, built once per container. */
export interface JobRuntime {
  config: Readonly<Config>;
  links: LinkStore;
  idempotency: IdempotencyStore;
  cursors: CursorStore;
  records: JobRecords;
  queue: JobQueue;
}

let runtime: JobRuntime | undefined;

/** Builds the runtime from config and the environment (LINKS_TABLE, JOBS_QUEUE_URL, DEAD_LETTER_QUEUE_URL). */
export function jobRuntime(): JobRuntime {
  if (runtime) return runtime;
  const config = getConfig();
  const table = requiredEnv("LINKS_TABLE");
  runtime = {
    config,
    links: new LinkStore(dynamo(), table),
    idempotency: new IdempotencyStore(dynamo(), table),
    cursors: new CursorStore(dynamo(), table),
    records: new JobRecords(dynamo(), table, config.jobs.recordTtlDays),
    queue: new JobQueue(sqs(), requiredEnv("JOBS_QUEUE_URL"), requiredEnv("DEAD_LETTER_QUEUE_URL")),
  };
  return runtime;
}
