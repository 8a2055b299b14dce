import { existsSync, readFileSync } from "node:fs";
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { SQS_OPTIONS } from "../../lib/core/aws.ts";

/** The sandbox's own secret values (never real ones), read by `npm start` and the local tools. */
export const SANDBOX_ENV = "config/sandbox.env";

/** Sets variables from a KEY=value file that the environment does not set already; returns what it set. */
export function loadEnvFile(file: string): Record<string, string> {
  const set: Record<string, string> = {};
  if (!existsSync(file)) return set;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^\s*([A-Z][A-Z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match?.[1] || match[2] === undefined || process.env[match[1]] !== undefined) continue;
    process.env[match[1]] = match[2];
    set[match[1]] = match[2];
  }
  return set;
}

export interface StackEnv {
  local: boolean;
  sqs: SQSClient;
  jobsQueueUrl: string;
  deadLetterQueueUrl: string;
  table: string | undefined;
}

/**
 * Points the command-line tools at a stack: the running `npm start` stack by default (its emulators'
 * ports, its table and queues, the sandbox config and secrets), or a deployed stage when
 * JOBS_QUEUE_URL is set (then DEAD_LETTER_QUEUE_URL, LINKS_TABLE and DESKBRIDGE_CONFIG come from the
 * stack outputs, AWS credentials from the usual chain, secrets from SSM under DESKBRIDGE_SSM_PREFIX).
 */
export async function stackEnv(): Promise<StackEnv> {
  const local = !process.env.JOBS_QUEUE_URL;
  // Lambda runs Node 22; the SDK's notice about Node 20 is noise for a tool run on a laptop.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  if (local) {
    loadEnvFile(SANDBOX_ENV);
    Object.assign(process.env, {
      AWS_REGION: process.env.AWS_REGION ?? "us-east-1",
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? "local",
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? "local",
      AWS_ENDPOINT_URL_SQS:
        process.env.AWS_ENDPOINT_URL_SQS || `http://127.0.0.1:${process.env.SQS_PORT ?? 9324}`,
      AWS_ENDPOINT_URL_DYNAMODB:
        process.env.AWS_ENDPOINT_URL_DYNAMODB || `http://127.0.0.1:${process.env.DYNAMODB_PORT ?? 8000}`,
    });
  }
  const sqs = new SQSClient(SQS_OPTIONS);
  const queueUrl = async (name: string) =>
    (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl ?? "";
  const jobsQueueUrl = process.env.JOBS_QUEUE_URL || (await queueUrl("deskbridge-local-jobs"));
  const deadLetterQueueUrl =
    process.env.DEAD_LETTER_QUEUE_URL || (await queueUrl("deskbridge-local-jobs-dlq"));
  const table = process.env.LINKS_TABLE ?? (local ? "deskbridge-local-links" : undefined);
  Object.assign(process.env, {
    JOBS_QUEUE_URL: jobsQueueUrl,
    DEAD_LETTER_QUEUE_URL: deadLetterQueueUrl,
    ...(table ? { LINKS_TABLE: table } : {}),
  });
  return { local, sqs, jobsQueueUrl, deadLetterQueueUrl, table };
}
