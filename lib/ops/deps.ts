import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Config } from "../core/config-schema.ts";
import type { IntegrationQueues } from "../jobs/queue.ts";
import { runtimeBase } from "../jobs/runtime.ts";
import type { QueueAgeReader } from "./queue-age.ts";

/**
 * What the operators' view works with: the links table (links, counters, parked requests, job
 * records), both queues and the config. Passed explicitly so that the CLI can point it at a stage
 * and the tests at the emulators.
 */
export interface OpsDeps {
  db: DynamoDBDocumentClient;
  table: string;
  sqs: SQSClient;
  jobsQueueUrl: string;
  deadLetterQueueUrl: string;
  /** Each integration's queue and dead-letter queue; left out, every job uses the pair above. */
  jobQueues?: IntegrationQueues | undefined;
  config: Readonly<Config>;
  /** How the queues' oldest ages are read; left out, as the SQS endpoint says (lib/ops/queue-age.ts). */
  queueAges?: QueueAgeReader;
}

/**
 * The deps from the Lambda environment (LINKS_TABLE, JOBS_QUEUE_URL, DEAD_LETTER_QUEUE_URL): the
 * function's one container (lib/jobs/runtime.ts), not a second one building the same clients. Only
 * AWS clients and config: no adapter is loaded until a lookup needs one.
 */
export function opsDeps(): OpsDeps {
  return runtimeBase();
}
