import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { dynamo, requiredEnv, sqs } from "../core/aws.ts";
import { getConfig } from "../core/config.ts";
import type { Config } from "../core/config-schema.ts";

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
  config: Readonly<Config>;
}

let deps: OpsDeps | undefined;

/**
 * The deps from the Lambda environment (LINKS_TABLE, JOBS_QUEUE_URL, DEAD_LETTER_QUEUE_URL), built
 * once per container. Only AWS clients and config: no adapter is loaded until a lookup needs one.
 */
export function opsDeps(): OpsDeps {
  deps ??= {
    db: dynamo(),
    table: requiredEnv("LINKS_TABLE"),
    sqs: sqs(),
    jobsQueueUrl: requiredEnv("JOBS_QUEUE_URL"),
    deadLetterQueueUrl: requiredEnv("DEAD_LETTER_QUEUE_URL"),
    config: getConfig(),
  };
  return deps;
}
