import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export { requiredEnv, SQS_OPTIONS, sqs } from "./sqs.ts";

/**
 * AWS clients, created once per container on first use. Endpoints come from the SDK's own
 * AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS variables, which the local stack and the tests set
 * to dynalite and fauxqs; deployed functions leave them unset. The SQS client is in sqs.ts, apart, so
 * that a function calling only SQS (the drain) bundles no DynamoDB client.
 */
let documentClient: DynamoDBDocumentClient | undefined;

export function dynamo(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}
