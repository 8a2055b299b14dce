import { SQSClient } from "@aws-sdk/client-sqs";
import { ConfigError } from "./errors.ts";

let sqsClient: SQSClient | undefined;

/**
 * Always talk to the configured endpoint: the SDK otherwise sends each call to the host of the queue
 * URL, which fauxqs names `sqs.<region>.localhost` (on AWS the two are the same host anyway).
 */
export const SQS_OPTIONS = { useQueueUrlAsEndpoint: false } as const;

/** The SQS client, created once per container on first use (endpoint: AWS_ENDPOINT_URL_SQS, if set). */
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
