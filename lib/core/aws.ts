import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ConfigError } from "./errors.ts";

/**
 * AWS clients, created once per container on first use. Endpoints come from the SDK's own
 * AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS variables, which the local stack and the tests set
 * to dynalite and fauxqs; deployed functions leave them unset.
 */
let documentClient: DynamoDBDocumentClient | undefined;
let sqsClient: SQSClient | undefined;

/**
 * Always talk to the configured endpoint: the SDK otherwise sends each call to the host of the queue
 * URL, which fauxqs names `sqs.<region>.localhost` (on AWS the two are the same host anyway).
 */
export const SQS_OPTIONS = { useQueueUrlAsEndpoint: false } as const;

export function dynamo(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}

export function sqs(): SQSClient {
  sqsClient ??= new SQSClient(SQS_OPTIONS);
  return sqsClient;
}

/** A required environment variable set by serverless.yml (table name, queue URLs). */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new ConfigError([{ path: name, message: "environment variable is not set" }], "environment");
  return value;
}
