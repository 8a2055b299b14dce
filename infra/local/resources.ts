import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { TARGET_INDEX } from "../../lib/links/store.ts";

/** Names of the local resources; the same shapes as infra/resources.yml declares for AWS. */
export interface LocalResourceNames {
  table: string;
  jobsQueue: string;
  deadLetterQueue: string;
}

export interface LocalResources {
  table: string;
  jobsQueueUrl: string;
  deadLetterQueueUrl: string;
}

/**
 * Creates the links table (with its byTarget index) and the jobs queue with its dead-letter queue, as
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
  const dlq = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: names.deadLetterQueue,
      Attributes: { MessageRetentionPeriod: "1209600" },
    }),
  );
  const dlqArn = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }),
  );
  const jobs = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: names.jobsQueue,
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
  return { table: names.table, jobsQueueUrl: jobs.QueueUrl, deadLetterQueueUrl: dlq.QueueUrl };
}
