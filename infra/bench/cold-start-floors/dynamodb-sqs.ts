import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** Cold-start floor of the SyncRouteRole, PollerRole and WorkerRole functions: DynamoDB and SQS. */
export const clients = [
  DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } }),
  new SQSClient({ useQueueUrlAsEndpoint: false }),
];

export const handler = async () => ({ statusCode: 200, body: "" });
