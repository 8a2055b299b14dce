import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { IntegrationQueues } from "../../lib/jobs/queue.ts";
import { TARGET_INDEX } from "../../lib/links/store.ts";

/** Names of the local resources; the same shapes as infra/resources.yml declares for AWS. */
export interface LocalResourceNames {
  table: string;
  jobsQueue: string;
  deadLetterQueue: string;
  /** Each integration's queue and dead-letter queue names, by integration id (`queueNames`). */
  integrationQueues?: Readonly<Record<string, { jobs: string; deadLetters: string }>>;
}

export interface LocalResources {
  table: string;
  /** The shared pair: the old jobs queue that the `worker` function drains. */
  jobsQueueUrl: string;
  deadLetterQueueUrl: string;
  /** Each integration's pair (JOB_QUEUES), by integration id. */
  jobQueues: IntegrationQueues;
}

/** The queue names of each integration, as infra/resources.yml names them: `<prefix>-<id>`, `<prefix>-<id>-dlq`. */
export function integrationQueueNames(
  prefix: string,
  ids: readonly string[],
): Record<string, { jobs: string; deadLetters: string }> {
  return Object.fromEntries(
    ids.map((id) => [id, { jobs: `${prefix}-${id}`, deadLetters: `${prefix}-${id}-dlq` }]),
  );
}

/**
 * Creates the links table (with its byTarget index), the shared jobs queue and each integration's, each
 * with its dead-letter queue, as
 * infra/resources.yml declares them. Safe to call when they exist already.
 */
export async function createLocalResources(
  clients: { dynamo: DynamoDBClient; sqs: SQSClient },
  names: LocalResourceNames,
  options: { maxReceiveCount: number; visibilityTimeoutSeconds: number },
): Promise<LocalResources> {
  try {
    await clients.dynamo.send(
      new CreateTableCommand({
        TableName: names.table,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "targetKey", AttributeType: "S" },
        ],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        GlobalSecondaryIndexes: [
          {
            IndexName: TARGET_INDEX,
            KeySchema: [{ AttributeName: "targetKey", KeyType: "HASH" }],
            Projection: { ProjectionType: "ALL" },
          },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let i = 0; i < 100; i++) {
    const table = await clients.dynamo.send(new DescribeTableCommand({ TableName: names.table }));
    if (table.Table?.TableStatus === "ACTIVE") break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const shared = await createQueuePair(clients.sqs, names.jobsQueue, names.deadLetterQueue, options);
  const jobQueues: Record<string, { jobs: string; deadLetters: string }> = {};
  for (const [id, pair] of Object.entries(names.integrationQueues ?? {})) {
    jobQueues[id] = await createQueuePair(clients.sqs, pair.jobs, pair.deadLetters, options);
  }
  return { table: names.table, jobsQueueUrl: shared.jobs, deadLetterQueueUrl: shared.deadLetters, jobQueues };
}

async function createQueuePair(
  sqs: SQSClient,
  jobsQueue: string,
  deadLetterQueue: string,
  options: { maxReceiveCount: number; visibilityTimeoutSeconds: number },
): Promise<{ jobs: string; deadLetters: string }> {
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: deadLetterQueue,
      Attributes: { MessageRetentionPeriod: "1209600" },
    }),
  );
  const dlqArn = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }),
  );
  const jobs = await sqs.send(
    new CreateQueueCommand({
      QueueName: jobsQueue,
      Attributes: {
        VisibilityTimeout: String(options.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn.Attributes?.QueueArn,
          maxReceiveCount: String(options.maxReceiveCount),
        }),
      },
    }),
  );
  if (!jobs.QueueUrl || !dlq.QueueUrl) throw new Error("the local SQS emulator returned no queue URL");
  return { jobs: jobs.QueueUrl, deadLetters: dlq.QueueUrl };
}
