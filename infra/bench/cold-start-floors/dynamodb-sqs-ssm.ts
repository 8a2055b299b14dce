import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/**
 * Cold-start floor of the SyncRouteRole, PollerRole and integration worker roles' functions: DynamoDB and SQS, and
 * the SSM client their secrets come from in a deployed stage. Like the functions in the benchmark
 * (every secret in the environment), it loads the SSM client's module but builds no client.
 */
export const clients = [
  DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } }),
  new SQSClient({ useQueueUrlAsEndpoint: false }),
];
export const ssm = [SSMClient, GetParametersCommand];

export const handler = async () => ({ statusCode: 200, body: "" });
